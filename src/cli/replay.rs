//! `synthgym replay`: summarise an episode file and check that it re-simulates exactly,
//! or draw its episodes headlessly to PNG frames or a GIF (`--export`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use super::generate::{CameraArg, QualityArg};
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
    /// Draw the recorded scenes instead of re-simulating: into a folder of PNG frames
    /// (`e<episode>_<step>.png`), or an animated GIF for a path ending in .gif. Needs a
    /// build with `--features render`.
    #[arg(long, value_name = "DIR|FILE.gif")]
    pub export: Option<PathBuf>,
    /// Export only this episode (0-based) [default: all].
    #[arg(long, requires = "export")]
    pub episode: Option<usize>,
    /// Frame width in pixels.
    #[arg(long, default_value_t = 320, requires = "export")]
    pub width: u32,
    /// Frame height in pixels.
    #[arg(long, default_value_t = 240, requires = "export")]
    pub height: u32,
    /// Camera placement for the export.
    #[arg(long, value_enum, default_value_t = CameraArg::Fixed, requires = "export")]
    pub camera: CameraArg,
    /// Rendering preset for the export.
    #[arg(long, value_enum, default_value_t, requires = "export")]
    pub quality: QualityArg,
    /// Draw every N-th step (the first and last scenes always).
    #[arg(long, default_value_t = 1, requires = "export")]
    pub stride: usize,
    /// GIF frames per second.
    #[arg(long, default_value_t = 10, requires = "export")]
    pub fps: u32,
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
    if let Some(path) = &args.export {
        return export(args, &rec, path);
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

#[cfg(not(feature = "render"))]
fn export(_args: &ReplayArgs, _rec: &crate::replay::Recording, _path: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!(super::generate::NO_RENDERER)
}

/// Draws the recording's scenes (after each reset and each step) to `path`.
#[cfg(feature = "render")]
fn export(args: &ReplayArgs, rec: &crate::replay::Recording, path: &std::path::Path) -> anyhow::Result<()> {
    use crate::render::export::{ExportOptions, ExportTarget, export};

    let chosen: Vec<usize> = match args.episode {
        Some(k) if k >= rec.episodes.len() => {
            anyhow::bail!("--episode {k}: {} has {} episode(s), numbered from 0", args.file.display(), rec.episodes.len())
        }
        Some(k) => vec![k],
        None => (0..rec.episodes.len()).collect(),
    };
    let episodes: Vec<(usize, Vec<&crate::snapshot::Snapshot>)> = chosen
        .iter()
        .map(|&k| {
            let ep = &rec.episodes[k];
            (k, std::iter::once(&ep.initial).chain(ep.steps.iter().map(|s| &s.snapshot)).collect())
        })
        .collect();
    let options = ExportOptions {
        width: args.width,
        height: args.height,
        quality: args.quality.into(),
        camera: args.camera.into(),
        stride: args.stride,
        fps: args.fps,
    };
    let started = std::time::Instant::now();
    let target = ExportTarget::from_path(path);
    let frames = export(&episodes, &options, &target).with_context(|| format!("exporting {}", args.file.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        std::io::stdout().lock(),
        "exported {frames} frames of {} episode(s) at {}x{} in {seconds:.1} s ({:.0} frames/s) → {}",
        episodes.len(),
        args.width,
        args.height,
        frames as f64 / seconds.max(1e-9),
        path.display()
    )?;
    Ok(())
}
