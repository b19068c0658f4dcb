//! The `synthgym` command line: the composition root that wires modules together,
//! owns exit codes and output, and is the only user of `anyhow`.
//!
//! Subcommands arrive with the capabilities they drive; each one here works.

mod bench;
mod envs;
mod table;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Reinforcement-learning and synthetic-data simulator.
#[derive(Debug, Parser)]
#[command(name = "synthgym", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the registered environments with their spaces and time limits.
    Envs(envs::EnvsArgs),
    /// Measure environment steps per second, single and vectorised, as a table.
    Bench(bench::BenchArgs),
}

/// How tables are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Comma-separated values with a header row, for scripts.
    Csv,
}

/// Runs the command; errors print as `error: …` with exit code 2 (a closed pipe
/// on stdout, as in `synthgym envs | head -1`, exits 0).
pub fn run(args: Args) -> ExitCode {
    let result = match args.command {
        Command::Envs(a) => envs::run(&a),
        Command::Bench(a) => bench::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let broken_pipe = err.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe));
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
