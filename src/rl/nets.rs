//! Networks: multi-layer perceptrons with orthogonal initialisation, and the
//! [`ParamStore`] that owns their variables under stable safetensors names.
//!
//! Weights are initialised from the run's seeded RNG on the host, not from candle's
//! device RNG, so a seed gives the same network on CPU and CUDA and across runs.
//! Orthogonal initialisation with gain √2 for hidden layers, 0.01 for the policy
//! output and 1 for the value output follows CleanRL's `layer_init` and SB3.

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor, Var};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Result, RlError};

/// Hidden-layer nonlinearity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `tanh`, SB3's default for PPO.
    #[default]
    Tanh,
    /// `max(0, x)`, SB3's default for DQN.
    Relu,
}

impl Activation {
    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            // candle's CPU tanh calls libm's scalar `tanhf` per element, which was a third
            // of PPO's CartPole update time; the rational approximation vectorises.
            Activation::Tanh if x.device().is_cpu() && x.dtype() == DType::F32 && x.is_contiguous() => x.apply_op1(FastTanh),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
        }
    }
}

/// `tanh` for f32 tensors on the CPU by a rational approximation (the one Eigen uses
/// for `ptanh`: odd degree-13 numerator over even degree-6 denominator, within a few
/// ulp of `f32::tanh`), with the usual gradient `1 - tanh²`.
struct FastTanh;

impl candle_core::CustomOp1 for FastTanh {
    fn name(&self) -> &'static str {
        "fast-tanh"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let candle_core::CpuStorage::F32(data) = storage else { candle_core::bail!("fast-tanh: expected f32 storage") };
        // Linear-layer outputs are always contiguous; anything else takes candle's own tanh.
        let Some((start, end)) = layout.contiguous_offsets() else { candle_core::bail!("fast-tanh: expected a contiguous tensor") };
        let out: Vec<f32> = data[start..end].iter().map(|&x| tanh_approx(x)).collect();
        Ok((candle_core::CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad_res.mul(&res.sqr()?.affine(-1.0, 1.0)?)?))
    }
}

/// `tanh(x)` as `x·p(x²)/q(x²)`, clamped where `tanh` rounds to ±1 in f32. Plain
/// multiply-adds rather than `mul_add`, which is a libm call without the `fma` target feature.
#[inline]
pub fn tanh_approx(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = x.clamp(-CLAMP, CLAMP);
    if x.abs() < 4e-4 {
        return x;
    }
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    p = p * x2 + 2.000_188e-13;
    p = p * x2 + -8.604_672e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619e-4;
    p = p * x2 + 4.893_524_6e-3;
    let mut q = 1.198_258_4e-6_f32;
    q = q * x2 + 1.185_347e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    x * p / q
}

/// The trainable variables of an agent, in creation order, each with a stable name
/// (`actor.0.weight`, `critic.2.bias`, `log_std`, …) used as its safetensors key.
#[derive(Debug)]
pub struct ParamStore {
    device: Device,
    vars: Vec<(String, Var)>,
}

impl ParamStore {
    /// An empty store whose variables will live on `device`.
    pub fn new(device: &Device) -> Self {
        Self { device: device.clone(), vars: Vec::new() }
    }

    /// The device the variables live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A new variable `name` holding `data` with `shape`.
    pub fn var(&mut self, name: String, data: &[f32], shape: &[usize]) -> Result<Var> {
        let var = Var::from_tensor(&Tensor::from_slice(data, shape, &self.device)?)?;
        self.vars.push((name, var.clone()));
        Ok(var)
    }

    /// A linear layer `in_dim → out_dim` named `name.{weight,bias}`: orthogonal
    /// weights scaled by `gain`, zero bias.
    pub fn linear<R: Rng + ?Sized>(
        &mut self,
        name: &str,
        in_dim: usize,
        out_dim: usize,
        gain: f32,
        rng: &mut R,
    ) -> Result<candle_nn::Linear> {
        let w = orthogonal(out_dim, in_dim, gain, rng);
        let weight = self.var(format!("{name}.weight"), &w, &[out_dim, in_dim])?;
        let bias = self.var(format!("{name}.bias"), &vec![0.0; out_dim], &[out_dim])?;
        Ok(candle_nn::Linear::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone())))
    }

    /// The variables, in creation order.
    pub fn vars(&self) -> &[(String, Var)] {
        &self.vars
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// The variables as named tensors, for saving.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.vars.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect()
    }

    /// Sets every variable from `tensors` (keys with `prefix`), checking names and shapes.
    pub fn load(&self, tensors: &HashMap<String, Tensor>, prefix: &str) -> std::result::Result<(), String> {
        for (name, var) in &self.vars {
            let key = format!("{prefix}{name}");
            let t = tensors.get(&key).ok_or_else(|| format!("tensor '{key}' is missing"))?;
            if t.dims() != var.dims() {
                return Err(format!("tensor '{key}' has shape {:?}, the network expects {:?}", t.dims(), var.dims()));
            }
            let t = t.to_dtype(DType::F32).and_then(|t| t.to_device(&self.device)).map_err(|e| e.to_string())?;
            var.set(&t).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Copies every variable of `other` (same architecture) into this store, as a
    /// DQN target network update does.
    pub fn copy_from(&self, other: &ParamStore) -> Result<()> {
        for ((name, dst), (_, src)) in self.vars.iter().zip(&other.vars) {
            if dst.dims() != src.dims() {
                return Err(RlError::config(name, "networks differ in shape"));
            }
            dst.set(&src.as_tensor().copy()?)?;
        }
        Ok(())
    }
}

/// Sets each named buffer (batch-norm statistics and the like: saved, not trained) from
/// `tensors`, checking names and shapes.
pub fn load_buffers(buffers: &[(String, Var)], tensors: &HashMap<String, Tensor>) -> std::result::Result<(), String> {
    for (name, var) in buffers {
        let t = tensors.get(name).ok_or_else(|| format!("tensor '{name}' is missing"))?;
        if t.dims() != var.dims() {
            return Err(format!("tensor '{name}' has shape {:?}, the network expects {:?}", t.dims(), var.dims()));
        }
        var.set(&t.to_device(var.device()).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What an agent's checkpoint holds besides the optimiser: its variables and its
/// observation statistics (shared by the PPO and DQN agents).
pub fn agent_tensors(params: &ParamStore, normalizer: &super::normalize::ObsNormalizer) -> Result<HashMap<String, Tensor>> {
    let mut t = params.tensors();
    t.extend(normalizer.tensors()?);
    Ok(t)
}

/// Restores [`agent_tensors`] output.
pub fn load_agent_tensors(
    params: &ParamStore,
    normalizer: &mut super::normalize::ObsNormalizer,
    tensors: &HashMap<String, Tensor>,
) -> std::result::Result<(), String> {
    params.load(tensors, "")?;
    normalizer.load(tensors)
}

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
                x = self.activation.apply(&x)?;
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

/// A `rows × cols` matrix (row-major) with orthonormal rows or columns (whichever are
/// fewer), scaled by `gain`: PyTorch's `orthogonal_`, by Gram–Schmidt on Gaussian draws.
pub fn orthogonal<R: Rng + ?Sized>(rows: usize, cols: usize, gain: f32, rng: &mut R) -> Vec<f32> {
    // Orthonormalise the columns of a tall `n × m` matrix (n ≥ m), then transpose if needed.
    let (n, m) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    let mut a: Vec<f64> = (0..n * m).map(|_| standard_normal(rng)).collect();
    for j in 0..m {
        for k in 0..j {
            let dot: f64 = (0..n).map(|i| a[i * m + j] * a[i * m + k]).sum();
            for i in 0..n {
                a[i * m + j] -= dot * a[i * m + k];
            }
        }
        let norm = (0..n).map(|i| a[i * m + j] * a[i * m + j]).sum::<f64>().sqrt().max(1e-12);
        for i in 0..n {
            a[i * m + j] /= norm;
        }
    }
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let v = if rows >= cols { a[r * m + c] } else { a[c * m + r] };
            out[r * cols + c] = gain * v as f32;
        }
    }
    out
}

/// One draw from N(0, 1) by the Box–Muller transform (rand 0.9 has no normal
/// distribution without `rand_distr`).
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal() {
        let mut rng = rng_from_seed(3);
        for (rows, cols) in [(8, 3), (3, 8), (5, 5)] {
            let w = orthogonal(rows, cols, 2.0, &mut rng);
            // W Wᵀ = 4 I when rows ≤ cols, Wᵀ W = 4 I otherwise.
            let k = rows.min(cols);
            for p in 0..k {
                for q in 0..k {
                    let dot: f32 = if rows <= cols {
                        (0..cols).map(|c| w[p * cols + c] * w[q * cols + c]).sum()
                    } else {
                        (0..rows).map(|r| w[r * cols + p] * w[r * cols + q]).sum()
                    };
                    let expected = if p == q { 4.0 } else { 0.0 };
                    assert!((dot - expected).abs() < 1e-4, "{rows}x{cols}: ({p},{q}) = {dot}");
                }
            }
        }
    }

    #[test]
    fn fast_tanh_matches_std_and_has_the_right_gradient() -> Result<()> {
        for i in -2000..=2000 {
            let x = i as f32 * 0.005;
            assert!((tanh_approx(x) - x.tanh()).abs() < 6e-7, "x = {x}: {} vs {}", tanh_approx(x), x.tanh());
        }
        assert_eq!(tanh_approx(50.0), tanh_approx(7.905_311));
        assert!((tanh_approx(50.0) - 1.0).abs() < 1e-6);
        let x = Var::from_tensor(&Tensor::new(&[-1.5f32, 0.0, 0.7], &Device::Cpu)?)?;
        let y = Activation::Tanh.apply(x.as_tensor())?;
        let g = y.sum_all()?.backward()?;
        let grad = g.get(x.as_tensor()).map(|t| t.to_vec1::<f32>()).transpose()?.unwrap_or_default();
        for (gi, xi) in grad.iter().zip([-1.5f32, 0.0, 0.7]) {
            assert!((gi - (1.0 - xi.tanh().powi(2))).abs() < 1e-6);
        }
        Ok(())
    }

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
