//! [`Pass`]: whether a forward pass trains or evaluates, and [`dropout`], the layer
//! that differs most between the two.

use candle_core::Tensor;
use rand::{Rng, RngCore};

use super::Result;

/// Whether a forward pass trains (batch statistics, dropout) or evaluates.
pub enum Pass<'a> {
    /// Training: batch norm uses and updates batch statistics; dropout draws from the RNG.
    Train(&'a mut dyn RngCore),
    /// Evaluation: running statistics, no dropout.
    Eval,
}

impl Pass<'_> {
    /// Whether this pass trains.
    pub fn training(&self) -> bool {
        matches!(self, Pass::Train(_))
    }
}

/// Inverted dropout: zeroes each unit with probability `p` while training and scales
/// the rest by `1 / (1 - p)`; the mask is drawn from the pass's RNG.
pub fn dropout(x: &Tensor, p: f32, pass: &mut Pass) -> Result<Tensor> {
    let Pass::Train(rng) = pass else { return Ok(x.clone()) };
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f32>() < p { 0.0 } else { keep }).collect();
    Ok(x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?)?)
}
