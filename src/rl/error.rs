//! Errors raised while building, training, evaluating or saving agents.

use std::path::PathBuf;

use thiserror::Error;

use crate::env::EnvError;

/// Everything that can go wrong in `rl/`.
#[derive(Debug, Error)]
pub enum RlError {
    /// A tensor operation failed (shape mismatch, device error, …).
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// The environment failed.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A configuration value is invalid; `field` is its dotted path.
    #[error("invalid config field '{field}': {reason}")]
    Config {
        /// Dotted path of the field, for example `ppo.num_minibatches`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The algorithm cannot handle this environment (for example DQN with a `Box` action space).
    #[error("{algo} does not support {what}")]
    Unsupported {
        /// The algorithm.
        algo: &'static str,
        /// What it was asked to handle.
        what: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint is missing a tensor, has the wrong shapes, or does not match the config.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl RlError {
    /// A [`RlError::Config`] for `field`.
    pub fn config(field: &str, reason: impl Into<String>) -> Self {
        Self::Config { field: field.to_owned(), reason: reason.into() }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// `Result` with [`RlError`].
pub type Result<T> = std::result::Result<T, RlError>;
