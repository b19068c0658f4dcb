//! The multi-agent parallel API, after PettingZoo's `ParallelEnv`: every live agent
//! acts at once, and each gets its own observation, reward, `terminated`, `truncated`
//! and info.
//!
//! Agents are addressed by their index in [`ParallelEnv::possible_agents`]. Where
//! PettingZoo passes dicts keyed by agent name, this API passes slices indexed by
//! agent, with [`AgentRows::active`] marking the agents still in the episode
//! (PettingZoo's `env.agents`). Actions of inactive agents are ignored; on a step
//! they sat out, their reward is 0 and their observation and flags keep their last
//! values, so summing `rewards` over all agents never counts a reward twice.
//!
//! This is the one scene contract: a scene is written once, per agent, and every
//! other view is built over it. [`Joint`](super::Joint) is the single-agent view of
//! any parallel env; [`SingleAgent`] is the one-agent parallel view of any [`Env`],
//! so consumers that drive rows of agents (trainers, recorders, vector envs) take a
//! `ParallelEnv` and never ask which kind of scene they hold.
//!
//! An env writes its outputs into [`AgentRows`], slices borrowed from whoever owns
//! the storage: [`ParallelBuffers`] for a lone env, or the rows of a vector env's
//! shared buffer, so an observation is written once, where its consumer reads it.

use super::{Action, Env, EnvError, Info, ResetOptions, Space, StepOutcome};
use crate::snapshot::Snapshot;

/// A multi-agent environment in which all live agents step simultaneously.
pub trait ParallelEnv: Send {
    /// Names of every agent that may take part, in index order.
    fn possible_agents(&self) -> &[String];

    /// The observation space of agent `agent`; `None` if there is no such agent.
    fn observation_space(&self, agent: usize) -> Option<&Space>;

    /// The action space of agent `agent`; `None` if there is no such agent.
    fn action_space(&self, agent: usize) -> Option<&Space>;

    /// Starts an episode: marks the participating agents active and writes their
    /// observations and infos.
    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut AgentRows<'_>) -> Result<(), EnvError>;

    /// Advances one step. `actions[i]` is agent `i`'s action (ignored when inactive).
    /// An agent that terminates or truncates is reported once with its flag set and
    /// is inactive from the next step on.
    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError>;

    /// Writes the pose, shape and class of every object into `out`, for recorders and
    /// renderers; returns `false` (leaving `out` alone) for envs without a scene.
    fn snapshot(&self, out: &mut Snapshot) -> bool {
        let _ = out;
        false
    }

    /// The fast path of a one-agent view of a single-agent [`Env`] ([`SingleAgent`]):
    /// steps that env with `action` for agent 0, writing its observation into `obs`, and
    /// returns what [`Env::step`] returned; the caller records it in agent 0's row as
    /// [`ParallelEnv::step`] would have (vector envs use it to skip lending rows to the
    /// lightest envs every step). Only while agent 0 is active. Every other env returns
    /// `None` without stepping, and is stepped through [`ParallelEnv::step`].
    fn step_as_env(&mut self, action: Action<'_>, obs: &mut [f32]) -> Option<Result<StepOutcome, EnvError>> {
        let _ = (action, obs);
        None
    }
}

impl<P: ParallelEnv + ?Sized> ParallelEnv for Box<P> {
    fn possible_agents(&self) -> &[String] {
        (**self).possible_agents()
    }

    fn observation_space(&self, agent: usize) -> Option<&Space> {
        (**self).observation_space(agent)
    }

    fn action_space(&self, agent: usize) -> Option<&Space> {
        (**self).action_space(agent)
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        (**self).reset(seed, options, out)
    }

    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        (**self).step(actions, out)
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        (**self).snapshot(out)
    }

    fn step_as_env(&mut self, action: Action<'_>, obs: &mut [f32]) -> Option<Result<StepOutcome, EnvError>> {
        (**self).step_as_env(action, obs)
    }
}

/// Where a [`ParallelEnv`] writes one step's outputs: one row per agent, borrowed
/// from storage the caller owns ([`ParallelBuffers`], or a vector env's rows).
#[derive(Debug)]
pub struct AgentRows<'a> {
    /// Every agent's flat observation, concatenated in agent order.
    pub obs: &'a mut [f32],
    /// Agent `i`'s observation is `obs[bounds[i]..bounds[i + 1]]` (one more entry than agents).
    pub bounds: &'a [usize],
    /// One reward per agent for the last step.
    pub rewards: &'a mut [f32],
    /// Agents that reached a terminal state on the last step.
    pub terminated: &'a mut [bool],
    /// Agents cut short on the last step.
    pub truncated: &'a mut [bool],
    /// Agents still in the episode, who act on the next step.
    pub active: &'a mut [bool],
    /// One info per agent.
    pub infos: &'a mut [Info],
}

impl AgentRows<'_> {
    /// Number of agents the rows hold.
    pub fn num_agents(&self) -> usize {
        self.rewards.len()
    }

    /// Agent `i`'s observation.
    pub fn obs(&self, i: usize) -> &[f32] {
        &self.obs[self.bounds[i]..self.bounds[i + 1]]
    }

    /// Agent `i`'s observation, to write.
    pub fn obs_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.obs[self.bounds[i]..self.bounds[i + 1]]
    }

    /// Indices of the active agents.
    pub fn active_agents(&self) -> impl Iterator<Item = usize> + '_ {
        active_indices(self.active)
    }

    /// Whether no agent remains active: the episode is over and needs a reset.
    pub fn all_done(&self) -> bool {
        !self.active.iter().any(|a| *a)
    }

    /// Errors unless every per-agent slice, and the bounds, are sized for `agents` agents.
    #[inline]
    fn check_agents(&self, agents: usize) -> Result<(), EnvError> {
        let lens = [self.rewards.len(), self.terminated.len(), self.truncated.len(), self.active.len(), self.infos.len()];
        if let Some(&got) = lens.iter().find(|&&l| l != agents) {
            return Err(EnvError::BufferSize { what: "per-agent", got, expected: agents });
        }
        if self.bounds.len() != agents + 1 {
            return Err(EnvError::BufferSize { what: "observation bounds", got: self.bounds.len(), expected: agents + 1 });
        }
        Ok(())
    }

    /// Errors unless the rows hold `agents` agents whose observations all have `dim`
    /// numbers: [`AgentRows::check_shape`] for envs whose agents share one observation
    /// space, without asking the env for each agent's (the per-step check of the scenes).
    #[inline]
    pub fn check_uniform(&self, agents: usize, dim: usize) -> Result<(), EnvError> {
        self.check_agents(agents)?;
        if let Some(i) = (0..agents).find(|&i| self.bounds[i + 1].wrapping_sub(self.bounds[i]) != dim) {
            return Err(EnvError::BufferSize {
                what: "agent observation",
                got: self.bounds[i + 1].saturating_sub(self.bounds[i]),
                expected: dim,
            });
        }
        if self.bounds[0] != 0 || self.obs.len() != agents * dim {
            return Err(EnvError::BufferSize { what: "observations", got: self.obs.len(), expected: agents * dim });
        }
        Ok(())
    }

    /// Errors unless the rows match `env`'s agents and spaces.
    pub fn check_shape(&self, env: &dyn ParallelEnv) -> Result<(), EnvError> {
        let n = env.possible_agents().len();
        self.check_agents(n)?;
        if self.bounds[0] != 0 {
            return Err(EnvError::BufferSize { what: "observation bounds start", got: self.bounds[0], expected: 0 });
        }
        for i in 0..n {
            let expected = env.observation_space(i).map_or(0, Space::flat_dim);
            let got = self.bounds[i + 1].checked_sub(self.bounds[i]);
            if got != Some(expected) {
                return Err(EnvError::BufferSize { what: "agent observation", got: got.unwrap_or(0), expected });
            }
        }
        if self.obs.len() != self.bounds[n] {
            return Err(EnvError::BufferSize { what: "observations", got: self.obs.len(), expected: self.bounds[n] });
        }
        Ok(())
    }
}

fn active_indices(active: &[bool]) -> impl Iterator<Item = usize> + '_ {
    active.iter().enumerate().filter(|(_, a)| **a).map(|(i, _)| i)
}

/// Empties `v` and hands back its allocation for items of another lifetime, so that a
/// per-step list of agent actions (in `Joint` and the vector envs) reuses one buffer
/// although each step borrows anew. (Collecting an emptied `vec::IntoIter` into a `Vec`
/// of a same-sized type reuses the allocation.)
pub(crate) fn recycle<'b>(mut v: Vec<Action<'_>>) -> Vec<Action<'b>> {
    v.clear();
    v.into_iter().map(|_| Action::Discrete(0)).collect()
}

/// Where each agent's observation starts in a concatenation of all of them (and,
/// last, where it ends): `bounds[i]..bounds[i + 1]` is agent `i`'s.
pub fn observation_bounds(env: &dyn ParallelEnv) -> Vec<usize> {
    let mut bounds = vec![0];
    for i in 0..env.possible_agents().len() {
        bounds.push(bounds[i] + env.observation_space(i).map_or(0, Space::flat_dim));
    }
    bounds
}

/// Owned per-agent outputs of one [`ParallelEnv`], allocated once and reused every
/// step; [`ParallelBuffers::rows`] lends them to the env.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParallelBuffers {
    /// Every agent's flat observation, concatenated ([`ParallelBuffers::obs_of`] slices one).
    pub obs: Vec<f32>,
    /// Agent `i`'s observation is `obs[bounds[i]..bounds[i + 1]]`.
    pub bounds: Vec<usize>,
    /// One reward per agent for the last step.
    pub rewards: Vec<f32>,
    /// Agents that reached a terminal state on the last step.
    pub terminated: Vec<bool>,
    /// Agents cut short on the last step.
    pub truncated: Vec<bool>,
    /// Agents still in the episode, who act on the next step.
    pub active: Vec<bool>,
    /// One info per agent.
    pub infos: Vec<Info>,
}

impl ParallelBuffers {
    /// Buffers sized for `env`'s agents and observation spaces.
    pub fn for_env(env: &dyn ParallelEnv) -> Self {
        let n = env.possible_agents().len();
        let bounds = observation_bounds(env);
        Self {
            obs: vec![0.0; bounds[n]],
            bounds,
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            active: vec![false; n],
            infos: vec![Info::default(); n],
        }
    }

    /// Lends the buffers to an env's `reset` or `step`.
    pub fn rows(&mut self) -> AgentRows<'_> {
        AgentRows {
            obs: &mut self.obs,
            bounds: &self.bounds,
            rewards: &mut self.rewards,
            terminated: &mut self.terminated,
            truncated: &mut self.truncated,
            active: &mut self.active,
            infos: &mut self.infos,
        }
    }

    /// Agent `i`'s observation.
    pub fn obs_of(&self, i: usize) -> &[f32] {
        &self.obs[self.bounds[i]..self.bounds[i + 1]]
    }

    /// Number of agents the buffers hold.
    pub fn num_agents(&self) -> usize {
        self.rewards.len()
    }

    /// Indices of the active agents.
    pub fn active_agents(&self) -> impl Iterator<Item = usize> + '_ {
        active_indices(&self.active)
    }

    /// Whether no agent remains active: the episode is over and needs a reset.
    pub fn all_done(&self) -> bool {
        !self.active.iter().any(|a| *a)
    }
}

/// The one-agent parallel view of a single-agent [`Env`] (agent `agent_0`), so that
/// code driving agent rows takes any env. The agent leaves when its episode ends.
pub struct SingleAgent<E> {
    env: E,
    names: [String; 1],
}

impl<E: Env> SingleAgent<E> {
    /// Wraps `env`.
    pub fn new(env: E) -> Self {
        Self { env, names: ["agent_0".to_owned()] }
    }

    /// The env inside.
    pub fn inner(&self) -> &E {
        &self.env
    }

    #[inline]
    fn write(out: &mut AgentRows<'_>, step: &StepOutcome) {
        write_outcome(step, &mut out.rewards[0], &mut out.terminated[0], &mut out.truncated[0], &mut out.active[0], &mut out.infos[0]);
    }
}

/// Records one agent's step outcome in its row, as [`SingleAgent`] does: the one
/// definition of that, shared with the vector envs' [`ParallelEnv::step_as_env`] path.
#[inline]
pub(crate) fn write_outcome(
    step: &StepOutcome,
    reward: &mut f32,
    terminated: &mut bool,
    truncated: &mut bool,
    active: &mut bool,
    info: &mut Info,
) {
    *reward = step.reward;
    *terminated = step.terminated;
    *truncated = step.truncated;
    *active = !step.done();
    // An `Info` is a few hundred bytes and most are empty: skip copying empty over empty.
    if !(step.info.is_empty() && info.is_empty()) {
        *info = step.info;
    }
}

impl<E: Env> ParallelEnv for SingleAgent<E> {
    fn possible_agents(&self) -> &[String] {
        &self.names
    }

    fn observation_space(&self, agent: usize) -> Option<&Space> {
        (agent == 0).then(|| self.env.observation_space())
    }

    fn action_space(&self, agent: usize) -> Option<&Space> {
        (agent == 0).then(|| self.env.action_space())
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        // The env checks the observation's length itself.
        out.check_uniform(1, out.obs.len())?;
        let info = self.env.reset(seed, options, out.obs)?;
        Self::write(out, &StepOutcome { info, ..StepOutcome::default() });
        Ok(())
    }

    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_uniform(1, out.obs.len())?;
        let [action] = actions else {
            return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected: 1 });
        };
        if out.all_done() {
            return Err(EnvError::ResetNeeded);
        }
        let step = self.env.step(*action, out.obs)?;
        Self::write(out, &step);
        Ok(())
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        self.env.snapshot(out)
    }

    #[inline]
    fn step_as_env(&mut self, action: Action<'_>, obs: &mut [f32]) -> Option<Result<StepOutcome, EnvError>> {
        Some(self.env.step(action, obs))
    }
}
