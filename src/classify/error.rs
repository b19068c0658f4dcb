//! Errors raised while building, training, evaluating or saving classifiers.

use std::path::PathBuf;

use thiserror::Error;

use crate::data::DataError;
use crate::rl::RlError;

/// Everything that can go wrong in `classify/`.
#[derive(Debug, Error)]
pub enum ClassifyError {
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// The optimiser or parameter store failed.
    #[error(transparent)]
    Params(#[from] RlError),
    /// A dataset could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A configuration value is invalid.
    #[error("invalid config field '{field}': {reason}")]
    Config {
        /// The field, as spelled in the config file.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint is missing, unreadable, or does not fit the model or data.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl ClassifyError {
    /// A [`ClassifyError::Config`] for `field`.
    pub fn config(field: &str, reason: impl Into<String>) -> Self {
        Self::Config { field: field.to_owned(), reason: reason.into() }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// `Result` with [`ClassifyError`].
pub type Result<T> = std::result::Result<T, ClassifyError>;
