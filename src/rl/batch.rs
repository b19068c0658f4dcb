//! [`AgentBatch`]: the rows a learner acts for, whether they are the envs of a vector
//! env or the agents of several multi-agent envs (parameter sharing: every agent is a
//! row, all rows share one policy).
//!
//! Both adapters reset an episode within the step that ends it (Gymnasium's
//! `SameStep` autoreset): after [`AgentBatch::step`], `obs` holds each row's next
//! observation (the new episode's first one where an episode ended) and `final_obs`
//! the observation the ended transition actually reached, for bootstrapping truncations.

use super::{Result, RlError};
use crate::env::vector::{Actions, AutoresetMode, VecEnv};
use crate::env::{Action, ParallelBuffers, ParallelEnv, Space};
use crate::util::seed::env_seed;

/// What a batch step produced, one entry per row (`obs`/`final_obs`: `obs_dim` each).
#[derive(Debug, Clone, Default)]
pub struct BatchState {
    /// Observation each row acts on next.
    pub obs: Vec<f32>,
    /// Reward of the last transition.
    pub rewards: Vec<f32>,
    /// The last transition reached a terminal state.
    pub terminated: Vec<bool>,
    /// The last transition was cut short (time limit).
    pub truncated: Vec<bool>,
    /// Observation the last transition reached, where its episode ended.
    pub final_obs: Vec<f32>,
    /// Rows that act on the next step (agents that left a multi-agent episode early do not).
    pub active: Vec<bool>,
}

impl BatchState {
    fn new(rows: usize, obs_dim: usize) -> Self {
        Self {
            obs: vec![0.0; rows * obs_dim],
            rewards: vec![0.0; rows],
            terminated: vec![false; rows],
            truncated: vec![false; rows],
            final_obs: vec![0.0; rows * obs_dim],
            active: vec![true; rows],
        }
    }

    /// Zero rewards and clear the flags, as after a reset.
    fn clear_outcomes(&mut self) {
        self.rewards.fill(0.0);
        self.terminated.fill(false);
        self.truncated.fill(false);
    }
}

/// A finished episode: its return (summed over agents for multi-agent envs) and length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Episode {
    /// Sum of rewards (over all agents of the env).
    pub episode_return: f64,
    /// Steps.
    pub length: u64,
    /// Index of the env it ran in.
    pub env: usize,
}

/// Rows of observations and actions that one shared policy drives.
pub trait AgentBatch: Send {
    /// Number of rows.
    fn num_rows(&self) -> usize;
    /// Number of envs (equal to rows unless each env has several agents).
    fn num_envs(&self) -> usize;
    /// Each row's observation space.
    fn observation_space(&self) -> &Space;
    /// Each row's action space.
    fn action_space(&self) -> &Space;
    /// Resets every env, env `i` with seed `seed + i`.
    fn reset(&mut self, seed: u64) -> Result<()>;
    /// Steps every env with one action per row (ignored for inactive rows).
    fn step(&mut self, actions: Actions<'_>) -> Result<()>;
    /// The outputs of the last reset or step.
    fn state(&self) -> &BatchState;
    /// Moves the episodes finished since the last call into `out`, in env order per step.
    fn drain_episodes(&mut self, out: &mut Vec<Episode>);
}

/// Tracks per-env returns and lengths.
#[derive(Debug, Clone)]
struct EpisodeTracker {
    returns: Vec<f64>,
    lengths: Vec<u64>,
    finished: Vec<Episode>,
}

impl EpisodeTracker {
    fn new(envs: usize) -> Self {
        Self { returns: vec![0.0; envs], lengths: vec![0; envs], finished: Vec::new() }
    }

    fn clear(&mut self) {
        self.returns.fill(0.0);
        self.lengths.fill(0);
    }

    fn add(&mut self, env: usize, reward: f64, count_step: bool) {
        self.returns[env] += reward;
        if count_step {
            self.lengths[env] += 1;
        }
    }

    fn finish(&mut self, env: usize) {
        self.finished.push(Episode { episode_return: self.returns[env], length: self.lengths[env], env });
        self.returns[env] = 0.0;
        self.lengths[env] = 0;
    }
}

/// A single-agent vector env as a batch (one row per env). The vector env must use
/// [`AutoresetMode::SameStep`].
pub struct VecBatch {
    env: Box<dyn VecEnv>,
    state: BatchState,
    tracker: EpisodeTracker,
}

impl VecBatch {
    /// Wraps `env`; errors unless its autoreset mode is `SameStep`.
    pub fn new(env: Box<dyn VecEnv>) -> Result<Self> {
        if env.autoreset_mode() != AutoresetMode::SameStep {
            return Err(RlError::config("autoreset", "trainers need a vector env with SameStep autoreset"));
        }
        let n = env.num_envs();
        let state = BatchState::new(n, env.single_observation_space().flat_dim());
        Ok(Self { env, state, tracker: EpisodeTracker::new(n) })
    }
}

impl AgentBatch for VecBatch {
    fn num_rows(&self) -> usize {
        self.env.num_envs()
    }

    fn num_envs(&self) -> usize {
        self.env.num_envs()
    }

    fn observation_space(&self) -> &Space {
        self.env.single_observation_space()
    }

    fn action_space(&self) -> &Space {
        self.env.single_action_space()
    }

    fn reset(&mut self, seed: u64) -> Result<()> {
        let bufs = self.env.reset(Some(seed))?;
        self.state.obs.copy_from_slice(&bufs.obs);
        self.state.clear_outcomes();
        self.tracker.clear();
        Ok(())
    }

    fn step(&mut self, actions: Actions<'_>) -> Result<()> {
        let bufs = self.env.step(actions)?;
        let s = &mut self.state;
        s.obs.copy_from_slice(&bufs.obs);
        s.rewards.copy_from_slice(&bufs.rewards);
        s.terminated.copy_from_slice(&bufs.terminated);
        s.truncated.copy_from_slice(&bufs.truncated);
        let d = bufs.obs_dim;
        for i in 0..bufs.num_envs {
            self.tracker.add(i, f64::from(bufs.rewards[i]), true);
            if bufs.terminated[i] || bufs.truncated[i] {
                if bufs.has_final_obs[i] {
                    s.final_obs[i * d..(i + 1) * d].copy_from_slice(&bufs.final_obs[i * d..(i + 1) * d]);
                }
                self.tracker.finish(i);
            }
        }
        Ok(())
    }

    fn state(&self) -> &BatchState {
        &self.state
    }

    fn drain_episodes(&mut self, out: &mut Vec<Episode>) {
        out.append(&mut self.tracker.finished);
    }
}

/// Several multi-agent envs as one batch with a row per agent (parameter sharing).
/// Every agent must have the same observation and action space. An env is reset when
/// all its agents are done; until then agents that finished early are inactive.
/// Envs are stepped one after another on the calling thread.
pub struct ParallelBatch {
    envs: Vec<Box<dyn ParallelEnv>>,
    bufs: Vec<ParallelBuffers>,
    observation_space: Space,
    action_space: Space,
    agents: usize,
    obs_dim: usize,
    state: BatchState,
    tracker: EpisodeTracker,
}

impl ParallelBatch {
    /// Wraps `envs` (at least one, all with the same agents and spaces).
    pub fn new(envs: Vec<Box<dyn ParallelEnv>>) -> Result<Self> {
        let first = envs.first().ok_or_else(|| RlError::config("num_envs", "need at least one env"))?;
        let agents = first.possible_agents().len();
        let observation_space = first.observation_space(0).cloned().ok_or_else(|| RlError::config("env", "the env has no agents"))?;
        let action_space = first.action_space(0).cloned().ok_or_else(|| RlError::config("env", "the env has no agents"))?;
        for (e, env) in envs.iter().enumerate() {
            if env.possible_agents().len() != agents {
                return Err(RlError::config("env", format!("env {e} has {} agents, env 0 has {agents}", env.possible_agents().len())));
            }
            for a in 0..agents {
                if env.observation_space(a) != Some(&observation_space) || env.action_space(a) != Some(&action_space) {
                    return Err(RlError::Unsupported {
                        algo: "parameter sharing",
                        what: format!("agents with different spaces (agent {a} of env {e} differs from agent 0)"),
                    });
                }
            }
        }
        if matches!(action_space, Space::Dict(_)) {
            return Err(RlError::Unsupported { algo: "the policy", what: format!("action space {action_space}") });
        }
        let obs_dim = observation_space.flat_dim();
        let rows = envs.len() * agents;
        let bufs = envs.iter().map(|e| ParallelBuffers::for_env(e.as_ref())).collect();
        let tracker = EpisodeTracker::new(envs.len());
        Ok(Self { envs, bufs, observation_space, action_space, agents, obs_dim, state: BatchState::new(rows, obs_dim), tracker })
    }

    fn copy_obs(&mut self, e: usize) {
        let d = self.obs_dim;
        for a in 0..self.agents {
            let row = e * self.agents + a;
            self.state.obs[row * d..(row + 1) * d].copy_from_slice(&self.bufs[e].obs[a]);
            self.state.active[row] = self.bufs[e].active[a];
        }
    }
}

impl AgentBatch for ParallelBatch {
    fn num_rows(&self) -> usize {
        self.envs.len() * self.agents
    }

    fn num_envs(&self) -> usize {
        self.envs.len()
    }

    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: u64) -> Result<()> {
        for e in 0..self.envs.len() {
            self.envs[e].reset(Some(env_seed(seed, e)), None, &mut self.bufs[e])?;
            self.copy_obs(e);
        }
        self.state.clear_outcomes();
        self.tracker.clear();
        Ok(())
    }

    fn step(&mut self, actions: Actions<'_>) -> Result<()> {
        let width = crate::env::vector::action_width(&self.action_space);
        let (agents, d) = (self.agents, self.obs_dim);
        for e in 0..self.envs.len() {
            let rows = e * agents..(e + 1) * agents;
            let step_actions: Vec<Action<'_>> = match actions {
                Actions::Discrete(a) => a[rows.clone()].iter().map(|&x| Action::Discrete(x)).collect(),
                Actions::MultiDiscrete(a) => a[rows.start * width..rows.end * width].chunks(width).map(Action::MultiDiscrete).collect(),
                Actions::Continuous(a) => a[rows.start * width..rows.end * width].chunks(width).map(Action::Continuous).collect(),
            };
            self.envs[e].step(&step_actions, &mut self.bufs[e])?;
            let buf = &self.bufs[e];
            let mut team_reward = 0.0;
            for a in 0..agents {
                let row = e * agents + a;
                // `state.active` still holds who acted: `copy_obs` refreshes it below.
                let acted = self.state.active[row];
                self.state.rewards[row] = if acted { buf.rewards[a] } else { 0.0 };
                self.state.terminated[row] = acted && buf.terminated[a];
                self.state.truncated[row] = acted && buf.truncated[a];
                if acted && (buf.terminated[a] || buf.truncated[a]) {
                    self.state.final_obs[row * d..(row + 1) * d].copy_from_slice(&buf.obs[a]);
                }
                team_reward += f64::from(self.state.rewards[row]);
            }
            self.tracker.add(e, team_reward, true);
            if self.bufs[e].all_done() {
                self.tracker.finish(e);
                self.envs[e].reset(None, None, &mut self.bufs[e])?;
            }
            self.copy_obs(e);
        }
        Ok(())
    }

    fn state(&self) -> &BatchState {
        &self.state
    }

    fn drain_episodes(&mut self, out: &mut Vec<Episode>) {
        out.append(&mut self.tracker.finished);
    }
}
