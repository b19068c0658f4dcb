//! What the scene generators share: the run's options, training or loading the VAE, a
//! fresh scenes folder, the tally of the samples (invalid ones by reason, a scene file
//! written, loaded and stepped for each valid one) and the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::Device;
use serde::Serialize;

use super::{Result, SceneGenError};
use crate::data::ImageSet;
use crate::env::{Env, EnvError, MakeOptions};
use crate::generative::train::{Callbacks, EpochStats, GenMeta, Trainer, load};
use crate::generative::{GenConfig, GenModel};

/// The options of a scene-generation run.
#[derive(Clone, Debug)]
pub struct SceneGenConfig {
    /// Training examples, drawn from the scenes' own generators.
    pub train: usize,
    /// VAE epochs.
    pub epochs: usize,
    /// Examples sampled from the trained VAE.
    pub samples: usize,
    /// Seed of the training examples, the weights and the samples.
    pub seed: u64,
    /// Output folder: `model/`, `scenes/*.toml`, `report.json`.
    pub out: PathBuf,
    /// Latent temperature of the samples (1 draws from the prior).
    pub temperature: f64,
    /// Sample again from the VAE already in `out/model` instead of training one.
    pub resample: bool,
    /// Where the VAE trains.
    pub device: Device,
}

impl SceneGenConfig {
    /// Refuses options that make no run.
    pub fn validate(&self) -> Result<()> {
        if self.train < 10 || self.samples == 0 {
            return Err(SceneGenError::Option("--train must be at least 10 and --samples at least 1".into()));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(SceneGenError::Option(format!("--temperature must be a positive number, got {}", self.temperature)));
        }
        Ok(())
    }
}

/// Trains the scene VAE on `data` into `out/model` (or, with `resample`, loads the one
/// there) and returns it; `log` hears what is being trained.
pub(super) fn train_or_load(
    c: &SceneGenConfig,
    data: &ImageSet,
    what: &'static str,
    log: &mut dyn FnMut(&str),
) -> Result<(Trainer, GenMeta)> {
    let config = GenConfig {
        image_size: data.spec().height,
        latent: 16,
        width: 16,
        epochs: c.epochs,
        seed: c.seed,
        ..GenConfig::for_model(GenModel::Vae)
    };
    let model_dir = c.out.join("model");
    if !c.resample && model_dir.join("checkpoint").exists() {
        return Err(SceneGenError::ModelExists { dir: c.out.clone(), what });
    }
    if !c.resample {
        log(&format!("{} training {what}s; training a VAE for {} epochs → {}", data.len(), c.epochs, model_dir.display()));
        let mut on_batch = |_: usize, _: usize, _: usize| {};
        let mut on_epoch = |_: &EpochStats| std::ops::ControlFlow::Continue(());
        crate::generative::train::train(
            &config,
            data,
            &c.device,
            &model_dir,
            false,
            Callbacks { on_batch: &mut on_batch, on_epoch: &mut on_epoch },
        )?;
    }
    let (trainer, meta, _) = load(&model_dir, &c.device)?;
    Ok((trainer, meta))
}

/// `out/scenes`, emptied, with the previous run's `report.json` removed first, so that
/// a run stopped half-way never leaves a report listing scenes that are gone.
fn fresh_scenes_dir(out: &Path) -> Result<PathBuf> {
    let report = out.join("report.json");
    if report.exists() {
        std::fs::remove_file(&report).map_err(SceneGenError::io(&report))?;
    }
    let dir = out.join("scenes");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(SceneGenError::io(&dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(SceneGenError::io(&dir))?;
    Ok(dir)
}

/// The samples' verdicts as they are written: reasons for the invalid ones, and a scene
/// file (loaded and stepped) for each valid one.
pub(super) struct Tally {
    /// `out/scenes`, emptied.
    dir: PathBuf,
    /// File stem and model name: `layout` or `traffic`.
    stem: &'static str,
    /// What a sample is, for the scene files' first line ("Floor plan", "Traffic").
    kind: &'static str,
    /// How a scene file says its sample repeats a training example.
    repeat: &'static str,
    seed: u64,
    reasons: BTreeMap<String, usize>,
    valid: usize,
    novel: usize,
    repaired: (usize, usize),
    scenes: Vec<PathBuf>,
}

impl Tally {
    /// A tally writing into `out/scenes` (emptied).
    pub(super) fn new(out: &Path, stem: &'static str, kind: &'static str, repeat: &'static str, seed: u64) -> Result<Self> {
        let dir = fresh_scenes_dir(out)?;
        Ok(Tally { dir, stem, kind, repeat, seed, reasons: BTreeMap::new(), valid: 0, novel: 0, repaired: (0, 0), scenes: Vec::new() })
    }

    /// Counts a sample the decoding repaired (layouts: a goal put in), and whether it
    /// came out valid; call before [`Tally::write`] or [`Tally::invalid`].
    pub(super) fn repaired(&mut self, valid: bool) {
        self.repaired.0 += 1;
        self.repaired.1 += usize::from(valid);
    }

    /// Counts an invalid sample under `why`.
    pub(super) fn invalid(&mut self, why: String) {
        *self.reasons.entry(why).or_default() += 1;
    }

    /// Counts valid sample `k` and writes the scene `text` makes from a note naming it,
    /// as `<stem>-<k>.toml`, then loads and steps it; returns the path and the text.
    pub(super) fn write(&mut self, k: usize, is_new: bool, text: impl FnOnce(&str) -> String) -> Result<(PathBuf, String)> {
        self.valid += 1;
        self.novel += usize::from(is_new);
        let note = format!(
            "{} sampled from the {} VAE (sample {k}, seed {}); {}",
            self.kind,
            self.stem,
            self.seed,
            if is_new { "not in the training set" } else { self.repeat }
        );
        let path = self.dir.join(format!("{}-{k:03}.toml", self.stem));
        let text = text(&note);
        write_and_step(&path, &text, k)?;
        self.scenes.push(path.clone());
        Ok((path, text))
    }

    /// The report, with what only the caller knows, written to `out/report.json`.
    pub(super) fn report(
        self,
        out: &Path,
        (training_examples, distinct_training_examples): (usize, usize),
        meta: &GenMeta,
        samples: usize,
        traffic: Option<TrafficStats>,
    ) -> Result<SceneGenReport> {
        let report = SceneGenReport {
            training_examples,
            distinct_training_examples,
            epochs: meta.epoch,
            final_heldout_elbo: meta.last.as_ref().and_then(|e| e.heldout_elbo),
            samples,
            valid: self.valid,
            valid_without_repair: self.valid - self.repaired.1,
            repaired: self.repaired.0,
            valid_novel: self.novel,
            invalid_reasons: self.reasons,
            traffic,
            scenes_dir: self.dir,
            scenes: self.scenes,
        };
        let path = out.join("report.json");
        let json = serde_json::to_string_pretty(&report).map_err(|e| SceneGenError::io(&path)(std::io::Error::other(e)))?;
        crate::util::fs::write_atomic(&path, json.as_bytes(), true).map_err(SceneGenError::io(&path))?;
        Ok(report)
    }
}

/// What `gen layouts` and `gen traffic` report (and write as `report.json`).
#[derive(Debug, Serialize)]
pub struct SceneGenReport {
    /// Training examples drawn.
    pub training_examples: usize,
    /// Distinct ones among them.
    pub distinct_training_examples: usize,
    /// VAE epochs trained.
    pub epochs: usize,
    /// Held-out ELBO after the last epoch.
    pub final_heldout_elbo: Option<f64>,
    /// Samples drawn.
    pub samples: usize,
    /// Samples that passed the checks (each written, loaded and stepped).
    pub valid: usize,
    /// Valid samples the decoding did not repair: the validity of the model's own
    /// output (layouts: samples with no goal above the threshold count as invalid here).
    pub valid_without_repair: usize,
    /// Samples the decoding repaired (layouts: the likeliest goal cell made a goal).
    pub repaired: usize,
    /// Valid samples not in the training set.
    pub valid_novel: usize,
    /// Invalid samples by reason.
    pub invalid_reasons: BTreeMap<String, usize>,
    /// Traffic only: how the valid samples compare with the training configurations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficStats>,
    /// Where the scene files are.
    #[serde(skip)]
    pub scenes_dir: PathBuf,
    /// The scene files written.
    pub scenes: Vec<PathBuf>,
}

/// Traffic samples beside the training configurations, and how they drive.
#[derive(Debug, Serialize)]
pub struct TrafficStats {
    /// Valid scenes the scripted highway driver got through for 10 s without a crash.
    pub driven_without_crash: usize,
    /// The same for as many training configurations (the first ones), written as
    /// scenes the same way: the rate the samples are to be compared with.
    pub training_driven: usize,
    /// Of those, the ones driven without a crash.
    pub training_driven_without_crash: usize,
    /// Mean cars in a training window.
    pub mean_cars_training: f64,
    /// Mean cars in a valid sample.
    pub mean_cars_valid: f64,
    /// Mean lanes of the training configurations.
    pub mean_lanes_training: f64,
    /// Mean lanes of the valid samples.
    pub mean_lanes_valid: f64,
}

/// The mean of `values` (NaN for none).
pub(super) fn mean(values: impl Iterator<Item = usize>) -> f64 {
    let (sum, n) = values.fold((0usize, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum as f64 / n as f64 }
}

/// Writes `text` to `path` and steps the scene it describes for 20 random actions.
fn write_and_step(path: &Path, text: &str, k: usize) -> Result<Box<dyn Env>> {
    crate::util::fs::write_atomic(path, text.as_bytes(), false).map_err(SceneGenError::io(path))?;
    step_scene(path, k).map_err(|source| SceneGenError::Scene { path: path.to_owned(), source })
}

/// Loads the scene file at `path` and steps it for 20 random actions drawn from seed `k`.
fn step_scene(path: &Path, k: usize) -> std::result::Result<Box<dyn Env>, EnvError> {
    let mut env = crate::scenes::make_env(&path.to_string_lossy(), &MakeOptions::default())?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(k as u64), None, &mut obs)?;
    let space = env.action_space().clone();
    let mut action_rng = crate::util::seed::rng_from_seed(k as u64);
    for _ in 0..20 {
        let action = space.sample(&mut action_rng);
        let action = action.as_action().ok_or_else(|| EnvError::InvalidConfig {
            what: "action space".into(),
            reason: "a Dict action space cannot be stepped".into(),
        })?;
        let out = env.step(action, &mut obs)?;
        if out.terminated || out.truncated {
            env.reset(None, None, &mut obs)?;
        }
    }
    Ok(env)
}
