//! The training config of the generative models (`agents/gen-*.toml`, `--set`-style
//! flags on `synthgym gen train`).

use serde::{Deserialize, Serialize};

use super::{GenError, Result};

/// Which model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenModel {
    /// Class-conditional variational autoencoder.
    Vae,
    /// Class-conditional DCGAN with a projection discriminator.
    #[default]
    Gan,
}

/// The GAN's loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GanLoss {
    /// Hinge loss (Lim & Ye, 2017; Miyato et al., 2018): `D` minimises
    /// `relu(1 - D(x)) + relu(1 + D(G(z)))`, `G` minimises `-D(G(z))`.
    #[default]
    Hinge,
    /// The non-saturating loss of Goodfellow et al. (2014), written with softplus so that
    /// no probability is ever formed: `D` minimises `softplus(-D(x)) + softplus(D(G(z)))`,
    /// `G` minimises `softplus(-D(G(z)))`.
    NonSaturating,
}

/// Everything `gen train` needs besides the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenConfig {
    /// Which model.
    pub model: GenModel,
    /// Side of the (square) images the model makes: 8, 16, 32 or 64. Datasets are
    /// resized to it.
    pub image_size: usize,
    /// 1 (grey) or 3 (RGB); by default the dataset's.
    pub channels: Option<usize>,
    /// Size of the latent code.
    pub latent: usize,
    /// Channels of the widest-resolution layers (doubling at each halving, at most 8×).
    pub width: usize,
    /// VAE: weight of the KL term (β-VAE; 1 is the ELBO).
    pub beta: f64,
    /// GAN: loss.
    pub loss: GanLoss,
    /// GAN: spectral normalisation of every discriminator weight (Miyato et al., 2018).
    pub spectral_norm: bool,
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam β₁ (0.5 for GANs as in DCGAN; 0.9 for the VAE).
    pub beta1: f64,
    /// Fraction of the images held out (VAE: ELBO on unseen images; GAN: unused).
    pub holdout: f64,
    /// Seed of initial weights, batch order and latent draws.
    pub seed: u64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            model: GenModel::Gan,
            image_size: 32,
            channels: None,
            latent: 64,
            width: 32,
            beta: 1.0,
            loss: GanLoss::Hinge,
            spectral_norm: true,
            epochs: 20,
            batch_size: 64,
            lr: 2e-4,
            beta1: 0.5,
            holdout: 0.1,
            seed: 0,
        }
    }
}

impl GenConfig {
    /// The defaults of `model` (the VAE learns faster with a larger step and β₁ = 0.9).
    pub fn for_model(model: GenModel) -> GenConfig {
        match model {
            GenModel::Gan => GenConfig::default(),
            GenModel::Vae => GenConfig { model, latent: 32, lr: 1e-3, beta1: 0.9, ..GenConfig::default() },
        }
    }

    /// Reads a TOML config.
    pub fn from_toml(text: &str) -> Result<GenConfig> {
        let config: GenConfig = toml::from_str(text).map_err(|e| GenError::config("(file)", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: &str| Err(GenError::config(field, reason));
        if ![8, 16, 32, 64].contains(&self.image_size) {
            return bad("image_size", "must be 8, 16, 32 or 64");
        }
        if self.channels.is_some_and(|c| c != 1 && c != 3) {
            return bad("channels", "must be 1 or 3");
        }
        if !(1..=1024).contains(&self.latent) {
            return bad("latent", "must be 1 to 1024");
        }
        if !(4..=512).contains(&self.width) {
            return bad("width", "must be 4 to 512");
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return bad("beta", "must be a non-negative number");
        }
        if !(1..=100_000).contains(&self.epochs) {
            return bad("epochs", "must be 1 to 100000");
        }
        if !(2..=65_536).contains(&self.batch_size) {
            return bad("batch_size", "must be 2 to 65536 (batch norm needs two images)");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", "must be positive");
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return bad("beta1", "must be in [0, 1)");
        }
        if !(0.0..0.9).contains(&self.holdout) {
            return bad("holdout", "must be in [0, 0.9)");
        }
        if self.seed > i64::MAX as u64 {
            return bad("seed", "must be at most 2^63 - 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_fields_are_named() {
        GenConfig::default().validate().expect("gan defaults");
        GenConfig::for_model(GenModel::Vae).validate().expect("vae defaults");
        let c = GenConfig::from_toml("model = \"vae\"\nimage_size = 16\nbeta = 0.5\n").expect("parse");
        assert_eq!((c.model, c.image_size, c.beta), (GenModel::Vae, 16, 0.5));
        let err = GenConfig::from_toml("image_size = 24\n").expect_err("24 is not a power of two");
        assert!(err.to_string().contains("image_size"), "{err}");
        let err = GenConfig::from_toml("batchsize = 4\n").expect_err("unknown field");
        assert!(err.to_string().contains("batchsize"), "{err}");
        let err = GenConfig { batch_size: 1, ..GenConfig::default() }.validate().expect_err("batch");
        assert!(err.to_string().contains("batch_size"), "{err}");
    }

    #[test]
    fn the_shipped_configs_parse() {
        let gan = GenConfig::from_toml(include_str!("../../agents/gen-crops-gan.toml")).expect("gan config");
        assert_eq!((gan.model, gan.epochs), (GenModel::Gan, 50));
        let vae = GenConfig::from_toml(include_str!("../../agents/gen-crops-vae.toml")).expect("vae config");
        assert_eq!((vae.model, vae.holdout), (GenModel::Vae, 0.1));
    }
}
