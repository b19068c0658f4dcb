//! The multi-agent parallel API, after PettingZoo's `ParallelEnv`: every live agent
//! acts at once, and each gets its own observation, reward, `terminated`, `truncated`
//! and info.
//!
//! Agents are addressed by their index in [`ParallelEnv::possible_agents`]. Where
//! PettingZoo passes dicts keyed by agent name, this API passes slices indexed by
//! agent, with [`ParallelBuffers::active`] marking the agents still in the episode
//! (PettingZoo's `env.agents`). Actions of inactive agents are ignored; on a step
//! they sat out, their reward is 0 and their observation and flags keep their last
//! values, so summing `rewards` over all agents never counts a reward twice.

use super::{Action, EnvError, Info, ResetOptions, Space};

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
    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut ParallelBuffers) -> Result<(), EnvError>;

    /// Advances one step. `actions[i]` is agent `i`'s action (ignored when inactive).
    /// An agent that terminates or truncates is reported once with its flag set and
    /// is inactive from the next step on.
    fn step(&mut self, actions: &[Action<'_>], out: &mut ParallelBuffers) -> Result<(), EnvError>;

    /// Writes the pose, shape and class of every object into `out`, for recorders and
    /// renderers; returns `false` (leaving `out` alone) for envs without a scene.
    fn snapshot(&self, out: &mut crate::snapshot::Snapshot) -> bool {
        let _ = out;
        false
    }
}

/// Per-agent outputs of a [`ParallelEnv`], allocated once and reused every step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParallelBuffers {
    /// One flat observation per agent (each of its space's `flat_dim`).
    pub obs: Vec<Vec<f32>>,
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
        Self {
            obs: (0..n).map(|i| vec![0.0; env.observation_space(i).map_or(0, Space::flat_dim)]).collect(),
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            active: vec![false; n],
            infos: vec![Info::default(); n],
        }
    }

    /// Number of agents the buffers hold.
    pub fn num_agents(&self) -> usize {
        self.rewards.len()
    }

    /// Indices of the active agents.
    pub fn active_agents(&self) -> impl Iterator<Item = usize> + '_ {
        self.active.iter().enumerate().filter(|(_, a)| **a).map(|(i, _)| i)
    }

    /// Whether no agent remains active: the episode is over and needs a reset.
    pub fn all_done(&self) -> bool {
        !self.active.iter().any(|a| *a)
    }

    /// Errors unless the buffers match `env`'s agents and spaces.
    pub fn check_shape(&self, env: &dyn ParallelEnv) -> Result<(), EnvError> {
        let n = env.possible_agents().len();
        let lens = [self.obs.len(), self.rewards.len(), self.terminated.len(), self.truncated.len(), self.active.len(), self.infos.len()];
        if let Some(&got) = lens.iter().find(|&&l| l != n) {
            return Err(EnvError::BufferSize { what: "per-agent", got, expected: n });
        }
        for (i, obs) in self.obs.iter().enumerate() {
            let expected = env.observation_space(i).map_or(0, Space::flat_dim);
            if obs.len() != expected {
                return Err(EnvError::BufferSize { what: "agent observation", got: obs.len(), expected });
            }
        }
        Ok(())
    }
}
