//! `synthgym gen train|sample|eval`: class-conditional GANs and VAEs on ImageFolder datasets.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use candle_core::{Device, Tensor};

use crate::classify::checkpoint::Loaded;
use crate::data::{ImageSet, ImageSpec, Normalize, SpecRequest};
use crate::generative::fid::{self, FeatureExtractor, FeatureStats, frechet_distance};
use crate::generative::train::{Callbacks, EpochStats, load, read_meta, reconstruction_grid, sample_grid};
use crate::generative::{GanLoss, GenConfig, GenModel, sample};
use crate::nn::Pass;

use super::scenegen::SceneGenArgs;

/// Arguments of `synthgym gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: GenCommand,
}

/// The `gen` subcommands.
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Train a class-conditional GAN or VAE on an ImageFolder dataset (ROOT/<class>/*.png).
    Train(TrainArgs),
    /// Write samples of a trained model as an ImageFolder dataset (and a grid image).
    Sample(SampleArgs),
    /// Fréchet distance of samples to real images in a trained classifier's feature space; the VAE's ELBO on them.
    Eval(EvalArgs),
    /// VAE: real images (top row) over their reconstructions (bottom row), as one PNG.
    Reconstruct(ReconstructArgs),
    /// Train a VAE on warehouse floor plans, sample new ones, check them and write the valid ones as scene files.
    Layouts(SceneGenArgs),
    /// Train a VAE on highway traffic configurations, sample new ones, check them and write the valid ones as scene files.
    Traffic(SceneGenArgs),
}

/// Models on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Class-conditional DCGAN with a projection discriminator.
    Gan,
    /// Class-conditional VAE.
    Vae,
}

/// GAN losses on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Hinge loss.
    Hinge,
    /// Non-saturating (softplus) loss.
    NonSaturating,
}

/// Arguments of `synthgym gen train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// ImageFolder dataset: one sub-folder of PNGs per class (for `synthgym generate`
    /// output, its crops/ folder). Images are resized to the model's size.
    pub data: PathBuf,
    /// Training config (TOML, see agents/gen-*.toml) [default: built-in defaults of --model].
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Model [default: the config's, else gan].
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Image side: 8, 16, 32 or 64.
    #[arg(long)]
    pub image_size: Option<usize>,
    /// 1 (gray) or 3 (RGB) [default: the dataset's].
    #[arg(long)]
    pub channels: Option<usize>,
    /// Latent size.
    #[arg(long)]
    pub latent: Option<usize>,
    /// Channels of the full-resolution layers.
    #[arg(long)]
    pub width: Option<usize>,
    /// VAE: weight of the KL term.
    #[arg(long)]
    pub beta: Option<f64>,
    /// GAN: loss.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// GAN: no spectral normalisation in the discriminator.
    #[arg(long)]
    pub no_spectral_norm: bool,
    /// Images per step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of weights, batch order and latent draws.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run directory [default: runs/gen-<data folder>-<model>-s<seed>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its checkpoint (only --epochs may change).
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Device: cpu, or cuda[:N] in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar or per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `synthgym gen sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// A `gen train` run directory (or its checkpoint/).
    pub run: PathBuf,
    /// Output ImageFolder (must not exist): <class>/<class>_<i>.png.
    #[arg(long)]
    pub out: PathBuf,
    /// Images per class.
    #[arg(long, default_value_t = 500)]
    pub per_class: usize,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write a grid of samples (a row per class) to this PNG.
    #[arg(long, value_name = "FILE.png")]
    pub grid: Option<PathBuf>,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Arguments of `synthgym gen eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A `gen train` run directory (or its checkpoint/).
    pub run: PathBuf,
    /// Real images (ImageFolder with the model's classes), ideally held out from training.
    #[arg(long)]
    pub real: PathBuf,
    /// The feature extractor: a `classify train` run trained on real images.
    #[arg(long)]
    pub extractor: PathBuf,
    /// Generated images per class, equal for every class [default: one generated image
    /// per real image, of the same class, so both sets have the real set's class
    /// proportions].
    #[arg(long)]
    pub per_class: Option<usize>,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the figures as JSON here too.
    #[arg(long, value_name = "FILE.json")]
    pub json: Option<PathBuf>,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Arguments of `synthgym gen reconstruct`.
#[derive(Debug, Args)]
pub struct ReconstructArgs {
    /// A VAE's `gen train` run directory (or its checkpoint/).
    pub run: PathBuf,
    /// Images to reconstruct (ImageFolder with the model's classes).
    pub data: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Images shown, taken from the classes in turn.
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

impl GenArgs {
    /// Threads the command's CPU kernels should use.
    pub fn threads(&self) -> usize {
        let all = std::thread::available_parallelism().map_or(1, |n| n.get());
        match &self.command {
            GenCommand::Train(a) => a.threads,
            GenCommand::Sample(a) => a.threads,
            GenCommand::Eval(a) => a.threads,
            GenCommand::Reconstruct(a) => a.threads,
            GenCommand::Layouts(a) | GenCommand::Traffic(a) => a.threads,
        }
        .unwrap_or(all)
    }
}

/// Runs `synthgym gen`.
pub fn run(args: &GenArgs) -> anyhow::Result<()> {
    match &args.command {
        GenCommand::Train(a) => run_train(a),
        GenCommand::Sample(a) => run_sample(a),
        GenCommand::Eval(a) => run_eval(a),
        GenCommand::Reconstruct(a) => run_reconstruct(a),
        GenCommand::Layouts(a) => super::scenegen::run_layouts(a),
        GenCommand::Traffic(a) => super::scenegen::run_traffic(a),
    }
}

fn load_config(a: &TrainArgs) -> anyhow::Result<GenConfig> {
    let model = a.model.map(|m| match m {
        ModelArg::Gan => GenModel::Gan,
        ModelArg::Vae => GenModel::Vae,
    });
    let mut c = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            GenConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => GenConfig::for_model(model.unwrap_or_default()),
    };
    if let Some(m) = model {
        if a.config.is_some() && m != c.model {
            bail!("--model {m:?} differs from the config's model; drop one of them");
        }
        c.model = m;
    }
    c.epochs = a.epochs.unwrap_or(c.epochs);
    c.image_size = a.image_size.unwrap_or(c.image_size);
    c.channels = a.channels.or(c.channels);
    c.latent = a.latent.unwrap_or(c.latent);
    c.width = a.width.unwrap_or(c.width);
    c.beta = a.beta.unwrap_or(c.beta);
    if let Some(l) = a.loss {
        c.loss = match l {
            LossArg::Hinge => GanLoss::Hinge,
            LossArg::NonSaturating => GanLoss::NonSaturating,
        };
    }
    if a.no_spectral_norm {
        c.spectral_norm = false;
    }
    c.batch_size = a.batch_size.unwrap_or(c.batch_size);
    c.lr = a.lr.unwrap_or(c.lr);
    c.seed = a.seed.unwrap_or(c.seed);
    c.validate()?;
    Ok(c)
}

fn model_name(m: GenModel) -> &'static str {
    match m {
        GenModel::Gan => "gan",
        GenModel::Vae => "vae",
    }
}

fn open(data: &Path, size: usize, channels: Option<usize>) -> anyhow::Result<ImageSet> {
    Ok(ImageSet::open(data, &SpecRequest { channels, size: Some((size, size)), ..SpecRequest::default() })?)
}

fn epoch_line(model: GenModel, s: &EpochStats, epochs: usize) -> String {
    match model {
        GenModel::Gan => format!("epoch {:>3}/{epochs}  D loss {:.4}  G loss {:.4}  {:.1} s", s.epoch, s.loss_a, s.loss_b, s.seconds),
        GenModel::Vae => format!(
            "epoch {:>3}/{epochs}  reconstruction {:.2}  KL {:.2} nats/image  held-out ELBO {}  {:.1} s",
            s.epoch,
            s.loss_a,
            s.loss_b,
            s.heldout_elbo.map_or_else(|| "-".into(), |e| format!("{e:.2}")),
            s.seconds
        ),
    }
}

fn run_train(a: &TrainArgs) -> anyhow::Result<()> {
    let (config, run_dir) = if a.resume {
        let changed = a.config.is_some()
            || a.model.is_some()
            || a.image_size.is_some()
            || a.channels.is_some()
            || a.latent.is_some()
            || a.width.is_some()
            || a.beta.is_some()
            || a.loss.is_some()
            || a.no_spectral_norm
            || a.batch_size.is_some()
            || a.lr.is_some()
            || a.seed.is_some();
        if changed {
            bail!("--resume continues with the run's own config; only --epochs may change");
        }
        let run_dir = a.out.clone().context("--resume needs --out RUN_DIR")?;
        let (_, meta) = read_meta(&run_dir)?;
        (GenConfig { epochs: a.epochs.unwrap_or(meta.config.epochs), ..meta.config }, run_dir)
    } else {
        let config = load_config(a)?;
        let folder = a
            .data
            .canonicalize()
            .ok()
            .as_deref()
            .and_then(Path::file_name)
            .map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
        let run_dir = a
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(format!("gen-{folder}-{}-s{}", model_name(config.model), config.seed)));
        (config, run_dir)
    };
    let device = crate::nn::device(&a.device)?;
    let data = open(&a.data, config.image_size, config.channels)?;
    if !a.quiet {
        eprintln!(
            "{} images of {} classes as {} from {}; {} {} on {} → {}",
            data.len(),
            data.classes().len(),
            data.spec(),
            a.data.display(),
            if a.resume { "resuming" } else { "training" },
            model_name(config.model),
            a.device,
            run_dir.display()
        );
    }
    let show = !a.quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(None, if show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] epoch {prefix} {wide_bar} {pos}/{len} batches  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut on_batch = |epoch: usize, done: usize, total: usize| {
        if done == 1 {
            bar.set_length(total as u64);
            bar.set_prefix(format!("{epoch}/{}", config.epochs));
        }
        bar.set_position(done as u64);
    };
    let mut on_epoch = |s: &EpochStats| {
        let line = epoch_line(config.model, s, config.epochs);
        if !a.quiet {
            bar.suspend(|| eprintln!("{line}"));
        }
        std::ops::ControlFlow::Continue(())
    };
    let outcome = crate::generative::train::train(
        &config,
        &data,
        &device,
        &run_dir,
        a.resume,
        Callbacks { on_batch: &mut on_batch, on_epoch: &mut on_epoch },
    )?;
    bar.finish_and_clear();
    let seconds: f64 = outcome.epochs.iter().map(|e| e.seconds).sum();
    writeln!(
        std::io::stdout().lock(),
        "{} epochs in {seconds:.1} s ({:.2} s per epoch); checkpoint: {}  samples: {}",
        outcome.epochs.len(),
        seconds / outcome.epochs.len().max(1) as f64,
        outcome.checkpoint.display(),
        run_dir.join("samples").display()
    )?;
    Ok(())
}

fn run_sample(a: &SampleArgs) -> anyhow::Result<()> {
    if a.per_class == 0 {
        bail!("--per-class must be at least 1");
    }
    let (trainer, meta, dir) = load(&a.run, &crate::nn::device("cpu")?)?;
    let started = std::time::Instant::now();
    let n = sample::write_image_folder(&trainer.net, &meta.classes, a.per_class, a.seed, &a.out)?;
    if let Some(path) = &a.grid {
        let (w, h, pixels) = sample_grid(&trainer.net, a.seed)?;
        crate::data::png::write_png(path, w as u32, h as u32, crate::data::png::PngLayout::Rgb8, &pixels)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    writeln!(
        std::io::stdout().lock(),
        "{n} images ({} per class, {} classes, {}) from {} in {:.1} s → {}",
        a.per_class,
        meta.classes.len(),
        meta.spec,
        dir.display(),
        started.elapsed().as_secs_f64(),
        a.out.display()
    )?;
    Ok(())
}

/// A trained classifier (`classify train`) as the Fréchet distance's feature extractor:
/// its penultimate layer in evaluation mode, on its own image spec and normalisation.
impl FeatureExtractor for Loaded {
    fn spec(&self) -> ImageSpec {
        self.meta.spec
    }

    fn normalize(&self) -> &Normalize {
        &self.meta.normalize
    }

    fn device(&self) -> Device {
        self.model.params().device().clone()
    }

    fn embed(&self, x: &Tensor) -> crate::nn::Result<Tensor> {
        self.model.features(x, &mut Pass::Eval)
    }
}

/// What `gen eval` measures.
#[derive(Debug, Serialize)]
struct EvalReport {
    run: PathBuf,
    real: PathBuf,
    extractor: PathBuf,
    real_images: usize,
    generated_images: usize,
    /// Fréchet distance between generated and real images.
    fid: f64,
    /// The same between two halves of the real images: the floor sampling noise sets.
    fid_real_halves: f64,
    /// How the generated labels were drawn: "real proportions" or "N per class".
    labels: String,
    /// Fréchet distance per class, generated vs real images of that class (classes with
    /// fewer than two images on either side are left out).
    fid_per_class: std::collections::BTreeMap<String, f64>,
    /// VAE: ELBO on the real images, nats per image.
    elbo: Option<f64>,
}

fn run_eval(a: &EvalArgs) -> anyhow::Result<()> {
    let device = crate::nn::device("cpu")?;
    let (trainer, meta, dir) = load(&a.run, &device)?;
    let net = &trainer.net;
    let real = open(&a.real, meta.config.image_size, Some(meta.spec.channels))?.relabel(&meta.classes)?;
    let extractor = crate::classify::checkpoint::load(&a.extractor, &device)?;
    // Labels in the real set's proportions (its own labels), unless equal counts are asked
    // for: with unequal classes, equal counts would compare different mixtures.
    let (labels, how) = match a.per_class {
        Some(k) => {
            ((0..meta.classes.len() as u32).flat_map(|c| std::iter::repeat_n(c, k.max(2))).collect(), format!("{} per class", k.max(2)))
        }
        None => (real.labels().to_vec(), "real proportions".to_owned()),
    };
    let (images, labels) = sample::sample_labels(net, labels, a.seed)?;
    let spec: ImageSpec = meta.spec;
    let generated = ImageSet::from_parts(spec, meta.classes.clone(), images.concat(), labels)?;
    // Features are computed once per set; the halves and the classes are their rows.
    let (real_rows, dim) = fid::features(&extractor, &real)?;
    let (gen_rows, _) = fid::features(&extractor, &generated)?;
    let rows = |all: &[f32], idx: &[usize]| -> Vec<f32> { idx.iter().flat_map(|&i| all[i * dim..(i + 1) * dim].iter().copied()).collect() };
    let fid = frechet_distance(&FeatureStats::of(&gen_rows, dim), &FeatureStats::of(&real_rows, dim));
    let of_class = |set: &ImageSet, c: usize| -> Vec<usize> { (0..set.len()).filter(|&i| set.labels()[i] as usize == c).collect() };
    let mut fid_per_class = std::collections::BTreeMap::new();
    for (c, name) in meta.classes.iter().enumerate() {
        let (r, g) = (of_class(&real, c), of_class(&generated, c));
        if r.len() >= 2 && g.len() >= 2 {
            let d = frechet_distance(&FeatureStats::of(&rows(&gen_rows, &g), dim), &FeatureStats::of(&rows(&real_rows, &r), dim));
            fid_per_class.insert(name.clone(), d);
        }
    }
    let (half_a, half_b) = real.stratified_split(0.5, 0);
    let fid_real_halves =
        frechet_distance(&FeatureStats::of(&rows(&real_rows, &half_a), dim), &FeatureStats::of(&rows(&real_rows, &half_b), dim));
    let elbo = match meta.config.model {
        GenModel::Vae => Some(trainer.elbo(&real, &(0..real.len()).collect::<Vec<_>>(), a.seed)?),
        GenModel::Gan => None,
    };
    let report = EvalReport {
        run: dir,
        real: a.real.clone(),
        extractor: a.extractor.clone(),
        real_images: real.len(),
        generated_images: generated.len(),
        fid,
        fid_real_halves,
        labels: how,
        fid_per_class,
        elbo,
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Fréchet distance (features of {}): generated vs real {fid:.3}; real half vs real half {fid_real_halves:.3} ({} real, {} generated images, labels: {})",
        a.extractor.display(),
        report.real_images,
        report.generated_images,
        report.labels
    )?;
    let per_class: Vec<String> = report.fid_per_class.iter().map(|(c, d)| format!("{c} {d:.3}")).collect();
    if !per_class.is_empty() {
        writeln!(out, "  per class, generated vs real: {}", per_class.join(", "))?;
    }
    if let Some(e) = elbo {
        writeln!(out, "ELBO on the real images: {e:.2} nats per image")?;
    }
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&report)?;
        crate::util::fs::write_atomic(path, text.as_bytes(), true).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn run_reconstruct(a: &ReconstructArgs) -> anyhow::Result<()> {
    let (trainer, meta, _) = load(&a.run, &crate::nn::device("cpu")?)?;
    if meta.config.model != GenModel::Vae {
        bail!("{} is a GAN; only a VAE reconstructs images", a.run.display());
    }
    let set = open(&a.data, meta.config.image_size, Some(meta.spec.channels))?.relabel(&meta.classes)?;
    // Round-robin over the classes: the first image of each, then the second, …
    let mut by_class: Vec<std::collections::VecDeque<usize>> = vec![Default::default(); meta.classes.len()];
    for (i, &l) in set.labels().iter().enumerate() {
        by_class[l as usize].push_back(i);
    }
    let mut chosen = Vec::new();
    while chosen.len() < a.count && by_class.iter().any(|q| !q.is_empty()) {
        for q in &mut by_class {
            if chosen.len() < a.count
                && let Some(i) = q.pop_front()
            {
                chosen.push(i);
            }
        }
    }
    if chosen.is_empty() {
        bail!("{} holds no image", a.data.display());
    }
    let (w, h, pixels) = reconstruction_grid(&trainer, &set, &chosen)?;
    crate::data::png::write_png(&a.out, w as u32, h as u32, crate::data::png::PngLayout::Rgb8, &pixels)
        .with_context(|| format!("writing {}", a.out.display()))?;
    writeln!(std::io::stdout().lock(), "{} images and their reconstructions → {}", chosen.len(), a.out.display())?;
    Ok(())
}
