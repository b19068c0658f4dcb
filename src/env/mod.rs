//! The learner–simulator contract, in the shape of Gymnasium.
//!
//! - [`Env`]: `reset(seed, options) -> (obs, info)` and
//!   `step(action) -> (obs, reward, terminated, truncated, info)`, with observations
//!   written into caller-owned `&mut [f32]` buffers so a step allocates nothing.
//!   [`EnvExt`] adds the tuple-returning, allocating forms for scripts and tests.
//! - [`Space`]: `Discrete`, `MultiDiscrete`, `Box` and `Dict`, each with `sample` and
//!   `contains`, and a flat `f32` layout shared by observations and vector buffers.
//! - [`Registry`]: env ids such as `cartpole-v1` → constructors, with a default time limit.
//! - [`wrappers`]: time limit, episode statistics, observation normalisation, order enforcing.
//! - [`ParallelEnv`]: the multi-agent parallel API (PettingZoo's `ParallelEnv`), the one
//!   scene contract; [`Joint`] is the single-agent view of any of them and
//!   [`SingleAgent`] the one-agent parallel view of any [`Env`].
//! - [`vector`]: batched envs, serial and crossbeam-threaded, one API, explicit autoreset.
//! - [`check`]: a conformance checker every environment's tests call.
//! - [`Policy`]: what chooses actions (learned agents, scripted baselines, [`RandomPolicy`]).
//!
//! This module must not depend on bevy, rapier, candle or any scene: it is the part
//! that learners and simulators both see.

pub mod check;
mod core;
mod error;
mod joint;
pub mod parallel;
pub mod policy;
pub mod registry;
pub mod space;
pub mod vector;
pub mod wrappers;

pub(crate) use self::core::invalid_action;
pub use self::core::{Env, EnvExt, EpisodeStats, Info, InfoValues, ResetOptions, StepOutcome, check_action, check_obs_len};
pub use error::EnvError;
pub use joint::Joint;
pub use parallel::{AgentRows, ParallelBuffers, ParallelEnv, SingleAgent};
pub use policy::{Policy, RandomPolicy};
pub use registry::{EnvSpec, MakeOptions, Registry};
pub use space::{Action, BoxSpace, Space, Value};
