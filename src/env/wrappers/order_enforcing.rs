//! [`OrderEnforcing`]: refuses to step an env that was never reset.

use crate::env::{Action, Env, EnvError, Info, ResetOptions, Space, StepOutcome};

/// Returns [`EnvError::ResetNeeded`] from `step` until the first `reset`
/// (Gymnasium's `OrderEnforcing`). [`Registry::make`](crate::env::Registry::make) adds it.
#[derive(Debug, Clone)]
pub struct OrderEnforcing<E> {
    env: E,
    has_reset: bool,
}

impl<E: Env> OrderEnforcing<E> {
    /// Wraps `env`.
    pub fn new(env: E) -> Self {
        Self { env, has_reset: false }
    }

    /// Whether `reset` has been called.
    pub fn has_reset(&self) -> bool {
        self.has_reset
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.env
    }
}

impl<E: Env> Env for OrderEnforcing<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }

    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        let info = self.env.reset(seed, options, obs)?;
        self.has_reset = true;
        Ok(info)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        if !self.has_reset {
            return Err(EnvError::ResetNeeded);
        }
        self.env.step(action, obs)
    }

    fn snapshot(&self, out: &mut crate::snapshot::Snapshot) -> bool {
        self.env.snapshot(out)
    }
}
