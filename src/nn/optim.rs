//! Adam (Kingma & Ba, 2015) with global gradient-norm clipping, written here rather
//! than taken from `candle_nn::AdamW` because checkpoints must hold the moment
//! estimates and step count, which candle keeps private.
//!
//! The update matches PyTorch's `torch.optim.Adam` (no weight decay):
//! `m ← β₁m + (1-β₁)g`, `v ← β₂v + (1-β₂)g²`,
//! `θ ← θ - lr · (m / (1-β₁ᵗ)) / (√(v / (1-β₂ᵗ)) + ε)`.

use std::collections::HashMap;

use candle_core::{DType, Tensor, Var, backprop::GradStore};
use serde::{Deserialize, Serialize};

use super::{ParamStore, Result};

/// Adam's hyper-parameters other than the learning rate, which changes per update.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// Denominator term ε (SB3 uses 1e-5 for PPO, PyTorch's default is 1e-8).
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, eps: 1e-5 }
    }
}

/// Adam state for every variable of a [`ParamStore`].
#[derive(Debug)]
pub struct Adam {
    config: AdamConfig,
    vars: Vec<(String, Var)>,
    m: Vec<Var>,
    v: Vec<Var>,
    step: u64,
}

impl Adam {
    /// Zero moments for the variables of `params`.
    pub fn new(params: &ParamStore, config: AdamConfig) -> Result<Self> {
        let vars = params.vars().to_vec();
        let zeros = |v: &Var| -> Result<Var> { Ok(Var::zeros(v.shape(), DType::F32, v.device())?) };
        let m = vars.iter().map(|(_, v)| zeros(v)).collect::<Result<Vec<_>>>()?;
        let v = vars.iter().map(|(_, v)| zeros(v)).collect::<Result<Vec<_>>>()?;
        Ok(Self { config, vars, m, v, step: 0 })
    }

    /// Updates taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Scales the gradients so their global L2 norm is at most `max_norm` (PyTorch's
    /// `clip_grad_norm_`), then takes one Adam step with learning rate `lr`.
    /// Returns the norm before clipping. Variables without a gradient are left alone.
    pub fn clip_and_step(&mut self, grads: &GradStore, lr: f64, max_norm: Option<f64>) -> Result<f64> {
        let present: Vec<Option<&Tensor>> = self.vars.iter().map(|(_, v)| grads.get(v.as_tensor())).collect();
        let mut sq = Vec::with_capacity(present.len());
        for g in present.iter().flatten() {
            sq.push(g.sqr()?.sum_all()?);
        }
        let norm = if sq.is_empty() { 0.0 } else { f64::from(Tensor::stack(&sq, 0)?.sum_all()?.to_scalar::<f32>()?).sqrt() };
        let scale = match max_norm {
            Some(max) if norm > max => max / (norm + 1e-6),
            _ => 1.0,
        };
        self.step += 1;
        let AdamConfig { beta1, beta2, eps } = self.config;
        let t = self.step as i32;
        let (bias1, bias2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
        for (i, g) in present.into_iter().enumerate() {
            let Some(g) = g else { continue };
            let g = if scale == 1.0 { g.clone() } else { g.affine(scale, 0.0)? };
            let m = self.m[i].affine(beta1, 0.0)?.add(&g.affine(1.0 - beta1, 0.0)?)?;
            let v = self.v[i].affine(beta2, 0.0)?.add(&g.sqr()?.affine(1.0 - beta2, 0.0)?)?;
            let denom = v.affine(1.0 / bias2, 0.0)?.sqrt()?.affine(1.0, eps)?;
            let update = m.div(&denom)?.affine(lr / bias1, 0.0)?;
            let var = &self.vars[i].1;
            var.set(&var.as_tensor().sub(&update)?)?;
            self.m[i].set(&m)?;
            self.v[i].set(&v)?;
        }
        Ok(norm)
    }

    /// The moment estimates as named tensors (`adam.m.<var>`, `adam.v.<var>`), for checkpoints.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (((name, _), m), v) in self.vars.iter().zip(&self.m).zip(&self.v) {
            out.insert(format!("adam.m.{name}"), m.as_tensor().clone());
            out.insert(format!("adam.v.{name}"), v.as_tensor().clone());
        }
        out
    }

    /// Restores the moments from [`Adam::tensors`] output and the step count.
    pub fn load(&mut self, tensors: &HashMap<String, Tensor>, step: u64) -> std::result::Result<(), String> {
        for (((name, var), m), v) in self.vars.iter().zip(&self.m).zip(&self.v) {
            for (kind, dst) in [("m", m), ("v", v)] {
                let key = format!("adam.{kind}.{name}");
                let t = tensors.get(&key).ok_or_else(|| format!("tensor '{key}' is missing"))?;
                if t.dims() != var.dims() {
                    return Err(format!("tensor '{key}' has shape {:?}, expected {:?}", t.dims(), var.dims()));
                }
                dst.set(&t.to_device(var.device()).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            }
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    /// Golden values from PyTorch 2.x:
    /// ```python
    /// import torch
    /// w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    /// opt = torch.optim.Adam([w], lr=0.1, eps=1e-5)
    /// for _ in range(3):
    ///     opt.zero_grad(); loss = (w * w * torch.tensor([1.0, 2.0, 3.0])).sum(); loss.backward(); opt.step()
    /// print(w.tolist())  # [0.7015878558158875, -1.7006237506866455, 2.7003817558288574]
    /// ```
    #[test]
    fn adam_matches_pytorch_on_a_quadratic() -> Result<()> {
        let mut params = ParamStore::new(&Device::Cpu);
        let w = params.var("w".into(), &[1.0, -2.0, 3.0], &[3])?;
        let c = Tensor::new(&[1.0f32, 2.0, 3.0], &Device::Cpu)?;
        let mut adam = Adam::new(&params, AdamConfig::default())?;
        for _ in 0..3 {
            let loss = w.as_tensor().sqr()?.mul(&c)?.sum_all()?;
            adam.clip_and_step(&loss.backward()?, 0.1, None)?;
        }
        let got = w.as_tensor().to_vec1::<f32>()?;
        for (g, e) in got.iter().zip([0.701_587_86f32, -1.700_623_8, 2.700_381_8]) {
            assert!((g - e).abs() < 1e-6, "{got:?}");
        }
        assert_eq!(adam.step_count(), 3);
        Ok(())
    }

    #[test]
    fn clipping_bounds_the_global_norm() -> Result<()> {
        let mut params = ParamStore::new(&Device::Cpu);
        let w = params.var("w".into(), &[3.0, 4.0], &[2])?;
        let mut adam = Adam::new(&params, AdamConfig::default())?;
        // loss = 0.5 |w|² has gradient w, norm 5.
        let loss = w.as_tensor().sqr()?.sum_all()?.affine(0.5, 0.0)?;
        let norm = adam.clip_and_step(&loss.backward()?, 0.0, Some(1.0))?;
        assert!((norm - 5.0).abs() < 1e-5);
        // The first moment saw the clipped gradient w / 5 · (1 - β₁).
        let m = adam.tensors()["adam.m.w"].to_vec1::<f32>()?;
        assert!((m[0] - 0.6 * 0.1).abs() < 1e-5 && (m[1] - 0.8 * 0.1).abs() < 1e-5, "{m:?}");
        Ok(())
    }
}
