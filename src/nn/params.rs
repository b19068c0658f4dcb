//! [`ParamStore`]: the trainable variables of a network under stable safetensors names,
//! and the named buffers (batch-norm statistics) saved beside them.
//!
//! Weights are initialised from the run's seeded RNG on the host ([`super::init`]),
//! not from candle's device RNG, so a seed gives the same network on CPU and CUDA and
//! across runs.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;

use super::init::orthogonal;
use super::{Error, Result};

/// The trainable variables of a network, in creation order, each with a stable name
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
                return Err(Error::config(name, "networks differ in shape"));
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
