//! Training: batches of an ImageFolder dataset, Adam on each network, a sample grid
//! and a checkpoint after every epoch, `metrics.csv` and TensorBoard scalars.
//!
//! Every random draw of epoch `e` (batch order, latent codes, reparameterisation noise)
//! comes from a generator seeded with `(seed, e)`, so a run resumed from its
//! checkpoint draws what the uninterrupted run would have.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::config::{GenConfig, GenModel};
use super::model::{GenNet, StepLosses};
use super::{GenError, Result};
use crate::data::{ImageSet, ImageSpec, Normalize, make_batch};
use crate::nn::checkpoint::{read_tensors, write_dir};
use crate::nn::{Adam, AdamConfig, Pass};
use crate::util::metrics::MetricsWriter;
use crate::util::seed::{derive, rng_from_seed};

/// Version of `gen.json` this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What `gen.json` holds beside the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenMeta {
    /// Layout version.
    pub format_version: u32,
    /// The training config.
    pub config: GenConfig,
    /// Image shape.
    pub spec: ImageSpec,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps of the generator (VAE: of the whole model).
    pub gen_steps: u64,
    /// Optimiser steps of the discriminator (0 for the VAE).
    pub disc_steps: u64,
    /// The last epoch's statistics.
    pub last: Option<EpochStats>,
}

/// One epoch's averages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// GAN: discriminator loss. VAE: reconstruction, nats per image.
    pub loss_a: f64,
    /// GAN: generator loss. VAE: KL divergence, nats per image.
    pub loss_b: f64,
    /// VAE: evidence lower bound on the held-out images, nats per image (none for GANs).
    pub heldout_elbo: Option<f64>,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// Progress reports.
pub struct Callbacks<'a> {
    /// `(epoch, batches done, batches in the epoch)` after each batch.
    pub on_batch: &'a mut dyn FnMut(usize, usize, usize),
    /// After each epoch (checkpoint written); `Break` stops there.
    pub on_epoch: &'a mut dyn FnMut(&EpochStats) -> ControlFlow<()>,
}

/// The pixel scaling of each model: GANs see [-1, 1], the VAE [0, 1].
pub fn scaling(model: GenModel, channels: usize) -> Normalize {
    match model {
        GenModel::Gan => Normalize { mean: vec![0.5; channels], std: vec![0.5; channels] },
        GenModel::Vae => Normalize { mean: vec![0.0; channels], std: vec![1.0; channels] },
    }
}

/// `B × H × W × C` floats of `set`'s images at `indices`, scaled by `normalize` (no augmentation).
fn batch(set: &ImageSet, indices: &[usize], normalize: &Normalize, device: &Device) -> Result<Tensor> {
    Ok(make_batch::<rand_chacha::ChaCha8Rng>(set, indices, normalize, None, device)?)
}

/// A model with its optimisers.
pub struct Trainer {
    /// The model.
    pub net: GenNet,
    gen_adam: Adam,
    disc_adam: Option<Adam>,
    normalize: Normalize,
}

impl Trainer {
    /// A trainer for a fresh `net`.
    pub fn new(net: GenNet) -> Result<Trainer> {
        let adam = AdamConfig { beta1: net.config.beta1, beta2: 0.999, eps: 1e-8 };
        let gen_adam = Adam::new(&net.gen_params, adam)?;
        let disc_adam = match net.config.model {
            GenModel::Gan => Some(Adam::new(&net.disc_params, adam)?),
            GenModel::Vae => None,
        };
        let normalize = scaling(net.config.model, net.spec.channels);
        Ok(Trainer { net, gen_adam, disc_adam, normalize })
    }

    /// One optimiser step on images `indices` of `set`.
    pub fn step<R: rand::Rng>(&mut self, set: &ImageSet, indices: &[usize], rng: &mut R) -> Result<StepLosses> {
        let device = self.net.gen_params.device().clone();
        let x = batch(set, indices, &self.normalize, &device)?;
        let labels: Vec<u32> = indices.iter().map(|&i| set.labels()[i]).collect();
        let lr = self.net.config.lr;
        match self.net.config.model {
            GenModel::Vae => {
                let mut noise = rng_from_seed(rng.random());
                let (recon, kl) = self.net.vae_terms(&x, &labels, &Pass::Train(&mut noise), rng)?;
                let loss = (&recon + kl.affine(self.net.config.beta, 0.0)?)?;
                self.gen_adam.clip_and_step(&loss.backward()?, lr, None)?;
                Ok(StepLosses { a: f64::from(recon.to_scalar::<f32>()?), b: f64::from(kl.to_scalar::<f32>()?) })
            }
            GenModel::Gan => {
                let y = Tensor::new(labels.as_slice(), &device)?;
                let mut noise = rng_from_seed(rng.random());
                let fake = self.net.generate_signed(&labels, &Pass::Train(&mut noise), rng)?;
                let d_loss = self.net.disc_loss(&x, &fake.detach(), &y)?;
                let disc_adam = self.disc_adam.as_mut().ok_or_else(|| GenError::config("model", "a GAN without a discriminator"))?;
                disc_adam.clip_and_step(&d_loss.backward()?, lr, None)?;
                let fake = self.net.generate_signed(&labels, &Pass::Train(&mut noise), rng)?;
                let g_loss = self.net.gen_loss(&fake, &y)?;
                self.gen_adam.clip_and_step(&g_loss.backward()?, lr, None)?;
                Ok(StepLosses { a: f64::from(d_loss.to_scalar::<f32>()?), b: f64::from(g_loss.to_scalar::<f32>()?) })
            }
        }
    }

    /// The VAE's ELBO (nats per image, β = 1) on `indices` of `set`, one latent draw each.
    pub fn elbo(&self, set: &ImageSet, indices: &[usize], seed: u64) -> Result<f64> {
        let device = self.net.gen_params.device().clone();
        let mut rng = rng_from_seed(seed);
        let mut total = 0.0;
        for chunk in indices.chunks(256) {
            let x = batch(set, chunk, &self.normalize, &device)?;
            let labels: Vec<u32> = chunk.iter().map(|&i| set.labels()[i]).collect();
            let (recon, kl) = self.net.vae_terms(&x, &labels, &Pass::Eval, &mut rng)?;
            total -= f64::from((recon + kl)?.to_scalar::<f32>()?) * chunk.len() as f64;
        }
        Ok(total / indices.len().max(1) as f64)
    }

    fn tensors(&self) -> HashMap<String, Tensor> {
        let mut t = self.net.tensors();
        t.extend(self.gen_adam.tensors());
        if let Some(d) = &self.disc_adam {
            t.extend(d.tensors());
        }
        t
    }
}

/// Writes `trainer` with `meta` to `dir` (`model.safetensors`, `gen.json`), atomically.
pub fn save(dir: &Path, trainer: &Trainer, meta: &GenMeta) -> Result<()> {
    let json = serde_json::to_string_pretty(meta).map_err(|e| GenError::config("meta", e.to_string()))?;
    Ok(write_dir(dir, &trainer.tensors(), &[("gen.json", &json)])?)
}

/// The checkpoint directory of `path`: a checkpoint, or a run holding `checkpoint/`.
pub fn resolve(path: &Path) -> PathBuf {
    crate::nn::checkpoint::resolve(path, "gen.json", "checkpoint")
}

/// Reads `gen.json` of the checkpoint at `path` (see [`resolve`]).
pub fn read_meta(path: &Path) -> Result<(PathBuf, GenMeta)> {
    let dir = resolve(path);
    let bad = |reason: String| GenError::checkpoint(&dir, reason);
    let meta_path = dir.join("gen.json");
    let text = std::fs::read_to_string(&meta_path)
        .map_err(|e| bad(format!("no readable gen.json ({e}); pass a `gen train` run directory or its checkpoint/")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("gen.json: {e}")))?;
    match value.get("format_version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => return Err(bad(format!("gen.json has format_version {v}; this build reads {FORMAT_VERSION}"))),
        None => return Err(bad("gen.json has no format_version".into())),
    }
    let meta: GenMeta = serde_json::from_value(value).map_err(|e| bad(format!("gen.json: {e}")))?;
    meta.config.validate().map_err(|e| bad(format!("gen.json: {e}")))?;
    if meta.classes.is_empty() || meta.spec.height != meta.config.image_size || meta.spec.width != meta.config.image_size {
        return Err(bad("gen.json: classes or image size do not fit the config".into()));
    }
    Ok((dir, meta))
}

/// A trained model read from a checkpoint (see [`resolve`]), with its optimiser state.
pub fn load(path: &Path, device: &Device) -> Result<(Trainer, GenMeta, PathBuf)> {
    let (dir, meta) = read_meta(path)?;
    let bad = |reason: String| GenError::checkpoint(&dir, reason);
    let tensors = read_tensors(&dir, device)?;
    let net = GenNet::new(&meta.config, meta.spec, meta.classes.len(), device, &mut rng_from_seed(0))?;
    net.load(&tensors).map_err(|e| bad(format!("model.safetensors: {e}")))?;
    let mut trainer = Trainer::new(net)?;
    trainer.gen_adam.load(&tensors, meta.gen_steps).map_err(|e| bad(format!("model.safetensors: {e}")))?;
    if let Some(d) = trainer.disc_adam.as_mut() {
        d.load(&tensors, meta.disc_steps).map_err(|e| bad(format!("model.safetensors: {e}")))?;
    }
    Ok((trainer, meta, dir))
}

/// Samples per class in each epoch's grid.
const GRID_COLUMNS: usize = 8;

/// A grid of samples, one row per class (at most 16), the same latent code down each
/// column, as 8-bit RGB with 2-pixel gaps. Returns `(width, height, pixels)`.
pub fn sample_grid(net: &GenNet, seed: u64) -> Result<(usize, usize, Vec<u8>)> {
    let rows = net.classes.min(16);
    let device = net.gen_params.device().clone();
    let z = super::nets::normal(GRID_COLUMNS, net.config.latent, &mut rng_from_seed(seed), &device)?;
    let z = z.repeat((rows, 1))?;
    let labels: Vec<u32> = (0..rows as u32).flat_map(|r| std::iter::repeat_n(r, GRID_COLUMNS)).collect();
    let images = net.decode(&z, &labels, &Pass::Eval)?;
    Ok(tile(&images.flatten_all()?.to_vec1::<f32>()?, net.spec, GRID_COLUMNS))
}

/// Lays images (`H × W × C` floats in [0, 1], one after another) out in rows of `cols`,
/// as 8-bit RGB with 2-pixel white gaps. Returns `(width, height, pixels)`.
fn tile(images: &[f32], spec: ImageSpec, cols: usize) -> (usize, usize, Vec<u8>) {
    let (s, c, gap) = (spec.height, spec.channels, 2);
    let count = images.len() / spec.len().max(1);
    let rows = count.div_ceil(cols.max(1));
    let (w, h) = (cols * (s + gap) + gap, rows * (s + gap) + gap);
    let mut out = vec![255u8; w * h * 3];
    for (n, image) in images.chunks_exact(spec.len()).enumerate() {
        let (row, col) = (n / cols, n % cols);
        for y in 0..s {
            for x in 0..s {
                let src = &image[(y * s + x) * c..(y * s + x + 1) * c];
                let dst = ((row * (s + gap) + gap + y) * w + col * (s + gap) + gap + x) * 3;
                for k in 0..3 {
                    out[dst + k] = (src[if c == 3 { k } else { 0 }].clamp(0.0, 1.0) * 255.0).round() as u8;
                }
            }
        }
    }
    (w, h, out)
}

/// Real images of `set` at `indices` (top row) over their VAE reconstructions (bottom
/// row, decoded from the posterior mean), as 8-bit RGB with 2-pixel gaps. Returns
/// `(width, height, pixels)`.
pub fn reconstruction_grid(trainer: &Trainer, set: &ImageSet, indices: &[usize]) -> Result<(usize, usize, Vec<u8>)> {
    let net = &trainer.net;
    let device = net.gen_params.device().clone();
    let x = batch(set, indices, &trainer.normalize, &device)?;
    let labels: Vec<u32> = indices.iter().map(|&i| set.labels()[i]).collect();
    let recon = net.reconstruct(&x, &labels)?;
    let both = Tensor::cat(&[&x, &recon], 0)?;
    Ok(tile(&both.flatten_all()?.to_vec1::<f32>()?, net.spec, indices.len()))
}

/// What a finished (or stopped) run leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutcome {
    /// The checkpoint directory.
    pub checkpoint: PathBuf,
    /// Every epoch run in this call.
    pub epochs: Vec<EpochStats>,
}

/// Trains `config`'s model on `data` in `run_dir`; with `resume`, continues its checkpoint.
pub fn train(
    config: &GenConfig,
    data: &ImageSet,
    device: &Device,
    run_dir: &Path,
    resume: bool,
    callbacks: Callbacks,
) -> Result<TrainOutcome> {
    config.validate()?;
    let spec = data.spec();
    if spec.height != config.image_size || spec.width != config.image_size {
        return Err(GenError::config(
            "image_size",
            format!("the data is {}x{}, the model makes {}x{}", spec.width, spec.height, config.image_size, config.image_size),
        ));
    }
    let checkpoint = run_dir.join("checkpoint");
    let (mut trainer, mut meta) = if resume {
        let (trainer, meta, _) = load(&checkpoint, device)?;
        if meta.classes != data.classes() || meta.spec != spec {
            return Err(GenError::checkpoint(checkpoint, "the data's classes or image shape differ from the run's"));
        }
        let mut meta = meta;
        meta.config.epochs = config.epochs;
        (trainer, meta)
    } else {
        if checkpoint.exists() {
            return Err(GenError::config(
                "out",
                format!("{} already holds a run; pass --resume to continue it or choose another --out", run_dir.display()),
            ));
        }
        let net = GenNet::new(config, spec, data.classes().len(), device, &mut rng_from_seed(derive(config.seed, 0, 0)))?;
        let meta = GenMeta {
            format_version: FORMAT_VERSION,
            config: config.clone(),
            spec,
            classes: data.classes().to_vec(),
            epoch: 0,
            gen_steps: 0,
            disc_steps: 0,
            last: None,
        };
        (Trainer::new(net)?, meta)
    };
    std::fs::create_dir_all(run_dir.join("samples")).map_err(GenError::io(run_dir))?;
    let seed = meta.config.seed;
    let (train_idx, held_idx) = match meta.config.model {
        GenModel::Vae if meta.config.holdout > 0.0 => data.stratified_split(meta.config.holdout, derive(seed, 1, 0)),
        _ => ((0..data.len()).collect(), Vec::new()),
    };
    let columns = ["epoch", "loss_a", "loss_b", "heldout_elbo", "seconds"];
    let mut metrics = MetricsWriter::create(run_dir, &columns, resume.then_some(meta.gen_steps)).map_err(GenError::io(run_dir))?;
    let batch_size = meta.config.batch_size.min(train_idx.len());
    if batch_size < 2 {
        return Err(GenError::config("batch_size", "the training set has fewer than two images"));
    }
    let batches = train_idx.len() / batch_size;
    let mut done = Vec::new();
    while meta.epoch < meta.config.epochs {
        let epoch = meta.epoch + 1;
        let started = std::time::Instant::now();
        let mut rng = rng_from_seed(derive(seed, 2, epoch as u64));
        let mut order = train_idx.clone();
        order.shuffle(&mut rng);
        let (mut sum_a, mut sum_b) = (0.0, 0.0);
        for (n, chunk) in order.chunks_exact(batch_size).enumerate() {
            let losses = trainer.step(data, chunk, &mut rng)?;
            if !(losses.a.is_finite() && losses.b.is_finite()) {
                return Err(GenError::config(
                    "lr",
                    format!("training diverged at epoch {epoch} (loss {} / {}); lower lr", losses.a, losses.b),
                ));
            }
            sum_a += losses.a;
            sum_b += losses.b;
            meta.gen_steps += 1;
            if meta.config.model == GenModel::Gan {
                meta.disc_steps += 1;
            }
            (callbacks.on_batch)(epoch, n + 1, batches);
        }
        let heldout_elbo = if held_idx.is_empty() { None } else { Some(trainer.elbo(data, &held_idx, derive(seed, 3, 0))?) };
        let stats = EpochStats {
            epoch,
            loss_a: sum_a / batches.max(1) as f64,
            loss_b: sum_b / batches.max(1) as f64,
            heldout_elbo,
            seconds: started.elapsed().as_secs_f64(),
        };
        meta.epoch = epoch;
        meta.last = Some(stats);
        let (w, h, grid) = sample_grid(&trainer.net, derive(seed, 4, 0))?;
        let grid_path = run_dir.join("samples").join(format!("epoch-{epoch:03}.png"));
        crate::data::png::write_png(&grid_path, w as u32, h as u32, crate::data::png::PngLayout::Rgb8, &grid)
            .map_err(GenError::io(&grid_path))?;
        save(&checkpoint, &trainer, &meta)?;
        let values = [
            ("epoch", epoch as f64),
            ("loss_a", stats.loss_a),
            ("loss_b", stats.loss_b),
            ("heldout_elbo", stats.heldout_elbo.unwrap_or(f64::NAN)),
            ("seconds", stats.seconds),
        ];
        metrics.log(meta.gen_steps, &values).and_then(|()| metrics.flush()).map_err(GenError::io(run_dir))?;
        done.push(stats);
        if (callbacks.on_epoch)(&stats).is_break() {
            break;
        }
    }
    Ok(TrainOutcome { checkpoint, epochs: done })
}
