//! `synthgym bench`: whole-system environment throughput, single and vectorised.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};

use super::Format;
use super::table::{Table, thousands};
use crate::env::vector::Backend;
use crate::env::vector::{ActionBuffer, AutoresetMode, SerialVecEnv, ThreadedVecEnv, VecEnv, action_width};
use crate::env::{Env, EnvError, MakeOptions};
use crate::scenes::{make_from_file, registry};
use crate::util::seed::rng_from_seed;

/// Which vector-env backends to measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// Serial only.
    Serial,
    /// Threaded only.
    Threaded,
    /// Both, one row each.
    #[default]
    Both,
}

/// Arguments of `synthgym bench`.
#[derive(Debug, Parser)]
pub struct BenchArgs {
    /// Environment ids or scene files (`*.toml`) to measure; every registered id when none is given.
    pub ids: Vec<String>,
    /// Batch sizes of the vector-env rows, comma-separated; 0 skips vector rows.
    #[arg(long, value_delimiter = ',', default_value = "8,64")]
    pub num_envs: Vec<usize>,
    /// Vector-env backends to measure.
    #[arg(long, value_enum, default_value_t)]
    pub backend: BackendChoice,
    /// Threads of the threaded backend, calling thread included [default: available cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds of measurement per row (after a short warm-up).
    #[arg(long, default_value_t = 0.5)]
    pub seconds: f64,
    /// Seed of the envs and of the pre-sampled random actions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// One measured configuration.
struct Row {
    id: String,
    mode: &'static str,
    num_envs: usize,
    threads: usize,
    steps: u64,
    elapsed: Duration,
}

/// Makes one env from a registry id or, for a path ending in `.toml`, a scene file.
fn make(source: &str) -> Result<Box<dyn Env>, EnvError> {
    if source.ends_with(".toml") { make_from_file(std::path::Path::new(source)) } else { registry().make(source, &MakeOptions::default()) }
}

/// Pre-sampled actions are cycled so that the RNG is not part of the measurement.
const ACTION_RING: usize = 4096;

/// Steps one env (through the registry's wrappers) with random actions, resetting
/// when an episode ends, for `seconds`.
fn bench_single(id: &str, seconds: f64, seed: u64) -> anyhow::Result<Row> {
    let mut env = make(id)?;
    let space = env.action_space().clone();
    let width = action_width(&space);
    let mut actions = ActionBuffer::new(&space, ACTION_RING)?;
    actions.sample(&space, &mut rng_from_seed(seed));
    let actions = actions.as_actions();
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(seed), None, &mut obs)?;
    let mut i = 0;
    let mut run = |k: usize| -> anyhow::Result<()> {
        for _ in 0..k {
            if env.step(actions.get(i, width), &mut obs)?.done() {
                env.reset(None, None, &mut obs)?;
            }
            i = (i + 1) % ACTION_RING;
        }
        Ok(())
    };
    timed(seconds * WARM_UP, ACTION_RING, &mut run)?;
    let (steps, elapsed) = timed(seconds, ACTION_RING, &mut run)?;
    Ok(Row { id: id.into(), mode: "single", num_envs: 1, threads: 1, steps, elapsed })
}

/// Warm-up before each row, as a fraction of its measuring time.
const WARM_UP: f64 = 0.1;

/// Runs `run(k)` (k units of work) until `seconds` have passed and returns the units
/// done and the time taken. Chunks start at one unit and double while one takes under
/// a millisecond, up to `max_chunk`: light envs read the clock rarely, and heavy ones
/// (thousands of rays, hundreds of cars) stop within a step or two of the time asked.
fn timed(seconds: f64, max_chunk: usize, run: &mut dyn FnMut(usize) -> anyhow::Result<()>) -> anyhow::Result<(u64, Duration)> {
    let (start, mut units, mut chunk) = (Instant::now(), 0u64, 1usize);
    while start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        run(chunk)?;
        units += chunk as u64;
        if t.elapsed() < Duration::from_millis(1) {
            chunk = (chunk * 2).min(max_chunk);
        }
    }
    Ok((units, start.elapsed()))
}

/// Steps a vector env of `num_envs` copies with random actions for `seconds`.
fn bench_vector(id: &str, num_envs: usize, backend: Backend, seconds: f64, seed: u64) -> anyhow::Result<Row> {
    let envs = (0..num_envs).map(|_| make(id)).collect::<Result<Vec<_>, _>>()?;
    let mut venv: Box<dyn VecEnv> = match backend {
        Backend::Serial => Box::new(SerialVecEnv::new(envs, AutoresetMode::NextStep)?),
        Backend::Threaded { num_threads } => Box::new(ThreadedVecEnv::new(envs, num_threads, AutoresetMode::NextStep)?),
    };
    let space = venv.single_action_space().clone();
    let mut rng = rng_from_seed(seed);
    let batches = (0..16)
        .map(|_| {
            let mut b = ActionBuffer::new(&space, num_envs)?;
            b.sample(&space, &mut rng);
            Ok(b)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    venv.reset(Some(seed))?;
    let mut next = 0;
    let mut run = |k: usize| -> anyhow::Result<()> {
        for _ in 0..k {
            venv.step(batches[next].as_actions())?;
            next = (next + 1) % batches.len();
        }
        Ok(())
    };
    timed(seconds * WARM_UP, batches.len(), &mut run)?;
    let (batches_done, elapsed) = timed(seconds, batches.len(), &mut run)?;
    let steps = batches_done * num_envs as u64;
    let (mode, threads) = match backend {
        Backend::Serial => ("serial", 1),
        Backend::Threaded { num_threads } => ("threaded", num_threads.min(num_envs)),
    };
    Ok(Row { id: id.into(), mode, num_envs, threads, steps, elapsed })
}

/// Measures every requested configuration and prints the table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        bail!("--seconds must be a positive number, got {}", args.seconds);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(cores);
    if threads == 0 || threads > 1024 {
        bail!("--threads must be 1..=1024, got {threads}");
    }
    if let Some(n) = args.num_envs.iter().find(|&&n| n > crate::env::vector::MAX_ENVS) {
        bail!("--num-envs: {n} is more than {} envs", crate::env::vector::MAX_ENVS);
    }
    let ids: Vec<String> = if args.ids.is_empty() { registry().specs().iter().map(|s| s.id.clone()).collect() } else { args.ids.clone() };
    for id in &ids {
        make(id)?;
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run `cargo run --release -- bench` for representative numbers");
    }
    let mut backends = Vec::new();
    if args.backend != BackendChoice::Threaded {
        backends.push(Backend::Serial);
    }
    if args.backend != BackendChoice::Serial {
        backends.push(Backend::Threaded { num_threads: threads });
    }

    let mut rows = Vec::new();
    for id in &ids {
        eprintln!("measuring {id}: single env");
        rows.push(bench_single(id, args.seconds, args.seed).with_context(|| format!("benchmarking '{id}'"))?);
        for &n in args.num_envs.iter().filter(|&&n| n > 0) {
            for &backend in &backends {
                eprintln!("measuring {id}: {n} envs, {backend:?}");
                rows.push(bench_vector(id, n, backend, args.seconds, args.seed).with_context(|| format!("benchmarking '{id}'"))?);
            }
        }
    }

    let mut table = Table::new(&["env", "mode", ">envs", ">threads", ">steps", ">seconds", ">steps/s"]);
    for r in &rows {
        let secs = r.elapsed.as_secs_f64();
        table.push(vec![
            r.id.clone(),
            r.mode.into(),
            r.num_envs.to_string(),
            r.threads.to_string(),
            r.steps.to_string(),
            format!("{secs:.2}"),
            match args.format {
                Format::Table => thousands(r.steps as f64 / secs),
                Format::Csv => format!("{:.0}", r.steps as f64 / secs),
            },
        ]);
    }
    let mut out = std::io::stdout().lock();
    if args.format == Format::Table {
        writeln!(out, "synthgym bench: {cores} cores available, {:.1} s per row, random actions, seed {}", args.seconds, args.seed)?;
    }
    table.write(&mut out, args.format)?;
    out.flush()?;
    Ok(())
}
