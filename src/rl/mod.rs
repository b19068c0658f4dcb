//! Reinforcement learning on candle: PPO and DQN, trained headlessly on CPU or CUDA.
//!
//! - [`batch`]: the rows a learner acts for ([`AgentBatch`]): the envs of a vector env,
//!   or every agent of several multi-agent envs (parameter sharing).
//! - [`buffer`]: rollout storage and GAE with terminated/truncated kept apart.
//! - [`distributions`]: categorical, multi-categorical and diagonal-Gaussian heads.
//! - [`nets`]: MLPs with orthogonal initialisation from the run's seed.
//! - [`optim`]: Adam with gradient clipping and checkpointable state.
//! - [`ppo`], [`dqn`]: the algorithms.
//! - [`normalize`]: observation standardisation saved with the agent.
//! - [`eval`]: evaluation of any [`Policy`](crate::env::Policy).
//! - [`checkpoint`]: safetensors + counters + RNG state, written atomically.
//! - [`train`]: a run: learner, evaluation, metrics and checkpoints.
//! - [`config`]: the `agents/*.toml` schema.
//!
//! This module depends on [`crate::env`], candle and [`crate::util`] only: never on
//! bevy, rapier or the scenes, so every algorithm is testable on a toy env. The
//! device is passed in; nothing here picks one.

pub mod batch;
pub mod buffer;
pub mod checkpoint;
pub mod config;
pub mod distributions;
pub mod dqn;
mod error;
pub mod eval;
pub mod nets;
pub mod normalize;
pub mod optim;
pub mod ppo;
pub mod train;

pub use batch::{AgentBatch, Episode, ParallelBatch, VecBatch};
pub use config::{Algo, TrainConfig};
pub use error::{Result, RlError};
pub use eval::{EvalReport, evaluate};
pub use train::{Learner, TrainRun, TrainSummary};

use candle_core::Device;

/// The compute device for `name`: `cpu`, `cuda` or `cuda:N`. CUDA needs the crate's
/// `cuda` feature; without it the error says how to build with it.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        n if n == "cuda" || n.starts_with("cuda:") => {
            let ordinal = n
                .strip_prefix("cuda:")
                .map_or(Ok(0), str::parse::<usize>)
                .map_err(|_| RlError::config("device", format!("'{n}' is not cuda:N")))?;
            if !candle_core::utils::cuda_is_available() {
                return Err(RlError::config(
                    "device",
                    "this binary was built without CUDA; rebuild with `cargo build --release --features cuda`",
                ));
            }
            Ok(Device::new_cuda(ordinal)?)
        }
        other => Err(RlError::config("device", format!("unknown device '{other}'; use cpu, cuda or cuda:N"))),
    }
}
