//! Reinforcement learning on candle: PPO and DQN, trained headlessly on CPU or CUDA.
//!
//! - [`batch`]: the rows a learner acts for ([`AgentBatch`]): a vector env's rows, one
//!   per env or one per agent of multi-agent envs (parameter sharing).
//! - [`buffer`]: rollout storage and GAE with terminated/truncated kept apart.
//! - [`distributions`]: categorical, multi-categorical and diagonal-Gaussian heads.
//! - [`ppo`], [`dqn`]: the algorithms.
//! - [`normalize`]: observation standardisation saved with the agent.
//! - [`eval`]: evaluation of any [`Policy`](crate::env::Policy).
//! - [`checkpoint`]: safetensors + counters + RNG state, written atomically.
//! - [`train`]: a run: learner, evaluation, metrics and checkpoints.
//! - [`config`]: the `agents/*.toml` schema.
//!
//! Networks, Adam and checkpoint directories come from [`crate::nn`]. This module
//! depends on [`crate::env`], [`crate::nn`], candle and [`crate::util`] only: never on
//! bevy, rapier, the scenes or the other learning modules, so every algorithm is testable on a toy env. The
//! device is passed in; nothing here picks one.

pub mod batch;
pub mod buffer;
pub mod checkpoint;
pub mod config;
pub mod distributions;
pub mod dqn;
mod error;
pub mod eval;
pub mod normalize;
pub mod ppo;
pub mod train;

pub use batch::{AgentBatch, Episode};
pub use config::{Algo, TrainConfig};
pub use error::{Result, RlError};
pub use eval::{EvalReport, evaluate};
pub use train::{Learner, TrainRun, TrainSummary};
