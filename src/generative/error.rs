//! Errors raised while building, training, sampling or evaluating generative models.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::classify::ClassifyError;
use crate::data::DataError;
use crate::rl::RlError;

/// Everything that can go wrong in `gen/`.
#[derive(Debug, Error)]
pub enum GenError {
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// The optimiser or parameter store failed.
    #[error(transparent)]
    Params(#[from] RlError),
    /// A dataset could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The feature extractor (a classifier) failed.
    #[error(transparent)]
    Classify(#[from] ClassifyError),
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
    /// A checkpoint is missing, unreadable, or does not fit the model.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl GenError {
    /// A [`GenError::Config`] for `field`.
    pub fn config(field: &str, reason: impl Into<String>) -> Self {
        GenError::Config { field: field.into(), reason: reason.into() }
    }

    /// A closure mapping an I/O error on `path` into a [`GenError::Io`].
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GenError + '_ {
        move |source| GenError::Io { path: path.to_owned(), source }
    }
}

/// `gen/`'s result type.
pub type Result<T> = std::result::Result<T, GenError>;
