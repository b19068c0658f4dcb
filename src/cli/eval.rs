//! `synthgym eval`: run a trained checkpoint, or a baseline policy, for N episodes and
//! print the mean ± standard deviation of the return.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};

use super::train::{build_batch, record_episodes};
use crate::env::{Policy, RandomPolicy};
use crate::rl::config::AgentsMode;
use crate::rl::eval::{EVAL_SEED_OFFSET, check_seeds_disjoint};
use crate::rl::{EvalReport, TrainConfig, checkpoint, evaluate, train::load_policy};

/// Policies that need no training, for comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// Uniformly random actions.
    Random,
    /// The scene's hand-written controller (where one exists; see `synthgym eval --help`).
    Scripted,
}

/// Arguments of `synthgym eval`.
#[derive(Debug, Parser)]
pub struct EvalArgs {
    /// A run directory (or its `checkpoint/`) written by `synthgym train`.
    #[arg(required_unless_present = "baseline")]
    pub run: Option<PathBuf>,
    /// Evaluate a baseline instead of a checkpoint (needs --env).
    #[arg(long, value_enum, requires = "env", conflicts_with = "run")]
    pub baseline: Option<Baseline>,
    /// Environment id or scene file [default: the checkpoint's].
    #[arg(long)]
    pub env: Option<String>,
    /// Episodes to run.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub episodes: usize,
    /// Envs stepped together.
    #[arg(long, default_value_t = 8)]
    pub num_envs: usize,
    /// Seed: env `i` starts from `seed + i` (with --record, episode `k` from `seed + k`)
    /// [default: the run's training seed + 2^32, the seeds of its first evaluation during
    /// training; for a baseline, those of a run trained with the default seed]. Seeds
    /// that training envs started from are refused.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sample actions from the policy instead of acting greedily.
    #[arg(long)]
    pub stochastic: bool,
    /// Compute device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads for candle's CPU kernels.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Record the episodes to this episode file (`.json` for JSON) for `synthgym replay`;
    /// episode k is reset with seed + k, so each replays on its own.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// Runs `synthgym eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    // Bounds that keep a typo from building a billion envs or recording for ever.
    let max_episodes = if args.record.is_some() { 10_000 } else { 1_000_000 };
    if !(1..=max_episodes).contains(&args.episodes) {
        bail!("--episodes must be 1..={max_episodes}{}, got {}", if args.record.is_some() { " with --record" } else { "" }, args.episodes);
    }
    if !(1..=crate::env::vector::MAX_ENVS).contains(&args.num_envs) {
        bail!("--num-envs must be 1..={}, got {}", crate::env::vector::MAX_ENVS, args.num_envs);
    }
    let num_envs = args.num_envs.clamp(1, args.episodes);
    let device = crate::nn::device(&args.device)?;
    let (env, agents, ckpt) = match (&args.run, args.baseline) {
        (Some(run), _) => {
            let ckpt = checkpoint::load(run, &device)?;
            (args.env.clone().unwrap_or_else(|| ckpt.config.env.clone()), ckpt.config.agents, Some(ckpt))
        }
        (None, Some(_)) => (args.env.clone().context("--baseline needs --env")?, AgentsMode::Shared, None),
        (None, None) => bail!("pass a run directory or --baseline"),
    };
    // Evaluation envs never start from a training env's seed (see `EVAL_SEED_OFFSET`).
    let train_seed = ckpt.as_ref().map_or(TrainConfig::default().seed, |c| c.config.seed);
    let seed = args.seed.unwrap_or(train_seed.wrapping_add(EVAL_SEED_OFFSET));
    let eval_envs = if args.record.is_some() { args.episodes } else { num_envs };
    if let Some(ckpt) = &ckpt {
        check_seeds_disjoint(train_seed, ckpt.config.num_envs, seed, eval_envs).map_err(|reason| anyhow::anyhow!("--seed: {reason}"))?;
    }
    let mut batch = build_batch(&env, agents, num_envs, 1)?;
    let mut learner = match &ckpt {
        Some(ckpt) => Some(load_policy(ckpt, &batch, &device).with_context(|| format!("loading {}", ckpt.dir.display()))?),
        None => None,
    };
    let mut baseline: Option<Box<dyn Policy>> = match args.baseline {
        Some(Baseline::Random) => Some(Box::new(RandomPolicy::new(batch.action_space().clone(), seed))),
        Some(Baseline::Scripted) => Some(
            crate::scenes::scripted_policy(&env, seed)
                .with_context(|| format!("no scripted baseline for '{env}' (there is one for warehouse-grid and driving-highway ids)"))?,
        ),
        None => None,
    };
    let policy: &mut dyn Policy = match (&mut learner, &mut baseline) {
        (Some(l), _) => l.policy(!args.stochastic),
        (None, Some(b)) => b.as_mut(),
        (None, None) => bail!("pass a run directory or --baseline"),
    };
    let name = match &ckpt {
        Some(c) => format!("{} ({})", policy.name(), c.dir.display()),
        None => policy.name().to_owned(),
    };
    let report = match &args.record {
        None => evaluate(policy, &mut batch, args.episodes, seed)?,
        Some(path) => {
            let recording = record_episodes(&env, agents, policy, args.episodes, seed)?;
            crate::replay::write(path, &recording)?;
            eprintln!("recorded {} episodes to {}", recording.episodes.len(), path.display());
            EvalReport {
                returns: recording.episodes.iter().map(|e| e.episode_return()).collect(),
                lengths: recording.episodes.iter().map(|e| e.steps.len() as u64).collect(),
            }
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{env} {name}: return {:.2} ± {:.2} over {} episodes (length {:.1}; min {:.2}, max {:.2}; {} seeds {seed}..={})",
        report.mean(),
        report.std(),
        report.returns.len(),
        report.mean_length(),
        report.returns.iter().copied().fold(f64::INFINITY, f64::min),
        report.returns.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        if args.record.is_some() { "episode" } else { "env" },
        seed.wrapping_add(eval_envs as u64 - 1),
    )?;
    Ok(())
}
