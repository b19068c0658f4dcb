//! The `synthgym` binary: parses arguments and hands them to [`synthgym::cli::run`].

use std::process::ExitCode;

use clap::Parser;

/// See the `mimalloc` entry in Cargo.toml for why the binary does not use glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    synthgym::cli::run(synthgym::cli::Args::parse())
}
