//! The dataset writer (`synthgym generate`, feature `render`): scenes sampled with domain
//! randomisation, drawn by [`crate::render`], and written as sharded, resumable,
//! seed-addressed datasets with labels.
//!
//! - [`writer`]: episodes → frames → images, COCO annotations, masks, depth, crops,
//!   shards and their merge, preview grids;
//! - [`annotate`]: boxes, occlusion, truncation, RLE masks and depth from label images.
//!
//! It uses the renderer only through its public API (`Renderer`, `Rasterizer`,
//! `randomize`, `image`); the renderer knows nothing of datasets.

pub mod annotate;
pub mod writer;

pub use writer::{GenerateConfig, GenerateSummary, SceneSource, Shard, generate, write_grid};
