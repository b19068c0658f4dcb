//! Evaluation: run any [`Policy`] for a fixed number of episodes and report the returns.

use super::Result;
use super::batch::{AgentBatch, Episode};
use crate::env::Policy;
use crate::env::vector::ActionBuffer;

/// Returns and lengths of evaluation episodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalReport {
    /// Episode returns (summed over agents for multi-agent envs), in completion order.
    pub returns: Vec<f64>,
    /// Episode lengths.
    pub lengths: Vec<u64>,
}

impl EvalReport {
    /// Mean return (NaN without episodes).
    pub fn mean(&self) -> f64 {
        self.returns.iter().sum::<f64>() / self.returns.len() as f64
    }

    /// Population standard deviation of the returns.
    pub fn std(&self) -> f64 {
        let m = self.mean();
        (self.returns.iter().map(|r| (r - m).powi(2)).sum::<f64>() / self.returns.len() as f64).sqrt()
    }

    /// Mean episode length.
    pub fn mean_length(&self) -> f64 {
        self.lengths.iter().sum::<u64>() as f64 / self.lengths.len() as f64
    }
}

/// Runs `policy` in `batch` (reset with `seed`) until `episodes` episodes have finished,
/// taking env `i`'s first `(episodes + i) / num_envs` episodes as SB3's
/// `evaluate_policy` does, so that short episodes do not bias the mean.
pub fn evaluate(policy: &mut dyn Policy, batch: &mut AgentBatch, episodes: usize, seed: u64) -> Result<EvalReport> {
    let n = batch.num_envs();
    let targets: Vec<usize> = (0..n).map(|i| (episodes + i) / n).collect();
    let mut counts = vec![0usize; n];
    let mut report = EvalReport::default();
    let mut actions = ActionBuffer::new(batch.action_space(), batch.num_rows())?;
    let mut finished: Vec<Episode> = Vec::new();
    batch.reset(seed)?;
    // A guard against envs that never end an episode (a scene file without a step limit).
    let max_batch_steps = 1_000_000u64;
    let mut batch_steps = 0u64;
    while counts.iter().zip(&targets).any(|(c, t)| c < t) {
        batch_steps += 1;
        if batch_steps > max_batch_steps {
            return Err(super::RlError::config(
                "eval.episodes",
                format!("{episodes} episodes did not finish within {max_batch_steps} steps; does the env have a time limit?"),
            ));
        }
        let state = batch.state();
        policy.act(&state.obs, &state.active, &mut actions)?;
        batch.step(actions.as_actions())?;
        batch.drain_episodes(&mut finished);
        for ep in finished.drain(..) {
            if counts[ep.env] < targets[ep.env] {
                counts[ep.env] += 1;
                report.returns.push(ep.episode_return);
                report.lengths.push(ep.length);
            }
        }
    }
    Ok(report)
}
