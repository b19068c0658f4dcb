//! On-policy rollout storage and generalised advantage estimation.
//!
//! Every array is laid out `[step][row]` (`t * num_rows + r`); a row is one env, or one
//! agent of one env when a multi-agent env is trained with parameter sharing.
//!
//! ## Termination versus truncation
//! GAE (Schulman et al., 2016, "High-Dimensional Continuous Control Using Generalized
//! Advantage Estimation") needs the value of the state after each transition. After a
//! *terminated* transition that value is 0 by definition. After a *truncated* one the
//! episode was cut short, so the value of the true next state (the final observation,
//! before the automatic reset) is bootstrapped: `next_values` holds it. In both cases
//! the advantage recursion stops at the episode boundary. This is what CleanRL's
//! `logical_or(terminations, truncations)` gets wrong and SB3 patches into the reward.

/// Advantages by GAE(λ), written into `advantages` (all slices `[step][row]`).
///
/// - `next_values[i]`: V of the state reached by transition `i` (the next row's value,
///   the bootstrap value after the last step, or V(final observation) at an episode end).
/// - `terminated[i]`: the transition reached a terminal state (no bootstrap).
/// - `ended[i]`: the episode ended there, by termination or truncation (stop the recursion).
/// - `valid[i]`: the row acted at this step (inactive agents get advantage 0).
#[expect(clippy::too_many_arguments, reason = "GAE's inputs are parallel arrays; a struct would only rename them")]
pub fn gae(
    num_rows: usize,
    rewards: &[f32],
    values: &[f32],
    next_values: &[f32],
    terminated: &[bool],
    ended: &[bool],
    valid: &[bool],
    gamma: f32,
    gae_lambda: f32,
    advantages: &mut [f32],
) {
    let num_steps = rewards.len() / num_rows.max(1);
    for r in 0..num_rows {
        let mut last = 0.0f32;
        for t in (0..num_steps).rev() {
            let i = t * num_rows + r;
            if !valid[i] {
                advantages[i] = 0.0;
                last = 0.0;
                continue;
            }
            let bootstrap = if terminated[i] { 0.0 } else { gamma * next_values[i] };
            let delta = rewards[i] + bootstrap - values[i];
            let carry = if ended[i] { 0.0 } else { gamma * gae_lambda * last };
            last = delta + carry;
            advantages[i] = last;
        }
    }
}

/// One PPO rollout: `num_steps` transitions for each of `num_rows` rows.
#[derive(Debug, Clone)]
pub struct RolloutBuffer {
    /// Transitions per row.
    pub num_steps: usize,
    /// Rows (envs × agents).
    pub num_rows: usize,
    /// Observation width.
    pub obs_dim: usize,
    /// Entries per stored action.
    pub action_width: usize,
    /// Observations the policy saw (normalised if normalisation is on).
    pub obs: Vec<f32>,
    /// Stored actions (see [`super::distributions`]).
    pub actions: Vec<f32>,
    /// Log-probabilities of the actions under the rollout policy.
    pub logprobs: Vec<f32>,
    /// V(obs) under the rollout critic.
    pub values: Vec<f32>,
    /// Rewards received.
    pub rewards: Vec<f32>,
    /// V of the state each transition reached (see [`gae`]).
    pub next_values: Vec<f32>,
    /// Transition reached a terminal state.
    pub terminated: Vec<bool>,
    /// Episode ended at this transition (terminated or truncated).
    pub ended: Vec<bool>,
    /// Row acted at this step.
    pub valid: Vec<bool>,
    /// GAE advantages, after [`RolloutBuffer::compute_advantages`].
    pub advantages: Vec<f32>,
    /// Advantages plus values: the critic's regression targets.
    pub returns: Vec<f32>,
}

impl RolloutBuffer {
    /// Zeroed storage.
    pub fn new(num_steps: usize, num_rows: usize, obs_dim: usize, action_width: usize) -> Self {
        let n = num_steps * num_rows;
        Self {
            num_steps,
            num_rows,
            obs_dim,
            action_width,
            obs: vec![0.0; n * obs_dim],
            actions: vec![0.0; n * action_width],
            logprobs: vec![0.0; n],
            values: vec![0.0; n],
            rewards: vec![0.0; n],
            next_values: vec![0.0; n],
            terminated: vec![false; n],
            ended: vec![false; n],
            valid: vec![false; n],
            advantages: vec![0.0; n],
            returns: vec![0.0; n],
        }
    }

    /// Fills `next_values` for transitions that did not end an episode (the next
    /// step's value, or `last_values` after the final step), then runs [`gae`] and
    /// sets `returns = advantages + values`. Ended transitions keep the
    /// `next_values` the rollout wrote for them.
    pub fn compute_advantages(&mut self, last_values: &[f32], gamma: f32, gae_lambda: f32) {
        let rows = self.num_rows;
        for t in 0..self.num_steps {
            for (r, &last) in last_values.iter().enumerate().take(rows) {
                let i = t * rows + r;
                if !self.ended[i] {
                    self.next_values[i] = if t + 1 < self.num_steps { self.values[i + rows] } else { last };
                }
            }
        }
        gae(
            rows,
            &self.rewards,
            &self.values,
            &self.next_values,
            &self.terminated,
            &self.ended,
            &self.valid,
            gamma,
            gae_lambda,
            &mut self.advantages,
        );
        for ((ret, adv), v) in self.returns.iter_mut().zip(&self.advantages).zip(&self.values) {
            *ret = adv + v;
        }
    }

    /// Indices of the transitions where the row acted.
    pub fn valid_indices(&self) -> Vec<u32> {
        self.valid.iter().enumerate().filter(|(_, v)| **v).map(|(i, _)| i as u32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: a direct transcription of the GAE sum
    /// A_t = Σ_k (γλ)^k δ_{t+k}, stopping after the transition that ends the episode.
    fn reference(
        rewards: &[f32],
        values: &[f32],
        next_values: &[f32],
        terminated: &[bool],
        ended: &[bool],
        gamma: f32,
        lambda: f32,
    ) -> Vec<f32> {
        let n = rewards.len();
        let delta: Vec<f32> = (0..n).map(|t| rewards[t] + if terminated[t] { 0.0 } else { gamma * next_values[t] } - values[t]).collect();
        (0..n)
            .map(|t| {
                let mut sum = 0.0;
                let mut w = 1.0;
                for k in t..n {
                    sum += w * delta[k];
                    if ended[k] {
                        break;
                    }
                    w *= gamma * lambda;
                }
                sum
            })
            .collect()
    }

    #[test]
    fn gae_matches_the_direct_sum_and_bootstraps_only_truncation() {
        let rewards = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let values = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
        // Step 2 terminates, step 4 is truncated with V(final obs) = 3.0, step 5 runs on (bootstrap 2.0).
        let next_values = [0.6, 0.7, 99.0, 0.9, 3.0, 2.0];
        let terminated = [false, false, true, false, false, false];
        let ended = [false, false, true, false, true, false];
        let valid = [true; 6];
        let mut adv = [0.0; 6];
        gae(1, &rewards, &values, &next_values, &terminated, &ended, &valid, 0.99, 0.95, &mut adv);
        let expected = reference(&rewards, &values, &next_values, &terminated, &ended, 0.99, 0.95);
        for (a, e) in adv.iter().zip(&expected) {
            assert!((a - e).abs() < 1e-6, "{adv:?} vs {expected:?}");
        }
        // Terminated: δ = r - V, no bootstrap from the (garbage) next value.
        assert!((adv[2] - (1.0 - 0.7)).abs() < 1e-6);
        // Truncated: bootstraps V(final obs) = 3.0 and does not look past the boundary.
        assert!((adv[4] - (1.0 + 0.99 * 3.0 - 0.9)).abs() < 1e-6);
    }

    #[test]
    fn rows_are_independent_and_invalid_steps_are_zero() {
        // Two rows interleaved; row 1 is inactive at step 1 (after terminating at step 0).
        let rewards = [1.0, 2.0, 1.0, 0.0];
        let values = [0.0; 4];
        let next_values = [0.0, 0.0, 0.5, 0.0];
        let terminated = [false, true, false, false];
        let ended = [false, true, false, false];
        let valid = [true, true, true, false];
        let mut adv = [9.0; 4];
        gae(2, &rewards, &values, &next_values, &terminated, &ended, &valid, 0.9, 1.0, &mut adv);
        assert_eq!(adv[3], 0.0);
        assert!((adv[1] - 2.0).abs() < 1e-6);
        // Row 0: δ1 = 1 + 0.9·0.5 = 1.45; δ0 = 1 + 0.9·0 = 1; A0 = 1 + 0.9·1.45.
        assert!((adv[2] - 1.45).abs() < 1e-6);
        assert!((adv[0] - (1.0 + 0.9 * 1.45)).abs() < 1e-6);
    }

    #[test]
    fn compute_advantages_fills_next_values_from_the_following_step() {
        let mut buf = RolloutBuffer::new(2, 1, 1, 1);
        buf.values = vec![1.0, 2.0];
        buf.rewards = vec![0.0, 0.0];
        buf.valid = vec![true, true];
        buf.compute_advantages(&[4.0], 0.5, 1.0);
        assert_eq!(buf.next_values, vec![2.0, 4.0]);
        // A1 = 0.5·4 - 2 = 0; A0 = 0.5·2 - 1 + 0.5·A1 = 0.
        assert_eq!(buf.advantages, vec![0.0, 0.0]);
        assert_eq!(buf.returns, vec![1.0, 2.0]);
    }
}
