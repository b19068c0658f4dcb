//! [`Dense`]: a fully connected layer with Kaiming-normal weights, for networks that
//! feed ReLUs (the MLPs of RL policies are [`super::Mlp`], orthogonally initialised).

use candle_core::Tensor;
use rand::Rng;

use super::{ParamStore, Result, init::kaiming};

/// A fully connected layer on `B × F`.
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// A new layer `f_in → f_out` named `name` (Kaiming-normal weights, zero bias).
    pub fn new<R: Rng + ?Sized>(params: &mut ParamStore, name: &str, f_in: usize, f_out: usize, rng: &mut R) -> Result<Self> {
        let weight = params.var(format!("{name}.weight"), &kaiming(f_in * f_out, f_in, rng), &[f_in, f_out])?.as_tensor().clone();
        let bias = params.var(format!("{name}.bias"), &vec![0.0; f_out], &[f_out])?.as_tensor().clone();
        Ok(Self { weight, bias })
    }

    /// Applies the layer.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight)?.broadcast_add(&self.bias)?)
    }
}
