//! The two classifier architectures, on channels-last images.
//!
//! - [`ModelKind::Cnn`]: a VGG-style network (Simonyan & Zisserman, 2015) sized for
//!   small images: stages of two 3×3 convolutions with batch norm and ReLU, then 2×2
//!   max pooling, while the image is at least 8 pixels on a side (at most three
//!   stages); then a 128-unit hidden layer with dropout and the class logits.
//! - [`ModelKind::Resnet`]: a ResNet (He et al., 2016) of three stages of two basic
//!   blocks each (14 layers with the stem and head), as the CIFAR ResNets are built.
//!   Blocks that halve the size average-pool first and use a pooled 1×1 projection on
//!   the shortcut (the "ResNet-D" shortcut of He et al., 2019), so every convolution
//!   has stride 1. Global average pooling feeds the logits.
//!
//! Both take `B × H × W × C` inputs of the size they were built for and return
//! `B × classes` logits. [`Classifier::features`] gives the penultimate layer, the
//! embedding the generative models' Fréchet distance uses.

use candle_core::{Device, Tensor, Var};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{ClassifyError, Result};
use crate::data::{ImageSet, ImageSpec, Normalize, make_batch};
use crate::nn::{BatchNorm, Conv, Dense, ParamStore, Pass, argmax, avg_pool2, dropout, flatten, global_avg_pool, max_pool2, relu};

/// Which architecture to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// A small VGG-style CNN.
    Cnn,
    /// A 14-layer ResNet.
    Resnet,
}

impl ModelKind {
    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cnn => "cnn",
            Self::Resnet => "resnet",
        }
    }
}

/// Conv → batch norm, the unit both architectures are built of.
#[derive(Debug, Clone)]
struct ConvBn {
    conv: Conv,
    bn: BatchNorm,
}

impl ConvBn {
    fn new<R: Rng + ?Sized>(
        params: &mut ParamStore,
        buffers: &mut Vec<(String, Var)>,
        name: &str,
        shape: (usize, usize, usize),
        rng: &mut R,
    ) -> Result<Self> {
        let conv = Conv::new(params, &format!("{name}.conv"), shape, false, rng)?;
        let bn = BatchNorm::new(params, buffers, &format!("{name}.bn"), shape.1)?;
        Ok(Self { conv, bn })
    }

    fn forward(&self, x: &Tensor, pass: &Pass) -> crate::nn::Result<Tensor> {
        self.bn.forward(&self.conv.forward(x)?, pass)
    }

    fn forward_relu(&self, x: &Tensor, pass: &Pass) -> crate::nn::Result<Tensor> {
        self.bn.forward_relu(&self.conv.forward(x)?, pass)
    }
}

/// A basic residual block: two 3×3 conv-bn, ReLU between and after the sum.
#[derive(Debug, Clone)]
struct Block {
    downsample: bool,
    a: ConvBn,
    b: ConvBn,
    shortcut: Option<ConvBn>,
}

impl Block {
    fn forward(&self, x: &Tensor, pass: &Pass) -> crate::nn::Result<Tensor> {
        let x = if self.downsample { avg_pool2(x)? } else { x.clone() };
        let y = self.a.forward_relu(&x, pass)?;
        let y = self.b.forward(&y, pass)?;
        let skip = match &self.shortcut {
            Some(proj) => proj.forward(&x, pass)?,
            None => x,
        };
        relu(&(y + skip)?)
    }
}

#[derive(Debug, Clone)]
enum Body {
    Cnn { stages: Vec<(ConvBn, ConvBn)>, hidden: Dense, dropout: f32 },
    Resnet { stem: ConvBn, blocks: Vec<Block> },
}

/// A classifier network with its parameters and batch-norm statistics.
#[derive(Debug)]
pub struct Classifier {
    kind: ModelKind,
    spec: ImageSpec,
    classes: usize,
    params: ParamStore,
    buffers: Vec<(String, Var)>,
    body: Body,
    head: Dense,
}

impl Classifier {
    /// Builds `kind` for images of `spec` and `classes` classes, `width` channels in
    /// the first stage (doubling per stage), weights drawn from `rng`.
    pub fn new<R: Rng + ?Sized>(
        kind: ModelKind,
        spec: ImageSpec,
        classes: usize,
        width: usize,
        dropout_p: f32,
        device: &Device,
        rng: &mut R,
    ) -> Result<Self> {
        if classes < 2 {
            return Err(ClassifyError::config("classes", format!("a classifier needs at least 2 classes, the data has {classes}")));
        }
        if width == 0 {
            return Err(ClassifyError::config("width", "must be at least 1"));
        }
        let mut params = ParamStore::new(device);
        let mut buffers = Vec::new();
        let (mut h, mut w) = (spec.height, spec.width);
        let (body, features) = match kind {
            ModelKind::Cnn => {
                let mut stages = Vec::new();
                let mut c = spec.channels;
                while h.min(w) >= 8 && stages.len() < 3 {
                    let out = width << stages.len();
                    let name = format!("stage{}", stages.len());
                    let a = ConvBn::new(&mut params, &mut buffers, &format!("{name}.0"), (c, out, 3), rng)?;
                    let b = ConvBn::new(&mut params, &mut buffers, &format!("{name}.1"), (out, out, 3), rng)?;
                    stages.push((a, b));
                    (c, h, w) = (out, h / 2, w / 2);
                }
                let hidden = Dense::new(&mut params, "hidden", h * w * c, 128, rng)?;
                (Body::Cnn { stages, hidden, dropout: dropout_p }, 128)
            }
            ModelKind::Resnet => {
                let stem = ConvBn::new(&mut params, &mut buffers, "stem", (spec.channels, width, 3), rng)?;
                let mut blocks = Vec::new();
                let mut c = width;
                for stage in 0..3 {
                    let out = width << stage;
                    for i in 0..2 {
                        let downsample = stage > 0 && i == 0 && h.min(w) >= 2;
                        if downsample {
                            (h, w) = (h / 2, w / 2);
                        }
                        let name = format!("layer{stage}.{i}");
                        let a = ConvBn::new(&mut params, &mut buffers, &format!("{name}.a"), (c, out, 3), rng)?;
                        let b = ConvBn::new(&mut params, &mut buffers, &format!("{name}.b"), (out, out, 3), rng)?;
                        let shortcut = if c != out {
                            Some(ConvBn::new(&mut params, &mut buffers, &format!("{name}.shortcut"), (c, out, 1), rng)?)
                        } else {
                            None
                        };
                        blocks.push(Block { downsample, a, b, shortcut });
                        c = out;
                    }
                }
                (Body::Resnet { stem, blocks }, c)
            }
        };
        let head = Dense::new(&mut params, "head", features, classes, rng)?;
        Ok(Self { kind, spec, classes, params, buffers, body, head })
    }

    /// The architecture.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The input spec it was built for.
    pub fn spec(&self) -> ImageSpec {
        self.spec
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes
    }

    /// The trainable parameters.
    pub fn params(&self) -> &ParamStore {
        &self.params
    }

    /// The penultimate-layer features, `B × F`.
    pub fn features(&self, x: &Tensor, pass: &mut Pass) -> crate::nn::Result<Tensor> {
        match &self.body {
            Body::Cnn { stages, hidden, dropout: p } => {
                let mut x = x.clone();
                for (a, b) in stages {
                    x = a.forward_relu(&x, pass)?;
                    x = b.forward_relu(&x, pass)?;
                    x = max_pool2(&x)?;
                }
                let x = relu(&hidden.forward(&flatten(&x)?)?)?;
                dropout(&x, *p, pass)
            }
            Body::Resnet { stem, blocks } => {
                let mut x = stem.forward_relu(x, pass)?;
                for block in blocks {
                    x = block.forward(&x, pass)?;
                }
                global_avg_pool(&x)
            }
        }
    }

    /// Class logits, `B × classes`, for `B × H × W × C` inputs.
    pub fn forward(&self, x: &Tensor, pass: &mut Pass) -> crate::nn::Result<Tensor> {
        self.head.forward(&self.features(x, pass)?)
    }

    /// Parameters and batch-norm statistics as named tensors, for checkpoints.
    pub fn tensors(&self) -> std::collections::HashMap<String, Tensor> {
        let mut t = self.params.tensors();
        t.extend(self.buffers.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())));
        t
    }

    /// Restores [`Classifier::tensors`] output, checking names and shapes.
    pub fn load(&self, tensors: &std::collections::HashMap<String, Tensor>) -> std::result::Result<(), String> {
        self.params.load(tensors, "")?;
        crate::nn::load_buffers(&self.buffers, tensors)
    }
}

/// Images per forward pass when only predicting.
const EVAL_BATCH: usize = 256;

/// Predicted labels for `set`'s images at `indices`, and the mean cross-entropy loss.
pub fn predict(model: &Classifier, normalize: &Normalize, set: &ImageSet, indices: &[usize]) -> Result<(Vec<u32>, f64)> {
    let device = model.params().device().clone();
    let mut predicted = Vec::with_capacity(indices.len());
    let mut loss_sum = 0.0;
    for chunk in indices.chunks(EVAL_BATCH) {
        let x = make_batch::<rand_chacha::ChaCha8Rng>(set, chunk, normalize, None, &device)?;
        let logits = model.forward(&x, &mut Pass::Eval)?;
        let labels: Vec<u32> = chunk.iter().map(|&i| set.labels()[i]).collect();
        let y = Tensor::new(labels.as_slice(), &device)?;
        loss_sum += f64::from(candle_nn::loss::cross_entropy(&logits, &y)?.to_scalar::<f32>()?) * chunk.len() as f64;
        predicted.extend(argmax(&logits)?);
    }
    Ok((predicted, loss_sum / indices.len().max(1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn both_architectures_give_logits_for_any_image_size() -> Result<()> {
        for kind in [ModelKind::Cnn, ModelKind::Resnet] {
            for (c, h, w) in [(1, 8, 8), (3, 32, 32), (3, 20, 13), (1, 4, 4)] {
                let spec = ImageSpec { channels: c, height: h, width: w };
                let model = Classifier::new(kind, spec, 5, 8, 0.2, &Device::Cpu, &mut rng_from_seed(0))?;
                let x = Tensor::zeros((2, h, w, c), candle_core::DType::F32, &Device::Cpu)?;
                let mut rng = rng_from_seed(1);
                assert_eq!(model.forward(&x, &mut Pass::Train(&mut rng))?.dims(), [2, 5], "{kind:?} {spec}");
                assert_eq!(model.forward(&x, &mut Pass::Eval)?.dims(), [2, 5]);
            }
        }
        Ok(())
    }

    #[test]
    fn weights_are_seeded_and_round_trip() -> Result<()> {
        let spec = ImageSpec { channels: 3, height: 16, width: 16 };
        let a = Classifier::new(ModelKind::Resnet, spec, 3, 8, 0.0, &Device::Cpu, &mut rng_from_seed(5))?;
        let b = Classifier::new(ModelKind::Resnet, spec, 3, 8, 0.0, &Device::Cpu, &mut rng_from_seed(5))?;
        let c = Classifier::new(ModelKind::Resnet, spec, 3, 8, 0.0, &Device::Cpu, &mut rng_from_seed(6))?;
        let key = "layer1.0.a.conv.weight";
        let get = |m: &Classifier| m.tensors()[key].flatten_all().and_then(|t| t.to_vec1::<f32>());
        assert_eq!(get(&a)?, get(&b)?);
        assert_ne!(get(&a)?, get(&c)?);
        c.load(&a.tensors()).map_err(|r| ClassifyError::config("load", r))?;
        assert_eq!(get(&a)?, get(&c)?);
        assert!(a.tensors().contains_key("layer0.0.a.bn.running_var"));
        Ok(())
    }
}
