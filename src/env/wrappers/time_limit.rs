//! [`TimeLimit`]: truncates episodes after a fixed number of steps.

use crate::env::{Action, Env, EnvError, Info, ResetOptions, Space, StepOutcome};

/// Sets `truncated` once `max_episode_steps` steps have been taken since the last
/// reset (Gymnasium's `TimeLimit`). `terminated` passes through untouched.
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    env: E,
    max_episode_steps: u64,
    elapsed_steps: u64,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `env` with a limit of `max_episode_steps` (at least 1).
    pub fn new(env: E, max_episode_steps: u64) -> Result<Self, EnvError> {
        if max_episode_steps == 0 {
            return Err(EnvError::InvalidConfig { what: "max_episode_steps".into(), reason: "must be at least 1".into() });
        }
        Ok(Self { env, max_episode_steps, elapsed_steps: 0 })
    }

    /// The step limit.
    pub fn max_episode_steps(&self) -> u64 {
        self.max_episode_steps
    }

    /// Steps taken since the last reset.
    pub fn elapsed_steps(&self) -> u64 {
        self.elapsed_steps
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.env
    }

    /// The wrapped env, mutably.
    pub fn inner_mut(&mut self) -> &mut E {
        &mut self.env
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }

    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        let info = self.env.reset(seed, options, obs)?;
        self.elapsed_steps = 0;
        Ok(info)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        let mut out = self.env.step(action, obs)?;
        self.elapsed_steps += 1;
        if self.elapsed_steps >= self.max_episode_steps {
            out.truncated = true;
        }
        Ok(out)
    }

    fn snapshot(&self, out: &mut crate::snapshot::Snapshot) -> bool {
        self.env.snapshot(out)
    }
}
