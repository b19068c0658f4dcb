//! # Deep Q-Network
//!
//! Mnih et al., 2015, "Human-level control through deep reinforcement learning", with
//! the double-Q target of van Hasselt et al., 2016 as an option. Follows
//! Stable-Baselines3's `DQN` (so rl-zoo hyper-parameters carry over): uniform replay,
//! a hard-updated target network, linearly decaying ε-greedy exploration, Huber loss
//! and gradient-norm clipping. Truncated episodes store their final observation and
//! bootstrap from it; terminated ones do not bootstrap.

use std::collections::HashMap;

use candle_core::{D, DType, Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::batch::{AgentBatch, Episode};
use super::checkpoint::{agent_tensors, load_agent_tensors};
use super::config::{DqnConfig, NetConfig};
use super::distributions::argmax;
use super::normalize::ObsNormalizer;
use super::{Result, RlError};
use crate::env::vector::ActionBuffer;
use crate::env::{EnvError, Policy, Space};
use crate::nn::{Adam, AdamConfig, Mlp, ParamStore};

/// A Q-network over a `Discrete` action space.
#[derive(Debug)]
pub struct QNetwork {
    params: ParamStore,
    net: Mlp,
    n: usize,
    start: i64,
    obs_dim: usize,
    /// Observation standardisation (identity when disabled).
    pub normalizer: ObsNormalizer,
    /// Probability of a random action when acting as a [`Policy`] (0 = greedy).
    pub epsilon: f64,
    rng: ChaCha8Rng,
    scratch: Vec<f32>,
}

impl QNetwork {
    /// A fresh network; errors unless `action_space` is `Discrete`.
    pub fn new<R: Rng + ?Sized>(
        observation_space: &Space,
        action_space: &Space,
        net: &NetConfig,
        normalize_obs: bool,
        device: &Device,
        rng: &mut R,
    ) -> Result<Self> {
        let Space::Discrete { n, start } = action_space else {
            return Err(RlError::Unsupported { algo: "dqn", what: format!("action space {action_space} (only Discrete)") });
        };
        let obs_dim = observation_space.flat_dim();
        let mut params = ParamStore::new(device);
        let net = Mlp::new(&mut params, "q", obs_dim, &net.hidden, *n as usize, net.activation, 1.0, rng)?;
        let policy_rng = crate::util::seed::rng_from_seed(rng.random());
        Ok(Self {
            params,
            net,
            n: *n as usize,
            start: *start,
            obs_dim,
            normalizer: ObsNormalizer::new(obs_dim, normalize_obs),
            epsilon: 0.0,
            rng: policy_rng,
            scratch: Vec::new(),
        })
    }

    /// The trainable variables.
    pub fn params(&self) -> &ParamStore {
        &self.params
    }

    /// Q-values `[rows, n]` on the host for normalised observations.
    pub fn q_host(&self, obs: &[f32], rows: usize) -> Result<Vec<f32>> {
        let x = Tensor::from_slice(obs, (rows, self.obs_dim), self.params.device())?;
        Ok(self.net.run(&x)?.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Named tensors for a checkpoint.
    pub fn tensors(&self) -> Result<HashMap<String, Tensor>> {
        agent_tensors(&self.params, &self.normalizer)
    }

    /// Loads [`QNetwork::tensors`] output.
    pub fn load(&mut self, tensors: &HashMap<String, Tensor>) -> std::result::Result<(), String> {
        load_agent_tensors(&self.params, &mut self.normalizer, tensors)
    }

    /// ε-greedy action indices (0-based) for normalised observations.
    fn choose<R: Rng + ?Sized>(&self, obs: &[f32], rows: usize, epsilon: f64, rng: &mut R, out: &mut Vec<usize>) -> Result<()> {
        out.clear();
        let q = if epsilon >= 1.0 { Vec::new() } else { self.q_host(obs, rows)? };
        for r in 0..rows {
            let explore = epsilon > 0.0 && rng.random::<f64>() < epsilon;
            out.push(if explore || q.is_empty() { rng.random_range(0..self.n) } else { argmax(&q[r * self.n..(r + 1) * self.n]) });
        }
        Ok(())
    }
}

impl Policy for QNetwork {
    fn name(&self) -> &str {
        "dqn"
    }

    fn act(&mut self, obs: &[f32], _active: &[bool], actions: &mut ActionBuffer) -> std::result::Result<(), EnvError> {
        let rows = obs.len() / self.obs_dim.max(1);
        let mut normed = std::mem::take(&mut self.scratch);
        normed.resize(obs.len(), 0.0);
        self.normalizer.normalize(obs, &mut normed);
        let mut rng = self.rng.clone();
        let mut chosen = Vec::with_capacity(rows);
        let result = self.choose(&normed, rows, self.epsilon, &mut rng, &mut chosen);
        self.rng = rng;
        self.scratch = normed;
        result.map_err(|e| EnvError::Policy(e.to_string()))?;
        if let ActionBuffer::Discrete(a) = actions {
            a.iter_mut().zip(&chosen).for_each(|(dst, &c)| *dst = self.start + c as i64);
        }
        Ok(())
    }
}

/// Prefix of the target network's tensors in a checkpoint.
pub const TARGET_PREFIX: &str = "target.";

/// Uniform experience replay, a ring buffer of `capacity` transitions of raw
/// (unnormalised) observations.
#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    capacity: usize,
    obs_dim: usize,
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    terminated: Vec<f32>,
    pos: usize,
    len: usize,
}

impl ReplayBuffer {
    /// An empty buffer.
    pub fn new(capacity: usize, obs_dim: usize) -> Self {
        Self {
            capacity,
            obs_dim,
            obs: vec![0.0; capacity * obs_dim],
            next_obs: vec![0.0; capacity * obs_dim],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            terminated: vec![0.0; capacity],
            pos: 0,
            len: 0,
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores one transition, overwriting the oldest when full.
    pub fn push(&mut self, obs: &[f32], action: u32, reward: f32, next_obs: &[f32], terminated: bool) {
        let d = self.obs_dim;
        let i = self.pos;
        self.obs[i * d..(i + 1) * d].copy_from_slice(obs);
        self.next_obs[i * d..(i + 1) * d].copy_from_slice(next_obs);
        self.actions[i] = action;
        self.rewards[i] = reward;
        self.terminated[i] = if terminated { 1.0 } else { 0.0 };
        self.pos = (self.pos + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// Samples `batch` transitions uniformly (with replacement) as host arrays.
    pub fn sample<R: Rng + ?Sized>(&self, batch: usize, rng: &mut R) -> Sample {
        let d = self.obs_dim;
        let (mut o, mut a, mut r, mut n, mut t) = (
            Vec::with_capacity(batch * d),
            Vec::with_capacity(batch),
            Vec::with_capacity(batch),
            Vec::with_capacity(batch * d),
            Vec::with_capacity(batch),
        );
        for _ in 0..batch {
            let i = rng.random_range(0..self.len.max(1));
            o.extend_from_slice(&self.obs[i * d..(i + 1) * d]);
            n.extend_from_slice(&self.next_obs[i * d..(i + 1) * d]);
            a.push(self.actions[i]);
            r.push(self.rewards[i]);
            t.push(self.terminated[i]);
        }
        Sample { obs: o, actions: a, rewards: r, next_obs: n, terminated: t }
    }
}

/// Transitions drawn from a [`ReplayBuffer`], as parallel host arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Observations, `batch × obs_dim`.
    pub obs: Vec<f32>,
    /// Action indices.
    pub actions: Vec<u32>,
    /// Rewards.
    pub rewards: Vec<f32>,
    /// Next observations (final observations where an episode ended).
    pub next_obs: Vec<f32>,
    /// 1 where the transition terminated, else 0.
    pub terminated: Vec<f32>,
}

/// Scalars from one DQN iteration, for logs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DqnStats {
    /// Mean Huber loss over the gradient steps (NaN before learning starts).
    pub loss: f64,
    /// Mean Q-value of the taken actions.
    pub q_mean: f64,
    /// Exploration rate at the end of the iteration.
    pub epsilon: f64,
    /// Gradient steps taken.
    pub gradient_steps: u64,
}

/// A DQN learner.
pub struct Dqn {
    /// Hyper-parameters.
    pub config: DqnConfig,
    /// The online network.
    pub q: QNetwork,
    target: QNetwork,
    adam: Adam,
    replay: ReplayBuffer,
    /// Env steps taken (summed over envs).
    pub global_step: u64,
    /// Steps the run will take, for the ε schedule.
    pub total_steps: u64,
    /// Completed iterations (training phases).
    pub iteration: u64,
    /// RNG for exploration and replay sampling.
    pub rng: ChaCha8Rng,
    rows: usize,
    envs: usize,
    env_actions: ActionBuffer,
    next_target_update: u64,
    /// No gradient steps before this env step: `learning_starts`, or, after resuming
    /// (the replay buffer is not checkpointed), `learning_starts` steps past the resume.
    train_after: u64,
}

impl Dqn {
    /// A learner for `batch`; `q` and `target` must have the same architecture.
    pub fn new(config: DqnConfig, q: QNetwork, target: QNetwork, batch: &AgentBatch, total_steps: u64, rng: ChaCha8Rng) -> Result<Self> {
        target.params.copy_from(&q.params)?;
        let adam = Adam::new(q.params(), AdamConfig { eps: config.adam_eps, ..AdamConfig::default() })?;
        let replay = ReplayBuffer::new(config.buffer_size, q.obs_dim);
        let rows = batch.num_rows();
        let env_actions = ActionBuffer::new(batch.action_space(), rows)?;
        let (next_target_update, train_after) = (config.target_update_interval, config.learning_starts);
        Ok(Self {
            config,
            q,
            target,
            adam,
            replay,
            global_step: 0,
            total_steps,
            iteration: 0,
            rng,
            rows,
            envs: batch.num_envs(),
            env_actions,
            next_target_update,
            train_after,
        })
    }

    /// The optimiser.
    pub fn adam(&self) -> &Adam {
        &self.adam
    }

    /// The optimiser, mutably.
    pub fn adam_mut(&mut self) -> &mut Adam {
        &mut self.adam
    }

    /// The env step at which the target network is next updated.
    pub fn next_target_update(&self) -> u64 {
        self.next_target_update
    }

    /// Sets the env step of the next target update (when resuming).
    pub fn set_next_target_update(&mut self, step: u64) {
        self.next_target_update = step;
    }

    /// After restoring a checkpoint at `global_step`: the replay buffer starts empty, so
    /// collect `learning_starts` fresh steps (ε-greedy with the restored network) before
    /// training again.
    pub fn refill_before_training(&mut self) {
        self.train_after = self.global_step.saturating_add(self.config.learning_starts);
    }

    /// Copies the online network into the target network (after loading a checkpoint
    /// written before checkpoints held the target network).
    pub fn sync_target(&mut self) -> Result<()> {
        Ok(self.target.params.copy_from(&self.q.params)?)
    }

    /// The target network's weights, named with [`TARGET_PREFIX`] (for checkpoints).
    pub fn target_tensors(&self) -> HashMap<String, Tensor> {
        self.target.params.tensors().into_iter().map(|(k, v)| (format!("{TARGET_PREFIX}{k}"), v)).collect()
    }

    /// Restores the target network from a checkpoint's tensors, or, for a checkpoint
    /// without one, from the online network.
    pub fn load_target(&mut self, tensors: &HashMap<String, Tensor>) -> std::result::Result<(), String> {
        if tensors.keys().any(|k| k.starts_with(TARGET_PREFIX)) {
            self.target.params.load(tensors, TARGET_PREFIX)
        } else {
            self.sync_target().map_err(|e| e.to_string())
        }
    }

    /// ε at the current step: linear from the initial to the final value over
    /// `exploration_fraction` of the run, then constant.
    pub fn epsilon(&self) -> f64 {
        let c = &self.config;
        let progress = self.global_step as f64 / self.total_steps.max(1) as f64;
        if c.exploration_fraction <= 0.0 || progress >= c.exploration_fraction {
            return c.exploration_final_eps;
        }
        c.exploration_initial_eps + (c.exploration_final_eps - c.exploration_initial_eps) * progress / c.exploration_fraction
    }

    /// One iteration: `train_freq` env steps of collection (fewer when `total_steps` is
    /// nearer), then `gradient_steps` updates once `learning_starts` steps have been taken.
    pub fn iterate(&mut self, batch: &mut AgentBatch, episodes: &mut Vec<Episode>) -> Result<DqnStats> {
        let (rows, d) = (self.rows, self.q.obs_dim);
        // The last iteration stops at `total_steps`, even when `train_freq` is larger.
        let left = self.total_steps.saturating_sub(self.global_step).div_ceil(self.envs as u64);
        let batch_steps = self.config.train_freq.div_ceil(self.envs as u64).min(left).max(1);
        // The step overwrites the batch state, so the acting observations are kept here
        // (allocated once per iteration, copied into every step).
        let (mut obs_n, mut obs_raw, mut active) = (vec![0.0; rows * d], vec![0.0; rows * d], vec![false; rows]);
        let mut chosen = Vec::with_capacity(rows);
        for _ in 0..batch_steps {
            let state = batch.state();
            self.q.normalizer.update(&state.obs, &state.active);
            self.q.normalizer.normalize(&state.obs, &mut obs_n);
            obs_raw.copy_from_slice(&state.obs);
            active.copy_from_slice(&state.active);
            let eps = if self.global_step < self.config.learning_starts { 1.0 } else { self.epsilon() };
            let mut rng = self.rng.clone();
            self.q.choose(&obs_n, rows, eps, &mut rng, &mut chosen)?;
            self.rng = rng;
            if let ActionBuffer::Discrete(a) = &mut self.env_actions {
                a.iter_mut().zip(&chosen).for_each(|(dst, &c)| *dst = self.q.start + c as i64);
            }
            batch.step(self.env_actions.as_actions())?;
            batch.drain_episodes(episodes);
            let state = batch.state();
            for r in 0..rows {
                if !active[r] {
                    continue;
                }
                let ended = state.terminated[r] || state.truncated[r];
                let next_raw = if ended { &state.final_obs[r * d..(r + 1) * d] } else { &state.obs[r * d..(r + 1) * d] };
                // Raw observations: batches are normalised when sampled, with the statistics of that moment.
                self.replay.push(&obs_raw[r * d..(r + 1) * d], chosen[r] as u32, state.rewards[r], next_raw, state.terminated[r]);
            }
            self.global_step += self.envs as u64;
            while self.global_step >= self.next_target_update {
                self.sync_target()?;
                self.next_target_update += self.config.target_update_interval;
            }
        }
        let mut stats = DqnStats { loss: f64::NAN, q_mean: f64::NAN, epsilon: self.epsilon(), gradient_steps: 0 };
        if self.global_step > self.config.learning_starts && self.global_step >= self.train_after && !self.replay.is_empty() {
            let (mut loss_sum, mut q_sum) = (0.0, 0.0);
            for _ in 0..self.config.gradient_steps {
                let (l, q) = self.gradient_step()?;
                loss_sum += l;
                q_sum += q;
            }
            let g = self.config.gradient_steps as f64;
            stats = DqnStats { loss: loss_sum / g, q_mean: q_sum / g, gradient_steps: self.config.gradient_steps as u64, ..stats };
        }
        self.iteration += 1;
        Ok(stats)
    }

    fn gradient_step(&mut self) -> Result<(f64, f64)> {
        let b = self.config.batch_size;
        let d = self.q.obs_dim;
        let device = self.q.params.device().clone();
        let Sample { obs: mut o, actions: a, rewards: r, next_obs: mut n, terminated: t } = self.replay.sample(b, &mut self.rng);
        let raw = o.clone();
        self.q.normalizer.normalize(&raw, &mut o);
        let raw = n.clone();
        self.q.normalizer.normalize(&raw, &mut n);
        let obs = Tensor::from_slice(&o, (b, d), &device)?;
        let next_obs = Tensor::from_slice(&n, (b, d), &device)?;
        let actions = Tensor::from_slice(&a, (b, 1), &device)?;
        let rewards = Tensor::from_slice(&r, b, &device)?;
        let not_done = Tensor::from_slice(&t, b, &device)?.affine(-1.0, 1.0)?;
        let next_target = self.target.net.run(&next_obs)?.detach();
        let next_q = if self.config.double_q {
            let best = self.q.net.run(&next_obs)?.detach().argmax_keepdim(D::Minus1)?;
            next_target.gather(&best, 1)?.squeeze(1)?
        } else {
            next_target.max(D::Minus1)?
        };
        let target = rewards.add(&next_q.mul(&not_done)?.affine(f64::from(self.config.gamma), 0.0)?)?.detach();
        let q_taken = self.q.net.run(&obs)?.gather(&actions, 1)?.squeeze(1)?;
        let loss = huber(&q_taken.sub(&target)?)?;
        let grads = loss.backward()?;
        self.adam.clip_and_step(&grads, self.config.learning_rate, Some(self.config.max_grad_norm))?;
        Ok((f64::from(loss.to_scalar::<f32>()?), f64::from(q_taken.mean_all()?.to_scalar::<f32>()?)))
    }
}

/// Mean Huber (smooth L1, δ = 1) loss of the residuals `x`.
fn huber(x: &Tensor) -> Result<Tensor> {
    let abs = x.abs()?;
    let quadratic = abs.minimum(1.0)?;
    let linear = abs.sub(&quadratic)?;
    // 0.5·min(|x|,1)² + (|x| - min(|x|,1))
    Ok(quadratic.sqr()?.affine(0.5, 0.0)?.add(&linear)?.mean_all()?.to_dtype(DType::F32)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn huber_is_quadratic_near_zero_and_linear_beyond() -> Result<()> {
        let x = Tensor::new(&[0.5f32, -2.0, 3.0], &Device::Cpu)?;
        let got = huber(&x)?.to_scalar::<f32>()?;
        let expected = (0.125 + 1.5 + 2.5) / 3.0;
        assert!((got - expected).abs() < 1e-6);
        Ok(())
    }

    #[test]
    fn replay_wraps_around_and_samples_stored_transitions() {
        let mut rb = ReplayBuffer::new(3, 1);
        for i in 0..5 {
            rb.push(&[i as f32], i, i as f32, &[i as f32 + 0.5], i % 2 == 0);
        }
        assert_eq!(rb.len(), 3);
        let Sample { obs: o, actions: a, rewards: r, next_obs: n, terminated: t } = rb.sample(50, &mut rng_from_seed(0));
        for k in 0..50 {
            assert!((2..5).contains(&a[k]), "oldest transitions were overwritten");
            assert_eq!(o[k], a[k] as f32);
            assert_eq!(r[k], a[k] as f32);
            assert_eq!(n[k], a[k] as f32 + 0.5);
            assert_eq!(t[k], if a[k] % 2 == 0 { 1.0 } else { 0.0 });
        }
    }
}
