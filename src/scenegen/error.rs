//! Errors raised while generating scenes.

use std::path::PathBuf;

use thiserror::Error;

use crate::env::EnvError;
use crate::generative::GenError;

/// Everything that can go wrong in `scenegen/`.
#[derive(Debug, Error)]
pub enum SceneGenError {
    /// Training, loading or sampling the VAE failed.
    #[error(transparent)]
    Gen(#[from] GenError),
    /// A scene could not be built, loaded or stepped.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A written scene file could not be loaded or stepped. (The message leaves the
    /// cause to `source`, as `{:#}` prints it.)
    #[error("loading {}", path.display())]
    Scene {
        /// The scene file.
        path: PathBuf,
        /// What the simulator said.
        source: EnvError,
    },
    /// An option is out of range.
    #[error("{0}")]
    Option(String),
    /// The output folder already holds a model and `resample` was not asked for.
    #[error("{} already holds a {what} model; pass --resample to sample from it again, or choose another --out", dir.display())]
    ModelExists {
        /// The output folder.
        dir: PathBuf,
        /// What the model generates.
        what: &'static str,
    },
    /// Reading or writing a file failed (the cause is `source`).
    #[error("{}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl SceneGenError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// `Result` with [`SceneGenError`].
pub type Result<T> = std::result::Result<T, SceneGenError>;
