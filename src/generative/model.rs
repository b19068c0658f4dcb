//! The two generative models behind one type: networks, losses, sampling, and the
//! named tensors checkpoints hold.

use std::collections::HashMap;

use candle_core::{D, Device, Tensor, Var};
use rand::Rng;

use super::Result;
use super::config::{GanLoss, GenConfig, GenModel};
use super::nets::{Decoder, Discriminator, Encoder, normal, one_hot};
use crate::data::ImageSpec;
use crate::nn::{ParamStore, Pass};

/// A class-conditional VAE or GAN for images of one spec.
pub struct GenNet {
    /// The config it was built from.
    pub config: GenConfig,
    /// Image shape.
    pub spec: ImageSpec,
    /// Number of classes.
    pub classes: usize,
    /// Decoder (VAE) or generator (GAN) variables, and the VAE's encoder's.
    pub gen_params: ParamStore,
    /// The discriminator's variables (empty for the VAE).
    pub disc_params: ParamStore,
    /// Batch-norm statistics and spectral-norm vectors (saved, not trained).
    pub buffers: Vec<(String, Var)>,
    decoder: Decoder,
    encoder: Option<Encoder>,
    discriminator: Option<Discriminator>,
}

/// Per-step losses, averaged over the batch (per image for the VAE's terms).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepLosses {
    /// GAN: discriminator loss; VAE: reconstruction (nats per image).
    pub a: f64,
    /// GAN: generator loss; VAE: KL divergence to the prior (nats per image).
    pub b: f64,
}

/// `log(1 + eˣ)` without overflow.
fn softplus(x: &Tensor) -> Result<Tensor> {
    Ok((x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?)
}

impl GenNet {
    /// A new model for `spec` images of `classes` classes, weights drawn from `rng`.
    pub fn new<R: Rng + ?Sized>(config: &GenConfig, spec: ImageSpec, classes: usize, device: &Device, rng: &mut R) -> Result<GenNet> {
        config.validate()?;
        let mut gen_params = ParamStore::new(device);
        let mut disc_params = ParamStore::new(device);
        let mut buffers = Vec::new();
        let (decoder, encoder, discriminator) = match config.model {
            GenModel::Gan => {
                let g = Decoder::new(&mut gen_params, &mut buffers, "g.", spec, (config.latent, classes), config.width, rng)?;
                let d = Discriminator::new(&mut disc_params, &mut buffers, "d.", spec, classes, (config.width, config.spectral_norm), rng)?;
                (g, None, Some(d))
            }
            GenModel::Vae => {
                let e = Encoder::new(&mut gen_params, &mut buffers, "enc.", spec, classes, (config.latent, config.width), rng)?;
                let d = Decoder::new(&mut gen_params, &mut buffers, "dec.", spec, (config.latent, classes), config.width, rng)?;
                (d, Some(e), None)
            }
        };
        Ok(GenNet { config: config.clone(), spec, classes, gen_params, disc_params, buffers, decoder, encoder, discriminator })
    }

    fn device(&self) -> Device {
        self.gen_params.device().clone()
    }

    /// Images (`B × H × W × C`, values in [0, 1]) of classes `labels`, from latent draws of `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, labels: &[u32], rng: &mut R) -> Result<Tensor> {
        let device = self.device();
        let z = normal(labels.len(), self.config.latent, rng, &device)?;
        self.decode(&z, labels, &Pass::Eval)
    }

    /// `count` images of class 0 from the prior scaled by `temperature` (1 is the prior;
    /// lower trades variety for crisper images), decoded in batches of 256, as one flat
    /// `count × H × W × C` vector in [0, 1]. The scene generators read these as layouts.
    pub fn sample_prior(&self, count: usize, temperature: f64, seed: u64) -> Result<Vec<f32>> {
        let mut rng = crate::util::seed::rng_from_seed(seed);
        let device = self.device();
        let mut out = Vec::with_capacity(count * self.spec.len());
        for start in (0..count).step_by(256) {
            let n = (count - start).min(256);
            let z = normal(n, self.config.latent, &mut rng, &device)?.affine(temperature, 0.0)?;
            out.extend(self.decode(&z, &vec![0; n], &Pass::Eval)?.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// Images in [0, 1] decoded from latent codes `z` with classes `labels`.
    pub fn decode(&self, z: &Tensor, labels: &[u32], pass: &Pass) -> Result<Tensor> {
        let out = self.decoder.forward(z, &one_hot(labels, self.classes, &self.device())?, pass)?;
        Ok(match self.config.model {
            GenModel::Gan => ((out.tanh()? + 1.0)? * 0.5)?,
            GenModel::Vae => candle_nn::ops::sigmoid(&out)?,
        })
    }

    /// The VAE's losses on images `x` (in [0, 1]) of classes `labels`: reconstruction
    /// (Bernoulli, summed over pixels) and KL, each a mean over the batch, as tensors.
    pub fn vae_terms<R: Rng + ?Sized>(&self, x: &Tensor, labels: &[u32], pass: &Pass, rng: &mut R) -> Result<(Tensor, Tensor)> {
        let encoder = self.encoder.as_ref().ok_or_else(|| super::GenError::config("model", "not a VAE"))?;
        let device = self.device();
        let b = labels.len();
        let y = one_hot(labels, self.classes, &device)?;
        let (mean, log_var) = encoder.forward(x, &y, pass)?;
        let eps = normal(b, self.config.latent, rng, &device)?;
        let z = (&mean + (log_var.affine(0.5, 0.0)?.exp()? * eps)?)?;
        let logits = self.decoder.forward(&z, &y, pass)?;
        // −log p(x|z) for Bernoulli pixels: softplus(l) − x·l, summed over the image.
        let recon = (softplus(&logits)? - (x * &logits)?)?.flatten_from(1)?.sum(D::Minus1)?.mean_all()?;
        let kl = ((mean.sqr()? + log_var.exp()? - &log_var)? - 1.0)?.sum(D::Minus1)?.mean_all()?.affine(0.5, 0.0)?;
        Ok((recon, kl))
    }

    /// VAE reconstructions (in [0, 1]) of images `x` (in [0, 1]) of classes `labels`,
    /// decoded from the posterior mean.
    pub fn reconstruct(&self, x: &Tensor, labels: &[u32]) -> Result<Tensor> {
        let encoder = self.encoder.as_ref().ok_or_else(|| super::GenError::config("model", "only a VAE reconstructs images"))?;
        let y = one_hot(labels, self.classes, &self.device())?;
        let (mean, _) = encoder.forward(x, &y, &Pass::Eval)?;
        self.decode(&mean, labels, &Pass::Eval)
    }

    /// The discriminator's loss on real images `real` and generated `fake` (both in
    /// [-1, 1]) of classes `labels`.
    pub fn disc_loss(&self, real: &Tensor, fake: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let d = self.discriminator.as_ref().ok_or_else(|| super::GenError::config("model", "not a GAN"))?;
        let (on_real, on_fake) = (d.forward(real, labels, true)?, d.forward(fake, labels, true)?);
        Ok(match self.config.loss {
            GanLoss::Hinge => ((1.0 - on_real)?.relu()?.mean_all()? + (on_fake + 1.0)?.relu()?.mean_all()?)?,
            GanLoss::NonSaturating => (softplus(&on_real.neg()?)?.mean_all()? + softplus(&on_fake)?.mean_all()?)?,
        })
    }

    /// The generator's loss on generated images `fake` (in [-1, 1]) of classes `labels`.
    pub fn gen_loss(&self, fake: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let d = self.discriminator.as_ref().ok_or_else(|| super::GenError::config("model", "not a GAN"))?;
        let on_fake = d.forward(fake, labels, false)?;
        Ok(match self.config.loss {
            GanLoss::Hinge => on_fake.mean_all()?.neg()?,
            GanLoss::NonSaturating => softplus(&on_fake.neg()?)?.mean_all()?,
        })
    }

    /// The generator's raw output for the GAN losses: images in [-1, 1] (`tanh`).
    pub fn generate_signed<R: Rng + ?Sized>(&self, labels: &[u32], pass: &Pass, rng: &mut R) -> Result<Tensor> {
        let device = self.device();
        let z = normal(labels.len(), self.config.latent, rng, &device)?;
        Ok(self.decoder.forward(&z, &one_hot(labels, self.classes, &device)?, pass)?.tanh()?)
    }

    /// Every variable and buffer, named (`g.`/`d.`/`enc.`/`dec.` prefixes), for checkpoints.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        let mut out = self.gen_params.tensors();
        out.extend(self.disc_params.tensors());
        out.extend(self.buffers.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())));
        out
    }

    /// Restores variables and buffers from [`GenNet::tensors`] output. A tensor of the
    /// networks that this architecture lacks is an error too (a checkpoint of another
    /// architecture must not load half-way); optimiser moments (`adam.…`) are ignored.
    pub fn load(&self, tensors: &HashMap<String, Tensor>) -> std::result::Result<(), String> {
        let known = self.tensors();
        if let Some(extra) = tensors.keys().filter(|k| !k.starts_with("adam.") && !known.contains_key(*k)).min() {
            return Err(format!("tensor '{extra}' belongs to no layer of this model (a checkpoint of another architecture?)"));
        }
        self.gen_params.load(tensors, "")?;
        self.disc_params.load(tensors, "")?;
        crate::nn::load_buffers(&self.buffers, tensors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn softplus_is_stable_and_exact() -> Result<()> {
        let x = Tensor::new(&[-100f32, -1.0, 0.0, 1.0, 100.0], &Device::Cpu)?;
        let y = softplus(&x)?.to_vec1::<f32>()?;
        let want = [0.0f32, 0.313_261_7, std::f32::consts::LN_2, 1.313_261_7, 100.0];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{y:?}");
        }
        Ok(())
    }

    #[test]
    fn vae_terms_are_finite_and_kl_is_zero_at_the_prior() -> Result<()> {
        let mut rng = rng_from_seed(3);
        let config = GenConfig { image_size: 8, latent: 4, width: 4, ..GenConfig::for_model(GenModel::Vae) };
        let spec = ImageSpec { channels: 1, height: 8, width: 8 };
        let net = GenNet::new(&config, spec, 2, &Device::Cpu, &mut rng)?;
        let x = Tensor::full(0.5f32, (3, 8, 8, 1), &Device::Cpu)?;
        let (recon, kl) = net.vae_terms(&x, &[0, 1, 0], &Pass::Train(&mut rng_from_seed(4)), &mut rng)?;
        let (recon, kl) = (recon.to_scalar::<f32>()?, kl.to_scalar::<f32>()?);
        // 64 pixels of a fair coin cost at least 64·ln 2 nats.
        assert!(recon.is_finite() && recon >= 64.0 * std::f32::consts::LN_2 - 1e-3, "{recon}");
        assert!(kl.is_finite() && kl >= 0.0, "{kl}");
        let images = net.sample(&[1, 0], &mut rng)?;
        assert_eq!(images.dims(), [2, 8, 8, 1]);
        let v = images.flatten_all()?.to_vec1::<f32>()?;
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
        Ok(())
    }

    #[test]
    fn gan_losses_take_both_forms_and_tensors_round_trip() -> Result<()> {
        let mut rng = rng_from_seed(5);
        for loss in [GanLoss::Hinge, GanLoss::NonSaturating] {
            let config = GenConfig { image_size: 8, latent: 4, width: 4, loss, ..GenConfig::default() };
            let spec = ImageSpec { channels: 3, height: 8, width: 8 };
            let net = GenNet::new(&config, spec, 3, &Device::Cpu, &mut rng)?;
            let labels = [0u32, 2];
            let y = Tensor::new(&labels, &Device::Cpu)?;
            let fake = net.generate_signed(&labels, &Pass::Train(&mut rng_from_seed(6)), &mut rng)?;
            let real = Tensor::zeros((2, 8, 8, 3), candle_core::DType::F32, &Device::Cpu)?;
            let d = net.disc_loss(&real, &fake.detach(), &y)?.to_scalar::<f32>()?;
            let g = net.gen_loss(&fake, &y)?.to_scalar::<f32>()?;
            assert!(d.is_finite() && g.is_finite() && d >= 0.0);
            let other = GenNet::new(&config, spec, 3, &Device::Cpu, &mut rng_from_seed(9))?;
            other.load(&net.tensors()).map_err(|e| super::super::GenError::config("load", e))?;
            let z = normal(2, 4, &mut rng_from_seed(7), &Device::Cpu)?;
            let (a, b) = (net.decode(&z, &labels, &Pass::Eval)?, other.decode(&z, &labels, &Pass::Eval)?);
            assert_eq!(a.flatten_all()?.to_vec1::<f32>()?, b.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(())
    }
}
