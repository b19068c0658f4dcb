//! Rendering: snapshots drawn offscreen by bevy's PBR renderer, with labels.
//!
//! - [`mesh`]: unit primitives (cube, cylinder, cone) shared by the GPU and the labeller;
//! - [`style`]: how each class looks, and per-instance colours for domain randomisation;
//! - [`camera`]: pinhole cameras and projection (bevy's own matrices);
//! - [`raster`]: exact per-pixel instance ids and depth, computed on the CPU;
//! - [`renderer`]: the offscreen bevy app and GPU readback;
//! - [`annotate`]: boxes, occlusion, truncation, RLE masks and depth from label images;
//! - [`sample`]: domain randomisation (cameras, light, colours, distractors);
//! - [`dataset`]: sharded, resumable dataset generation (`synthgym generate`);
//! - [`image`]: PNG files and crops;
//! - [`camera_env`]: camera observations and `rgb_array` frames for RL envs;
//! - [`export`]: recorded episodes drawn to PNG frames or an animated GIF;
//! - [`viewer`] (feature `viewer`): the interactive replay viewer in a window.
//!
//! This is the only module that touches bevy's renderer; it is compiled with the
//! `render` feature. Headless training never builds or starts it.

pub mod annotate;
pub mod camera;
pub mod camera_env;
pub mod dataset;
pub mod error;
pub mod export;
pub mod image;
pub mod mesh;
pub mod raster;
pub mod renderer;
pub mod sample;
pub mod style;
#[cfg(feature = "viewer")]
pub mod viewer;

pub use camera::CameraView;
pub use camera_env::{CameraObservation, SceneCamera};
pub use error::RenderError;
pub use raster::{Coverage, LabelImage, Rasterizer};
pub use renderer::{Frame, Lighting, Quality, Renderer, RgbImage};
pub use style::{Appearance, RenderScene};
