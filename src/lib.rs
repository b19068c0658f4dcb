//! # synthgym
//!
//! A reinforcement-learning and synthetic-data simulator in one crate and one binary.
//!
//! Data flows one way: scene file → simulation → snapshot → {observations, recorder,
//! renderer} → {trainer, dataset writer, viewer}. This crate is organised so that
//! each arrow is a module boundary:
//!
//! - [`env`]: the learner–simulator contract. A Gymnasium-style [`env::Env`] trait,
//!   [`env::Space`]s, wrappers, a multi-agent [`env::ParallelEnv`] trait, batched
//!   vector envs ([`env::vector`]) and a conformance checker ([`env::check`]).
//!   It depends on no engine (no bevy, rapier or candle).
//! - [`scenes`]: concrete environments and the registry of environment ids.
//! - [`replay`]: the versioned episode file, recording, exact re-simulation and the
//!   viewer's playback state (`replay::player`).
//! - `render` (feature `render`): the offscreen renderer, snapshot → pixels and labels.
//! - `dataset` (feature `render`): the dataset writer of `synthgym generate`.
//! - `viewer` (feature `viewer`): the replay window, a bevy plugin drawing a
//!   `replay::player::Player`.
//! - [`data`]: ImageFolder datasets read into memory, splits, augmentation and batching.
//! - [`nn`]: the one neural-network toolkit on candle (parameters, initialisers,
//!   layers with CPU kernels, Adam, checkpoint directories) that [`rl`],
//!   [`classify`] and [`generative`] share; they never import one another.
//! - [`classify`]: CNN and ResNet image classifiers, evaluation and transfer reports.
//! - [`generative`]: class-conditional VAE and GAN for images (`synthgym gen`), sample
//!   datasets, Fréchet distance in a trained classifier's feature space.
//! - [`rl`]: PPO and DQN on candle (CPU, or CUDA with the `cuda` feature); needs only
//!   [`env`] and [`nn`].
//! - [`scenegen`]: VAEs over scene layouts whose checked samples become scene files
//!   (`synthgym gen layouts|traffic`), joining [`generative`] to [`scenes`].
//! - [`sim`]: the rapier3d physics adapter (and its bevy plugin).
//! - [`snapshot`]: poses, shapes and classes of every object, for recorder and renderer.
//! - [`util`]: seeding helpers shared by everything else.
//! - [`cli`]: the `synthgym` command line; the composition root.
//!
//! ```
//! use synthgym::env::{Action, Env};
//!
//! let mut env = synthgym::scenes::registry().make("cartpole-v1", &Default::default())?;
//! let mut obs = vec![0.0; env.observation_space().flat_dim()];
//! env.reset(Some(42), None, &mut obs)?;
//! let outcome = env.step(Action::Discrete(1), &mut obs)?;
//! assert_eq!(outcome.reward, 1.0);
//! # Ok::<(), synthgym::env::EnvError>(())
//! ```

#![forbid(unsafe_code)]

pub mod classify;
pub mod cli;
pub mod data;
#[cfg(feature = "render")]
pub mod dataset;
pub mod env;
pub mod generative;
pub mod nn;
#[cfg(feature = "render")]
pub mod render;
pub mod replay;
pub mod rl;
pub mod scenegen;
pub mod scenes;
pub mod sim;
pub mod snapshot;
pub mod util;
#[cfg(feature = "viewer")]
pub mod viewer;

/// Compiles and runs the Rust example of docs/library.md as a doctest, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../docs/library.md")]
pub struct LibraryDocDoctests;
