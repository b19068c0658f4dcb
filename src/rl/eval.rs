//! Evaluation: run any [`Policy`] for a fixed number of episodes and report the returns.

use super::Result;
use super::batch::{AgentBatch, Episode};
use crate::env::Policy;
use crate::env::vector::ActionBuffer;

/// How far above a run's training seed its evaluations start. Training env `i` of a
/// fresh run starts from `seed + i`; evaluation env `i` from `seed + EVAL_SEED_OFFSET + i`
/// (during training, and by default in `synthgym eval`), so no evaluation replays the
/// episodes a training env began with.
pub const EVAL_SEED_OFFSET: u64 = 1 << 32;

/// Errors (with both ranges) if the seeds `eval..eval + eval_envs` meet the training
/// seeds `train..train + train_envs` (each range is `base + i`, wrapping like the seeds).
pub fn check_seeds_disjoint(train: u64, train_envs: usize, eval: u64, eval_envs: usize) -> std::result::Result<(), String> {
    let overlap = eval.wrapping_sub(train) < train_envs as u64 || train.wrapping_sub(eval) < eval_envs as u64;
    if overlap {
        let last = |base: u64, n: usize| base.wrapping_add(n.saturating_sub(1) as u64);
        return Err(format!(
            "evaluation seeds {eval}..={} overlap the seeds training started from ({train}..={}); leave --seed out for the run's evaluation seeds, or pick others",
            last(eval, eval_envs),
            last(train, train_envs)
        ));
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_that_meet_are_refused() {
        // Training envs 0..8 start from 1..=8.
        assert!(check_seeds_disjoint(1, 8, 9, 100).is_ok());
        assert!(check_seeds_disjoint(1, 8, 1 + EVAL_SEED_OFFSET, 8).is_ok());
        let Err(err) = check_seeds_disjoint(1, 8, 0, 2) else { panic!("seeds 0..=1 overlap 1..=8") };
        assert!(err.contains("0..=1") && err.contains("1..=8"), "{err}");
        assert!(check_seeds_disjoint(1, 8, 8, 1).is_err(), "the last training seed");
        assert!(check_seeds_disjoint(1, 8, 0, 1).is_ok(), "just below");
        // Ranges wrap like the seeds do.
        assert!(check_seeds_disjoint(u64::MAX, 2, 0, 1).is_err());
        assert!(check_seeds_disjoint(5, 1, u64::MAX, 8).is_err());
    }
}
