//! # Proximal Policy Optimization
//!
//! Schulman et al., 2017, "Proximal Policy Optimization Algorithms"
//! (<https://arxiv.org/abs/1707.06347>). The loop follows CleanRL's `ppo.py` and the
//! loss follows Stable-Baselines3's `PPO.train` (so rl-zoo hyper-parameters carry over):
//!
//! 1. collect `num_steps` transitions from every row with the current policy;
//! 2. GAE(λ) advantages, bootstrapping truncated episodes from their final observation
//!    ([`super::buffer::gae`]);
//! 3. `update_epochs` passes of shuffled minibatches minimising
//!    `-min(r·A, clip(r, 1±ε)·A) + vf_coef·(V - R)² - ent_coef·H`,
//!    with optional value clipping, per-minibatch advantage standardisation, global
//!    gradient clipping and linear annealing of the learning rate and ε.
//!
//! Separate actor and critic MLPs (SB3's `MlpPolicy`); categorical, multi-categorical
//! or diagonal-Gaussian heads ([`super::distributions`]).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::batch::{AgentBatch, Episode};
use super::buffer::RolloutBuffer;
use super::checkpoint::{agent_tensors, load_agent_tensors};
use super::config::{NetConfig, PpoConfig};
use super::distributions::PolicyHead;
use super::normalize::ObsNormalizer;
use super::{Result, RlError};
use crate::env::vector::ActionBuffer;
use crate::env::{EnvError, Policy, Space};
use crate::nn::{Adam, AdamConfig, Mlp, ParamStore};

/// The PPO networks: actor, critic, the Gaussian `log_std` if any, and the observation
/// normaliser. This is what a checkpoint holds and what evaluation runs.
#[derive(Debug)]
pub struct ActorCritic {
    head: PolicyHead,
    params: ParamStore,
    actor: Mlp,
    critic: Mlp,
    log_std: Option<Var>,
    /// Observation standardisation (identity when disabled).
    pub normalizer: ObsNormalizer,
    obs_dim: usize,
    /// Greedy actions (argmax / mean) when acting as a [`Policy`].
    pub deterministic: bool,
    /// RNG for sampling when acting as a stochastic [`Policy`].
    policy_rng: ChaCha8Rng,
    scratch_obs: Vec<f32>,
    scratch_stored: Vec<f32>,
}

impl ActorCritic {
    /// Fresh networks for `observation_space` → `action_space`, initialised from `rng`.
    pub fn new<R: Rng + ?Sized>(
        observation_space: &Space,
        action_space: &Space,
        net: &NetConfig,
        init_log_std: f32,
        normalize_obs: bool,
        device: &Device,
        rng: &mut R,
    ) -> Result<Self> {
        let head = PolicyHead::for_space(action_space)?;
        let obs_dim = observation_space.flat_dim();
        let mut params = ParamStore::new(device);
        let actor = Mlp::new(&mut params, "actor", obs_dim, &net.hidden, head.out_dim(), net.activation, 0.01, rng)?;
        let critic = Mlp::new(&mut params, "critic", obs_dim, &net.hidden, 1, net.activation, 1.0, rng)?;
        let log_std = if head.is_gaussian() {
            Some(params.var("log_std".into(), &vec![init_log_std; head.out_dim()], &[head.out_dim()])?)
        } else {
            None
        };
        let policy_rng = crate::util::seed::rng_from_seed(rng.random());
        Ok(Self {
            head,
            params,
            actor,
            critic,
            log_std,
            normalizer: ObsNormalizer::new(obs_dim, normalize_obs),
            obs_dim,
            deterministic: true,
            policy_rng,
            scratch_obs: Vec::new(),
            scratch_stored: Vec::new(),
        })
    }

    /// The distribution head.
    pub fn head(&self) -> &PolicyHead {
        &self.head
    }

    /// The trainable variables.
    pub fn params(&self) -> &ParamStore {
        &self.params
    }

    /// Policy outputs `[rows, out_dim]` and values `[rows]` for normalised observations, on the host.
    pub fn forward_host(&self, obs: &[f32], rows: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let x = Tensor::from_slice(obs, (rows, self.obs_dim), self.params.device())?;
        let out = self.actor.run(&x)?.flatten_all()?.to_vec1::<f32>()?;
        let values = self.critic.run(&x)?.flatten_all()?.to_vec1::<f32>()?;
        Ok((out, values))
    }

    /// Values `[rows]` for normalised observations, on the host.
    pub fn values_host(&self, obs: &[f32], rows: usize) -> Result<Vec<f32>> {
        let x = Tensor::from_slice(obs, (rows, self.obs_dim), self.params.device())?;
        Ok(self.critic.run(&x)?.flatten_all()?.to_vec1::<f32>()?)
    }

    /// The Gaussian log standard deviations on the host (empty for categorical heads).
    pub fn log_std_host(&self) -> Result<Vec<f32>> {
        Ok(match &self.log_std {
            Some(v) => v.as_tensor().to_vec1::<f32>()?,
            None => Vec::new(),
        })
    }

    /// Named tensors for a checkpoint (network variables and normaliser statistics).
    pub fn tensors(&self) -> Result<HashMap<String, Tensor>> {
        agent_tensors(&self.params, &self.normalizer)
    }

    /// Loads [`ActorCritic::tensors`] output.
    pub fn load(&mut self, tensors: &HashMap<String, Tensor>) -> std::result::Result<(), String> {
        load_agent_tensors(&self.params, &mut self.normalizer, tensors)
    }
}

impl Policy for ActorCritic {
    fn name(&self) -> &str {
        "ppo"
    }

    fn act(&mut self, obs: &[f32], _active: &[bool], actions: &mut ActionBuffer) -> std::result::Result<(), EnvError> {
        let rows = obs.len() / self.obs_dim.max(1);
        let fail = |e: RlError| EnvError::Policy(e.to_string());
        self.scratch_obs.resize(obs.len(), 0.0);
        self.normalizer.normalize(obs, &mut self.scratch_obs);
        let (out, _) = self.forward_host(&self.scratch_obs, rows).map_err(fail)?;
        let log_std = self.log_std_host().map_err(fail)?;
        let (w, od) = (self.head.action_width(), self.head.out_dim());
        self.scratch_stored.resize(rows * w, 0.0);
        for r in 0..rows {
            let det = self.deterministic;
            self.head.sample_row(
                &out[r * od..(r + 1) * od],
                &log_std,
                &mut self.policy_rng,
                det,
                &mut self.scratch_stored[r * w..(r + 1) * w],
            );
        }
        self.head.write_env_actions(&self.scratch_stored, actions);
        Ok(())
    }
}

/// Scalars from one PPO iteration, for logs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PpoStats {
    /// Mean clipped surrogate loss.
    pub policy_loss: f64,
    /// Mean value loss.
    pub value_loss: f64,
    /// Mean policy entropy.
    pub entropy: f64,
    /// Mean approximate KL divergence between rollout and updated policy.
    pub approx_kl: f64,
    /// Fraction of samples whose ratio was clipped.
    pub clip_fraction: f64,
    /// 1 - Var(returns - values) / Var(returns).
    pub explained_variance: f64,
    /// Learning rate used in this update.
    pub learning_rate: f64,
    /// Clip coefficient used in this update.
    pub clip_coef: f64,
    /// Gradient steps taken.
    pub gradient_steps: u64,
}

/// A PPO learner: the networks, the optimiser, the rollout storage and the counters.
pub struct Ppo {
    /// Hyper-parameters.
    pub config: PpoConfig,
    /// The networks.
    pub agent: ActorCritic,
    adam: Adam,
    buffer: RolloutBuffer,
    /// Env steps taken so far (a multi-agent env step counts once).
    pub global_step: u64,
    /// Steps the run will take, for annealing.
    pub total_steps: u64,
    /// Completed iterations.
    pub iteration: u64,
    /// RNG for action sampling and minibatch shuffles.
    pub rng: ChaCha8Rng,
    rows: usize,
    envs: usize,
    scratch_obs: Vec<f32>,
    env_actions: ActionBuffer,
}

impl Ppo {
    /// A learner for `batch`'s spaces.
    pub fn new(config: PpoConfig, agent: ActorCritic, batch: &AgentBatch, total_steps: u64, rng: ChaCha8Rng) -> Result<Self> {
        let adam = Adam::new(agent.params(), AdamConfig { eps: config.adam_eps, ..AdamConfig::default() })?;
        let rows = batch.num_rows();
        let buffer = RolloutBuffer::new(config.num_steps, rows, agent.obs_dim, agent.head.action_width());
        let env_actions = ActionBuffer::new(batch.action_space(), rows)?;
        Ok(Self {
            config,
            agent,
            adam,
            buffer,
            global_step: 0,
            total_steps,
            iteration: 0,
            rng,
            rows,
            envs: batch.num_envs(),
            scratch_obs: Vec::new(),
            env_actions,
        })
    }

    /// The optimiser (for checkpoints).
    pub fn adam(&self) -> &Adam {
        &self.adam
    }

    /// The optimiser, mutably (for restoring checkpoints).
    pub fn adam_mut(&mut self) -> &mut Adam {
        &mut self.adam
    }

    /// Env steps one iteration takes.
    pub fn steps_per_iteration(&self) -> u64 {
        (self.config.num_steps * self.envs) as u64
    }

    /// One iteration: a rollout from `batch` (whose state holds the current
    /// observations), then the update. Finished episodes are appended to `episodes`.
    pub fn iterate(&mut self, batch: &mut AgentBatch, episodes: &mut Vec<Episode>) -> Result<PpoStats> {
        self.collect(batch, episodes)?;
        let stats = self.update()?;
        self.iteration += 1;
        Ok(stats)
    }

    fn collect(&mut self, batch: &mut AgentBatch, episodes: &mut Vec<Episode>) -> Result<()> {
        let (rows, d) = (self.rows, self.agent.obs_dim);
        let (w, od) = (self.agent.head.action_width(), self.agent.head.out_dim());
        let log_std = self.agent.log_std_host()?;
        for t in 0..self.config.num_steps {
            let base = t * rows;
            {
                let state = batch.state();
                self.agent.normalizer.update(&state.obs, &state.active);
                let obs_slot = &mut self.buffer.obs[base * d..(base + rows) * d];
                self.agent.normalizer.normalize(&state.obs, obs_slot);
                self.buffer.valid[base..base + rows].copy_from_slice(&state.active);
            }
            let (out, values) = self.agent.forward_host(&self.buffer.obs[base * d..(base + rows) * d], rows)?;
            for r in 0..rows {
                let i = base + r;
                self.buffer.logprobs[i] = self.agent.head.sample_row(
                    &out[r * od..(r + 1) * od],
                    &log_std,
                    &mut self.rng,
                    false,
                    &mut self.buffer.actions[i * w..(i + 1) * w],
                );
                self.buffer.values[i] = values[r];
            }
            self.agent.head.write_env_actions(&self.buffer.actions[base * w..(base + rows) * w], &mut self.env_actions);
            batch.step(self.env_actions.as_actions())?;
            batch.drain_episodes(episodes);
            let state = batch.state();
            // Truncated transitions bootstrap from V(final observation); gather those rows.
            let mut truncated_rows = Vec::new();
            for r in 0..rows {
                let i = base + r;
                self.buffer.rewards[i] = state.rewards[r];
                self.buffer.terminated[i] = state.terminated[r];
                self.buffer.ended[i] = state.terminated[r] || state.truncated[r];
                self.buffer.next_values[i] = 0.0;
                if state.truncated[r] && !state.terminated[r] && self.buffer.valid[i] {
                    truncated_rows.push(r);
                }
            }
            if !truncated_rows.is_empty() {
                self.scratch_obs.resize(truncated_rows.len() * d, 0.0);
                let mut raw = vec![0.0; truncated_rows.len() * d];
                for (k, &r) in truncated_rows.iter().enumerate() {
                    raw[k * d..(k + 1) * d].copy_from_slice(&state.final_obs[r * d..(r + 1) * d]);
                }
                self.agent.normalizer.normalize(&raw, &mut self.scratch_obs);
                let v = self.agent.values_host(&self.scratch_obs, truncated_rows.len())?;
                for (k, &r) in truncated_rows.iter().enumerate() {
                    self.buffer.next_values[base + r] = v[k];
                }
            }
            self.global_step += self.envs as u64;
        }
        // Bootstrap values for the step after the rollout.
        let state = batch.state();
        self.scratch_obs.resize(rows * d, 0.0);
        self.agent.normalizer.normalize(&state.obs, &mut self.scratch_obs);
        let last_values = self.agent.values_host(&self.scratch_obs, rows)?;
        self.buffer.compute_advantages(&last_values, self.config.gamma, self.config.gae_lambda);
        Ok(())
    }

    fn update(&mut self) -> Result<PpoStats> {
        let cfg = &self.config;
        let progress_remaining = 1.0 - (self.global_step as f64 / self.total_steps.max(1) as f64).min(1.0);
        let lr = if cfg.anneal_lr { cfg.learning_rate * progress_remaining } else { cfg.learning_rate };
        let clip = if cfg.anneal_clip { f64::from(cfg.clip_coef) * progress_remaining } else { f64::from(cfg.clip_coef) };
        let device = self.agent.params.device().clone();
        let b = &self.buffer;
        let valid = b.valid_indices();
        let n = valid.len();
        let mut stats = PpoStats {
            learning_rate: lr,
            clip_coef: clip,
            explained_variance: explained_variance(&b.values, &b.returns, &b.valid),
            ..PpoStats::default()
        };
        if n == 0 {
            return Ok(stats);
        }
        let (d, w) = (b.obs_dim, b.action_width);
        let b_obs = Tensor::from_slice(&b.obs, (b.values.len(), d), &device)?;
        let b_actions = Tensor::from_slice(&b.actions, (b.values.len(), w), &device)?;
        let b_logprobs = Tensor::from_slice(&b.logprobs, b.values.len(), &device)?;
        let b_advantages = Tensor::from_slice(&b.advantages, b.values.len(), &device)?;
        let b_returns = Tensor::from_slice(&b.returns, b.values.len(), &device)?;
        let b_values = Tensor::from_slice(&b.values, b.values.len(), &device)?;
        let mb_size = cfg.minibatch_size.min(n);
        let mut order = valid;
        let (mut sums, mut count) = ([0.0f64; 5], 0usize);
        'epochs: for _ in 0..cfg.update_epochs {
            shuffle(&mut order, &mut self.rng);
            for chunk in order.chunks(mb_size) {
                let idx = Tensor::from_slice(chunk, chunk.len(), &device)?;
                let mb_obs = b_obs.index_select(&idx, 0)?;
                let mb_actions = b_actions.index_select(&idx, 0)?;
                let mb_old_logp = b_logprobs.index_select(&idx, 0)?;
                let mut mb_adv = b_advantages.index_select(&idx, 0)?;
                let mb_returns = b_returns.index_select(&idx, 0)?;
                let mb_old_values = b_values.index_select(&idx, 0)?;
                if cfg.norm_adv && chunk.len() > 1 {
                    let mean = mb_adv.mean_all()?;
                    let centered = mb_adv.broadcast_sub(&mean)?;
                    let std = centered.sqr()?.sum_all()?.affine(1.0 / (chunk.len() - 1) as f64, 0.0)?.sqrt()?;
                    mb_adv = centered.broadcast_div(&std.affine(1.0, 1e-8)?)?;
                }
                let out = self.agent.actor.run(&mb_obs)?;
                let log_std = self.agent.log_std.as_ref().map(|v| v.as_tensor().clone());
                let (new_logp, entropy) = self.agent.head.log_prob_entropy(&out, log_std.as_ref(), &mb_actions)?;
                let new_values = self.agent.critic.run(&mb_obs)?.squeeze(1)?;
                let log_ratio = new_logp.sub(&mb_old_logp)?;
                let ratio = log_ratio.exp()?;
                let pg1 = mb_adv.mul(&ratio)?;
                let pg2 = mb_adv.mul(&ratio.clamp(1.0 - clip, 1.0 + clip)?)?;
                let policy_loss = pg1.minimum(&pg2)?.mean_all()?.neg()?;
                let values_pred = match cfg.clip_vf {
                    Some(cv) => {
                        let cv = f64::from(cv);
                        mb_old_values.add(&new_values.sub(&mb_old_values)?.clamp(-cv, cv)?)?
                    }
                    None => new_values,
                };
                let value_loss = values_pred.sub(&mb_returns)?.sqr()?.mean_all()?;
                let entropy_mean = entropy.mean_all()?;
                let loss = policy_loss
                    .add(&value_loss.affine(f64::from(cfg.vf_coef), 0.0)?)?
                    .sub(&entropy_mean.affine(f64::from(cfg.ent_coef), 0.0)?)?;
                // Diagnostics, as SB3 reports them.
                let approx_kl = ratio.affine(1.0, -1.0)?.sub(&log_ratio)?.mean_all()?.to_scalar::<f32>()?;
                let clipped = ratio.affine(1.0, -1.0)?.abs()?.gt(clip)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()?;
                if let Some(target) = cfg.target_kl
                    && approx_kl > 1.5 * target
                {
                    break 'epochs;
                }
                let grads = loss.backward()?;
                self.adam.clip_and_step(&grads, lr, Some(cfg.max_grad_norm))?;
                for (s, v) in sums.iter_mut().zip([
                    f64::from(policy_loss.to_scalar::<f32>()?),
                    f64::from(value_loss.to_scalar::<f32>()?),
                    f64::from(entropy_mean.to_scalar::<f32>()?),
                    f64::from(approx_kl),
                    f64::from(clipped),
                ]) {
                    *s += v;
                }
                count += 1;
            }
        }
        let c = count.max(1) as f64;
        stats.policy_loss = sums[0] / c;
        stats.value_loss = sums[1] / c;
        stats.entropy = sums[2] / c;
        stats.approx_kl = sums[3] / c;
        stats.clip_fraction = sums[4] / c;
        stats.gradient_steps = count as u64;
        Ok(stats)
    }
}

/// Fisher–Yates shuffle with the run's RNG.
pub fn shuffle<T, R: Rng + ?Sized>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

/// 1 - Var(y - ŷ) / Var(y) over the valid entries (NaN when Var(y) = 0, as SB3).
fn explained_variance(pred: &[f32], target: &[f32], valid: &[bool]) -> f64 {
    let pairs: Vec<(f64, f64)> =
        pred.iter().zip(target).zip(valid).filter(|(_, v)| **v).map(|((p, t), _)| (f64::from(*p), f64::from(*t))).collect();
    let n = pairs.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let var = |xs: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = xs.collect();
        let mean = v.iter().sum::<f64>() / n;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n
    };
    let var_y = var(&mut pairs.iter().map(|(_, t)| *t));
    if var_y == 0.0 {
        return f64::NAN;
    }
    1.0 - var(&mut pairs.iter().map(|(p, t)| t - p)) / var_y
}
