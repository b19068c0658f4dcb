//! Image datasets on disk for the learning modules ([`crate::classify`], and the
//! generative models): the ImageFolder layout (one sub-folder per class, PNG files),
//! decoded and resized into one in-memory [`ImageSet`], stratified splits, and
//! seeded augmentation; PNG reading and atomic writing ([`png`]).
//!
//! Works on any ImageFolder, not only the `crops/` that `synthgym generate` writes:
//! grayscale or colour PNGs of any bit depth and size, converted to one
//! [`ImageSpec`] (channels and size) chosen by the caller or from the data.
//!
//! Depends on `png`, `rand`, [`crate::util`] and, for [`batch`], candle's tensors only:
//! no engine, no network.

pub mod augment;
pub mod batch;
mod error;
pub mod imagefolder;
pub mod png;

pub use augment::{Augment, Normalize};
pub use batch::make_batch;
pub use error::DataError;
pub use imagefolder::{ImageSet, ImageSpec, SpecRequest};
