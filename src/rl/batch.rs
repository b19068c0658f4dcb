//! [`AgentBatch`]: the rows a learner acts for, one vector env's rows as they are,
//! whether each row is a single-agent env or one agent of a multi-agent env
//! (parameter sharing: every agent is a row, all rows share one policy).
//!
//! The vector env resets an episode within the step that ends it (Gymnasium's
//! `SameStep` autoreset): after [`AgentBatch::step`], `obs` holds each row's next
//! observation (the new episode's first one where an episode ended) and `final_obs`
//! the observation the ended transition actually reached, for bootstrapping
//! truncations. The learner reads the vector env's own buffers; nothing is copied.

use super::{Result, RlError};
use crate::env::Space;
use crate::env::vector::{Actions, AutoresetMode, VecBuffers, VecEnv};

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

/// Rows of observations and actions that one shared policy drives: a `SameStep`
/// vector env plus the returns and lengths of its episodes.
pub struct AgentBatch {
    env: Box<dyn VecEnv>,
    returns: Vec<f64>,
    lengths: Vec<u64>,
    finished: Vec<Episode>,
}

impl AgentBatch {
    /// Wraps `env`; errors unless its autoreset mode is `SameStep`.
    pub fn new(env: Box<dyn VecEnv>) -> Result<Self> {
        if env.autoreset_mode() != AutoresetMode::SameStep {
            return Err(RlError::config("autoreset", "trainers need a vector env with SameStep autoreset"));
        }
        let n = env.num_envs();
        Ok(Self { env, returns: vec![0.0; n], lengths: vec![0; n], finished: Vec::new() })
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.env.num_rows()
    }

    /// Number of envs (equal to rows unless each env has several agents).
    pub fn num_envs(&self) -> usize {
        self.env.num_envs()
    }

    /// Each row's observation space.
    pub fn observation_space(&self) -> &Space {
        self.env.single_observation_space()
    }

    /// Each row's action space.
    pub fn action_space(&self) -> &Space {
        self.env.single_action_space()
    }

    /// Resets every env, env `i` with seed `seed + i`.
    pub fn reset(&mut self, seed: u64) -> Result<()> {
        self.env.reset(Some(seed))?;
        self.returns.fill(0.0);
        self.lengths.fill(0);
        Ok(())
    }

    /// Steps every env with one action per row (ignored for inactive rows).
    pub fn step(&mut self, actions: Actions<'_>) -> Result<()> {
        let bufs = self.env.step(actions)?;
        let agents = bufs.num_agents;
        for e in 0..bufs.num_envs {
            // Rows that sat out report 0, so the team's reward is the sum over all rows.
            let team: f64 = bufs.rewards[e * agents..(e + 1) * agents].iter().map(|&r| f64::from(r)).sum();
            self.returns[e] += team;
            self.lengths[e] += 1;
            if bufs.env_done[e] {
                self.finished.push(Episode { episode_return: self.returns[e], length: self.lengths[e], env: e });
                self.returns[e] = 0.0;
                self.lengths[e] = 0;
            }
        }
        Ok(())
    }

    /// The outputs of the last reset or step, one row each.
    pub fn state(&self) -> &VecBuffers {
        self.env.buffers()
    }

    /// Moves the episodes finished since the last call into `out`, in env order per step.
    pub fn drain_episodes(&mut self, out: &mut Vec<Episode>) {
        out.append(&mut self.finished);
    }
}
