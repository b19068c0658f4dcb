//! One integration-test binary; the module list says where tests go.

// Shared toy environments (single- and multi-agent) with pluggable faults.
mod toy;

// `check_env` on every registered id, registry behaviour, and the checker itself
// catching broken envs. New environments get covered here automatically.
mod env_conformance;

// CartPole-v1 against transitions recorded from Gymnasium.
mod cartpole;

// Wrappers: time limit, episode statistics, observation normalisation, order enforcing.
mod wrappers;

// The warehouse: rware transitions, parallel conformance, snapshots, scene files.
mod warehouse;

// The physics warehouse: rapier robots driving, lifting, delivering and colliding.
mod warehouse_physics;

// Driving scenes: controllers, traffic, crashes, observations, goals.
mod driving;

// Vector envs: serial vs threaded equality, seeding, autoreset modes, errors.
mod vector;

// The multi-agent parallel API and its checker.
mod parallel;

// Learning: PPO and DQN on CartPole, determinism, checkpoints, multi-agent and Gaussian policies, train/eval commands.
mod rl;

// Episode files: round trips, damage and version errors, exact re-simulation, record/replay commands.
mod replay;

// Image classifiers: learning drawn shapes, checkpoints, exact resume, classify train/eval/report.
mod classify;

// Generative models: VAE ELBO, exact GAN resume, samples that teach a classifier,
// Fréchet distance, the gen commands.
mod generative;

// The `synthgym` binary: subcommands, output and error messages.
mod cli;

// Seeded mutations of every shipped scene and agent config, `--set` extremes, damaged
// checkpoints and episode files: a clean error or success, never a crash or a hang.
mod fuzz;

// Killing commands at random points: what was saved stays loadable, resume continues,
// no worker outlives the process the user started.
mod crash;

// The offscreen renderer (needs the `render` feature and a Vulkan driver, Mesa's will do).
#[cfg(feature = "render")]
mod render;

// The replay viewer in a window under Xvfb (needs the `viewer` feature, Xvfb and a Vulkan
// driver): screenshots, scripted keys, keyboard takeover branching a new recording.
#[cfg(feature = "viewer")]
mod viewer;

// The dependency rules of ARCHITECTURE.md, enforced by reading the sources.
mod architecture;
