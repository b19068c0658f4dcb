//! Observation standardisation for learners: running mean and variance (Gymnasium's
//! `RunningMeanStd`, reused from [`crate::env::wrappers`]), applied as
//! `clip((x - mean) / sqrt(var + 1e-8), ±10)` like SB3's `VecNormalize`.
//!
//! It lives with the agent rather than as an env wrapper so that the statistics are
//! saved in the checkpoint and evaluation normalises exactly as training did.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::Result;
use crate::env::wrappers::RunningMeanStd;

const CLIP: f64 = 10.0;

/// Running observation statistics, or the identity when disabled.
#[derive(Debug, Clone)]
pub struct ObsNormalizer {
    enabled: bool,
    dim: usize,
    rms: RunningMeanStd,
    /// Whether [`ObsNormalizer::update`] changes the statistics (off for evaluation).
    pub training: bool,
}

impl ObsNormalizer {
    /// Fresh statistics for `dim`-wide observations.
    pub fn new(dim: usize, enabled: bool) -> Self {
        Self { enabled, dim, rms: RunningMeanStd::new(dim), training: true }
    }

    /// Whether observations are transformed at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Adds the rows of `obs` whose `active` flag is set to the statistics.
    pub fn update(&mut self, obs: &[f32], active: &[bool]) {
        if !self.enabled || !self.training || self.dim == 0 {
            return;
        }
        for (row, _) in obs.chunks(self.dim).zip(active).filter(|(_, a)| **a) {
            self.rms.update_one(row);
        }
    }

    /// Writes the normalised rows of `obs` into `out` (a copy when disabled).
    pub fn normalize(&self, obs: &[f32], out: &mut [f32]) {
        if !self.enabled || self.dim == 0 {
            out.copy_from_slice(obs);
            return;
        }
        for (o_row, x_row) in out.chunks_mut(self.dim).zip(obs.chunks(self.dim)) {
            for (i, (o, &x)) in o_row.iter_mut().zip(x_row).enumerate() {
                *o = ((f64::from(x) - self.rms.mean[i]) / (self.rms.var[i] + 1e-8).sqrt()).clamp(-CLIP, CLIP) as f32;
            }
        }
    }

    /// The statistics as tensors (`obs_rms.mean`, `obs_rms.var`, `obs_rms.count`), in f64.
    pub fn tensors(&self) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        if self.enabled {
            out.insert("obs_rms.mean".into(), Tensor::from_slice(&self.rms.mean, self.dim, &Device::Cpu)?);
            out.insert("obs_rms.var".into(), Tensor::from_slice(&self.rms.var, self.dim, &Device::Cpu)?);
            out.insert("obs_rms.count".into(), Tensor::from_slice(&[self.rms.count], 1, &Device::Cpu)?);
        }
        Ok(out)
    }

    /// Restores [`ObsNormalizer::tensors`] output.
    pub fn load(&mut self, tensors: &HashMap<String, Tensor>) -> std::result::Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        let get = |key: &str, len: usize| -> std::result::Result<Vec<f64>, String> {
            let t = tensors.get(key).ok_or_else(|| format!("tensor '{key}' is missing (the run normalises observations)"))?;
            let v = t.to_dtype(candle_core::DType::F64).and_then(|t| t.to_vec1::<f64>()).map_err(|e| format!("tensor '{key}': {e}"))?;
            if v.len() == len { Ok(v) } else { Err(format!("tensor '{key}' has {} entries, expected {len}", v.len())) }
        };
        self.rms.mean = get("obs_rms.mean", self.dim)?;
        self.rms.var = get("obs_rms.var", self.dim)?;
        self.rms.count = get("obs_rms.count", 1)?[0];
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardises_clips_and_round_trips() -> Result<()> {
        let mut n = ObsNormalizer::new(2, true);
        n.update(&[1.0, 100.0, 3.0, 100.0, 5.0, 1e9], &[true, true, false]);
        let mut out = [0.0; 2];
        n.normalize(&[2.0, 100.0], &mut out);
        // Gymnasium's initial count of 1e-4 pulls the mean a hair towards 0.
        assert!(out[0].abs() < 1e-3 && out[1].abs() < 1e-2, "{out:?}");
        n.normalize(&[1e6, 100.0], &mut out);
        assert_eq!(out[0], 10.0);
        let mut m = ObsNormalizer::new(2, true);
        m.load(&n.tensors()?).map_err(|e| crate::rl::RlError::config("test", e))?;
        assert_eq!(m.rms, n.rms);
        let off = ObsNormalizer::new(2, false);
        off.normalize(&[7.0, 8.0], &mut out);
        assert_eq!(out, [7.0, 8.0]);
        Ok(())
    }
}
