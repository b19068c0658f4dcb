//! `synthgym envs`: the registered environments with their spaces.

use std::io::Write;

use anyhow::Context;
use clap::Parser;

use super::Format;
use super::table::Table;
use crate::env::MakeOptions;
use crate::scenes::registry;

/// Arguments of `synthgym envs`.
#[derive(Debug, Parser)]
pub struct EnvsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Prints one row per registered id: spaces, time limit, agents and summary.
pub fn run(args: &EnvsArgs) -> anyhow::Result<()> {
    let mut table = Table::new(&["id", "observation space", "action space", ">max steps", "multi-agent", "summary"]);
    for spec in registry().specs() {
        let env = registry().make(&spec.id, &MakeOptions::default()).with_context(|| format!("making '{}'", spec.id))?;
        table.push(vec![
            spec.id.clone(),
            env.observation_space().to_string(),
            env.action_space().to_string(),
            spec.max_episode_steps.map_or_else(|| "-".into(), |s| s.to_string()),
            if spec.parallel_entry_point.is_some() { "yes" } else { "no" }.into(),
            spec.summary.clone(),
        ]);
    }
    let mut out = std::io::stdout().lock();
    table.write(&mut out, args.format)?;
    out.flush()?;
    Ok(())
}
