//! Action distributions for policy-gradient agents.
//!
//! A [`PolicyHead`] maps the policy network's output row to a distribution over one
//! action space: categorical logits for `Discrete`, one categorical per component for
//! `MultiDiscrete` (log-probabilities and entropies summed, as SB3 and CleanRL do), and
//! a diagonal Gaussian with a state-independent learned `log_std` for `Box`.
//!
//! Sampling happens on the host with the run's seeded RNG (rollouts fetch the small
//! output rows anyway), so trajectories do not depend on the device. Log-probabilities
//! and entropies for the loss are computed on the device with candle.
//!
//! Actions are *stored* as `f32` rows of [`PolicyHead::action_width`] entries: class
//! indices (counted from 0) for categorical heads, the unclipped Gaussian sample for
//! `Box`. [`PolicyHead::write_env_actions`] turns them into env actions: adding the
//! `Discrete` space's `start`, and clipping Gaussian samples to the bounds (SB3's
//! behaviour; the log-probability stays that of the unclipped sample).

use candle_core::{D, DType, Tensor};
use rand::Rng;

use super::{Result, RlError};
use crate::env::Space;
use crate::env::vector::ActionBuffer;
use crate::nn::init::standard_normal;

const LOG_SQRT_2PI: f32 = 0.918_938_5;

/// The distribution family for one action space.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyHead {
    /// Softmax over `n` logits; env action = `start + index`.
    Categorical {
        /// Number of actions.
        n: usize,
        /// The `Discrete` space's first action.
        start: i64,
    },
    /// Independent softmaxes over consecutive logit groups, one per component.
    MultiCategorical {
        /// Actions per component.
        nvec: Vec<usize>,
    },
    /// Diagonal Gaussian with mean from the network and a learned `log_std`.
    Gaussian {
        /// Lower bounds of the `Box` action space.
        low: Vec<f32>,
        /// Upper bounds of the `Box` action space.
        high: Vec<f32>,
    },
}

impl PolicyHead {
    /// The head for `space`; `Dict` action spaces are not supported.
    pub fn for_space(space: &Space) -> Result<Self> {
        match space {
            Space::Discrete { n, start } => Ok(PolicyHead::Categorical { n: *n as usize, start: *start }),
            Space::MultiDiscrete { nvec } => Ok(PolicyHead::MultiCategorical { nvec: nvec.iter().map(|&n| n as usize).collect() }),
            Space::Box(b) => Ok(PolicyHead::Gaussian { low: b.low().to_vec(), high: b.high().to_vec() }),
            Space::Dict(_) => Err(RlError::Unsupported { algo: "the policy", what: format!("action space {space}") }),
        }
    }

    /// Width of the network output this head reads.
    pub fn out_dim(&self) -> usize {
        match self {
            PolicyHead::Categorical { n, .. } => *n,
            PolicyHead::MultiCategorical { nvec } => nvec.iter().sum(),
            PolicyHead::Gaussian { low, .. } => low.len(),
        }
    }

    /// Entries per stored action.
    pub fn action_width(&self) -> usize {
        match self {
            PolicyHead::Categorical { .. } => 1,
            PolicyHead::MultiCategorical { nvec } => nvec.len(),
            PolicyHead::Gaussian { low, .. } => low.len(),
        }
    }

    /// Whether the head has a `log_std` parameter.
    pub fn is_gaussian(&self) -> bool {
        matches!(self, PolicyHead::Gaussian { .. })
    }

    /// Samples one action from output row `out` (or takes the mode when
    /// `deterministic`), writes it to `stored` and returns its log-probability.
    pub fn sample_row<R: Rng + ?Sized>(&self, out: &[f32], log_std: &[f32], rng: &mut R, deterministic: bool, stored: &mut [f32]) -> f32 {
        match self {
            PolicyHead::Categorical { .. } => {
                let (index, logp) = sample_categorical(out, rng, deterministic);
                stored[0] = index as f32;
                logp
            }
            PolicyHead::MultiCategorical { nvec } => {
                let mut offset = 0;
                let mut logp = 0.0;
                for (slot, &n) in stored.iter_mut().zip(nvec) {
                    let (index, lp) = sample_categorical(&out[offset..offset + n], rng, deterministic);
                    *slot = index as f32;
                    logp += lp;
                    offset += n;
                }
                logp
            }
            PolicyHead::Gaussian { .. } => {
                let mut logp = 0.0;
                for ((slot, &mean), &ls) in stored.iter_mut().zip(out).zip(log_std) {
                    let z = if deterministic { 0.0 } else { standard_normal(rng) as f32 };
                    *slot = mean + ls.exp() * z;
                    logp += -0.5 * z * z - ls - LOG_SQRT_2PI;
                }
                logp
            }
        }
    }

    /// Writes the env actions for `rows` stored actions into `buf` (sized for those rows).
    pub fn write_env_actions(&self, stored: &[f32], buf: &mut ActionBuffer) {
        match (self, buf) {
            (PolicyHead::Categorical { start, .. }, ActionBuffer::Discrete(a)) => {
                a.iter_mut().zip(stored).for_each(|(dst, &s)| *dst = start + s as i64);
            }
            (PolicyHead::MultiCategorical { .. }, ActionBuffer::MultiDiscrete(a)) => {
                a.iter_mut().zip(stored).for_each(|(dst, &s)| *dst = s as i64);
            }
            (PolicyHead::Gaussian { low, high }, ActionBuffer::Continuous(a)) => {
                let d = low.len();
                for (i, (dst, &s)) in a.iter_mut().zip(stored).enumerate() {
                    *dst = s.clamp(low[i % d], high[i % d]);
                }
            }
            _ => {}
        }
    }

    /// Log-probabilities `[B]` and entropies `[B]` of stored `actions` (`[B, width]`,
    /// `f32`) under the distributions given by network output `out` (`[B, out_dim]`).
    pub fn log_prob_entropy(&self, out: &Tensor, log_std: Option<&Tensor>, actions: &Tensor) -> Result<(Tensor, Tensor)> {
        match self {
            PolicyHead::Categorical { .. } => Ok(categorical_log_prob_entropy(out, actions)?),
            PolicyHead::MultiCategorical { nvec } => {
                let mut offset = 0;
                let (mut logp, mut entropy) = (None::<Tensor>, None::<Tensor>);
                for (k, &n) in nvec.iter().enumerate() {
                    let (lp, ent) = categorical_log_prob_entropy(&out.narrow(1, offset, n)?, &actions.narrow(1, k, 1)?)?;
                    logp = Some(match logp {
                        Some(t) => t.add(&lp)?,
                        None => lp,
                    });
                    entropy = Some(match entropy {
                        Some(t) => t.add(&ent)?,
                        None => ent,
                    });
                    offset += n;
                }
                let zero = || Tensor::zeros(out.dim(0)?, DType::F32, out.device());
                Ok((logp.map_or_else(zero, Ok)?, entropy.map_or_else(zero, Ok)?))
            }
            PolicyHead::Gaussian { .. } => {
                let log_std = log_std.ok_or_else(|| RlError::config("policy", "a Gaussian head needs log_std"))?;
                let batch = out.dim(0)?;
                let log_std_b = log_std.unsqueeze(0)?.broadcast_as(out.shape())?;
                let z = actions.sub(out)?.div(&log_std_b.exp()?)?;
                let logp = z.sqr()?.affine(-0.5, -f64::from(LOG_SQRT_2PI))?.sub(&log_std_b)?.sum(1)?;
                let entropy = log_std.affine(1.0, 0.5 + f64::from(LOG_SQRT_2PI))?.sum_all()?.broadcast_as(batch)?;
                Ok((logp, entropy))
            }
        }
    }
}

fn categorical_log_prob_entropy(logits: &Tensor, actions: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
    let log_p = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let idx = actions.to_dtype(DType::U32)?;
    let idx = if idx.rank() == 1 { idx.unsqueeze(1)? } else { idx };
    let logp = log_p.gather(&idx, 1)?.squeeze(1)?;
    let entropy = log_p.exp()?.mul(&log_p)?.sum(1)?.neg()?;
    Ok((logp, entropy))
}

/// Samples (or takes the argmax of) a softmax over `logits`; returns the index and its log-probability.
fn sample_categorical<R: Rng + ?Sized>(logits: &[f32], rng: &mut R, deterministic: bool) -> (usize, f32) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    let log_z = max + sum.ln();
    let index = if deterministic {
        argmax(logits)
    } else {
        let u = rng.random::<f32>() * sum;
        let mut acc = 0.0;
        // If rounding leaves `u` past the last partial sum, take the last action that has
        // any probability (never one whose weight underflowed to 0: its log-prob is -inf).
        let mut chosen = logits.iter().rposition(|&l| (l - max).exp() > 0.0).unwrap_or(logits.len() - 1);
        for (i, &l) in logits.iter().enumerate() {
            acc += (l - max).exp();
            if u < acc {
                chosen = i;
                break;
            }
        }
        chosen
    };
    (index, logits[index] - log_z)
}

/// Index of the largest value (the first on ties).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) }).0
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn host_and_device_log_probs_agree() -> Result<()> {
        let dev = Device::Cpu;
        let mut rng = rng_from_seed(0);
        let spaces = [Space::discrete(3)?, Space::multi_discrete(vec![2, 3])?, Space::boxed(vec![-1.0, -2.0], vec![1.0, 2.0], vec![2])?];
        for space in spaces {
            let head = PolicyHead::for_space(&space)?;
            let out = [0.3f32, -0.2, 0.5, 0.1, 0.0];
            let out = &out[..head.out_dim()];
            let log_std = [-0.5f32, 0.2];
            let mut stored = vec![0.0; head.action_width()];
            let host_logp = head.sample_row(out, &log_std, &mut rng, false, &mut stored);
            let out_t = Tensor::from_slice(out, (1, head.out_dim()), &dev)?;
            let act_t = Tensor::from_slice(&stored, (1, head.action_width()), &dev)?;
            let ls = Tensor::from_slice(&log_std, 2, &dev)?;
            let (logp, entropy) = head.log_prob_entropy(&out_t, Some(&ls), &act_t)?;
            let device_logp = logp.to_vec1::<f32>()?[0];
            assert!((host_logp - device_logp).abs() < 1e-5, "{space}: {host_logp} vs {device_logp}");
            assert!(entropy.to_vec1::<f32>()?[0] > 0.0);
        }
        Ok(())
    }

    #[test]
    fn categorical_entropy_and_sampling_frequencies() -> Result<()> {
        // Uniform logits over 4 actions: entropy ln 4; samples roughly uniform.
        let logits = Tensor::zeros((1, 4), DType::F32, &Device::Cpu)?;
        let (_, ent) = categorical_log_prob_entropy(&logits, &Tensor::zeros((1, 1), DType::F32, &Device::Cpu)?)?;
        assert!((ent.to_vec1::<f32>()?[0] - 4f32.ln()).abs() < 1e-6);
        let mut rng = rng_from_seed(1);
        let mut counts = [0usize; 3];
        let skewed = [0.0f32, 1.0, 2.0];
        for _ in 0..30_000 {
            counts[sample_categorical(&skewed, &mut rng, false).0] += 1;
        }
        let z: f32 = skewed.iter().map(|l| l.exp()).sum();
        for (c, l) in counts.iter().zip(skewed) {
            let p = l.exp() / z;
            assert!((*c as f32 / 30_000.0 - p).abs() < 0.01, "{counts:?}");
        }
        assert_eq!(sample_categorical(&skewed, &mut rng, true).0, 2);
        Ok(())
    }

    #[test]
    fn env_actions_add_start_and_clip_gaussians() -> Result<()> {
        let head = PolicyHead::for_space(&Space::discrete_with_start(3, -1)?)?;
        let mut buf = ActionBuffer::new(&Space::discrete_with_start(3, -1)?, 2)?;
        head.write_env_actions(&[0.0, 2.0], &mut buf);
        assert_eq!(buf, ActionBuffer::Discrete(vec![-1, 1]));
        let space = Space::boxed(vec![-1.0], vec![1.0], vec![1])?;
        let head = PolicyHead::for_space(&space)?;
        let mut buf = ActionBuffer::new(&space, 3)?;
        head.write_env_actions(&[-3.0, 0.5, 7.0], &mut buf);
        assert_eq!(buf, ActionBuffer::Continuous(vec![-1.0, 0.5, 1.0]));
        Ok(())
    }
}
