//! Classifier checkpoints: a directory holding
//!
//! - `model.safetensors`: weights, batch-norm statistics and Adam moments (`adam.*`);
//! - `classifier.json`: [`ClassifierMeta`], everything needed to rebuild the model and
//!   prepare its inputs (config, input spec, class names, normalisation) plus counters.
//!
//! Written to a temporary sibling and renamed into place, so a crash never leaves a
//! half-written checkpoint under the final name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::model::predict;
use super::{Classifier, ClassifyConfig, ClassifyError, Evaluation, Result};
use crate::data::{ImageSet, ImageSpec, Normalize};
use crate::nn::Adam;
use crate::nn::checkpoint::{read_tensors, write_dir};
use crate::util::seed::rng_from_seed;

/// Version of the checkpoint layout; bumped when it changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// What a checkpoint says about its model besides the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierMeta {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The training config.
    pub config: ClassifyConfig,
    /// Input channels and size.
    pub spec: ImageSpec,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Input standardisation (from the training images).
    pub normalize: Normalize,
    /// Epochs completed when this checkpoint was written.
    pub epoch: usize,
    /// Validation accuracy after that epoch, if a validation split was held out.
    pub val_accuracy: Option<f64>,
    /// Validation loss after that epoch, if a validation split was held out.
    pub val_loss: Option<f64>,
    /// Adam steps taken.
    pub optimizer_steps: u64,
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct Loaded {
    /// Where it was read from.
    pub dir: PathBuf,
    /// The model, weights restored.
    pub model: Classifier,
    /// Its metadata.
    pub meta: ClassifierMeta,
    /// All its tensors (Adam moments included), for resuming.
    pub tensors: HashMap<String, Tensor>,
}

impl Loaded {
    /// Evaluates the model on every image of `set` (relabelled to the model's classes,
    /// whose names must include the set's).
    pub fn evaluate(&self, set: &ImageSet) -> Result<Evaluation> {
        let set = set.relabel(&self.meta.classes)?;
        let all: Vec<usize> = (0..set.len()).collect();
        let (predicted, loss) = predict(&self.model, &self.meta.normalize, &set, &all)?;
        Ok(Evaluation::new(set.classes(), set.labels(), &predicted, Some(loss)))
    }
}

/// The checkpoint directory for `path`: a checkpoint itself, or a run directory
/// holding `best/`.
pub fn resolve(path: &Path) -> PathBuf {
    crate::nn::checkpoint::resolve(path, "classifier.json", "best")
}

/// Writes `model` (and `adam`'s moments, if given) with `meta` to `dir`, atomically.
pub fn save(dir: &Path, model: &Classifier, adam: Option<&Adam>, meta: &ClassifierMeta) -> Result<()> {
    let mut tensors = model.tensors();
    if let Some(adam) = adam {
        tensors.extend(adam.tensors());
    }
    let json = serde_json::to_string_pretty(meta).map_err(|e| ClassifyError::config("meta", e.to_string()))?;
    Ok(write_dir(dir, &tensors, &[("classifier.json", &json)])?)
}

/// Reads and checks only a checkpoint's `classifier.json` (see [`resolve`]); returns the
/// checkpoint directory with it.
pub fn read_meta(path: &Path) -> Result<(PathBuf, ClassifierMeta)> {
    let dir = resolve(path);
    let bad = |reason: String| ClassifyError::checkpoint(&dir, reason);
    let meta_path = dir.join("classifier.json");
    if !meta_path.exists() {
        return Err(bad("no classifier.json here (pass a `classify train` run directory or one of its best/ or last/)".into()));
    }
    let text = std::fs::read_to_string(&meta_path).map_err(ClassifyError::io(&meta_path))?;
    let version: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("classifier.json: {e}")))?;
    match version.get("format_version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => return Err(bad(format!("classifier.json has format_version {v}; this build reads {FORMAT_VERSION}"))),
        None => return Err(bad("classifier.json has no format_version".into())),
    }
    let meta: ClassifierMeta = serde_json::from_value(version).map_err(|e| bad(format!("classifier.json: {e}")))?;
    let channels = meta.spec.channels;
    if ![1, 3].contains(&channels) || meta.normalize.mean.len() != channels || meta.normalize.std.len() != channels {
        return Err(bad(format!(
            "classifier.json: spec.channels is {channels} but normalize has {} means and {} stds",
            meta.normalize.mean.len(),
            meta.normalize.std.len()
        )));
    }
    if meta.normalize.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(bad("classifier.json: normalize.std must be positive".into()));
    }
    Ok((dir, meta))
}

/// Reads a checkpoint (see [`resolve`]) onto `device`.
pub fn load(path: &Path, device: &Device) -> Result<Loaded> {
    let (dir, meta) = read_meta(path)?;
    let bad = |reason: String| ClassifyError::checkpoint(&dir, reason);
    let tensors = read_tensors(&dir, device)?;
    let c = &meta.config;
    // Any initial weights do: the checkpoint's replace them.
    let mut rng = rng_from_seed(0);
    let model = Classifier::new(c.model, meta.spec, meta.classes.len(), c.width, c.dropout, device, &mut rng)?;
    model.load(&tensors).map_err(|r| bad(format!("model.safetensors: {r}")))?;
    Ok(Loaded { dir, model, meta, tensors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::ModelKind;

    /// A checkpoint round-trips, and damaged metadata is an error naming the file and
    /// field (never a panic later, when inputs are normalised).
    #[test]
    fn damaged_metadata_is_refused() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("synthgym-ckpt-{}", std::process::id()));
        let spec = ImageSpec { channels: 3, height: 8, width: 8 };
        let config = ClassifyConfig { model: ModelKind::Cnn, width: 4, ..ClassifyConfig::default() };
        let mut rng = rng_from_seed(0);
        let model = Classifier::new(config.model, spec, 2, config.width, config.dropout, &Device::Cpu, &mut rng)?;
        let meta = ClassifierMeta {
            format_version: FORMAT_VERSION,
            config,
            spec,
            classes: vec!["a".into(), "b".into()],
            normalize: Normalize { mean: vec![0.5; 3], std: vec![0.25; 3] },
            epoch: 1,
            val_accuracy: None,
            val_loss: None,
            optimizer_steps: 0,
        };
        save(&dir, &model, None, &meta)?;
        assert_eq!(load(&dir, &Device::Cpu)?.meta, meta);
        let json = dir.join("classifier.json");
        let text = std::fs::read_to_string(&json).map_err(ClassifyError::io(&json))?;
        std::fs::write(&json, text.replace("\"format_version\": 1", "\"format_version\": 99")).map_err(ClassifyError::io(&json))?;
        let err = load(&dir, &Device::Cpu).expect_err("unknown version");
        assert!(err.to_string().contains("format_version 99"), "{err}");
        let short = serde_json::to_string(&ClassifierMeta { normalize: Normalize { mean: vec![0.5], std: vec![0.25] }, ..meta })
            .map_err(|e| ClassifyError::config("meta", e.to_string()))?;
        std::fs::write(&json, short).map_err(ClassifyError::io(&json))?;
        let err = load(&dir, &Device::Cpu).expect_err("one mean for three channels");
        assert!(err.to_string().contains("classifier.json") && err.to_string().contains("normalize"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }
}
