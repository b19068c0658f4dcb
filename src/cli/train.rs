//! `synthgym train`: train an agent headlessly with a progress bar, then print a summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::env::vector::{AutoresetMode, SerialVecEnv, ThreadedVecEnv, VecEnv};
use crate::env::{MakeOptions, Policy};
use crate::replay::{FORMAT_VERSION, RecordEnv, Recording, record};
use crate::rl::config::AgentsMode;
use crate::rl::train::Progress;
use crate::rl::{AgentBatch, TrainConfig, TrainRun, checkpoint};
use crate::scenes::{has_parallel, is_scene_file, make_agents};

/// Arguments of `synthgym train`.
#[derive(Debug, Parser)]
pub struct TrainArgs {
    /// Environment id or scene file; overrides the config's `env` [default: cartpole-v1].
    pub env: Option<String>,
    /// Training config (`agents/*.toml`) [default: the built-in copy of the agents/ file
    /// for the env (cartpole-v1, warehouse-grid-*, driving-highway-v0), else PPO defaults].
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Override a config value, for example `--set ppo.learning_rate=0.001` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Seed of the run (overrides the config's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Env steps to train for (overrides the config's `total_steps`).
    #[arg(long)]
    pub total_steps: Option<u64>,
    /// Compute device: cpu, cuda or cuda:N (cuda needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Directory for metrics and the checkpoint [default: runs/<env>-<algo>-s<seed>].
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in this directory from its checkpoint (config, networks,
    /// optimiser, counters and RNG); `--total-steps` may extend it.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "env", "seed", "run_dir"])]
    pub resume: Option<PathBuf>,
    /// Threads for candle's CPU kernels (1 is fastest for the small networks of these envs).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// No progress bar or periodic lines; only the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `synthgym train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let device = crate::nn::device(&args.device)?;
    let (config, run_dir, resume) = match &args.resume {
        Some(dir) => {
            let ckpt = checkpoint::load(dir, &device)?;
            let mut config = ckpt.config.clone();
            if !args.overrides.is_empty() {
                config = TrainConfig::from_toml_with_overrides(&config.to_toml()?, "checkpoint config", &args.overrides)?;
            }
            if let Some(t) = args.total_steps {
                config.total_steps = t;
            }
            if ckpt.state.global_step >= config.total_steps {
                bail!(
                    "{} already has {} of {} steps; pass a larger --total-steps to continue",
                    dir.display(),
                    ckpt.state.global_step,
                    config.total_steps
                );
            }
            // `--resume` takes a run directory or its checkpoint/; the run directory holds the metrics.
            let run_dir = if ckpt.dir == *dir { dir.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf) } else { dir.clone() };
            (config, run_dir, Some(ckpt))
        }
        None => {
            let config = load_config(args)?;
            let run_dir = match &args.run_dir {
                Some(d) => {
                    if checkpoint::resolve(d).join("model.safetensors").exists() {
                        bail!("{} already holds a run; pass --resume {} to continue it, or another --run-dir", d.display(), d.display());
                    }
                    d.clone()
                }
                None => default_run_dir(&config),
            };
            (config, run_dir, None)
        }
    };
    let mut batch = build_batch(&config.env, config.agents, config.num_envs, config.env_threads)?;
    let mut eval_batch = build_batch(&config.env, config.agents, config.eval.episodes.min(config.num_envs.max(1)), 1)?;
    let mut train = TrainRun::new(config.clone(), &batch, &device, &run_dir, resume.as_ref())?;
    if config.eval.record_episodes > 0 {
        let (env, agents, count, seed) = (config.env.clone(), config.agents, config.eval.record_episodes, config.seed);
        let dir = run_dir.join("episodes");
        train.after_eval = Some(Box::new(move |policy: &mut dyn Policy, step: u64| {
            let file = dir.join(format!("step-{step:010}.episodes"));
            let recording = record_episodes(&env, agents, policy, count, seed.wrapping_add(step)).map_err(|e| format!("{e:#}"))?;
            crate::replay::write(&file, &recording).map_err(|e| e.to_string())
        }));
    }

    let show = !args.quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(config.total_steps),
        if show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} steps  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    eprintln_unless(
        args.quiet,
        &format!(
            "training {} with {} on {} ({} envs, seed {}, {} steps) → {}",
            config.env,
            config.algo.name(),
            args.device,
            config.num_envs,
            config.seed,
            config.total_steps,
            run_dir.display()
        ),
    );
    let mut last_line_eval = None;
    let quiet = args.quiet;
    let summary = train.run(&mut batch, &mut eval_batch, &mut |p: &Progress| {
        bar.set_position(p.global_step);
        bar.set_message(progress_message(p));
        // Without a terminal, print a line per evaluation instead of the bar.
        if !show && !quiet && p.last_eval.is_some() && p.last_eval != last_line_eval {
            last_line_eval = p.last_eval;
            eprintln!("[{:>9}/{}] {}", p.global_step, p.total_steps, progress_message(p));
        }
    })?;
    bar.finish_and_clear();

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} {} seed {}: {} steps, {:.2} s training ({:.0} steps/s), {:.2} s wall",
        config.env,
        config.algo.name(),
        config.seed,
        summary.global_step,
        summary.train_seconds,
        summary.global_step as f64 / summary.train_seconds.max(1e-9),
        summary.wall_seconds
    )?;
    writeln!(
        out,
        "final evaluation: {:.2} ± {:.2} over {} episodes",
        summary.final_eval.mean(),
        summary.final_eval.std(),
        summary.final_eval.returns.len()
    )?;
    if let Some(target) = config.eval.target_return {
        match summary.solved_at {
            Some((step, secs)) if secs.is_finite() => writeln!(out, "reached {target} at {step} steps after {secs:.2} s of training")?,
            Some((step, _)) => writeln!(out, "reached {target} at {step} steps (in an earlier session)")?,
            None => writeln!(out, "did not reach {target}")?,
        }
    }
    writeln!(out, "checkpoint: {}  metrics: {}", summary.checkpoint.display(), run_dir.join("metrics.csv").display())?;
    Ok(())
}

fn eprintln_unless(quiet: bool, line: &str) {
    if !quiet {
        eprintln!("{line}");
    }
}

fn progress_message(p: &Progress) -> String {
    let mut msg = format!("{:.0} steps/s", p.steps_per_second);
    if let Some(r) = p.recent_return {
        msg.push_str(&format!("  return {r:.2}"));
    }
    if let Some((m, s)) = p.last_eval {
        msg.push_str(&format!("  eval {m:.2} ± {s:.2}"));
    }
    msg
}

/// The configs in `agents/`, built into the binary: `synthgym train` without
/// `--config` uses the one for its env (cartpole-v1 when no env is named).
const BUILT_IN: [(&str, &str); 3] = [
    ("ppo-cartpole.toml", include_str!("../../agents/ppo-cartpole.toml")),
    ("ppo-warehouse-grid.toml", include_str!("../../agents/ppo-warehouse-grid.toml")),
    ("ppo-highway.toml", include_str!("../../agents/ppo-highway.toml")),
];

/// The built-in config for `env`: an exact match of its `env` field, or the
/// warehouse-grid one for any grid id; `None` means generic PPO defaults.
fn built_in_config(env: &str) -> Option<(&'static str, &'static str)> {
    BUILT_IN.iter().copied().find(|(_, text)| {
        let configured = TrainConfig::from_toml(text, "built-in").map(|c| c.env).unwrap_or_default();
        configured == env || (env.starts_with("warehouse-grid-") && configured.starts_with("warehouse-grid-"))
    })
}

/// The config from `--config` (or the built-in one for the env), `--set` overrides,
/// then the positional env and flags.
fn load_config(args: &TrainArgs) -> anyhow::Result<TrainConfig> {
    let env = args.env.as_deref().unwrap_or("cartpole-v1");
    let (text, origin) = match &args.config {
        Some(path) => (std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?, path.display().to_string()),
        None => match built_in_config(env) {
            Some((name, text)) => (text.to_owned(), format!("built-in agents/{name}")),
            None => (String::new(), "built-in PPO defaults".to_owned()),
        },
    };
    let mut overrides = args.overrides.clone();
    if let Some(env) = &args.env {
        overrides.push(format!("env={}", toml_string(env)));
    }
    if let Some(seed) = args.seed {
        overrides.push(format!("seed={seed}"));
    }
    if let Some(t) = args.total_steps {
        overrides.push(format!("total_steps={t}"));
    }
    Ok(TrainConfig::from_toml_with_overrides(&text, &origin, &overrides)?)
}

/// A TOML basic string literal.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `runs/<env>-<algo>-s<seed>`, with `-2`, `-3`, … appended if that already holds a run.
fn default_run_dir(config: &TrainConfig) -> PathBuf {
    let env_name = Path::new(&config.env).file_stem().map_or_else(|| config.env.clone(), |s| s.to_string_lossy().into_owned());
    let base = format!("runs/{env_name}-{}-s{}", config.algo.name(), config.seed);
    let mut dir = PathBuf::from(&base);
    let mut k = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{base}-{k}"));
        k += 1;
    }
    dir
}

/// The rows a learner acts for: a `SameStep` vector env of [`make_agents`] envs, one
/// row per agent where parameter sharing applies, else one per env.
pub(super) fn build_batch(env: &str, agents: AgentsMode, num_envs: usize, threads: usize) -> anyhow::Result<AgentBatch> {
    let options = MakeOptions::default();
    let per_agent = agents == AgentsMode::Shared;
    let envs = (0..num_envs.max(1)).map(|_| make_agents(env, per_agent, &options)).collect::<Result<Vec<_>, _>>()?;
    let vec: Box<dyn VecEnv> = if threads > 1 {
        Box::new(ThreadedVecEnv::from_agents(envs, threads, AutoresetMode::SameStep)?)
    } else {
        Box::new(SerialVecEnv::from_agents(envs, AutoresetMode::SameStep)?)
    };
    Ok(AgentBatch::new(vec)?)
}

/// An env for the recorder, with the rows [`build_batch`] would give it.
pub(super) fn record_env(env: &str, agents: AgentsMode) -> anyhow::Result<RecordEnv> {
    let per_agent = agents == AgentsMode::Shared && has_parallel(env)?;
    Ok(RecordEnv::new(make_agents(env, per_agent, &MakeOptions::default())?, per_agent))
}

/// Records `episodes` episodes of `policy` in `env` (episode k reset with `seed + k`).
pub(super) fn record_episodes(
    env: &str,
    agents: AgentsMode,
    policy: &mut dyn Policy,
    episodes: usize,
    seed: u64,
) -> anyhow::Result<Recording> {
    let mut target = record_env(env, agents)?;
    let seeds: Vec<u64> = (0..episodes as u64).map(|k| seed.wrapping_add(k)).collect();
    // A guard for scene files without a step limit.
    let logs = record(&mut target, policy, &seeds, 100_000)?;
    Ok(Recording {
        format_version: FORMAT_VERSION,
        synthgym_version: env!("CARGO_PKG_VERSION").into(),
        env: env.to_owned(),
        scene: if is_scene_file(env) { Some(std::fs::read_to_string(env).with_context(|| format!("reading {env}"))?) } else { None },
        policy: policy.name().to_owned(),
        agents: target.agents(),
        multi_agent: target.is_multi(),
        episodes: logs,
    })
}
