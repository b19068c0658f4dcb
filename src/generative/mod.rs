//! Generative models on candle: a class-conditional VAE and a class-conditional GAN
//! that learn from any ImageFolder dataset and write new labelled images, with the
//! metrics that say how good those are.
//!
//! - [`config`]: the training config ([`GenConfig`], `agents/gen-*.toml`).
//! - [`nets`]: decoder/generator, encoder, and the spectrally normalised projection
//!   discriminator (channels-last, on [`crate::nn`]'s layers).
//! - [`model`]: [`GenNet`], the two models' losses and sampling.
//! - [`train`]: the training loop, sample grids per epoch, checkpoints with optimiser
//!   state, exact resume.
//! - [`sample`]: samples written as an ImageFolder (one folder per class).
//! - [`fid`]: the Fréchet distance in the feature space of any [`fid::FeatureExtractor`]
//!   (the CLI plugs in a classifier the project trains).
//! - [`layout`], [`traffic`]: scene layouts (warehouse floor plans, highway traffic) as
//!   small images for the VAE, read back from samples and checked for validity.
//!
//! Depends on candle, [`crate::nn`], [`crate::data`] and [`crate::util`]; never on bevy,
//! rapier, the scenes, the renderer or the other learning modules.

pub mod config;
mod error;
pub mod fid;
pub mod layout;
pub mod model;
pub mod nets;
pub mod sample;
pub mod traffic;
pub mod train;

pub use config::{GanLoss, GenConfig, GenModel};
pub use error::{GenError, Result};
pub use model::GenNet;
