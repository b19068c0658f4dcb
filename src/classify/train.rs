//! Training a classifier: a seeded stratified validation split, minibatch Adam with a
//! cosine learning-rate decay, augmentation, early stopping on validation accuracy,
//! and checkpoints of the best and the last epoch.
//!
//! A run directory holds `best/` and `last/` (see [`super::checkpoint`]), `config.toml`
//! and `metrics.csv` (one row per epoch, with a TensorBoard event file beside it).
//! Each epoch draws its batch order, augmentation and dropout from its own generator,
//! seeded by (seed, epoch), so a resumed run continues exactly as the uninterrupted
//! one would have.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;

use super::checkpoint::{self, ClassifierMeta, FORMAT_VERSION, Loaded};
use super::model::predict;
use super::{Classifier, ClassifyConfig, ClassifyError, Result};
use crate::data::{ImageSet, Normalize, make_batch};
use crate::nn::{Adam, AdamConfig, Pass, argmax};
use crate::util::metrics::MetricsWriter;
use crate::util::seed::{derive, rng_from_seed};

/// Seed streams of a run (see [`derive`]).
const STREAM_INIT: u64 = 0;
const STREAM_SPLIT: u64 = 1;
const STREAM_EPOCH: u64 = 2;

/// What one epoch did.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// Epochs completed (1-based).
    pub epoch: usize,
    /// Most epochs the run will take.
    pub epochs: usize,
    /// Mean training loss (on augmented images).
    pub train_loss: f64,
    /// Training accuracy (on augmented images, with dropout).
    pub train_accuracy: f64,
    /// Validation loss and accuracy, when a split is held out.
    pub val: Option<(f64, f64)>,
    /// Learning rate at the end of the epoch.
    pub learning_rate: f64,
    /// Seconds of training (validation excluded).
    pub train_seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
    /// Whether this epoch became the best checkpoint.
    pub improved: bool,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutcome {
    /// Epochs completed in total (resumed runs included).
    pub epochs_run: usize,
    /// The epoch of the best checkpoint.
    pub best_epoch: usize,
    /// Its validation accuracy, when a split was held out.
    pub best_val_accuracy: Option<f64>,
    /// Whether patience ran out before `epochs`.
    pub stopped_early: bool,
    /// Mean training seconds per epoch in this session.
    pub mean_epoch_seconds: f64,
    /// The best checkpoint's directory.
    pub best: PathBuf,
    /// The epochs of this session.
    pub history: Vec<EpochStats>,
}

/// Progress callbacks: after every batch and every epoch.
pub struct Callbacks<'a> {
    /// Called after each training batch with (epoch being trained, 1-based; batches
    /// done in it; batches per epoch).
    pub on_batch: &'a mut dyn FnMut(usize, usize, usize),
    /// Called after each epoch, once its checkpoints are written; `Break` ends the run
    /// there (it can be resumed later).
    pub on_epoch: &'a mut dyn FnMut(&EpochStats) -> ControlFlow<()>,
}

/// Learning rate at optimiser step `step` of `total`: cosine decay from `peak` to 0.
fn cosine_lr(peak: f64, step: u64, total: u64) -> f64 {
    let t = step as f64 / total.max(1) as f64;
    0.5 * peak * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
}

/// Trains a classifier on `data` in `run_dir`. With `resume`, continues the run's
/// `last/` checkpoint; otherwise `run_dir` must not hold a run already.
pub fn train(
    config: &ClassifyConfig,
    data: &ImageSet,
    device: &Device,
    run_dir: &Path,
    resume: bool,
    callbacks: Callbacks,
) -> Result<TrainOutcome> {
    config.validate()?;
    let (last_dir, best_dir) = (run_dir.join("last"), run_dir.join("best"));
    if !resume && last_dir.exists() {
        return Err(ClassifyError::checkpoint(
            run_dir,
            "already holds a classifier run; pass --resume to continue it, or another output directory",
        ));
    }
    let (train_idx, val_idx) = data.stratified_split(config.val_fraction, derive(config.seed, STREAM_SPLIT, 0));
    if train_idx.len() < 2 {
        return Err(ClassifyError::config(
            "val_fraction",
            format!("leaves {} training images; the set has {}", train_idx.len(), data.len()),
        ));
    }
    let model;
    let normalize;
    // Adam moments to restore on resume, with the step count.
    let mut moments = None;
    let mut start_epoch = 0;
    // The best epoch so far: (epoch, validation accuracy, validation loss).
    let mut best: Option<(usize, Option<f64>, f64)> = None;
    if resume {
        let _ = crate::util::fs::recover_dir(&last_dir);
        if !last_dir.join("classifier.json").exists() {
            return Err(ClassifyError::checkpoint(run_dir, "has no last/ checkpoint to resume"));
        }
        let Loaded { model: m, meta, tensors, .. } = checkpoint::load(&last_dir, device)?;
        // Only the length of the run may change on resume.
        let same_config = ClassifyConfig { epochs: config.epochs, patience: config.patience, ..meta.config.clone() } == *config;
        if meta.classes != data.classes() || meta.spec != data.spec() || !same_config {
            return Err(ClassifyError::checkpoint(
                last_dir,
                "was trained with other classes, image spec or config (only epochs and patience may change on resume)",
            ));
        }
        model = m;
        moments = Some((tensors, meta.optimizer_steps));
        normalize = meta.normalize;
        start_epoch = meta.epoch;
        if best_dir.exists() {
            let (_, b) = checkpoint::read_meta(&best_dir)?;
            best = Some((b.epoch, b.val_accuracy, b.val_loss.unwrap_or(f64::INFINITY)));
        }
    } else {
        let mut rng = rng_from_seed(derive(config.seed, STREAM_INIT, 0));
        model = Classifier::new(config.model, data.spec(), data.classes().len(), config.width, config.dropout, device, &mut rng)?;
        let (mean, std) = data.channel_stats(&train_idx);
        normalize = Normalize { mean, std };
    }
    let mut adam = Adam::new(model.params(), AdamConfig { eps: 1e-8, ..AdamConfig::default() })?;
    if let Some((tensors, steps)) = moments {
        adam.load(&tensors, steps).map_err(|reason| ClassifyError::checkpoint(&last_dir, reason))?;
    }
    // Rewritten on resume too, which may have changed the number of epochs.
    let config_path = run_dir.join("config.toml");
    crate::util::fs::write_atomic(&config_path, config.to_toml()?.as_bytes(), false).map_err(ClassifyError::io(&config_path))?;
    let columns = ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "images_per_second"];
    let mut metrics = MetricsWriter::create(run_dir, &columns, resume.then_some(start_epoch as u64)).map_err(ClassifyError::io(run_dir))?;
    // A last batch of one image is skipped (batch norm needs two), so it is not a step.
    let steps_per_epoch = (train_idx.len() / config.batch_size + usize::from(train_idx.len() % config.batch_size >= 2)) as u64;
    let total_steps = steps_per_epoch * config.epochs as u64;
    let meta_at = |epoch, val: Option<(f64, f64)>, steps| ClassifierMeta {
        format_version: FORMAT_VERSION,
        config: config.clone(),
        spec: data.spec(),
        classes: data.classes().to_vec(),
        normalize: normalize.clone(),
        epoch,
        val_accuracy: val.map(|v| v.1),
        val_loss: val.map(|v| v.0),
        optimizer_steps: steps,
    };
    let patience_left = |epoch: usize, best: Option<(usize, Option<f64>, f64)>| match best {
        Some((b, ..)) if config.patience > 0 && !val_idx.is_empty() => epoch.saturating_sub(b) < config.patience,
        _ => true,
    };
    let mut history = Vec::new();
    let mut epoch = start_epoch;
    while epoch < config.epochs && patience_left(epoch, best) {
        let started = Instant::now();
        let mut rng = rng_from_seed(derive(config.seed, STREAM_EPOCH, epoch as u64));
        let mut order = train_idx.clone();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        let mut lr = config.learning_rate;
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            // A batch of one has no batch statistics to normalise with.
            if chunk.len() < 2 {
                continue;
            }
            let x = make_batch(data, chunk, &normalize, Some((&config.augment, &mut rng)), device)?;
            let labels: Vec<u32> = chunk.iter().map(|&i| data.labels()[i]).collect();
            let y = Tensor::new(labels.as_slice(), device)?;
            let logits = model.forward(&x, &mut Pass::Train(&mut rng))?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            lr = cosine_lr(config.learning_rate, adam.step_count(), total_steps);
            adam.clip_and_step(&loss.backward()?, lr, None)?;
            loss_sum += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
            correct += argmax(&logits)?.iter().zip(&labels).filter(|(p, t)| p == t).count();
            seen += chunk.len();
            (callbacks.on_batch)(epoch + 1, b + 1, steps_per_epoch as usize);
        }
        let train_seconds = started.elapsed().as_secs_f64();
        epoch += 1;
        let val = if val_idx.is_empty() {
            None
        } else {
            let (predicted, loss) = predict(&model, &normalize, data, &val_idx)?;
            let right = predicted.iter().zip(&val_idx).filter(|&(p, &i)| *p == data.labels()[i]).count();
            Some((loss, right as f64 / val_idx.len() as f64))
        };
        // Better accuracy, or equal accuracy with lower loss: a small validation set
        // saturates at 100% early, and the loss still tells the later epochs apart.
        let improved = match (best, val) {
            (Some((_, Some(best_acc), best_loss)), Some((loss, acc))) => acc > best_acc || (acc == best_acc && loss < best_loss),
            _ => true,
        };
        let meta = meta_at(epoch, val, adam.step_count());
        // Best first: a crash between the two saves then replays this epoch on resume
        // (deterministically, as a tie, so not as a new best) instead of losing it.
        if improved {
            checkpoint::save(&best_dir, &model, None, &meta)?;
            best = Some((epoch, val.map(|v| v.1), val.map_or(f64::INFINITY, |v| v.0)));
        }
        checkpoint::save(&last_dir, &model, Some(&adam), &meta)?;
        let stats = EpochStats {
            epoch,
            epochs: config.epochs,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: correct as f64 / seen.max(1) as f64,
            val,
            learning_rate: lr,
            train_seconds,
            images_per_second: seen as f64 / train_seconds.max(1e-9),
            improved,
        };
        let mut row = vec![
            ("train_loss", stats.train_loss),
            ("train_accuracy", stats.train_accuracy),
            ("learning_rate", lr),
            ("images_per_second", stats.images_per_second),
        ];
        if let Some((l, a)) = val {
            row.extend([("val_loss", l), ("val_accuracy", a)]);
        }
        metrics.log(epoch as u64, &row).map_err(ClassifyError::io(metrics.csv_path()))?;
        metrics.flush().map_err(ClassifyError::io(run_dir))?;
        let flow = (callbacks.on_epoch)(&stats);
        history.push(stats);
        if flow.is_break() {
            break;
        }
    }
    let (best_epoch, best_val_accuracy, _) = best.unwrap_or((epoch, None, f64::INFINITY));
    let mean_epoch_seconds = history.iter().map(|s| s.train_seconds).sum::<f64>() / history.len().max(1) as f64;
    Ok(TrainOutcome {
        epochs_run: epoch,
        best_epoch,
        best_val_accuracy,
        stopped_early: epoch < config.epochs && !patience_left(epoch, best),
        mean_epoch_seconds,
        best: best_dir,
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_starts_at_peak_and_ends_at_zero() {
        assert!((cosine_lr(1.0, 0, 10) - 1.0).abs() < 1e-12);
        assert!((cosine_lr(1.0, 5, 10) - 0.5).abs() < 1e-12);
        assert!(cosine_lr(1.0, 10, 10).abs() < 1e-12);
    }
}
