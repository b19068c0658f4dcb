//! Errors raised while building, training, evaluating or saving agents.

use thiserror::Error;

use crate::env::EnvError;

/// Everything that can go wrong in `rl/`.
#[derive(Debug, Error)]
pub enum RlError {
    /// A tensor, config, file or checkpoint error (see [`crate::nn::Error`]).
    #[error(transparent)]
    Nn(#[from] crate::nn::Error),
    /// The environment failed.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The algorithm cannot handle this environment (for example DQN with a `Box` action space).
    #[error("{algo} does not support {what}")]
    Unsupported {
        /// The algorithm.
        algo: &'static str,
        /// What it was asked to handle.
        what: String,
    },
    /// An update produced a loss that is not finite; the run stopped before it could
    /// checkpoint weights trained from it.
    #[error(
        "training diverged at step {step}: {name} is {value}; the checkpoint keeps the last state saved before it (try a lower learning rate, or check the env's rewards)"
    )]
    Diverged {
        /// Env steps taken when it was seen.
        step: u64,
        /// The loss.
        name: &'static str,
        /// Its value (NaN or an infinity).
        value: f64,
    },
}

crate::nn::wraps_nn_error!(RlError);

/// `Result` with [`RlError`].
pub type Result<T> = std::result::Result<T, RlError>;
