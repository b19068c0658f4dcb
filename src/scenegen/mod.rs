//! Generated scenes (`synthgym gen layouts|traffic`): VAEs over scene layouts whose
//! checked samples become scene files, each loaded and stepped in the simulator before
//! it is reported.
//!
//! - [`layouts`]: warehouse floor plans (rware's parametric family with random gaps and
//!   goals) → grid-warehouse scene files;
//! - [`traffic`]: the highway scene's traffic at random lane counts and densities →
//!   highway scene files with placed vehicles, driven by the scripted driver beside as
//!   many training configurations;
//! - [`tally`]: what both share: train or load the VAE, write and step each valid
//!   sample's scene, count the invalid ones by reason, and the report.
//!
//! The models and the encodings live in [`crate::generative`] (which knows no scene);
//! this module joins them to [`crate::scenes`]. It neither prints nor parses arguments.

mod error;
pub mod layouts;
mod tally;
pub mod traffic;

pub use error::{Result, SceneGenError};
pub use tally::{SceneGenConfig, SceneGenReport, TrafficStats};
