//! Errors of rendering and dataset generation.

use std::path::PathBuf;

/// What can go wrong while rendering or writing a dataset.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No Vulkan adapter (GPU or software driver) is available.
    #[error(
        "no graphics adapter for offscreen rendering ({0}); on a machine without a GPU install Mesa's \
         software Vulkan driver: `apt-get install mesa-vulkan-drivers libvulkan1`"
    )]
    NoAdapter(String),
    /// The requested image size is unusable.
    #[error("image size {width}x{height} is not supported (each side must be 1 to 4096 pixels)")]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// The GPU did not hand an image back as expected.
    #[error("reading the rendered image back failed: {0}")]
    Readback(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's contents are not what they must be.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (names the field).
        message: String,
    },
    /// A dataset option is invalid.
    #[error("{0}")]
    Config(String),
    /// The simulation that feeds the renderer failed.
    #[error("simulation: {0}")]
    Simulation(#[source] Box<dyn std::error::Error + Send + Sync>),
}
