//! Errors raised while building, training, evaluating or saving classifiers.

use thiserror::Error;

use crate::data::DataError;

/// Everything that can go wrong in `classify/`.
#[derive(Debug, Error)]
pub enum ClassifyError {
    /// A tensor, config, file or checkpoint error (see [`crate::nn::Error`]).
    #[error(transparent)]
    Nn(#[from] crate::nn::Error),
    /// A dataset could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
}

crate::nn::wraps_nn_error!(ClassifyError);

/// `Result` with [`ClassifyError`].
pub type Result<T> = std::result::Result<T, ClassifyError>;
