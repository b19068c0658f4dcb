//! A contiguous run of envs with its own buffers: the unit both backends step, so
//! that serial and threaded runs execute exactly the same code per env.

use super::{ActionBuffer, Actions, AutoresetMode, VecBuffers, action_width};
use crate::env::parallel::{recycle, write_outcome};
use crate::env::{Action, AgentRows, EnvError, Info, ParallelEnv};
use crate::util::seed::env_seed;

/// Envs `first..first + envs.len()` of a batch, their buffers and autoreset state.
pub(super) struct Chunk<P> {
    /// Index of `envs[0]` in the whole batch, for seeds and error messages.
    pub first: usize,
    pub envs: Vec<P>,
    pub buf: VecBuffers,
    /// Where each agent's observation starts within its env's rows (`agents + 1` entries).
    bounds: Vec<usize>,
    /// `NextStep` mode: envs whose episode ended on the previous step.
    needs_reset: Vec<bool>,
    /// Entries per row of one action.
    action_width: usize,
    /// Owned copy of this chunk's actions, used when the chunk runs on a worker.
    pub actions: ActionBuffer,
    /// Owned copy of this chunk's reset mask, used when the chunk runs on a worker.
    pub mask: Vec<bool>,
    /// Reused per-step storage: one env's agent actions (emptied between steps), which
    /// of its agents acted, and its step outputs while a `SameStep` reset runs.
    scratch: Vec<Action<'static>>,
    acted: Vec<bool>,
    kept: Kept,
}

/// One env's rewards, flags and infos, kept across the reset that `SameStep` does.
#[derive(Default)]
struct Kept {
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    infos: Vec<Info>,
}

/// Env `e`'s rows of `buf`, lent to the env (`bounds` from [`Chunk::bounds`]).
#[inline(always)]
fn rows_of<'a>(buf: &'a mut VecBuffers, bounds: &'a [usize], e: usize) -> AgentRows<'a> {
    let (a, d) = (buf.num_agents, buf.obs_dim);
    let r = e * a..(e + 1) * a;
    AgentRows {
        obs: &mut buf.obs[r.start * d..r.end * d],
        bounds,
        rewards: &mut buf.rewards[r.clone()],
        terminated: &mut buf.terminated[r.clone()],
        truncated: &mut buf.truncated[r.clone()],
        active: &mut buf.active[r.clone()],
        infos: &mut buf.infos[r],
    }
}

impl<P: ParallelEnv> Chunk<P> {
    /// A chunk of `envs` (all with env 0's agents and spaces, checked by the caller),
    /// the first of which is env `first` of the batch.
    pub fn new(first: usize, envs: Vec<P>) -> Result<Self, EnvError> {
        let n = envs.len();
        let (agents, obs_dim, act_space) = match envs.first() {
            Some(e) => match (e.observation_space(0), e.action_space(0)) {
                (Some(obs), Some(act)) => (e.possible_agents().len(), obs.flat_dim(), act.clone()),
                _ => return Err(EnvError::InvalidConfig { what: "vector env chunk".into(), reason: "its env has no agents".into() }),
            },
            None => {
                return Err(EnvError::InvalidConfig { what: "vector env chunk".into(), reason: "has no envs".into() });
            }
        };
        Ok(Self {
            first,
            buf: VecBuffers::new(n, agents, obs_dim),
            bounds: (0..=agents).map(|a| a * obs_dim).collect(),
            needs_reset: vec![false; n],
            action_width: action_width(&act_space),
            actions: ActionBuffer::new(&act_space, n * agents)?,
            mask: vec![false; n],
            scratch: Vec::with_capacity(agents),
            acted: vec![false; agents],
            kept: Kept {
                rewards: vec![0.0; agents],
                terminated: vec![false; agents],
                truncated: vec![false; agents],
                infos: vec![Info::default(); agents],
            },
            envs,
        })
    }

    pub fn len(&self) -> usize {
        self.envs.len()
    }

    fn wrap(&self, e: usize) -> impl Fn(EnvError) -> EnvError + '_ {
        move |err| EnvError::InVectorEnv { index: self.first + e, source: Box::new(err) }
    }

    /// Env `e`'s rows.
    fn rows(&self, e: usize) -> std::ops::Range<usize> {
        let a = self.buf.num_agents;
        e * a..(e + 1) * a
    }

    /// Resets env `e` (local index) and clears its step outputs.
    fn reset_one(&mut self, e: usize, seed: Option<u64>) -> Result<(), EnvError> {
        let seed = seed.map(|s| env_seed(s, self.first + e));
        self.envs[e].reset(seed, None, &mut rows_of(&mut self.buf, &self.bounds, e)).map_err(self.wrap(e))?;
        for r in self.rows(e) {
            self.buf.rewards[r] = 0.0;
            self.buf.terminated[r] = false;
            self.buf.truncated[r] = false;
            self.buf.has_final_obs[r] = false;
            self.buf.note_info(r);
        }
        self.buf.env_done[e] = false;
        self.needs_reset[e] = false;
        Ok(())
    }

    /// Resets every env; an env that fails does not stop the others (so serial and
    /// threaded batches stay in the same state), and the first error is returned.
    pub fn reset_all(&mut self, seed: Option<u64>) -> Result<(), EnvError> {
        let mut first_error = Ok(());
        for e in 0..self.len() {
            if let Err(err) = self.reset_one(e, seed) {
                first_error = first_error.and(Err(err));
            }
        }
        first_error
    }

    /// Resets the envs whose entry in `mask` (local indices) is true.
    pub fn reset_masked(&mut self, mask: &[bool], seed: Option<u64>) -> Result<(), EnvError> {
        let mut first_error = Ok(());
        for (e, &m) in mask.iter().enumerate() {
            if m && let Err(err) = self.reset_one(e, seed) {
                first_error = first_error.and(Err(err));
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

    /// Steps every env of the chunk; `actions` covers exactly this chunk's rows. An
    /// env that fails does not stop the others; the first error is returned.
    pub fn step_all(&mut self, actions: Actions<'_>, mode: AutoresetMode) -> Result<(), EnvError> {
        let mut first_error = Ok(());
        for e in 0..self.len() {
            if let Err(err) = self.step_one(e, actions, mode) {
                first_error = first_error.and(Err(err));
            }
        }
        first_error
    }

    fn step_one(&mut self, e: usize, actions: Actions<'_>, mode: AutoresetMode) -> Result<(), EnvError> {
        if mode == AutoresetMode::NextStep && self.needs_reset[e] {
            return self.reset_one(e, None);
        }
        let rows = self.rows(e);
        if mode == AutoresetMode::Disabled && self.buf.env_done[e] {
            // A finished env sits out until `reset_envs`: no step, nothing to report.
            for r in rows {
                self.buf.rewards[r] = 0.0;
                self.buf.terminated[r] = false;
                self.buf.truncated[r] = false;
                self.buf.infos[r] = Info::default();
                self.buf.note_info(r);
            }
            return Ok(());
        }
        // Who acts this step (the env clears `active` for agents whose episode ends). One
        // agent is copied by hand: `copy_from_slice` of a runtime length calls `memcpy`.
        match &mut self.acted[..] {
            [one] => *one = self.buf.active[rows.start],
            acted => acted.copy_from_slice(&self.buf.active[rows.clone()]),
        }
        let stepped = if rows.len() == 1 {
            let action = actions.get(rows.start, self.action_width);
            let (r, d, b) = (rows.start, self.buf.obs_dim, &mut self.buf);
            // A one-agent view of an `Env` is stepped as that env (see `step_as_env`).
            let fast = if self.acted[0] { self.envs[e].step_as_env(action, &mut b.obs[r * d..(r + 1) * d]) } else { None };
            match fast {
                Some(step) => step.map(|step| {
                    write_outcome(&step, &mut b.rewards[r], &mut b.terminated[r], &mut b.truncated[r], &mut b.active[r], &mut b.infos[r]);
                }),
                None => self.envs[e].step(std::slice::from_ref(&action), &mut rows_of(&mut self.buf, &self.bounds, e)),
            }
        } else {
            let mut per_agent = recycle(std::mem::take(&mut self.scratch));
            per_agent.extend(rows.clone().map(|r| actions.get(r, self.action_width)));
            let stepped = self.envs[e].step(&per_agent, &mut rows_of(&mut self.buf, &self.bounds, e));
            self.scratch = recycle(per_agent);
            stepped
        };
        if stepped.is_err() {
            // The env may have written some infos before failing; keep `info_set` true to
            // them so that serial and threaded batches stay identical.
            rows.clone().for_each(|r| self.buf.note_info(r));
        }
        stepped.map_err(self.wrap(e))?;
        let d = self.buf.obs_dim;
        let b = &mut self.buf;
        for (a, r) in rows.clone().enumerate() {
            if !self.acted[a] {
                // Sat out: only the step an agent's episode ended carries its flags.
                b.rewards[r] = 0.0;
                b.terminated[r] = false;
                b.truncated[r] = false;
            }
            b.has_final_obs[r] = false;
            b.note_info(r);
        }
        let done = !b.active[rows.clone()].iter().any(|&on| on);
        b.env_done[e] = done;
        if mode == AutoresetMode::SameStep {
            for r in rows.clone().filter(|&r| b.terminated[r] || b.truncated[r]) {
                b.final_obs[r * d..(r + 1) * d].copy_from_slice(&b.obs[r * d..(r + 1) * d]);
                b.has_final_obs[r] = true;
            }
        }
        if done {
            match mode {
                AutoresetMode::NextStep => self.needs_reset[e] = true,
                AutoresetMode::SameStep => self.reset_keeping_outcomes(e)?,
                AutoresetMode::Disabled => {}
            }
        }
        Ok(())
    }

    /// The `SameStep` reset: env `e` starts its next episode (new observations, all
    /// agents active) while its rows keep the final step's rewards, flags and infos.
    fn reset_keeping_outcomes(&mut self, e: usize) -> Result<(), EnvError> {
        let (rows, k, b) = (self.rows(e), &mut self.kept, &mut self.buf);
        k.rewards.copy_from_slice(&b.rewards[rows.clone()]);
        k.terminated.copy_from_slice(&b.terminated[rows.clone()]);
        k.truncated.copy_from_slice(&b.truncated[rows.clone()]);
        k.infos.copy_from_slice(&b.infos[rows.clone()]);
        self.envs[e].reset(None, None, &mut rows_of(&mut self.buf, &self.bounds, e)).map_err(self.wrap(e))?;
        let (k, b) = (&self.kept, &mut self.buf);
        b.rewards[rows.clone()].copy_from_slice(&k.rewards);
        b.terminated[rows.clone()].copy_from_slice(&k.terminated);
        b.truncated[rows.clone()].copy_from_slice(&k.truncated);
        b.infos[rows].copy_from_slice(&k.infos);
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
