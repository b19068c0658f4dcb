//! The one neural-network toolkit on candle, shared by [`crate::rl`],
//! [`crate::classify`] and [`crate::generative`] (which depend on it and never on
//! one another). One file per layer, as in `candle-nn`:
//!
//! - [`params`]: [`ParamStore`], the named trainable variables, and named buffers.
//! - [`init`]: orthogonal and Kaiming-normal initialisers drawn from a seeded RNG.
//! - [`activation`]: tanh (a fast rational approximation on the CPU) and ReLU.
//! - [`mlp`]: [`Mlp`], orthogonally initialised, for policies and value functions.
//! - [`linear`], [`conv`], [`batch_norm`], [`pool`], [`pass`], [`ops`]: channels-last
//!   image layers (convolution by im2col + GEMM, batch norm, pooling, dropout).
//! - [`kernels`]: the CPU custom ops behind them, with their own backward passes.
//! - [`optim`]: Adam with global gradient-norm clipping and checkpointable state.
//! - [`checkpoint`]: safetensors checkpoint directories, written atomically.
//! - [`device`]: the compute device named on the command line (`cpu`, `cuda:N`).
//! - [`Error`]: the one error type; the learning modules wrap it.
//!
//! Depends on candle and [`crate::util`] only: no engine, no dataset, no env.

pub mod activation;
pub mod batch_norm;
pub mod checkpoint;
pub mod conv;
pub mod device;
mod error;
pub mod init;
pub mod kernels;
pub mod linear;
pub mod mlp;
pub mod ops;
pub mod optim;
pub mod params;
pub mod pass;
pub mod pool;

pub use activation::{Activation, relu};
pub use batch_norm::BatchNorm;
pub use conv::{Conv, conv_same};
pub use device::device;
pub(crate) use error::wraps_nn_error;
pub use error::{Error, Result};
pub use linear::Dense;
pub use mlp::Mlp;
pub use ops::{argmax, flatten};
pub use optim::{Adam, AdamConfig};
pub use params::{ParamStore, load_buffers};
pub use pass::{Pass, dropout};
pub use pool::{avg_pool2, global_avg_pool, max_pool2};
