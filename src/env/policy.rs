//! [`Policy`]: anything that chooses actions from observations, batch by batch. Learned
//! agents (in `rl/`), scripted baselines (in `scenes/`) and [`RandomPolicy`] all
//! implement it, so evaluation and recording treat them alike.

use rand_chacha::ChaCha8Rng;

use super::vector::ActionBuffer;
use super::{EnvError, Space};
use crate::util::seed::rng_from_seed;

/// Chooses one action per row of observations.
pub trait Policy {
    /// A short name for reports (`ppo`, `random`, `scripted`, …).
    fn name(&self) -> &str;

    /// Writes an action for each of the `rows` observations in `obs` (row-major, each
    /// the observation space's flat size) into `actions`, which is sized for `rows`.
    /// Rows whose `active` flag is false are ignored by the env; any action will do.
    fn act(&mut self, obs: &[f32], active: &[bool], actions: &mut ActionBuffer) -> Result<(), EnvError>;
}

/// Fills a `Discrete` action buffer row by row with `decide(observation row)`: the
/// shape of every scripted controller. `what` names the controller in errors.
pub fn act_per_row(
    obs: &[f32],
    obs_dim: usize,
    actions: &mut ActionBuffer,
    what: &str,
    mut decide: impl FnMut(&[f32]) -> i64,
) -> Result<(), EnvError> {
    let ActionBuffer::Discrete(out) = actions else {
        return Err(EnvError::Policy(format!("{what} chooses Discrete actions, one per agent")));
    };
    if obs.len() != out.len() * obs_dim {
        return Err(EnvError::BufferSize { what: "observation rows", got: obs.len(), expected: out.len() * obs_dim });
    }
    for (a, row) in out.iter_mut().zip(obs.chunks(obs_dim.max(1))) {
        *a = decide(row);
    }
    Ok(())
}

/// Uniformly random actions from a seeded RNG.
#[derive(Debug, Clone)]
pub struct RandomPolicy {
    space: Space,
    rng: ChaCha8Rng,
}

impl RandomPolicy {
    /// Samples from `space` with an RNG seeded by `seed`.
    pub fn new(space: Space, seed: u64) -> Self {
        Self { space, rng: rng_from_seed(seed) }
    }
}

impl Policy for RandomPolicy {
    fn name(&self) -> &str {
        "random"
    }

    fn act(&mut self, _obs: &[f32], _active: &[bool], actions: &mut ActionBuffer) -> Result<(), EnvError> {
        actions.sample(&self.space, &mut self.rng);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_policy_is_seeded_and_inside_the_space() -> Result<(), EnvError> {
        let space = Space::discrete(5)?;
        let run = |seed| -> Result<ActionBuffer, EnvError> {
            let mut p = RandomPolicy::new(space.clone(), seed);
            let mut buf = ActionBuffer::new(&space, 64)?;
            p.act(&[], &[true; 64], &mut buf)?;
            Ok(buf)
        };
        assert_eq!(run(1)?, run(1)?);
        assert_ne!(run(1)?, run(2)?);
        match run(3)? {
            ActionBuffer::Discrete(a) => assert!(a.iter().all(|x| (0..5).contains(x))),
            other => panic!("a Discrete space gave {other:?}"),
        }
        Ok(())
    }
}
