//! A contiguous run of envs with its own buffers: the unit both backends step, so
//! that serial and threaded runs execute exactly the same code per env.

use super::{ActionBuffer, Actions, AutoresetMode, VecBuffers, action_width};
use crate::env::{Env, EnvError, Info};
use crate::util::seed::env_seed;

/// Envs `first..first + envs.len()` of a batch, their buffers and autoreset state.
pub(super) struct Chunk {
    /// Index of `envs[0]` in the whole batch, for seeds and error messages.
    pub first: usize,
    pub envs: Vec<Box<dyn Env>>,
    pub buf: VecBuffers,
    /// `NextStep` mode: envs whose episode ended on the previous step.
    needs_reset: Vec<bool>,
    /// Entries per env of one action.
    action_width: usize,
    /// Owned copy of this chunk's actions, used when the chunk runs on a worker.
    pub actions: ActionBuffer,
    /// Owned copy of this chunk's reset mask, used when the chunk runs on a worker.
    pub mask: Vec<bool>,
}

impl Chunk {
    pub fn new(first: usize, envs: Vec<Box<dyn Env>>) -> Result<Self, EnvError> {
        let n = envs.len();
        let (obs_dim, act_space) = match envs.first() {
            Some(e) => (e.observation_space().flat_dim(), e.action_space().clone()),
            None => {
                return Err(EnvError::InvalidConfig { what: "vector env chunk".into(), reason: "has no envs".into() });
            }
        };
        Ok(Self {
            first,
            buf: VecBuffers::new(n, obs_dim),
            needs_reset: vec![false; n],
            action_width: action_width(&act_space),
            actions: ActionBuffer::new(&act_space, n)?,
            mask: vec![false; n],
            envs,
        })
    }

    pub fn len(&self) -> usize {
        self.envs.len()
    }

    fn wrap(&self, i: usize) -> impl Fn(EnvError) -> EnvError + '_ {
        move |e| EnvError::InVectorEnv { index: self.first + i, source: Box::new(e) }
    }

    /// Resets env `i` (local index) and clears its step outputs.
    fn reset_one(&mut self, i: usize, seed: Option<u64>) -> Result<Info, EnvError> {
        let d = self.buf.obs_dim;
        let seed = seed.map(|s| env_seed(s, self.first + i));
        let info = self.envs[i]
            .reset(seed, None, &mut self.buf.obs[i * d..(i + 1) * d])
            .map_err(|e| EnvError::InVectorEnv { index: self.first + i, source: Box::new(e) })?;
        self.buf.rewards[i] = 0.0;
        self.buf.terminated[i] = false;
        self.buf.truncated[i] = false;
        self.buf.has_final_obs[i] = false;
        self.buf.set_info(i, info);
        self.needs_reset[i] = false;
        Ok(info)
    }

    /// Resets every env; an env that fails does not stop the others (so serial and
    /// threaded batches stay in the same state), and the first error is returned.
    pub fn reset_all(&mut self, seed: Option<u64>) -> Result<(), EnvError> {
        let mut first_error = Ok(());
        for i in 0..self.len() {
            if let Err(e) = self.reset_one(i, seed) {
                first_error = first_error.and(Err(e));
            }
        }
        first_error
    }

    /// Resets the envs whose entry in `mask` (local indices) is true.
    pub fn reset_masked(&mut self, mask: &[bool], seed: Option<u64>) -> Result<(), EnvError> {
        let mut first_error = Ok(());
        for (i, &m) in mask.iter().enumerate() {
            if m && let Err(e) = self.reset_one(i, seed) {
                first_error = first_error.and(Err(e));
            }
        }
        first_error
    }

    /// Resets by the chunk's own `mask` copy (the worker path).
    pub fn reset_own_mask(&mut self, seed: Option<u64>) -> Result<(), EnvError> {
        let mask = std::mem::take(&mut self.mask);
        let result = self.reset_masked(&mask, seed);
        self.mask = mask;
        result
    }

    /// Steps every env of the chunk; `actions` covers exactly this chunk's envs. An
    /// env that fails does not stop the others; the first error is returned.
    pub fn step_all(&mut self, actions: Actions<'_>, mode: AutoresetMode) -> Result<(), EnvError> {
        let mut first_error = Ok(());
        for i in 0..self.len() {
            if let Err(e) = self.step_one(i, actions, mode) {
                first_error = first_error.and(Err(e));
            }
        }
        first_error
    }

    fn step_one(&mut self, i: usize, actions: Actions<'_>, mode: AutoresetMode) -> Result<(), EnvError> {
        let d = self.buf.obs_dim;
        {
            if mode == AutoresetMode::NextStep && self.needs_reset[i] {
                self.reset_one(i, None)?;
                return Ok(());
            }
            let obs = &mut self.buf.obs[i * d..(i + 1) * d];
            let out = self.envs[i].step(actions.get(i, self.action_width), obs).map_err(self.wrap(i))?;
            self.buf.rewards[i] = out.reward;
            self.buf.terminated[i] = out.terminated;
            self.buf.truncated[i] = out.truncated;
            self.buf.set_info(i, out.info);
            self.buf.has_final_obs[i] = false;
            if out.done() {
                match mode {
                    AutoresetMode::NextStep => self.needs_reset[i] = true,
                    AutoresetMode::SameStep => {
                        let (obs, final_obs) = (&mut self.buf.obs[i * d..(i + 1) * d], &mut self.buf.final_obs[i * d..(i + 1) * d]);
                        final_obs.copy_from_slice(obs);
                        self.envs[i].reset(None, None, obs).map_err(self.wrap(i))?;
                        self.buf.has_final_obs[i] = true;
                    }
                    AutoresetMode::Disabled => {}
                }
            }
        }
        Ok(())
    }

    /// Steps with the chunk's own `actions` copy (the worker path).
    pub fn step_own_actions(&mut self, mode: AutoresetMode) -> Result<(), EnvError> {
        let actions = std::mem::replace(&mut self.actions, ActionBuffer::Discrete(Vec::new()));
        let result = self.step_all(actions.as_actions(), mode);
        self.actions = actions;
        result
    }
}
