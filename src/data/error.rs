//! Errors raised while reading image datasets.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong reading an ImageFolder.
#[derive(Debug, Error)]
pub enum DataError {
    /// Reading a file or folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file or folder is not what an ImageFolder dataset needs.
    #[error("{}: {problem}", path.display())]
    Invalid {
        /// The file or folder at fault.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

impl DataError {
    /// A [`DataError::Invalid`] for `path`.
    pub fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), problem: problem.into() }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
