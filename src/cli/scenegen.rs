//! `synthgym gen layouts|traffic`: the arguments, wired to [`crate::scenegen`], and the
//! report printed.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::scenegen::{SceneGenConfig, SceneGenReport};

/// Arguments of `synthgym gen layouts` and `synthgym gen traffic`.
#[derive(Debug, Args)]
pub struct SceneGenArgs {
    /// Training examples, drawn from the scenes' own generators (layouts: rware's
    /// parametric family with random gaps and goals; traffic: the highway scene's traffic
    /// at random lane counts and densities).
    #[arg(long, default_value_t = 2000)]
    pub train: usize,
    /// VAE epochs.
    #[arg(long, default_value_t = 40)]
    pub epochs: usize,
    /// Examples sampled from the trained VAE.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Seed of the training examples, the weights and the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder: model/, scenes/*.toml, report.json (must not hold a model already)
    /// [default: runs/gen-layouts or runs/gen-traffic].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Latent temperature of the samples (1 draws from the prior; lower, crisper examples).
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f64,
    /// Sample again from the VAE already in --out/model instead of training one.
    #[arg(long)]
    pub resample: bool,
    /// Device: cpu, or cuda[:N] in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

impl SceneGenArgs {
    /// The run's options, its output folder defaulting to `runs/gen-<what>`; the options
    /// are checked before the device is opened.
    fn config(&self, what: &str) -> anyhow::Result<SceneGenConfig> {
        let mut config = SceneGenConfig {
            train: self.train,
            epochs: self.epochs,
            samples: self.samples,
            seed: self.seed,
            out: self.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/gen-{what}"))),
            temperature: self.temperature,
            resample: self.resample,
            device: candle_core::Device::Cpu,
        };
        config.validate()?;
        config.device = crate::nn::device(&self.device)?;
        Ok(config)
    }
}

/// Prints `report` (what was sampled, how much was valid, why the rest was not).
fn print(report: &SceneGenReport, what: &str, stepped_as: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{} of {} sampled {what}s are valid ({} not in the training set); each loaded and stepped as {stepped_as} → {}",
        report.valid,
        report.samples,
        report.valid_novel,
        report.scenes_dir.display()
    )?;
    if let Some(t) = &report.traffic {
        writeln!(
            stdout,
            "  cars per window: {:.2} in training, {:.2} in valid samples; lanes: {:.2} and {:.2}",
            t.mean_cars_training, t.mean_cars_valid, t.mean_lanes_training, t.mean_lanes_valid
        )?;
        writeln!(
            stdout,
            "  the scripted driver got through 10 s without a crash in {} of the {} valid scenes ({} of {} training configurations)",
            t.driven_without_crash, report.valid, t.training_driven_without_crash, t.training_driven
        )?;
    }
    if report.repaired > 0 {
        writeln!(
            stdout,
            "  {} sample(s) had no goal above the threshold and got one at their likeliest goal cell; without that repair {} of {} are valid",
            report.repaired, report.valid_without_repair, report.samples
        )?;
    }
    for (why, n) in &report.invalid_reasons {
        writeln!(stdout, "  invalid: {n} × {why}")?;
    }
    Ok(())
}

/// Runs `synthgym gen layouts`.
pub fn run_layouts(a: &SceneGenArgs) -> anyhow::Result<()> {
    let report = crate::scenegen::layouts::run(&a.config("layouts")?, &mut |line| eprintln!("{line}"))?;
    print(&report, "plan", "a grid warehouse")
}

/// Runs `synthgym gen traffic`.
pub fn run_traffic(a: &SceneGenArgs) -> anyhow::Result<()> {
    let report = crate::scenegen::traffic::run(&a.config("traffic")?, &mut |line| eprintln!("{line}"))?;
    print(&report, "traffic configuration", "a highway with placed vehicles")
}
