//! The `synthgym` command line: the composition root that wires modules together,
//! owns exit codes and output, and is the only user of `anyhow`.
//!
//! Subcommands arrive with the capabilities they drive; each one here works.

mod bench;
mod classify;
mod dataset;
mod envs;
mod eval;
mod generative;
mod replay;
mod scenegen;
mod table;
mod train;

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
    /// Train an agent (PPO or DQN) headlessly; writes metrics and a checkpoint.
    Train(train::TrainArgs),
    /// Evaluate a checkpoint (or a random or scripted baseline) for N episodes.
    Eval(eval::EvalArgs),
    /// Render labelled synthetic images of a scene (COCO boxes and masks, depth, crops); needs `--features render`.
    Generate(dataset::GenerateArgs),
    /// Train and evaluate image classifiers on ImageFolder datasets; compare training sets in a transfer report.
    Classify(classify::ClassifyArgs),
    /// Train class-conditional GANs and VAEs on ImageFolder datasets, sample labelled images, measure Fréchet distance.
    Gen(generative::GenArgs),
    /// Open an episode file in the viewer (`--features viewer`), check that it re-simulates exactly (--verify), or export it to PNG frames or a GIF.
    Replay(replay::ReplayArgs),
    /// Measure environment steps per second, single and vectorised, as a table.
    Bench(bench::BenchArgs),
}

/// The environment variables candle reads (on every call) for its CPU thread count.
const THREAD_VARS: [&str; 2] = ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS"];

/// Makes candle's CPU kernels use `threads` threads. candle reads the count from
/// environment variables, which safe Rust cannot set in a running process, so unless
/// they already say `threads` the command runs again as a child with them set, and
/// its exit code is returned. `None` means: carry on in this process.
///
/// Why it matters: for the small MLPs of RL, candle's thread pool (which spins while
/// waiting) made PPO on CartPole twice as slow on a 2-core machine as one thread.
///
/// `extra` variables are set in the same restart.
fn reexec_with_kernel_threads(threads: usize, extra: &[(&str, &str)]) -> Option<ExitCode> {
    let want = threads.max(1).to_string();
    let mut vars: Vec<(&str, &str)> = THREAD_VARS.iter().map(|v| (*v, want.as_str())).collect();
    vars.extend_from_slice(extra);
    reexec_with_env(&vars)
}

/// Keeps mimalloc from returning freed pages to the OS (documented by mimalloc as
/// "disables purging"). Image classifiers free and reallocate buffers of tens of
/// megabytes every step; purged, each came back as fresh pages the kernel had to zero,
/// which was 14% of a CNN epoch's time (1 epoch of 32×32 crops: 40.2 s → 33.6 s
/// without purging).
const KEEP_FREED_PAGES: (&str, &str) = ("MIMALLOC_PURGE_DELAY", "-1");

/// Mesa's Vulkan device-selection layer opens a Wayland connection while listing GPUs and
/// prints "error: XDG_RUNTIME_DIR is invalid" on headless machines; rendering commands
/// turn the layer off there (`NODEVICE_SELECT=1`) so that no false error is printed.
fn reexec_for_rendering() -> Option<ExitCode> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    reexec_with_env(&[("NODEVICE_SELECT", "1")])
}

/// Runs this program again with `vars` set (once: not when they already are), because
/// the libraries that read them do so before `main` could set them, and safe Rust cannot
/// set environment variables. Returns the child's exit code.
fn reexec_with_env(vars: &[(&str, &str)]) -> Option<ExitCode> {
    if vars.iter().all(|(k, v)| std::env::var(k).is_ok_and(|x| x == *v)) {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1));
    cmd.env(PARENT_VAR, std::process::id().to_string());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    match cmd.status() {
        Ok(status) => Some(status.code().and_then(|c| u8::try_from(c).ok()).map_or(ExitCode::from(2), ExitCode::from)),
        Err(err) => {
            eprintln!("error: could not restart with {vars:?}: {err}");
            Some(ExitCode::from(2))
        }
    }
}

/// Set in a restarted child to the process id of the process the user started.
const PARENT_VAR: &str = "SYNTHGYM_PARENT_PID";

/// In a restarted child, ends this process soon after the process the user started
/// ends, however it ended (SIGKILL included, which no handler sees): a thread polls the
/// parent process id and exits with 143 (as if by SIGTERM) once the child has been
/// re-parented. The files a command writes are atomic, so exiting at any point leaves
/// the previous checkpoint, dataset or recording intact.
fn exit_with_parent() {
    #[cfg(unix)]
    if let Some(parent) = std::env::var(PARENT_VAR).ok().and_then(|v| v.parse::<u32>().ok()) {
        let watch = move || {
            loop {
                if std::os::unix::process::parent_id() != parent {
                    std::process::exit(143);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        };
        if let Err(err) = std::thread::Builder::new().name("parent-watch".into()).spawn(watch) {
            eprintln!("warning: cannot watch the parent process ({err}); this process may outlive it");
        }
    }
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
    exit_with_parent();
    let kernels: Option<(usize, &[(&str, &str)])> = match &args.command {
        Command::Train(a) => Some((a.threads, &[])),
        Command::Eval(a) => Some((a.threads, &[])),
        Command::Classify(a) => Some((a.threads(), &[KEEP_FREED_PAGES])),
        Command::Gen(a) => Some((a.threads(), &[KEEP_FREED_PAGES])),
        _ => None,
    };
    if let Some(code) = kernels.and_then(|(threads, extra)| reexec_with_kernel_threads(threads, extra)) {
        return code;
    }
    let renders = match &args.command {
        Command::Generate(_) => true,
        Command::Replay(a) => !a.verify,
        _ => false,
    };
    if renders && let Some(code) = reexec_for_rendering() {
        return code;
    }
    let result = match args.command {
        Command::Envs(a) => envs::run(&a),
        Command::Train(a) => train::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Generate(a) => dataset::run(&a),
        Command::Classify(a) => classify::run(&a),
        Command::Gen(a) => generative::run(&a),
        Command::Replay(a) => replay::run(&a),
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
