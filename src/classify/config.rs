//! The training config of a classifier (`agents/classify-*.toml`): one documented
//! struct, every field defaulted, unknown fields rejected.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ClassifyError, ModelKind, Result};
use crate::data::Augment;

/// Everything that decides how a classifier is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifyConfig {
    /// Architecture: `cnn` (small VGG-style) or `resnet` (14-layer ResNet).
    pub model: ModelKind,
    /// Channels of the first stage; each later stage doubles them.
    pub width: usize,
    /// Dropout before the CNN's output layer (the ResNet has none).
    pub dropout: f32,
    /// Side images are resized to; 0 means the dataset's most common size (at most 64).
    pub image_size: usize,
    /// 1 (gray) or 3 (RGB); 0 means 3 if any image has colour, else 1.
    pub channels: usize,
    /// Most epochs to train.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation accuracy (0: never).
    pub patience: usize,
    /// Images per gradient step.
    pub batch_size: usize,
    /// Adam's peak learning rate; it decays to zero on a cosine over `epochs`.
    pub learning_rate: f64,
    /// Fraction of each class held out for validation (early stopping, best checkpoint).
    pub val_fraction: f64,
    /// Seed of the split, the initial weights, the batch order and the augmentation.
    pub seed: u64,
    /// Training-time augmentation.
    pub augment: Augment,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        Self {
            model: ModelKind::Cnn,
            width: 32,
            dropout: 0.3,
            image_size: 0,
            channels: 0,
            epochs: 30,
            patience: 8,
            batch_size: 64,
            learning_rate: 2e-3,
            val_fraction: 0.1,
            seed: 1,
            augment: Augment::default(),
        }
    }
}

impl ClassifyConfig {
    /// Reads a config file, naming the file in any error.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(ClassifyError::io(path))?;
        let config: Self =
            toml::from_str(&text).map_err(|e| ClassifyError::config(&path.display().to_string(), e.to_string().trim_end().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| ClassifyError::config("config", e.to_string()))
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: &str| Err(ClassifyError::config(field, reason));
        // Bounds that keep a typo from allocating more than a machine holds or from
        // running for ever; each is far past what small-image classifiers use.
        let at_most = |field: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) { Ok(()) } else { Err(ClassifyError::config(field, format!("must be {lo}..={hi}, got {v}"))) }
        };
        at_most("width", self.width, 1, 512)?;
        at_most("epochs", self.epochs, 1, 100_000)?;
        at_most("batch_size", self.batch_size, 2, 65_536)?;
        at_most("augment.crop_pad", self.augment.crop_pad, 0, 64)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", "must be in [0, 1)");
        }
        if ![0, 1, 3].contains(&self.channels) {
            return bad("channels", "must be 0 (from the data), 1 or 3");
        }
        if self.image_size > 512 {
            return bad("image_size", "must be at most 512");
        }
        if i64::try_from(self.seed).is_err() {
            return bad("seed", "must be at most 9223372036854775807 (TOML integers are signed 64-bit)");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad("learning_rate", "must be a positive number");
        }
        if !(0.0..0.9).contains(&self.val_fraction) {
            return bad("val_fraction", "must be in [0, 0.9)");
        }
        let a = &self.augment;
        for (field, v) in [("augment.brightness", a.brightness), ("augment.contrast", a.contrast), ("augment.saturation", a.saturation)] {
            if !(0.0..1.0).contains(&v) {
                return bad(field, "must be in [0, 1)");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_errors_name_the_field() -> Result<()> {
        let config = ClassifyConfig { model: ModelKind::Resnet, epochs: 3, ..Default::default() };
        let back: ClassifyConfig = toml::from_str(&config.to_toml()?).map_err(|e| ClassifyError::config("x", e.to_string()))?;
        assert_eq!(back, config);
        let err = ClassifyConfig { val_fraction: 0.95, ..Default::default() }.validate().expect_err("out of range");
        assert!(err.to_string().contains("val_fraction"), "{err}");
        let err = ClassifyConfig { batch_size: 1, ..Default::default() }.validate().expect_err("one image per batch");
        assert!(err.to_string().contains("batch_size"), "{err}");
        assert!(ClassifyConfig { seed: u64::MAX, ..Default::default() }.validate().is_err(), "TOML cannot hold it");
        let dir = std::env::temp_dir().join(format!("synthgym-classify-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(ClassifyError::io(&dir))?;
        let path = dir.join("c.toml");
        std::fs::write(&path, "modle = \"cnn\"\n").map_err(ClassifyError::io(&path))?;
        let err = ClassifyConfig::from_file(&path).expect_err("unknown field");
        assert!(err.to_string().contains("c.toml") && err.to_string().contains("modle"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }
}
