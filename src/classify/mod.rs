//! Supervised image classifiers on candle: a small CNN and a ResNet, trained on any
//! ImageFolder dataset (rendered, generated, or real), evaluated with per-class
//! metrics and a confusion matrix, and compared across training sets in a transfer
//! report (train on synthetic, test on real or shifted renders).
//!
//! - [`config`]: the training config ([`ClassifyConfig`], `agents/classify-*.toml`).
//! - [`model`]: the two architectures ([`Classifier`]).
//! - [`train`]: split, augmentation, Adam, early stopping, checkpoints, resume.
//! - [`checkpoint`]: safetensors plus `classifier.json`, written atomically.
//! - [`metrics`]: accuracy, per-class precision/recall/F1, confusion matrix.
//! - [`report`]: the transfer report across training and test sets.
//!
//! Layers, Adam and checkpoint directories come from [`crate::nn`]. Depends on candle,
//! [`crate::nn`], [`crate::data`] and [`crate::util`]; never on bevy, rapier, the
//! scenes, the renderer or the other learning modules.

pub mod checkpoint;
pub mod config;
mod error;
pub mod metrics;
pub mod model;
pub mod report;
pub mod train;

pub use config::ClassifyConfig;
pub use error::{ClassifyError, Result};
pub use metrics::{EvalReport, Evaluation};
pub use model::{Classifier, ModelKind};
pub use train::{TrainOutcome, train};
