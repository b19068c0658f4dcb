//! Training configuration: one documented serde struct per algorithm (CleanRL's
//! `Args`), read from `agents/*.toml` with `key=value` overrides from the command line.
//!
//! ```toml
//! algo = "ppo"
//! env = "cartpole-v1"
//! total_steps = 50000
//! num_envs = 8
//! [ppo]
//! num_steps = 32
//! ```
//!
//! Unknown keys are errors, and every error names the file and the field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Result, RlError};
use crate::nn::Activation;
use crate::util::memory::{Part, product};

/// Which algorithm trains the agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// Proximal Policy Optimization.
    #[default]
    Ppo,
    /// Deep Q-Network.
    Dqn,
}

impl Algo {
    /// Lower-case name, as in configs.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Ppo => "ppo",
            Algo::Dqn => "dqn",
        }
    }
}

/// A whole training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The algorithm.
    pub algo: Algo,
    /// Registry id (see `synthgym envs`) or path of a scene file.
    pub env: String,
    /// Seed of the run: network initialisation, sampling, env seeds (env `i` gets `seed + i`).
    pub seed: u64,
    /// Env steps to train for (summed over envs; a multi-agent env step counts once).
    pub total_steps: u64,
    /// Envs stepped together.
    pub num_envs: usize,
    /// Threads stepping single-agent envs (1 = on the training thread).
    pub env_threads: usize,
    /// Standardise observations with running statistics (SB3's `VecNormalize(norm_reward=False)`),
    /// clipped to ±10; the statistics are saved with the checkpoint.
    pub normalize_obs: bool,
    /// Multi-agent envs: one policy shared by all agents (`shared`, a row per agent) or
    /// one policy over the joint observation and action (`joint`).
    pub agents: AgentsMode,
    /// Network sizes.
    pub net: NetConfig,
    /// Periodic evaluation.
    pub eval: EvalConfig,
    /// Checkpointing.
    pub checkpoint: CheckpointConfig,
    /// PPO hyper-parameters (used when `algo = "ppo"`).
    pub ppo: PpoConfig,
    /// DQN hyper-parameters (used when `algo = "dqn"`).
    pub dqn: DqnConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            algo: Algo::Ppo,
            env: "cartpole-v1".into(),
            seed: 1,
            total_steps: 100_000,
            num_envs: 8,
            env_threads: 1,
            normalize_obs: false,
            agents: AgentsMode::Shared,
            net: NetConfig::default(),
            eval: EvalConfig::default(),
            checkpoint: CheckpointConfig::default(),
            ppo: PpoConfig::default(),
            dqn: DqnConfig::default(),
        }
    }
}

/// How multi-agent envs map to policy rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentsMode {
    /// Parameter sharing: each agent is a row of the batch.
    #[default]
    Shared,
    /// The env's joint view: one row per env, multi-discrete joint actions.
    Joint,
}

/// Network architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetConfig {
    /// Hidden layer widths (of the actor and of the critic, or of the Q-network).
    pub hidden: Vec<usize>,
    /// Nonlinearity between layers.
    pub activation: Activation,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self { hidden: vec![64, 64], activation: Activation::Tanh }
    }
}

/// Evaluation during training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Evaluate every this many env steps (0 = only at the end).
    pub every_steps: u64,
    /// Episodes per evaluation.
    pub episodes: usize,
    /// Act greedily (argmax / Gaussian mean) rather than sampling.
    pub deterministic: bool,
    /// A mean evaluation return that counts as solved; the run reports when it was first reached.
    pub target_return: Option<f64>,
    /// Stop training once `target_return` is reached.
    pub stop_at_target: bool,
    /// After each evaluation, record this many episodes of the current policy to
    /// `<run dir>/episodes/step-<N>.episodes` for `synthgym replay` (0 = none).
    pub record_episodes: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { every_steps: 10_000, episodes: 10, deterministic: true, target_return: None, stop_at_target: false, record_episodes: 0 }
    }
}

/// When checkpoints are written (always at the end of a run).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Write a checkpoint every this many env steps (0 = only at the end).
    pub every_steps: u64,
}

/// PPO (Schulman et al., 2017), with SB3's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// Steps per env per rollout (SB3 `n_steps`).
    pub num_steps: usize,
    /// Transitions per minibatch (SB3 `batch_size`).
    pub minibatch_size: usize,
    /// Passes over each rollout (SB3 `n_epochs`).
    pub update_epochs: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Decay the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Discount factor γ.
    pub gamma: f32,
    /// GAE λ.
    pub gae_lambda: f32,
    /// Surrogate clipping coefficient ε.
    pub clip_coef: f32,
    /// Decay `clip_coef` linearly to 0 over the run.
    pub anneal_clip: bool,
    /// Clip the value update to ±this around the rollout value (SB3 `clip_range_vf`); off when absent.
    pub clip_vf: Option<f32>,
    /// Standardise advantages per minibatch.
    pub norm_adv: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f32,
    /// Value loss coefficient.
    pub vf_coef: f32,
    /// Global gradient-norm clip.
    pub max_grad_norm: f64,
    /// Stop an update's epochs early once the approximate KL exceeds 1.5 × this (SB3).
    pub target_kl: Option<f32>,
    /// Adam ε.
    pub adam_eps: f64,
    /// Initial log standard deviation of Gaussian policies.
    pub init_log_std: f32,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            num_steps: 2048,
            minibatch_size: 64,
            update_epochs: 10,
            learning_rate: 3e-4,
            anneal_lr: false,
            gamma: 0.99,
            gae_lambda: 0.95,
            clip_coef: 0.2,
            anneal_clip: false,
            clip_vf: None,
            norm_adv: true,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            adam_eps: 1e-5,
            init_log_std: 0.0,
        }
    }
}

/// DQN (Mnih et al., 2015) with optional double Q-learning (van Hasselt et al., 2016), with SB3's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DqnConfig {
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Replay buffer capacity in transitions.
    pub buffer_size: usize,
    /// Env steps of random actions before learning starts.
    pub learning_starts: u64,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Discount factor γ.
    pub gamma: f32,
    /// Env steps (summed over envs) between training phases.
    pub train_freq: u64,
    /// Gradient steps per training phase.
    pub gradient_steps: usize,
    /// Env steps between target-network updates.
    pub target_update_interval: u64,
    /// Fraction of the run over which ε decays linearly.
    pub exploration_fraction: f64,
    /// ε at the start.
    pub exploration_initial_eps: f64,
    /// ε after the decay.
    pub exploration_final_eps: f64,
    /// Select next actions with the online network and evaluate them with the target network.
    pub double_q: bool,
    /// Global gradient-norm clip.
    pub max_grad_norm: f64,
    /// Adam ε.
    pub adam_eps: f64,
}

impl Default for DqnConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-4,
            buffer_size: 1_000_000,
            learning_starts: 100,
            batch_size: 32,
            gamma: 0.99,
            train_freq: 4,
            gradient_steps: 1,
            target_update_interval: 10_000,
            exploration_fraction: 0.1,
            exploration_initial_eps: 1.0,
            exploration_final_eps: 0.05,
            double_q: false,
            max_grad_norm: 10.0,
            adam_eps: 1e-8,
        }
    }
}

impl TrainConfig {
    /// Parses a config from TOML text; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let table: toml::Table = toml::from_str(text).map_err(|e| RlError::config(origin, e.to_string().trim_end()))?;
        Self::from_table(table, origin)
    }

    /// Reads `path`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(RlError::io(path))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Applies `key=value` overrides (dotted keys, TOML values; a bare word is a
    /// string) to the TOML text, then parses and validates the result.
    pub fn from_toml_with_overrides(text: &str, origin: &str, overrides: &[String]) -> Result<Self> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| RlError::config(origin, e.to_string().trim_end()))?;
        for item in overrides {
            apply_override(&mut table, item)?;
        }
        Self::from_table(table, origin)
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Self> {
        let config: TrainConfig = table.try_into().map_err(|e: toml::de::Error| RlError::config(origin, e.to_string().trim_end()))?;
        config.validate()?;
        Ok(config)
    }

    /// The config as TOML, as saved next to checkpoints.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| RlError::config("config", e.to_string()))
    }

    /// Checks ranges and consistency; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let positive = |field: &str, v: usize| if v == 0 { Err(RlError::config(field, "must be at least 1")) } else { Ok(()) };
        // Counts that multiply work: bounded so that a typo ends in an error, not a run
        // that never ends (sizes that multiply memory are checked by `memory_parts`).
        let at_most = |field: &str, v: usize, max: usize| {
            if (1..=max).contains(&v) { Ok(()) } else { Err(RlError::config(field, format!("must be 1..={max}, got {v}"))) }
        };
        at_most("num_envs", self.num_envs, crate::env::vector::MAX_ENVS)?;
        at_most("env_threads", self.env_threads, 1024)?;
        at_most("eval.episodes", self.eval.episodes, 100_000)?;
        at_most("ppo.update_epochs", self.ppo.update_epochs, 10_000)?;
        at_most("dqn.gradient_steps", self.dqn.gradient_steps, 100_000)?;
        if self.eval.record_episodes > 10_000 {
            return Err(RlError::config("eval.record_episodes", format!("must be 0..=10000, got {}", self.eval.record_episodes)));
        }
        if self.net.hidden.len() > 64 {
            return Err(RlError::config("net.hidden", format!("at most 64 layers, got {}", self.net.hidden.len())));
        }
        if self.total_steps == 0 {
            return Err(RlError::config("total_steps", "must be at least 1"));
        }
        if self.env.is_empty() {
            return Err(RlError::config("env", "name an environment id or scene file"));
        }
        if self.net.hidden.contains(&0) {
            return Err(RlError::config("net.hidden", "layer widths must be at least 1"));
        }
        let unit = |field: &str, v: f64| {
            if (0.0..=1.0).contains(&v) { Ok(()) } else { Err(RlError::config(field, format!("must be in [0, 1], got {v}"))) }
        };
        let p = &self.ppo;
        positive("ppo.num_steps", p.num_steps)?;
        positive("ppo.minibatch_size", p.minibatch_size)?;
        unit("ppo.gamma", f64::from(p.gamma))?;
        unit("ppo.gae_lambda", f64::from(p.gae_lambda))?;
        // NaN and infinities are refused everywhere: they train to NaN weights, not errors.
        let finite_positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { Err(RlError::config(field, format!("must be a positive number, got {v}"))) }
        };
        let finite_non_negative = |field: &str, v: f64| {
            if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(RlError::config(field, format!("must be a number >= 0, got {v}"))) }
        };
        let finite = |field: &str, v: f64| {
            if v.is_finite() { Ok(()) } else { Err(RlError::config(field, format!("must be a finite number, got {v}"))) }
        };
        if let Some(target) = self.eval.target_return {
            finite("eval.target_return", target)?;
        }
        finite_positive("ppo.learning_rate", p.learning_rate)?;
        finite_positive("ppo.clip_coef", f64::from(p.clip_coef))?;
        finite_non_negative("ppo.ent_coef", f64::from(p.ent_coef))?;
        finite_non_negative("ppo.vf_coef", f64::from(p.vf_coef))?;
        finite("ppo.init_log_std", f64::from(p.init_log_std))?;
        finite_positive("ppo.max_grad_norm", p.max_grad_norm)?;
        finite_positive("ppo.adam_eps", p.adam_eps)?;
        if let Some(cv) = p.clip_vf {
            finite_positive("ppo.clip_vf", f64::from(cv))?;
        }
        if let Some(kl) = p.target_kl {
            finite_positive("ppo.target_kl", f64::from(kl))?;
        }
        let d = &self.dqn;
        finite_positive("dqn.max_grad_norm", d.max_grad_norm)?;
        finite_positive("dqn.adam_eps", d.adam_eps)?;
        positive("dqn.batch_size", d.batch_size)?;
        positive("dqn.buffer_size", d.buffer_size)?;
        unit("dqn.gamma", f64::from(d.gamma))?;
        unit("dqn.exploration_fraction", d.exploration_fraction)?;
        unit("dqn.exploration_initial_eps", d.exploration_initial_eps)?;
        unit("dqn.exploration_final_eps", d.exploration_final_eps)?;
        if d.train_freq == 0 || d.target_update_interval == 0 {
            return Err(RlError::config(
                if d.train_freq == 0 { "dqn.train_freq" } else { "dqn.target_update_interval" },
                "must be at least 1",
            ));
        }
        finite_positive("dqn.learning_rate", d.learning_rate)?;
        Ok(())
    }
}

impl TrainConfig {
    /// The memory this run's learner will allocate for rows with `obs_dim` observation
    /// numbers, `act_dim` action numbers and `out_dim` network outputs, by part: the rollout buffer or replay buffer (and
    /// their tensor copies), the networks with gradients and Adam moments, and one
    /// minibatch's activations. An estimate that is right to a small factor, for
    /// refusing sizes the machine cannot hold before anything is allocated.
    pub fn memory_parts(&self, obs_dim: usize, act_dim: usize, out_dim: usize, rows: usize) -> Vec<Part> {
        const F32: usize = 4;
        let widths: Vec<usize> =
            std::iter::once(obs_dim).chain(self.net.hidden.iter().copied()).chain(std::iter::once(out_dim.max(1))).collect();
        // Two networks (actor and critic, or online and target Q), each with parameters,
        // gradients and two Adam moments, in f32.
        let params = widths.windows(2).fold(0u128, |sum, p| sum.saturating_add(product(&[p[0].saturating_add(1), p[1]])));
        let networks = |what: &str| Part {
            field: "net.hidden",
            what: format!("{what} {:?} with gradients and Adam moments", self.net.hidden),
            bytes: params.saturating_mul(2 * 4 * F32 as u128),
        };
        let hidden = self.net.hidden.iter().fold(obs_dim, |s, &h| s.saturating_add(h));
        match self.algo {
            Algo::Ppo => {
                let p = &self.ppo;
                let per_step = obs_dim.saturating_add(act_dim).saturating_add(10);
                vec![
                    Part {
                        field: "ppo.num_steps",
                        what: format!(
                            "rollout buffer and its tensors: ppo.num_steps {} × {rows} rows × {per_step} numbers × 3",
                            p.num_steps
                        ),
                        bytes: product(&[p.num_steps, rows, per_step, F32, 3]),
                    },
                    networks("actor and critic"),
                    Part {
                        field: "ppo.minibatch_size",
                        what: format!("activations of a minibatch: ppo.minibatch_size {} × {hidden} units × 8", p.minibatch_size),
                        bytes: product(&[p.minibatch_size.min(p.num_steps.saturating_mul(rows)), hidden, F32, 8]),
                    },
                ]
            }
            Algo::Dqn => {
                let d = &self.dqn;
                let per_transition = obs_dim.saturating_mul(2).saturating_add(3);
                let per_row = hidden.saturating_add(per_transition);
                vec![
                    Part {
                        field: "dqn.buffer_size",
                        what: format!("replay buffer: dqn.buffer_size {} × {per_transition} numbers", d.buffer_size),
                        bytes: product(&[d.buffer_size, per_transition, F32]),
                    },
                    networks("online and target Q-networks"),
                    Part {
                        field: "dqn.batch_size",
                        what: format!("a sampled batch and its activations: dqn.batch_size {} × {per_row} numbers × 8", d.batch_size),
                        bytes: product(&[d.batch_size, per_row, F32, 8]),
                    },
                ]
            }
        }
    }
}

/// Sets `a.b.c=value` in `table`, creating tables on the way.
fn apply_override(table: &mut toml::Table, item: &str) -> Result<()> {
    let (key, raw) =
        item.split_once('=').ok_or_else(|| RlError::config(item, "an override is KEY=VALUE, for example ppo.learning_rate=0.001"))?;
    let key = key.trim();
    // Parse the value as TOML (numbers, booleans, arrays, quoted strings); a bare word is a string.
    let value = toml::from_str::<toml::Table>(&format!("v = {}", raw.trim()))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.trim().to_owned()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().filter(|s| !s.is_empty()).ok_or_else(|| RlError::config(item, "empty key"))?;
    let mut node = table;
    for part in parts {
        let entry = node.entry(part.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = entry.as_table_mut().ok_or_else(|| RlError::config(key, format!("'{part}' is not a table")))?;
    }
    node.insert(last.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_overrides_apply() -> Result<()> {
        let c = TrainConfig::from_toml_with_overrides(
            "algo = \"ppo\"\nenv = \"cartpole-v1\"\n[ppo]\nnum_steps = 32\n",
            "test.toml",
            &["ppo.learning_rate=0.001".into(), "seed=7".into(), "eval.target_return=475".into(), "env=warehouse-grid-tiny-2ag-v0".into()],
        )?;
        assert_eq!(c.ppo.num_steps, 32);
        assert_eq!(c.ppo.learning_rate, 0.001);
        assert_eq!(c.seed, 7);
        assert_eq!(c.eval.target_return, Some(475.0));
        assert_eq!(c.env, "warehouse-grid-tiny-2ag-v0");
        // Round trip through the saved form.
        assert_eq!(TrainConfig::from_toml(&c.to_toml()?, "saved")?, c);
        Ok(())
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let err = TrainConfig::from_toml("[ppo]\nnum_stepz = 3\n", "agents/x.toml").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("agents/x.toml") && err.contains("num_stepz"), "{err}");
        let err = TrainConfig::from_toml("[ppo]\ngamma = 1.5\n", "agents/x.toml").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("ppo.gamma"), "{err}");
        let err = TrainConfig::from_toml("algo = \"a2c\"\n", "agents/x.toml").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("a2c"), "{err}");
        let err =
            TrainConfig::from_toml_with_overrides("", "x", &["ppo.num_steps".into()]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("KEY=VALUE"), "{err}");
    }

    #[test]
    fn non_finite_numbers_are_refused_by_field() {
        // Each of these used to train to NaN weights and exit 0.
        for (set, field) in [
            ("ppo.ent_coef=nan", "ppo.ent_coef"),
            ("ppo.vf_coef=inf", "ppo.vf_coef"),
            ("ppo.init_log_std=-inf", "ppo.init_log_std"),
            ("ppo.learning_rate=inf", "ppo.learning_rate"),
            ("ppo.clip_coef=inf", "ppo.clip_coef"),
            ("ppo.ent_coef=-0.5", "ppo.ent_coef"),
            ("dqn.learning_rate=inf", "dqn.learning_rate"),
            ("eval.target_return=nan", "eval.target_return"),
        ] {
            let err = TrainConfig::from_toml_with_overrides("", "x", &[set.into()]).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(field), "{set}: {err}");
        }
        assert!(TrainConfig::from_toml_with_overrides("", "x", &["ppo.ent_coef=0.0".into(), "ppo.vf_coef=0.5".into()]).is_ok());
    }
}
