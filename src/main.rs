//! The `synthgym` binary: parses arguments and hands them to [`synthgym::cli::run`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    synthgym::cli::run(synthgym::cli::Args::parse())
}
