//! `synthgym generate`: labelled image datasets from a scene.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Rendering presets (see `render::Quality`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum QualityArg {
    /// Lambert shading under one sun and ambient light; no shadows or anti-aliasing (fastest).
    #[default]
    Fast,
    /// PBR with cascaded sun shadows, 4x MSAA and tone mapping.
    Pbr,
}

/// Camera placements (see `render::randomize::CameraMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CameraArg {
    /// Oblique view from a random side.
    Fixed,
    /// Straight down.
    TopDown,
    /// On the ego vehicle or the first robot, looking ahead.
    Ego,
    /// A random one of the three per image.
    #[default]
    Random,
}

/// Render labelled synthetic images (RGB, COCO boxes and masks, depth, class crops).
#[derive(Debug, Args)]
#[command(after_help = "The same command writes the same dataset on any machine: image k depends only on the options and k. \
Run shards (`--shard 0/4` … `--shard 3/4`) on several machines into one folder or merge the folders; \
`annotations.json` appears when every image is present. An interrupted run resumes where it stopped.\n\
Needs a build with `--features render` and a Vulkan driver (on machines without a GPU: apt-get install mesa-vulkan-drivers libvulkan1).")]
pub struct GenerateArgs {
    /// Environment id (see `synthgym envs`) or scene file.
    #[arg(default_value = "warehouse-grid-small-4ag-v0")]
    pub scene: String,
    /// Number of images in the dataset (all shards together).
    #[arg(long, default_value_t = 100)]
    pub count: u64,
    /// Output folder [default: datasets/<scene>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Image width and height in pixels.
    #[arg(long, default_value_t = 128)]
    pub size: u32,
    /// Image height, if not square.
    #[arg(long)]
    pub height: Option<u32>,
    /// Rendering preset.
    #[arg(long, value_enum, default_value_t)]
    pub quality: QualityArg,
    /// Camera placement.
    #[arg(long, value_enum, default_value_t)]
    pub camera: CameraArg,
    /// Base seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write only episodes e with e % COUNT == INDEX, as INDEX/COUNT.
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    /// Turn domain randomisation off (nominal colours and light, canonical camera poses).
    #[arg(long)]
    pub no_randomize: bool,
    /// Largest number of distractors (pallets, people, cones, signs) per image.
    #[arg(long, default_value_t = 6)]
    pub distractors: u32,
    /// Images taken from one simulated episode.
    #[arg(long, default_value_t = 8)]
    pub frames_per_episode: u32,
    /// Environment steps between two images of an episode.
    #[arg(long, default_value_t = 10)]
    pub stride: u32,
    /// Side of the square object crops in crops/<class>/ (0: none).
    #[arg(long, default_value_t = 32)]
    pub crop_size: u32,
    /// Also write a grid of the first images with their boxes drawn to this PNG.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What a command that renders says when this binary has no renderer.
#[cfg(not(feature = "render"))]
pub(super) const NO_RENDERER: &str = "this synthgym was built without the renderer; rebuild with `cargo build --release --features render` \
     (and install a Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1)";

#[cfg(not(feature = "render"))]
pub fn run(_args: &GenerateArgs) -> anyhow::Result<()> {
    anyhow::bail!(NO_RENDERER)
}

#[cfg(feature = "render")]
impl From<QualityArg> for crate::render::Quality {
    fn from(q: QualityArg) -> Self {
        match q {
            QualityArg::Fast => Self::Fast,
            QualityArg::Pbr => Self::Pbr,
        }
    }
}

#[cfg(feature = "render")]
impl From<CameraArg> for crate::render::randomize::CameraMode {
    fn from(c: CameraArg) -> Self {
        match c {
            CameraArg::Fixed => Self::Fixed,
            CameraArg::TopDown => Self::TopDown,
            CameraArg::Ego => Self::Ego,
            CameraArg::Random => Self::Random,
        }
    }
}

#[cfg(feature = "render")]
pub use with_render::run;

#[cfg(feature = "render")]
mod with_render {
    use std::io::{IsTerminal, Write};

    use anyhow::Context;
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    use super::GenerateArgs;
    use crate::dataset::{self, GenerateConfig, SceneSource, Shard};
    use crate::env::{MakeOptions, RandomPolicy};
    use crate::render::RenderError;
    use crate::replay::recorder::{Driven, RecordEnv};
    use crate::snapshot::Snapshot;

    /// A scene driven by its scripted controller where one exists, else by random actions.
    struct Source(Driven);

    fn sim(e: crate::replay::ReplayError) -> RenderError {
        RenderError::Simulation(Box::new(e))
    }

    impl SceneSource for Source {
        fn reset(&mut self, seed: u64) -> Result<(), RenderError> {
            self.0.reset(seed).map_err(sim)
        }
        fn step(&mut self) -> Result<bool, RenderError> {
            self.0.step().map_err(sim)
        }
        fn snapshot(&self) -> Option<Snapshot> {
            self.0.snapshot()
        }
    }

    fn make_source(scene: &str) -> Result<Box<dyn SceneSource>, RenderError> {
        let options = MakeOptions::default();
        let env_err = |e: crate::env::EnvError| RenderError::Simulation(Box::new(e));
        let per_agent = crate::scenes::has_parallel(scene).map_err(env_err)?;
        let env = RecordEnv::new(crate::scenes::make_agents(scene, per_agent, &options).map_err(env_err)?, per_agent);
        let space = env.action_space().cloned();
        let id = scene.to_string();
        let make_policy = Box::new(move |seed: u64| -> Box<dyn crate::env::Policy> {
            match (crate::scenes::scripted_policy(&id, seed), &space) {
                (Some(p), _) => p,
                (None, Some(space)) => Box::new(RandomPolicy::new(space.clone(), seed)),
                (None, None) => Box::new(RandomPolicy::new(crate::env::Space::Discrete { n: 1, start: 0 }, seed)),
            }
        });
        Ok(Box::new(Source(Driven::new(env, make_policy).map_err(sim)?)))
    }

    pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
        let shard: Shard = args.shard.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        let config = GenerateConfig {
            scene: args.scene.clone(),
            count: args.count,
            width: args.size,
            height: args.height.unwrap_or(args.size),
            quality: args.quality.into(),
            seed: args.seed,
            camera: args.camera.into(),
            randomize: !args.no_randomize,
            max_distractors: args.distractors,
            frames_per_episode: args.frames_per_episode,
            frame_stride: args.stride,
            crop_size: args.crop_size,
        };
        config.validate()?;
        // Fail on an unknown scene before anything is written.
        if !crate::scenes::is_scene_file(&config.scene) && crate::scenes::registry().get(&config.scene).is_none() {
            anyhow::bail!("unknown scene `{}`; `synthgym envs` lists the ids, or pass a scene file", config.scene);
        }
        let out = args.out.clone().unwrap_or_else(|| {
            let name =
                std::path::Path::new(&config.scene).file_stem().map_or_else(|| config.scene.clone(), |s| s.to_string_lossy().into_owned());
            std::path::PathBuf::from("datasets").join(name)
        });
        let show = !args.quiet && std::io::stderr().is_terminal();
        if !args.quiet {
            eprintln!(
                "generating {} images of {} at {}x{} ({:?}, shard {}/{}, seed {}) → {}",
                config.count,
                config.scene,
                config.width,
                config.height,
                config.quality,
                shard.index,
                shard.count,
                config.seed,
                out.display()
            );
        }
        let bar = ProgressBar::with_draw_target(None, if show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} images  {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let scene = config.scene.clone();
        let summary = dataset::generate(&config, shard, &out, &mut || make_source(&scene), &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .with_context(|| format!("generating into {}", out.display()))?;
        bar.finish_and_clear();
        let rate = summary.written as f64 / summary.seconds.max(1e-9);
        let mut out_ = std::io::stdout().lock();
        writeln!(
            out_,
            "wrote {} images ({} annotations, {} crops) in {:.1} s: {:.1} images/s; {} already complete",
            summary.written, summary.annotations, summary.crops, summary.seconds, rate, summary.skipped
        )?;
        if let Some(adapter) = &summary.adapter {
            writeln!(out_, "adapter: {adapter}")?;
        }
        if summary.merged {
            writeln!(out_, "complete: {} (COCO) and {}", out.join("annotations.json").display(), out.join("manifest.jsonl").display())?;
        } else {
            writeln!(out_, "other shards are still missing; annotations.json is written when every image exists")?;
        }
        if let Some(path) = &args.grid {
            let n = dataset::write_grid(&out, config.count.min(16), path)?;
            writeln!(out_, "grid of {n} images → {}", path.display())?;
        }
        Ok(())
    }
}
