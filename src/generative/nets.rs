//! The networks: a decoder that upsamples a latent code and a class into an image (the
//! GAN's generator and the VAE's decoder), the VAE's encoder, and the GAN's projection
//! discriminator with spectrally normalised weights. All channels-last
//! (`B × H × W × C`), built from [`crate::nn`]'s layers.
//!
//! Resolutions halve from the image side down to 4 × 4; a level `l` halvings below
//! the image has `min(width · 2^l, 8 · width)` channels (DCGAN's schedule).

use candle_core::{D, DType, Tensor, Var};
use rand::Rng;

use super::Result;
use crate::data::ImageSpec;
use crate::nn::init::{kaiming, standard_normal};
use crate::nn::{BatchNorm, Conv, Dense, ParamStore, Pass, avg_pool2, conv_same};

/// Channels at `level` halvings below the image side.
pub fn level_channels(width: usize, level: usize) -> usize {
    (width << level.min(3)).min(8 * width)
}

/// Halvings from `side` down to 4.
pub fn levels(side: usize) -> usize {
    (side / 4).trailing_zeros() as usize
}

/// Nearest-neighbour ×2 upsampling of `B × H × W × C` (each pixel becomes a 2 × 2 block).
pub fn upsample2(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    Ok(x.reshape((b, h, 1, w, 1, c))?.broadcast_as((b, h, 2, w, 2, c))?.reshape((b, 2 * h, 2 * w, c))?)
}

/// Leaky ReLU with slope 0.2 (DCGAN's discriminator).
pub fn leaky_relu(x: &Tensor) -> Result<Tensor> {
    Ok(x.maximum(&x.affine(0.2, 0.0)?)?)
}

/// One-hot rows (`B × classes`) of `labels`.
pub fn one_hot(labels: &[u32], classes: usize, device: &candle_core::Device) -> Result<Tensor> {
    let mut data = vec![0f32; labels.len() * classes];
    for (row, &l) in labels.iter().enumerate() {
        data[row * classes + l as usize] = 1.0;
    }
    Ok(Tensor::from_vec(data, (labels.len(), classes), device)?)
}

/// A weight matrix divided by its largest singular value, estimated by one step of power
/// iteration per training forward pass (Miyato et al., 2018). The iteration vector `u`
/// is a buffer saved with checkpoints; gradients flow through the weight only.
#[derive(Debug, Clone)]
pub struct Spectral {
    weight: Tensor,
    u: Var,
    enabled: bool,
}

impl Spectral {
    /// Wraps `weight` (`rows × cols`), registering `u` in `buffers` as `name.u`.
    pub fn new<R: Rng + ?Sized>(weight: Tensor, buffers: &mut Vec<(String, Var)>, name: &str, enabled: bool, rng: &mut R) -> Result<Self> {
        let cols = weight.dim(1)?;
        let u0: Vec<f32> = (0..cols).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let norm = u0.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        let u = Var::from_tensor(&Tensor::from_vec(u0.iter().map(|v| v / norm).collect(), cols, weight.device())?)?;
        buffers.push((format!("{name}.u"), u.clone()));
        Ok(Spectral { weight, u, enabled })
    }

    /// The normalised weight; a training pass also advances the power iteration.
    pub fn weight(&self, training: bool) -> Result<Tensor> {
        if !self.enabled {
            return Ok(self.weight.clone());
        }
        let w = self.weight.detach();
        let normalize = |t: Tensor| -> Result<Tensor> { Ok(t.broadcast_div(&(t.sqr()?.sum_all()?.sqrt()? + 1e-12)?)?) };
        let u = if training {
            let v = normalize(w.matmul(&self.u.as_tensor().unsqueeze(1)?)?.squeeze(1)?)?;
            let u = normalize(w.t()?.matmul(&v.unsqueeze(1)?)?.squeeze(1)?)?;
            self.u.set(&u)?;
            u
        } else {
            self.u.as_tensor().clone()
        };
        let v = normalize(w.matmul(&u.unsqueeze(1)?)?.squeeze(1)?)?;
        // σ = vᵀ W u, with the gradient through W.
        let sigma = v.unsqueeze(0)?.matmul(&self.weight)?.matmul(&u.unsqueeze(1)?)?.reshape(())?;
        Ok(self.weight.broadcast_div(&sigma)?)
    }
}

/// Class-conditional batch norm (de Vries et al., 2017; Miyato & Koyama, 2018): batch
/// norm, then a per-class scale `1 + γ_y` and shift `β_y` (both start at zero, so
/// training starts from plain batch norm), then ReLU.
#[derive(Debug, Clone)]
struct ClassNorm {
    bn: BatchNorm,
    gamma: Tensor,
    beta: Tensor,
}

impl ClassNorm {
    fn new(params: &mut ParamStore, buffers: &mut Vec<(String, Var)>, name: &str, classes: usize, c: usize) -> Result<Self> {
        let bn = BatchNorm::new(params, buffers, name, c)?;
        let gamma = params.var(format!("{name}.class_gamma"), &vec![0.0; classes * c], &[classes, c])?.as_tensor().clone();
        let beta = params.var(format!("{name}.class_beta"), &vec![0.0; classes * c], &[classes, c])?.as_tensor().clone();
        Ok(ClassNorm { bn, gamma, beta })
    }

    /// `relu(bn(x) · (1 + y γ) + y β)` for `x` of `B × H × W × C` and one-hot `y` of `B × K`.
    fn forward_relu(&self, x: &Tensor, y: &Tensor, pass: &Pass) -> Result<Tensor> {
        let (b, _, _, c) = x.dims4()?;
        let scale = (y.matmul(&self.gamma)? + 1.0)?.reshape((b, 1, 1, c))?;
        let shift = y.matmul(&self.beta)?.reshape((b, 1, 1, c))?;
        Ok(self.bn.forward(x, pass)?.broadcast_mul(&scale)?.broadcast_add(&shift)?.relu()?)
    }
}

/// The decoder: `[z, one-hot class]` → dense → `4 × 4 × c` → (×2 upsample, 3×3 conv,
/// class-conditional batch norm, ReLU) per level → 3×3 conv to the image's channels.
/// Returns the pre-activation image (the GAN applies tanh, the VAE a sigmoid or its
/// Bernoulli loss).
#[derive(Debug, Clone)]
pub struct Decoder {
    input: Dense,
    input_norm: ClassNorm,
    ups: Vec<(Conv, ClassNorm)>,
    out: Conv,
    c0: usize,
    classes: usize,
}

impl Decoder {
    /// A decoder for `spec` images from `latent + classes` inputs, its variables named
    /// `{prefix}…` in `params`.
    #[allow(clippy::too_many_arguments, reason = "the sizes of one network")]
    pub fn new<R: Rng + ?Sized>(
        params: &mut ParamStore,
        buffers: &mut Vec<(String, Var)>,
        prefix: &str,
        spec: ImageSpec,
        (latent, classes): (usize, usize),
        width: usize,
        rng: &mut R,
    ) -> Result<Self> {
        let n = levels(spec.height);
        let c0 = level_channels(width, n);
        let input = Dense::new(params, &format!("{prefix}input"), latent + classes, 16 * c0, rng)?;
        let input_norm = ClassNorm::new(params, buffers, &format!("{prefix}input_bn"), classes, c0)?;
        let mut ups = Vec::with_capacity(n);
        for i in 0..n {
            let (c_in, c_out) = (level_channels(width, n - i), level_channels(width, n - i - 1));
            ups.push((
                Conv::new(params, &format!("{prefix}up{i}.conv"), (c_in, c_out, 3), false, rng)?,
                ClassNorm::new(params, buffers, &format!("{prefix}up{i}.bn"), classes, c_out)?,
            ));
        }
        let out = Conv::new(params, &format!("{prefix}out"), (level_channels(width, 0), spec.channels, 3), true, rng)?;
        Ok(Decoder { input, input_norm, ups, out, c0, classes })
    }

    /// The pre-activation image for latent codes `z` (`B × latent`) of one-hot classes `y` (`B × classes`).
    pub fn forward(&self, z: &Tensor, y: &Tensor, pass: &Pass) -> Result<Tensor> {
        let b = z.dim(0)?;
        debug_assert_eq!(y.dim(1).ok(), Some(self.classes));
        let mut x = self.input.forward(&Tensor::cat(&[z, y], 1)?)?.reshape((b, 4, 4, self.c0))?;
        x = self.input_norm.forward_relu(&x, y, pass)?;
        for (conv, norm) in &self.ups {
            x = norm.forward_relu(&conv.forward(&upsample2(&x)?)?, y, pass)?;
        }
        Ok(self.out.forward(&x)?)
    }
}

/// The VAE's encoder: the image with its class as extra constant channels → (3×3 conv,
/// batch norm, ReLU, 2×2 average pooling) per level → `4 × 4 × c` → mean and log-variance.
#[derive(Debug, Clone)]
pub struct Encoder {
    convs: Vec<(Conv, BatchNorm)>,
    mean: Dense,
    log_var: Dense,
}

impl Encoder {
    /// An encoder of `spec` images with `classes` classes into `latent` numbers.
    #[allow(clippy::too_many_arguments, reason = "the sizes of one network")]
    pub fn new<R: Rng + ?Sized>(
        params: &mut ParamStore,
        buffers: &mut Vec<(String, Var)>,
        prefix: &str,
        spec: ImageSpec,
        classes: usize,
        (latent, width): (usize, usize),
        rng: &mut R,
    ) -> Result<Self> {
        let n = levels(spec.height);
        let mut convs = Vec::with_capacity(n + 1);
        let mut c_in = spec.channels + classes;
        for level in 0..=n {
            let c_out = level_channels(width, level);
            convs.push((
                Conv::new(params, &format!("{prefix}conv{level}"), (c_in, c_out, 3), false, rng)?,
                BatchNorm::new(params, buffers, &format!("{prefix}bn{level}"), c_out)?,
            ));
            c_in = c_out;
        }
        let flat = 16 * c_in;
        let mean = Dense::new(params, &format!("{prefix}mean"), flat, latent, rng)?;
        let log_var = Dense::new(params, &format!("{prefix}log_var"), flat, latent, rng)?;
        Ok(Encoder { convs, mean, log_var })
    }

    /// Mean and log-variance (`B × latent` each) of `x` with one-hot classes `y`.
    pub fn forward(&self, x: &Tensor, y: &Tensor, pass: &Pass) -> Result<(Tensor, Tensor)> {
        let (b, h, w, _) = x.dims4()?;
        let k = y.dim(1)?;
        let planes = y.reshape((b, 1, 1, k))?.broadcast_as((b, h, w, k))?;
        let mut x = Tensor::cat(&[x, &planes], 3)?;
        let last = self.convs.len() - 1;
        for (i, (conv, bn)) in self.convs.iter().enumerate() {
            x = bn.forward_relu(&conv.forward(&x)?, pass)?;
            if i < last {
                x = avg_pool2(&x)?;
            }
        }
        let flat = x.flatten_from(1)?;
        Ok((self.mean.forward(&flat)?, self.log_var.forward(&flat)?.clamp(-12f32, 12f32)?))
    }
}

/// A spectrally normalised 3×3 convolution with bias.
#[derive(Debug, Clone)]
struct SnConv {
    weight: Spectral,
    bias: Tensor,
}

/// The GAN's discriminator: (spectrally normalised 3×3 conv, leaky ReLU, 2×2 average
/// pooling) per level, summed over the 4 × 4 positions into features `h`; the logit is
/// `wᵀh + embed(y)ᵀh`, the class entering by projection (Miyato & Koyama, 2018).
#[derive(Debug, Clone)]
pub struct Discriminator {
    convs: Vec<SnConv>,
    head: Spectral,
    head_bias: Tensor,
    embed: Spectral,
}

impl Discriminator {
    /// A discriminator of `spec` images with `classes` classes.
    #[allow(clippy::too_many_arguments, reason = "the sizes of one network")]
    pub fn new<R: Rng + ?Sized>(
        params: &mut ParamStore,
        buffers: &mut Vec<(String, Var)>,
        prefix: &str,
        spec: ImageSpec,
        classes: usize,
        (width, spectral): (usize, bool),
        rng: &mut R,
    ) -> Result<Self> {
        let n = levels(spec.height);
        let mut convs = Vec::with_capacity(n + 1);
        let mut c_in = spec.channels;
        for level in 0..=n {
            let c_out = level_channels(width, level);
            let fan_in = 9 * c_in;
            let name = format!("{prefix}conv{level}");
            let w = params.var(format!("{name}.weight"), &kaiming(fan_in * c_out, fan_in, rng), &[fan_in, c_out])?;
            let b = params.var(format!("{name}.bias"), &vec![0.0; c_out], &[c_out])?;
            convs
                .push(SnConv { weight: Spectral::new(w.as_tensor().clone(), buffers, &name, spectral, rng)?, bias: b.as_tensor().clone() });
            c_in = c_out;
        }
        let head = params.var(format!("{prefix}head.weight"), &kaiming(c_in, c_in, rng), &[c_in, 1])?;
        let head_bias = params.var(format!("{prefix}head.bias"), &[0.0], &[1])?.as_tensor().clone();
        let embed = params.var(format!("{prefix}embed.weight"), &kaiming(classes * c_in, c_in, rng), &[classes, c_in])?;
        Ok(Discriminator {
            convs,
            head: Spectral::new(head.as_tensor().clone(), buffers, &format!("{prefix}head"), spectral, rng)?,
            head_bias,
            embed: Spectral::new(embed.as_tensor().clone(), buffers, &format!("{prefix}embed"), spectral, rng)?,
        })
    }

    /// Logits (`B`) of images `x` (in [-1, 1]) claimed to be of classes `labels` (`B`, u32).
    pub fn forward(&self, x: &Tensor, labels: &Tensor, training: bool) -> Result<Tensor> {
        let mut x = x.clone();
        let last = self.convs.len() - 1;
        for (i, conv) in self.convs.iter().enumerate() {
            x = leaky_relu(&conv_same(&x, &conv.weight.weight(training)?, 3)?.broadcast_add(&conv.bias)?)?;
            if i < last {
                x = avg_pool2(&x)?;
            }
        }
        let (b, h, w, c) = x.dims4()?;
        let features = x.reshape((b, h * w, c))?.sum(1)?;
        let plain = features.matmul(&self.head.weight(training)?)?.broadcast_add(&self.head_bias)?.squeeze(1)?;
        let class_rows = self.embed.weight(training)?.index_select(labels, 0)?;
        let projection = (features * class_rows)?.sum(D::Minus1)?;
        Ok((plain + projection)?)
    }
}

/// Standard normal draws, `rows × cols`, from `rng`.
pub fn normal<R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R, device: &candle_core::Device) -> Result<Tensor> {
    let data: Vec<f32> = (0..rows * cols).map(|_| standard_normal(rng) as f32).collect();
    Ok(Tensor::from_vec(data, (rows, cols), device)?.to_dtype(DType::F32)?)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn upsampling_repeats_each_pixel_in_a_block() -> Result<()> {
        let x = Tensor::from_vec(vec![1f32, 10., 2., 20., 3., 30., 4., 40.], (1, 2, 2, 2), &Device::Cpu)?;
        let y = upsample2(&x)?;
        assert_eq!(y.dims(), [1, 4, 4, 2]);
        let v = y.flatten_all()?.to_vec1::<f32>()?;
        // Row 0 of the output: pixels (0,0), (0,0), (0,1), (0,1).
        assert_eq!(&v[..8], &[1., 10., 1., 10., 2., 20., 2., 20.]);
        assert_eq!(&v[8..16], &v[..8], "row 1 repeats row 0");
        assert_eq!(&v[24..32], &[3., 30., 3., 30., 4., 40., 4., 40.]);
        Ok(())
    }

    #[test]
    fn spectral_normalisation_brings_the_top_singular_value_to_one() -> Result<()> {
        let mut rng = rng_from_seed(1);
        // A matrix with singular values 6 and 2: [[6, 0], [0, 2]] rotated.
        let w = Tensor::from_vec(vec![6f32, 0., 0., 2.], (2, 2), &Device::Cpu)?;
        let mut buffers = Vec::new();
        let sn = Spectral::new(w, &mut buffers, "w", true, &mut rng)?;
        let mut top = 0.0;
        for _ in 0..30 {
            let wn = sn.weight(true)?.to_vec2::<f32>()?;
            top = wn[0][0].abs().max(wn[1][1].abs());
        }
        assert!((top - 1.0).abs() < 1e-3, "largest singular value {top}");
        assert_eq!(buffers.len(), 1, "u is a saved buffer");
        Ok(())
    }

    #[test]
    fn networks_have_the_shapes_of_their_images() -> Result<()> {
        let device = Device::Cpu;
        let mut rng = rng_from_seed(2);
        let spec = ImageSpec { channels: 3, height: 16, width: 16 };
        let mut params = ParamStore::new(&device);
        let mut buffers = Vec::new();
        let dec = Decoder::new(&mut params, &mut buffers, "g.", spec, (8, 3), 8, &mut rng)?;
        let (z, y) = (normal(5, 8, &mut rng, &device)?, one_hot(&[0, 1, 2, 0, 1], 3, &device)?);
        assert_eq!(dec.forward(&z, &y, &Pass::Train(&mut rng_from_seed(3)))?.dims(), [5, 16, 16, 3]);
        let enc = Encoder::new(&mut params, &mut buffers, "e.", spec, 3, (8, 8), &mut rng)?;
        let x = normal(5, 16 * 16 * 3, &mut rng, &device)?.reshape((5, 16, 16, 3))?;
        let (m, lv) = enc.forward(&x, &one_hot(&[0, 1, 2, 0, 1], 3, &device)?, &Pass::Eval)?;
        assert_eq!((m.dims(), lv.dims()), ([5, 8].as_slice(), [5, 8].as_slice()));
        let disc = Discriminator::new(&mut params, &mut buffers, "d.", spec, 3, (8, true), &mut rng)?;
        let labels = Tensor::new(&[0u32, 1, 2, 0, 1], &device)?;
        assert_eq!(disc.forward(&x, &labels, true)?.dims(), [5]);
        Ok(())
    }
}
