//! [`Mlp`]: linear layers with an activation between them, orthogonally initialised
//! (gain √2 for hidden layers and a chosen gain for the output, following CleanRL's
//! `layer_init` and SB3: 0.01 for a policy head, 1 for a value head).

use candle_core::{Module, Tensor};
use rand::Rng;

use super::{Activation, ParamStore, Result};

/// A multi-layer perceptron: linear layers with an activation between them (none after the last).
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<candle_nn::Linear>,
    activation: Activation,
}

impl Mlp {
    /// Layers `in_dim → hidden[0] → … → out_dim` named `name.0`, `name.1`, …;
    /// hidden layers get gain √2 and the output layer `out_gain`.
    #[expect(clippy::too_many_arguments, reason = "the layer sizes, names and init are all independent choices")]
    pub fn new<R: Rng + ?Sized>(
        params: &mut ParamStore,
        name: &str,
        in_dim: usize,
        hidden: &[usize],
        out_dim: usize,
        activation: Activation,
        out_gain: f32,
        rng: &mut R,
    ) -> Result<Self> {
        let dims: Vec<usize> = std::iter::once(in_dim).chain(hidden.iter().copied()).chain(std::iter::once(out_dim)).collect();
        let last = dims.len() - 2;
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, d)| {
                params.linear(&format!("{name}.{i}"), d[0], d[1], if i == last { out_gain } else { std::f32::consts::SQRT_2 }, rng)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers, activation })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x)?;
            if i + 1 < self.layers.len() {
                x = self.activation.forward(&x)?;
            }
        }
        Ok(x)
    }
}

impl Mlp {
    /// [`Module::forward`] with this crate's error type.
    pub fn run(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward(x)?)
    }

    /// The activation between layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{DType, Device};

    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn mlp_shapes_names_and_seeded_init() -> Result<()> {
        let build = |seed| -> Result<(ParamStore, Mlp)> {
            let mut params = ParamStore::new(&Device::Cpu);
            let mlp = Mlp::new(&mut params, "actor", 4, &[16, 16], 2, Activation::Tanh, 0.01, &mut rng_from_seed(seed))?;
            Ok((params, mlp))
        };
        let (params, mlp) = build(1)?;
        let names: Vec<&str> = params.vars().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["actor.0.weight", "actor.0.bias", "actor.1.weight", "actor.1.bias", "actor.2.weight", "actor.2.bias"]);
        assert_eq!(params.num_params(), 4 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
        let y = mlp.run(&Tensor::ones((3, 4), DType::F32, &Device::Cpu)?)?;
        assert_eq!(y.dims(), &[3, 2]);
        let again = build(1)?.0.tensors();
        let other = build(2)?.0.tensors();
        let w = |m: &HashMap<String, Tensor>| m["actor.0.weight"].flatten_all().and_then(|t| t.to_vec1::<f32>());
        assert_eq!(w(&params.tensors())?, w(&again)?);
        assert_ne!(w(&params.tensors())?, w(&other)?);
        Ok(())
    }
}
