//! [`NormalizeObservation`]: standardises observations with running statistics.

use crate::env::{Action, BoxSpace, Env, EnvError, Info, ResetOptions, Space, StepOutcome, check_obs_len};

/// Running mean and variance of a stream of vectors, merged batch by batch with
/// Chan et al.'s parallel algorithm, exactly as Gymnasium's `RunningMeanStd`
/// (initial count `1e-4`, mean 0, variance 1).
#[derive(Debug, Clone, PartialEq)]
pub struct RunningMeanStd {
    /// Per-element mean.
    pub mean: Vec<f64>,
    /// Per-element (population) variance.
    pub var: Vec<f64>,
    /// Number of samples seen, plus the initial `1e-4`.
    pub count: f64,
}

impl RunningMeanStd {
    /// Fresh statistics for vectors of `dim` elements.
    pub fn new(dim: usize) -> Self {
        Self { mean: vec![0.0; dim], var: vec![1.0; dim], count: 1e-4 }
    }

    /// Merges one sample (a batch of size one, so its own variance is zero).
    pub fn update_one(&mut self, x: &[f32]) {
        let tot_count = self.count + 1.0;
        for ((m, v), &xi) in self.mean.iter_mut().zip(&mut self.var).zip(x) {
            let delta = xi as f64 - *m;
            let m2 = *v * self.count + delta * delta * self.count / tot_count;
            *m += delta / tot_count;
            *v = m2 / tot_count;
        }
        self.count = tot_count;
    }
}

/// Replaces each observation `x` by `(x - mean) / sqrt(var + 1e-8)` with running
/// statistics over every observation seen (Gymnasium's `NormalizeObservation`).
/// The observation space becomes an unbounded `Box` of the same flat size.
#[derive(Debug, Clone)]
pub struct NormalizeObservation<E> {
    env: E,
    space: Space,
    rms: RunningMeanStd,
    update: bool,
}

/// Added to the variance before the square root, as in Gymnasium.
const EPSILON: f64 = 1e-8;

impl<E: Env> NormalizeObservation<E> {
    /// Wraps `env`; statistics update on every observation until [`Self::set_update`]`(false)`.
    pub fn new(env: E) -> Result<Self, EnvError> {
        let dim = env.observation_space().flat_dim();
        let space = Space::Box(BoxSpace::uniform(f32::NEG_INFINITY, f32::INFINITY, vec![dim])?);
        Ok(Self { env, space, rms: RunningMeanStd::new(dim), update: true })
    }

    /// Freezes (`false`) or resumes (`true`) the running statistics, e.g. for evaluation.
    pub fn set_update(&mut self, update: bool) {
        self.update = update;
    }

    /// The running statistics, to save alongside a policy.
    pub fn stats(&self) -> &RunningMeanStd {
        &self.rms
    }

    /// Replaces the running statistics, e.g. with ones loaded from a checkpoint.
    pub fn set_stats(&mut self, rms: RunningMeanStd) -> Result<(), EnvError> {
        if rms.mean.len() != self.rms.mean.len() || rms.var.len() != self.rms.var.len() {
            return Err(EnvError::InvalidConfig {
                what: "observation statistics".into(),
                reason: format!("have {} elements, the observation has {}", rms.mean.len(), self.rms.mean.len()),
            });
        }
        self.rms = rms;
        Ok(())
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.env
    }

    fn normalize(&mut self, obs: &mut [f32]) {
        if self.update {
            self.rms.update_one(obs);
        }
        for ((o, m), v) in obs.iter_mut().zip(&self.rms.mean).zip(&self.rms.var) {
            *o = ((*o as f64 - m) / (v + EPSILON).sqrt()) as f32;
        }
    }
}

impl<E: Env> Env for NormalizeObservation<E> {
    fn observation_space(&self) -> &Space {
        &self.space
    }

    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        check_obs_len(&self.space, obs)?;
        let info = self.env.reset(seed, options, obs)?;
        self.normalize(obs);
        Ok(info)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        check_obs_len(&self.space, obs)?;
        let out = self.env.step(action, obs)?;
        self.normalize(obs);
        Ok(out)
    }

    fn snapshot(&self, out: &mut crate::snapshot::Snapshot) -> bool {
        self.env.snapshot(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values from Gymnasium 1.4:
    /// ```python
    /// from gymnasium.wrappers.utils import RunningMeanStd
    /// import numpy as np
    /// r = RunningMeanStd(shape=(2,))
    /// for x in [[1.0, -2.0], [3.0, 0.5], [-4.0, 8.0]]:
    ///     r.update(np.array([x]))
    /// print(r.mean.tolist(), r.var.tolist(), r.count)
    /// # [0.0, 2.166594446851772] [8.666411119629345, 18.055143527036925] 3.0000999999999998
    /// ```
    #[test]
    fn running_mean_std_matches_gymnasium() {
        let mut r = RunningMeanStd::new(2);
        for x in [[1.0, -2.0], [3.0, 0.5], [-4.0, 8.0]] {
            r.update_one(&x);
        }
        let expected_mean = [0.0, 2.166594446851772];
        let expected_var = [8.666411119629345, 18.055143527036925];
        for i in 0..2 {
            assert!((r.mean[i] - expected_mean[i]).abs() < 1e-9, "{:?}", r.mean);
            assert!((r.var[i] - expected_var[i]).abs() < 1e-9, "{:?}", r.var);
        }
        assert!((r.count - 3.0001).abs() < 1e-12);
    }
}
