//! Errors raised while building, training, sampling or evaluating generative models.

use thiserror::Error;

use crate::data::DataError;

/// Everything that can go wrong in `generative/`.
#[derive(Debug, Error)]
pub enum GenError {
    /// A tensor, config, file or checkpoint error (see [`crate::nn::Error`]).
    #[error(transparent)]
    Nn(#[from] crate::nn::Error),
    /// A dataset could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
}

crate::nn::wraps_nn_error!(GenError);

/// `Result` with [`GenError`].
pub type Result<T> = std::result::Result<T, GenError>;
