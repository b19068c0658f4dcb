//! The renderer: snapshots drawn offscreen by bevy's PBR renderer, with exact labels.
//! Snapshot in, pixels and label images out; what is done with them is its consumers'
//! business ([`crate::dataset`] writes datasets, `crate::viewer` shows recordings,
//! [`export`] draws recorded scenes to frames, [`camera_env`] makes camera observations).
//!
//! - [`mesh`]: unit primitives (cube, cylinder, cone) shared by the GPU and the labeller;
//! - [`style`]: how each class looks, and per-instance colours for domain randomisation;
//! - [`camera`]: pinhole cameras and projection (bevy's own matrices);
//! - [`raster`]: exact per-pixel instance ids and depth, computed on the CPU;
//! - [`renderer`]: the offscreen bevy app and GPU readback;
//! - [`randomize`]: domain randomisation (cameras, light, colours, distractors);
//! - [`image`]: PNG files and crops;
//! - [`camera_env`]: camera observations and `rgb_array` frames for RL envs;
//! - [`export`]: recorded episodes drawn to PNG frames or an animated GIF;
//!
//! With `crate::viewer` (the replay window), the only module that touches bevy's
//! renderer; it is compiled with the `render` feature. Headless training never builds
//! or starts it. It depends on neither the replay format nor the dataset writer.

pub mod camera;
pub mod camera_env;
pub mod error;
pub mod export;
pub mod image;
pub mod mesh;
pub mod randomize;
pub mod raster;
pub mod renderer;
pub mod style;

pub use camera::CameraView;
pub use camera_env::{CameraObservation, SceneCamera};
pub use error::RenderError;
pub use raster::{Coverage, LabelImage, Rasterizer};
pub use renderer::{Frame, Lighting, Quality, Renderer, RgbImage};
pub use style::{Appearance, RenderScene};
