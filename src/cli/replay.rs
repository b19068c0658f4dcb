//! `synthgym replay`: summarise an episode file and check that it re-simulates exactly.
//! (The interactive viewer and headless export arrive with the renderer.)

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use super::train::record_env;
use crate::replay::{read, resimulate};
use crate::rl::config::AgentsMode;

/// Arguments of `synthgym replay`.
#[derive(Debug, Parser)]
pub struct ReplayArgs {
    /// An episode file written by `synthgym eval --record` or `train` (`eval.record_episodes`).
    pub file: PathBuf,
    /// Only print the summary; do not re-simulate.
    #[arg(long)]
    pub no_verify: bool,
}

/// Runs `synthgym replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let rec = read(&args.file)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} on {} ({} agent(s)), {} episode(s); format v{}, written by synthgym {}",
        args.file.display(),
        rec.policy,
        rec.env,
        rec.agents.len(),
        rec.episodes.len(),
        rec.format_version,
        rec.synthgym_version
    )?;
    for (k, ep) in rec.episodes.iter().enumerate() {
        writeln!(
            out,
            "  episode {k}: seed {}, {} steps, return {:.2}, {} objects",
            ep.seed,
            ep.steps.len(),
            ep.episode_return(),
            ep.initial.objects.len()
        )?;
    }
    if args.no_verify {
        return Ok(());
    }
    // A recording of a scene file carries the file's text; replay it from a private copy.
    let agents = if rec.multi_agent { AgentsMode::Shared } else { AgentsMode::Joint };
    let mut target = match &rec.scene {
        Some(text) => {
            let path = std::env::temp_dir().join(format!("synthgym-replay-{}-{}.toml", std::process::id(), rec.episodes.len()));
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            let made = record_env(&path.to_string_lossy(), agents);
            let _ = std::fs::remove_file(&path);
            made?
        }
        None => record_env(&rec.env, agents)?,
    };
    if target.agents() != rec.agents {
        anyhow::bail!("{} was recorded with agents {:?}; {} has {:?}", args.file.display(), rec.agents, rec.env, target.agents());
    }
    resimulate(&mut target, &rec.episodes).with_context(|| format!("re-simulating {}", args.file.display()))?;
    writeln!(out, "re-simulation: all {} episode(s) reproduce exactly (rewards, flags, observations, snapshots)", rec.episodes.len())?;
    Ok(())
}
