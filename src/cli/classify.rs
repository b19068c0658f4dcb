//! `synthgym classify train|eval|report`: image classifiers on ImageFolder datasets.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::classify::report::{NamedSet, transfer};
use crate::classify::train::{Callbacks, EpochStats, TrainOutcome};
use crate::classify::{ClassifyConfig, ModelKind, checkpoint};
use crate::data::{ImageSet, SpecRequest};

/// Arguments of `synthgym classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ClassifyCommand,
}

/// The `classify` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClassifyCommand {
    /// Train a classifier on an ImageFolder dataset (ROOT/<class>/*.png); writes best/ and last/ checkpoints.
    Train(TrainArgs),
    /// Evaluate a checkpoint on an ImageFolder: accuracy, per-class precision/recall, confusion matrix.
    Eval(EvalArgs),
    /// Train one classifier per training set and evaluate all on the same test sets, side by side.
    Report(ReportArgs),
}

/// Architectures on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Small VGG-style CNN.
    Cnn,
    /// 14-layer ResNet.
    Resnet,
}

/// Training options shared by `train` and `report`; each overrides the config file.
#[derive(Debug, Args)]
pub struct TrainOptions {
    /// Training config (TOML, see agents/classify-*.toml) [default: built-in defaults].
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Architecture.
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Most epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Side images are resized to [default: the dataset's most common size, at most 64].
    #[arg(long)]
    pub image_size: Option<usize>,
    /// 1 (gray) or 3 (RGB) [default: 3 if any image has colour].
    #[arg(long)]
    pub channels: Option<usize>,
    /// Images per step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of split, weights, batch order and augmentation.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No horizontal flips (digits, text).
    #[arg(long)]
    pub no_flip: bool,
    /// No augmentation at all.
    #[arg(long)]
    pub no_augment: bool,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar or per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `synthgym classify train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// ImageFolder dataset: one sub-folder of PNGs per class (for `synthgym generate`
    /// output, its crops/ folder).
    pub data: PathBuf,
    /// Run directory [default: runs/classify-<data folder>-<model>-s<seed>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last/ checkpoint, with the run's own config
    /// (only --epochs may change).
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Training options.
    #[command(flatten)]
    pub options: TrainOptions,
}

/// Arguments of `synthgym classify eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A `classify train` run directory (its best/ is used) or a checkpoint directory.
    pub checkpoint: PathBuf,
    /// ImageFolder test set; its classes must be among the checkpoint's.
    pub data: PathBuf,
    /// Folder for eval.json and confusion.png [default: eval-<data folder> in the run directory].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Arguments of `synthgym classify report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A training set as NAME=DIR, or NAME=DIR1,DIR2 for a mix (repeatable).
    #[arg(long = "train", value_name = "NAME=DIR[,DIR…]", required = true)]
    pub trains: Vec<String>,
    /// A test set as NAME=DIR (repeatable).
    #[arg(long = "test", value_name = "NAME=DIR", required = true)]
    pub tests: Vec<String>,
    /// Output folder: one run directory per training set, report.json and report.md.
    #[arg(long, default_value = "runs/classify-report")]
    pub out: PathBuf,
    /// Training options.
    #[command(flatten)]
    pub options: TrainOptions,
}

impl ClassifyArgs {
    /// Threads the command's CPU kernels should use.
    pub fn threads(&self) -> usize {
        let all = std::thread::available_parallelism().map_or(1, |n| n.get());
        match &self.command {
            ClassifyCommand::Train(a) => a.options.threads,
            ClassifyCommand::Eval(a) => a.threads,
            ClassifyCommand::Report(a) => a.options.threads,
        }
        .unwrap_or(all)
    }
}

/// Runs `synthgym classify`.
pub fn run(args: &ClassifyArgs) -> anyhow::Result<()> {
    match &args.command {
        ClassifyCommand::Train(a) => run_train(a),
        ClassifyCommand::Eval(a) => run_eval(a),
        ClassifyCommand::Report(a) => run_report(a),
    }
}

fn load_config(o: &TrainOptions) -> anyhow::Result<ClassifyConfig> {
    let mut c = match &o.config {
        Some(path) => ClassifyConfig::from_file(path)?,
        None => ClassifyConfig::default(),
    };
    if let Some(m) = o.model {
        c.model = match m {
            ModelArg::Cnn => ModelKind::Cnn,
            ModelArg::Resnet => ModelKind::Resnet,
        };
    }
    c.epochs = o.epochs.unwrap_or(c.epochs);
    c.image_size = o.image_size.unwrap_or(c.image_size);
    c.channels = o.channels.unwrap_or(c.channels);
    c.batch_size = o.batch_size.unwrap_or(c.batch_size);
    c.learning_rate = o.lr.unwrap_or(c.learning_rate);
    c.seed = o.seed.unwrap_or(c.seed);
    if o.no_flip {
        c.augment.flip = false;
    }
    if o.no_augment {
        c.augment = crate::data::Augment::none();
    }
    c.validate()?;
    Ok(c)
}

fn spec_request(c: &ClassifyConfig) -> SpecRequest {
    SpecRequest {
        channels: (c.channels > 0).then_some(c.channels),
        size: (c.image_size > 0).then_some((c.image_size, c.image_size)),
        ..SpecRequest::default()
    }
}

fn folder_name(path: &Path) -> String {
    path.canonicalize().ok().as_deref().and_then(Path::file_name).map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned())
}

/// Trains on `data` in `run_dir` with a progress bar (or a line per epoch without a terminal).
fn train_with_progress(
    config: &ClassifyConfig,
    data: &ImageSet,
    run_dir: &Path,
    resume: bool,
    quiet: bool,
) -> crate::classify::Result<TrainOutcome> {
    let show = !quiet && std::io::stderr().is_terminal();
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
        let line = epoch_line(s);
        bar.set_message(line.clone());
        if !quiet {
            bar.suspend(|| eprintln!("{line}"));
        }
        std::ops::ControlFlow::Continue(())
    };
    let outcome = crate::classify::train(
        config,
        data,
        &crate::nn::device("cpu")?,
        run_dir,
        resume,
        Callbacks { on_batch: &mut on_batch, on_epoch: &mut on_epoch },
    )?;
    bar.finish_and_clear();
    Ok(outcome)
}

fn epoch_line(s: &EpochStats) -> String {
    let val = s.val.map_or_else(String::new, |(l, a)| format!("  val loss {l:.4} acc {a:.4}"));
    let star = if s.improved { " *" } else { "" };
    format!(
        "epoch {:>3}/{}  loss {:.4} acc {:.4}{val}  {:.1} s ({:.0} img/s){star}",
        s.epoch, s.epochs, s.train_loss, s.train_accuracy, s.train_seconds, s.images_per_second
    )
}

fn run_train(args: &TrainArgs) -> anyhow::Result<()> {
    let (config, run_dir) = if args.resume {
        let o = &args.options;
        let changed = o.config.is_some()
            || o.model.is_some()
            || o.image_size.is_some()
            || o.channels.is_some()
            || o.batch_size.is_some()
            || o.lr.is_some()
            || o.seed.is_some()
            || o.no_flip
            || o.no_augment;
        if changed {
            bail!("--resume continues with the run's own config (its config.toml); only --epochs may change");
        }
        let run_dir = args.out.clone().context("--resume needs --out RUN_DIR")?;
        let saved = ClassifyConfig::from_file(&run_dir.join("config.toml"))?;
        // Only the length of the run may be changed when resuming.
        let config = ClassifyConfig { epochs: args.options.epochs.unwrap_or(saved.epochs), ..saved };
        (config, run_dir)
    } else {
        let config = load_config(&args.options)?;
        let run_dir = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs").join(format!("classify-{}-{}-s{}", folder_name(&args.data), config.model.name(), config.seed))
        });
        (config, run_dir)
    };
    let started = std::time::Instant::now();
    let data = open_grouped(&args.data, &spec_request(&config))?;
    let counts = data.class_counts();
    if !args.options.quiet {
        eprintln!(
            "{} images of {} classes ({}) as {} from {} in {:.1} s; {} {} → {}",
            data.len(),
            counts.len(),
            data.classes().iter().zip(&counts).map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", "),
            data.spec(),
            args.data.display(),
            started.elapsed().as_secs_f64(),
            if args.resume { "resuming" } else { "training" },
            config.model.name(),
            run_dir.display()
        );
        eprintln!("{}", split_note(&data, config.val_fraction));
    }
    let outcome = train_with_progress(&config, &data, &run_dir, args.resume, args.options.quiet)?;
    let mut out = std::io::stdout().lock();
    let best = outcome.best_val_accuracy.map_or_else(String::new, |a| format!(", validation accuracy {a:.4}"));
    let early = if outcome.stopped_early { " (stopped early)" } else { "" };
    writeln!(
        out,
        "{} epochs{early}, {:.2} s per epoch; best epoch {}{best}",
        outcome.epochs_run, outcome.mean_epoch_seconds, outcome.best_epoch
    )?;
    writeln!(out, "best checkpoint: {}  metrics: {}", outcome.best.display(), run_dir.join("metrics.csv").display())?;
    Ok(())
}

fn run_eval(args: &EvalArgs) -> anyhow::Result<()> {
    let device = crate::nn::device("cpu")?;
    let loaded = checkpoint::load(&args.checkpoint, &device)?;
    let data = ImageSet::open(&args.data, &SpecRequest::exactly(loaded.meta.spec))?;
    let started = std::time::Instant::now();
    let evaluation = loaded.evaluate(&data)?;
    let seconds = started.elapsed().as_secs_f64();
    // Next to a checkpoint directory (best/ is replaced by later training), else in the run directory.
    let base = if args.checkpoint.join("classifier.json").exists() {
        args.checkpoint.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    } else {
        args.checkpoint.clone()
    };
    let out_dir = args.out.clone().unwrap_or_else(|| base.join(format!("eval-{}", folder_name(&args.data))));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    evaluation.report().write_json(&out_dir.join("eval.json")).with_context(|| format!("writing {}", out_dir.display()))?;
    evaluation.write_confusion_png(&out_dir.join("confusion.png")).with_context(|| format!("writing {}", out_dir.display()))?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", evaluation.to_text())?;
    writeln!(out, "{} images in {seconds:.2} s; report: {}", data.len(), out_dir.display())?;
    Ok(())
}

/// Parses `NAME=DIR[,DIR…]`.
fn parse_named(spec: &str, flag: &str) -> anyhow::Result<(String, Vec<PathBuf>)> {
    let Some((name, dirs)) = spec.split_once('=') else { bail!("--{flag} '{spec}': expected NAME=DIR") };
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("--{flag} '{spec}': the name must be a plain word (it names a folder)");
    }
    let dirs: Vec<PathBuf> = dirs.split(',').filter(|d| !d.is_empty()).map(PathBuf::from).collect();
    if dirs.is_empty() {
        bail!("--{flag} '{spec}': no folder after '='");
    }
    Ok((name.to_owned(), dirs))
}

/// Opens an ImageFolder; for the `crops/` of a `synthgym generate` dataset, each crop's
/// episode becomes its group, so that the validation split holds out whole episodes
/// (the frames of one episode show the same objects, and a per-crop split would
/// validate on near-copies of training crops).
fn open_grouped(root: &Path, request: &SpecRequest) -> anyhow::Result<ImageSet> {
    let set = ImageSet::open(root, request)?;
    match episode_groups(&set, root) {
        Some(groups) => Ok(set.with_groups(groups)?),
        None => Ok(set),
    }
}

/// The episode of every crop `<class>/<k>_<object>.png` under `root`, read from the
/// label record `../labels/<k>.json` that `generate` writes beside `crops/`; `None`
/// unless every crop has one.
fn episode_groups(set: &ImageSet, root: &Path) -> Option<Vec<u64>> {
    let labels = root.parent()?.join("labels");
    if !labels.is_dir() {
        return None;
    }
    let mut episodes: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    (0..set.len())
        .map(|i| {
            let stem = set.path(i).file_stem()?.to_str()?;
            let image = stem.split_once('_')?.0.to_owned();
            if let Some(&e) = episodes.get(&image) {
                return Some(e);
            }
            let record: serde_json::Value = serde_json::from_slice(&std::fs::read(labels.join(format!("{image}.json"))).ok()?).ok()?;
            let episode = record.get("episode")?.as_u64()?;
            episodes.insert(image, episode);
            Some(episode)
        })
        .collect()
}

/// How the validation images are chosen, for the progress output.
fn split_note(data: &ImageSet, val_fraction: f64) -> String {
    match data.groups() {
        Some(groups) => format!(
            "validation: {:.0}% of the images, whole episodes held out ({} episodes; crops of one episode never straddle the split)",
            val_fraction * 100.0,
            groups.iter().collect::<std::collections::BTreeSet<_>>().len()
        ),
        None => format!("validation: {:.0}% of each class, drawn per image", val_fraction * 100.0),
    }
}

fn run_report(args: &ReportArgs) -> anyhow::Result<()> {
    let config = load_config(&args.options)?;
    let mut request = spec_request(&config);
    let open_named = |spec: &str, flag: &str, request: &mut SpecRequest| -> anyhow::Result<NamedSet> {
        let (name, dirs) = parse_named(spec, flag)?;
        let mut sets = Vec::new();
        for dir in &dirs {
            let set = open_grouped(dir, request)?;
            // Every later set is converted to the first one's spec.
            *request = SpecRequest::exactly(set.spec());
            sets.push(set);
        }
        let set = ImageSet::concat(&sets.iter().collect::<Vec<_>>())?;
        Ok(NamedSet { name, set })
    };
    for (flag, specs) in [("train", &args.trains), ("test", &args.tests)] {
        let names = specs.iter().map(|s| parse_named(s, flag).map(|(n, _)| n)).collect::<anyhow::Result<Vec<_>>>()?;
        if let Some((_, dup)) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
            bail!("--{flag} name '{dup}' is given twice");
        }
    }
    let trains = args.trains.iter().map(|s| open_named(s, "train", &mut request)).collect::<anyhow::Result<Vec<_>>>()?;
    let tests = args.tests.iter().map(|s| open_named(s, "test", &mut request)).collect::<anyhow::Result<Vec<_>>>()?;
    let quiet = args.options.quiet;
    let report = transfer(&config, &trains, &tests, &crate::nn::device("cpu")?, &args.out, &mut |name, set, run_dir| {
        if !quiet {
            eprintln!("training on '{name}': {} images as {} → {}", set.len(), set.spec(), run_dir.display());
            eprintln!("{}", split_note(set, config.val_fraction));
        }
        // A report is rerun from scratch: its run directories are its own.
        if run_dir.join("last").exists() {
            std::fs::remove_dir_all(run_dir).map_err(crate::classify::ClassifyError::io(run_dir))?;
        }
        train_with_progress(&config, set, run_dir, false, quiet)
    })?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", report.to_markdown())?;
    writeln!(out, "report: {}", args.out.join("report.md").display())?;
    Ok(())
}
