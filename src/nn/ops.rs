//! Small tensor helpers shared by the image models.

use candle_core::{D, Tensor};

use super::Result;

/// Flattens everything but the batch dimension.
pub fn flatten(x: &Tensor) -> Result<Tensor> {
    Ok(x.flatten_from(1)?)
}

/// Index of the largest logit per row.
pub fn argmax(logits: &Tensor) -> Result<Vec<u32>> {
    Ok(logits.argmax(D::Minus1)?.to_vec1::<u32>()?)
}
