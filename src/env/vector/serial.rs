//! [`SerialVecEnv`]: every env stepped in turn on the calling thread.

use super::chunk::Chunk;
use super::{Actions, AutoresetMode, VecBuffers, VecEnv, check_actions, check_mask, common_spaces, one_agent_each};
use crate::env::{Env, EnvError, ParallelEnv, SingleAgent, Space};

/// A vector env that steps its envs one after another on the calling thread
/// (Gymnasium's `SyncVectorEnv`, PufferLib's `Serial`).
pub struct SerialVecEnv<P = Box<dyn ParallelEnv>> {
    chunk: Chunk<P>,
    observation_space: Space,
    action_space: Space,
    mode: AutoresetMode,
}

impl SerialVecEnv<SingleAgent<Box<dyn Env>>> {
    /// Batches single-agent `envs` (one row each), which must share their spaces.
    pub fn new(envs: Vec<Box<dyn Env>>, mode: AutoresetMode) -> Result<Self, EnvError> {
        Self::from_agents(one_agent_each(envs), mode)
    }
}

impl<P: ParallelEnv> SerialVecEnv<P> {
    /// Batches multi-agent `envs` (one row per agent), whose agents must all share
    /// their spaces.
    pub fn from_agents(envs: Vec<P>, mode: AutoresetMode) -> Result<Self, EnvError> {
        let (_, observation_space, action_space) = common_spaces(&envs)?;
        Ok(Self { chunk: Chunk::new(0, envs)?, observation_space, action_space, mode })
    }
}

impl<P: ParallelEnv> VecEnv for SerialVecEnv<P> {
    fn num_envs(&self) -> usize {
        self.chunk.len()
    }

    fn num_agents(&self) -> usize {
        self.chunk.buf.num_agents
    }

    fn single_observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn single_action_space(&self) -> &Space {
        &self.action_space
    }

    fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<&VecBuffers, EnvError> {
        self.chunk.reset_all(seed)?;
        Ok(&self.chunk.buf)
    }

    fn step(&mut self, actions: Actions<'_>) -> Result<&VecBuffers, EnvError> {
        check_actions(&self.action_space, self.chunk.buf.num_rows(), &actions)?;
        self.chunk.step_all(actions, self.mode)?;
        Ok(&self.chunk.buf)
    }

    fn reset_envs(&mut self, mask: &[bool], seed: Option<u64>) -> Result<&VecBuffers, EnvError> {
        check_mask(mask, self.chunk.len())?;
        self.chunk.reset_masked(mask, seed)?;
        Ok(&self.chunk.buf)
    }

    fn buffers(&self) -> &VecBuffers {
        &self.chunk.buf
    }
}
