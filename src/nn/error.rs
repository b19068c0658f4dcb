//! The one error type of the neural-network toolkit, shared by everything that trains
//! on it ([`crate::rl`], [`crate::classify`], [`crate::generative`]): their own error
//! enums wrap it instead of repeating these variants.

use std::path::PathBuf;

use thiserror::Error as ThisError;

/// What can go wrong building, running, optimising, saving or loading a network.
#[derive(Debug, ThisError)]
pub enum Error {
    /// A tensor operation failed (shape mismatch, device error, …).
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// A configuration value is invalid; `field` is its name as spelled in the config.
    #[error("invalid config field '{field}': {reason}")]
    Config {
        /// The field, for example `ppo.num_minibatches`.
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
    /// A checkpoint is missing, unreadable, or does not fit the network, data or config.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Config`] for `field`.
    pub fn config(field: &str, reason: impl Into<String>) -> Self {
        Self::Config { field: field.to_owned(), reason: reason.into() }
    }

    /// An [`Error::Checkpoint`] for `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Checkpoint { path: path.into(), reason: reason.into() }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Implements the conversions and constructors that every error enum wrapping
/// [`Error`] in an `Nn` variant needs: `From<candle_core::Error>` (so `?` works on
/// tensor ops), and `config`, `checkpoint` and `io` constructors that build the
/// wrapped variant.
macro_rules! wraps_nn_error {
    ($ty:ident) => {
        impl From<candle_core::Error> for $ty {
            fn from(e: candle_core::Error) -> Self {
                Self::Nn($crate::nn::Error::Candle(e))
            }
        }

        impl $ty {
            /// An invalid config field (see [`crate::nn::Error::Config`]).
            pub fn config(field: &str, reason: impl Into<String>) -> Self {
                Self::Nn($crate::nn::Error::config(field, reason))
            }

            /// A bad checkpoint (see [`crate::nn::Error::Checkpoint`]).
            pub fn checkpoint(path: impl Into<std::path::PathBuf>, reason: impl Into<String>) -> Self {
                Self::Nn($crate::nn::Error::checkpoint(path, reason))
            }

            /// Wraps an I/O error with the path it concerns (see [`crate::nn::Error::Io`]).
            pub fn io(path: impl Into<std::path::PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
                let wrap = $crate::nn::Error::io(path);
                move |source| Self::Nn(wrap(source))
            }
        }
    };
}
pub(crate) use wraps_nn_error;
