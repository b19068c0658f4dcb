//! `synthgym replay`: summarise an episode file, then open it in the interactive viewer
//! (`--features viewer`), check that it re-simulates exactly (`--verify`), or draw its
//! episodes headlessly to PNG frames or a GIF (`--export`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use super::dataset::{CameraArg, QualityArg};
use super::train::record_env;
use crate::replay::{read, resimulate};
use crate::rl::config::AgentsMode;

/// Arguments of `synthgym replay`.
#[derive(Debug, Parser)]
#[command(after_help = VIEWER_KEYS)]
pub struct ReplayArgs {
    /// An episode file written by `synthgym eval --record` or `train` (`eval.record_episodes`).
    pub file: PathBuf,
    /// Re-simulate every episode from its seed and actions and check that rewards, flags,
    /// observations and scenes come out exactly as recorded (no window).
    #[arg(long, conflicts_with = "export")]
    pub verify: bool,
    /// Draw the recorded scenes instead of opening the viewer: into a folder of PNG frames
    /// (`e<episode>_<step>.png`), or an animated GIF for a path ending in .gif. Needs a
    /// build with `--features render`.
    #[arg(long, value_name = "DIR|FILE.gif")]
    pub export: Option<PathBuf>,
    /// Export only this episode (0-based) [default: all].
    #[arg(long, requires = "export")]
    pub episode: Option<usize>,
    /// Frame width in pixels [default: 320 for --export, 1280 for the viewer window].
    #[arg(long)]
    pub width: Option<u32>,
    /// Frame height in pixels [default: 240 for --export, 720 for the viewer window].
    #[arg(long)]
    pub height: Option<u32>,
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
    /// Viewer: keys to press, one per frame, once the window is up (comma-separated names:
    /// space, left, right, up, down, home, end, tab, [, ], +, -, ., t, c, l, g, b, h, x,
    /// 0-9, none), e.g. `--keys t,up,up,left,t` to drive agent 0 for three steps.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["export", "verify"])]
    pub keys: Vec<String>,
    /// Viewer: save a screenshot of the window to this PNG after the keys, then close.
    #[arg(long, value_name = "FILE.png", conflicts_with_all = ["export", "verify"])]
    pub screenshot: Option<PathBuf>,
    /// Viewer: close after the keys (a takeover in progress is saved first).
    #[arg(long, conflicts_with_all = ["export", "verify"])]
    pub quit_after_keys: bool,
}

/// Key help of the viewer, shown by `synthgym replay --help`.
const VIEWER_KEYS: &str = "\
Viewer keys:
  space play/pause · ←/→ step (shift: 10 steps) · home/end first/last · ↑/↓ or +/- speed
  [ ] previous/next episode · click or drag the timeline bar to scrub
  C camera (free → follow → top-down) · Tab next agent · free camera: drag, scroll, WASD
  L lidar rays · G goals · B 3-D boxes · H text panel · F12 screenshot · Esc quit
  T take over agent 0 at the shown step; drive with the arrows (space: lift/put down,
    . wait, digits: action index); T again saves the branch beside FILE as
    <stem>.branch-e<episode>-s<step>.episodes";

/// A fresh env of the recording (the scene file's text, when it has one, replayed from a
/// private copy).
fn recording_env(rec: &crate::replay::Recording) -> anyhow::Result<crate::replay::RecordEnv> {
    let agents = if rec.multi_agent { AgentsMode::Shared } else { AgentsMode::Joint };
    let target = match &rec.scene {
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
        anyhow::bail!("the recording has agents {:?}; {} has {:?}", rec.agents, rec.env, target.agents());
    }
    Ok(target)
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
    if !args.verify {
        return view(args, rec);
    }
    let mut target = recording_env(&rec).with_context(|| format!("replaying {}", args.file.display()))?;
    resimulate(&mut target, &rec.episodes).with_context(|| format!("re-simulating {}", args.file.display()))?;
    writeln!(out, "re-simulation: all {} episode(s) reproduce exactly (rewards, flags, observations, snapshots)", rec.episodes.len())?;
    Ok(())
}

#[cfg(not(feature = "viewer"))]
fn view(_args: &ReplayArgs, _rec: crate::replay::Recording) -> anyhow::Result<()> {
    anyhow::bail!(
        "this synthgym was built without the viewer: build with `cargo build --release --features viewer`; \
         `--verify` re-simulates the file and `--export` draws it headlessly"
    )
}

/// Opens the interactive viewer.
#[cfg(feature = "viewer")]
fn view(args: &ReplayArgs, rec: crate::replay::Recording) -> anyhow::Result<()> {
    use crate::replay::player::MakeEnv;
    use crate::viewer::{self, ViewerOptions};

    let meta = crate::replay::Recording { episodes: Vec::new(), ..rec.clone() };
    let make_env: MakeEnv = Box::new(move || recording_env(&meta).map_err(Into::into));
    let options = ViewerOptions {
        width: args.width.unwrap_or(1280),
        height: args.height.unwrap_or(720),
        keys: args.keys.clone(),
        screenshot: args.screenshot.clone(),
        exit_after_keys: args.quit_after_keys || args.screenshot.is_some(),
    };
    viewer::run(rec, &args.file, Some(make_env), options).with_context(|| format!("viewing {}", args.file.display()))?;
    Ok(())
}

#[cfg(not(feature = "render"))]
fn export(_args: &ReplayArgs, _rec: &crate::replay::Recording, _path: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!(super::dataset::NO_RENDERER)
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
    let (width, height) = (args.width.unwrap_or(320), args.height.unwrap_or(240));
    let options =
        ExportOptions { width, height, quality: args.quality.into(), camera: args.camera.into(), stride: args.stride, fps: args.fps };
    let started = std::time::Instant::now();
    let target = ExportTarget::from_path(path);
    let frames = export(&episodes, &options, &target).with_context(|| format!("exporting {}", args.file.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        std::io::stdout().lock(),
        "exported {frames} frames of {} episode(s) at {}x{} in {seconds:.1} s ({:.0} frames/s) → {}",
        episodes.len(),
        width,
        height,
        frames as f64 / seconds.max(1e-9),
        path.display()
    )?;
    Ok(())
}
