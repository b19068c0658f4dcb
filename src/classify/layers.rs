//! Layers for channels-last (`B × H × W × C`) image tensors, written with candle's
//! tensor ops so that autograd and every device work unchanged.
//!
//! Why not `Tensor::conv2d` on the CPU: measured on 2 cores (batch 64, 32×32, 32 → 32
//! channels), its forward pass took 148 ms and forward + backward 321 ms, where the
//! matrix product the convolution amounts to takes 15 ms. Here a CPU convolution is
//! im2col plus one GEMM (see [`Conv`]); the layout is channels-last so the GEMM needs
//! no transposes.

use candle_core::{D, Tensor, Var};
use rand::{Rng, RngCore};

use super::{Result, kernels};
use crate::rl::nets::{ParamStore, standard_normal};

/// Whether a forward pass trains (batch statistics, dropout) or evaluates.
pub enum Pass<'a> {
    /// Training: batch norm uses and updates batch statistics; dropout draws from the RNG.
    Train(&'a mut dyn RngCore),
    /// Evaluation: running statistics, no dropout.
    Eval,
}

impl Pass<'_> {
    /// Whether this pass trains.
    pub fn training(&self) -> bool {
        matches!(self, Pass::Train(_))
    }
}

/// Kaiming-normal weights (He et al., 2015) for a layer with `fan_in` inputs feeding ReLUs.
pub fn kaiming<R: Rng + ?Sized>(n: usize, fan_in: usize, rng: &mut R) -> Vec<f32> {
    let std = (2.0 / fan_in as f64).sqrt();
    (0..n).map(|_| (standard_normal(rng) * std) as f32).collect()
}

/// A `k × k` convolution with stride 1 and "same" zero padding, on `B × H × W × C`.
///
/// On the CPU it is im2col ([`kernels::Im2Col`], a custom op whose backward pass is col2im)
/// followed by one matrix product with the `k²C × C_out` weights, so forward and
/// backward are two memory passes plus GEMMs. On other devices it runs candle's own
/// `conv2d` on a channels-first view.
#[derive(Debug, Clone)]
pub struct Conv {
    weight: Tensor,
    bias: Option<Tensor>,
    k: usize,
}

impl Conv {
    /// A new `k × k` convolution `c_in → c_out` named `name`, with a bias unless a batch
    /// norm follows (`bias = false`).
    pub fn new<R: Rng + ?Sized>(
        params: &mut ParamStore,
        name: &str,
        (c_in, c_out, k): (usize, usize, usize),
        bias: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let fan_in = k * k * c_in;
        let weight = params.var(format!("{name}.weight"), &kaiming(fan_in * c_out, fan_in, rng), &[fan_in, c_out])?;
        let bias = if bias { Some(params.var(format!("{name}.bias"), &vec![0.0; c_out], &[c_out])?.as_tensor().clone()) } else { None };
        Ok(Self { weight: weight.as_tensor().clone(), bias, k })
    }

    /// Applies the convolution.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = conv_same(x, &self.weight, self.k)?;
        match &self.bias {
            Some(bias) => Ok(y.broadcast_add(bias)?),
            None => Ok(y),
        }
    }
}

/// A `k × k`, stride-1, "same"-padded convolution of `B × H × W × C` by `weight`
/// (`k²C × C_out`, rows in (row, column, channel) order), without bias: [`Conv`]'s
/// computation, for layers that derive their weights (spectral normalisation).
pub fn conv_same(x: &Tensor, weight: &Tensor, k: usize) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    let c_out = weight.dim(1)?;
    Ok(if k == 1 {
        x.reshape((b * h * w, c))?.matmul(weight)?.reshape((b, h, w, c_out))?
    } else if x.device().is_cpu() {
        x.contiguous()?.apply_op1(kernels::Im2Col { k })?.matmul(weight)?.reshape((b, h, w, c_out))?
    } else {
        let kernel = weight.reshape((k, k, c, c_out))?.permute((3, 2, 0, 1))?;
        let nchw = x.permute((0, 3, 1, 2))?.contiguous()?;
        nchw.conv2d(&kernel.contiguous()?, k / 2, 1, 1, 1)?.permute((0, 2, 3, 1))?.contiguous()?
    })
}

/// Batch normalisation (Ioffe & Szegedy, 2015) over the channels of `… × C` tensors,
/// with running statistics (momentum 0.1, unbiased variance, as PyTorch keeps them).
#[derive(Debug, Clone)]
pub struct BatchNorm {
    gamma: Tensor,
    beta: Tensor,
    running_mean: Var,
    running_var: Var,
}

impl BatchNorm {
    const MOMENTUM: f64 = 0.1;
    const EPS: f64 = 1e-5;

    /// A new batch norm over `c` channels named `name`; its running statistics are
    /// added to `buffers` (saved with checkpoints, not trained).
    pub fn new(params: &mut ParamStore, buffers: &mut Vec<(String, Var)>, name: &str, c: usize) -> Result<Self> {
        let gamma = params.var(format!("{name}.weight"), &vec![1.0; c], &[c])?.as_tensor().clone();
        let beta = params.var(format!("{name}.bias"), &vec![0.0; c], &[c])?.as_tensor().clone();
        let device = params.device().clone();
        let running_mean = Var::from_tensor(&Tensor::zeros(c, candle_core::DType::F32, &device)?)?;
        let running_var = Var::from_tensor(&Tensor::ones(c, candle_core::DType::F32, &device)?)?;
        buffers.push((format!("{name}.running_mean"), running_mean.clone()));
        buffers.push((format!("{name}.running_var"), running_var.clone()));
        Ok(Self { gamma, beta, running_mean, running_var })
    }

    /// Moves the running statistics towards a batch's mean and biased variance over `n` rows.
    fn update_running(&self, mean: &Tensor, var: &Tensor, n: f64) -> Result<()> {
        let m = Self::MOMENTUM;
        let unbiased = var.affine(n / (n - 1.0).max(1.0), 0.0)?;
        self.running_mean.set(&(self.running_mean.as_tensor().affine(1.0 - m, 0.0)? + mean.affine(m, 0.0)?)?)?;
        self.running_var.set(&(self.running_var.as_tensor().affine(1.0 - m, 0.0)? + unbiased.affine(m, 0.0)?)?)?;
        Ok(())
    }

    /// Normalises `x` with batch statistics when training (updating the running
    /// ones), with the running statistics otherwise.
    pub fn forward(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
        self.forward_maybe_relu(x, pass, false)
    }

    /// `relu(forward(x))`, fused into one pass when training on the CPU.
    pub fn forward_relu(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
        self.forward_maybe_relu(x, pass, true)
    }

    fn forward_maybe_relu(&self, x: &Tensor, pass: &Pass, relu: bool) -> Result<Tensor> {
        if pass.training() && x.device().is_cpu() {
            let x = x.contiguous()?;
            let stats = x.apply_op1_no_bwd(&kernels::ChannelStats)?;
            let n = (x.elem_count() / self.gamma.elem_count()) as f64;
            self.update_running(&stats.get(0)?, &stats.get(1)?, n)?;
            return Ok(x.apply_op3(&self.gamma, &self.beta, kernels::BatchNormTrain { eps: Self::EPS, relu })?);
        }
        let y = self.forward_generic(x, pass)?;
        if relu { Ok(y.relu()?) } else { Ok(y) }
    }

    /// [`BatchNorm::forward`] in candle's tensor ops, for any device.
    fn forward_generic(&self, x: &Tensor, pass: &Pass) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let c = dims[dims.len() - 1];
        let rows = x.reshape(((), c))?;
        let (mean, var) = if pass.training() {
            let mean = rows.mean_keepdim(0)?;
            let centred = rows.broadcast_sub(&mean)?;
            let var = centred.sqr()?.mean_keepdim(0)?;
            self.update_running(&mean.detach().squeeze(0)?, &var.detach().squeeze(0)?, rows.dim(0)? as f64)?;
            (mean, var)
        } else {
            (self.running_mean.as_tensor().unsqueeze(0)?, self.running_var.as_tensor().unsqueeze(0)?)
        };
        let scale = (var + Self::EPS)?.sqrt()?.recip()?.broadcast_mul(&self.gamma.unsqueeze(0)?)?;
        let y = rows.broadcast_sub(&mean)?.broadcast_mul(&scale)?.broadcast_add(&self.beta.unsqueeze(0)?)?;
        Ok(y.reshape(dims)?)
    }
}

/// A fully connected layer on `B × F`.
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// A new layer `f_in → f_out` named `name` (Kaiming-normal weights, zero bias).
    pub fn new<R: Rng + ?Sized>(params: &mut ParamStore, name: &str, f_in: usize, f_out: usize, rng: &mut R) -> Result<Self> {
        let weight = params.var(format!("{name}.weight"), &kaiming(f_in * f_out, f_in, rng), &[f_in, f_out])?.as_tensor().clone();
        let bias = params.var(format!("{name}.bias"), &vec![0.0; f_out], &[f_out])?.as_tensor().clone();
        Ok(Self { weight, bias })
    }

    /// Applies the layer.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight)?.broadcast_add(&self.bias)?)
    }
}

/// Inverted dropout: zeroes each unit with probability `p` while training and scales
/// the rest by `1 / (1 - p)`; the mask is drawn from the pass's RNG.
pub fn dropout(x: &Tensor, p: f32, pass: &mut Pass) -> Result<Tensor> {
    let Pass::Train(rng) = pass else { return Ok(x.clone()) };
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f32>() < p { 0.0 } else { keep }).collect();
    Ok(x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?)?)
}

/// 2 × 2 max pooling with stride 2 on `B × H × W × C` (an odd last row or column is dropped).
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    let x = if h % 2 == 1 || w % 2 == 1 { x.narrow(1, 0, h - h % 2)?.narrow(2, 0, w - w % 2)?.contiguous()? } else { x.clone() };
    if x.device().is_cpu() {
        return Ok(x.contiguous()?.apply_op1(kernels::MaxPool2)?);
    }
    max_pool2_generic(&x, (b, h, w, c))
}

/// [`max_pool2`] in candle's tensor ops, for any device (even `h` and `w`).
fn max_pool2_generic(x: &Tensor, (b, h, w, c): (usize, usize, usize, usize)) -> Result<Tensor> {
    Ok(x.reshape((b, h / 2, 2, w / 2, 2, c))?.max(4)?.max(2)?)
}

/// 2 × 2 average pooling with stride 2 on `B × H × W × C` (an odd last row or column is dropped).
pub fn avg_pool2(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    let x = if h % 2 == 1 || w % 2 == 1 { x.narrow(1, 0, h - h % 2)?.narrow(2, 0, w - w % 2)?.contiguous()? } else { x.clone() };
    Ok(x.reshape((b, h / 2, 2, w / 2, 2, c))?.mean(4)?.mean(2)?)
}

/// Mean over height and width: `B × H × W × C → B × C`.
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    Ok(x.reshape((b, h * w, c))?.mean(1)?)
}

/// `max(x, 0)`: one pass each way on the CPU (candle's own ReLU gradient takes four).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() { Ok(x.contiguous()?.apply_op1(kernels::Relu)?) } else { Ok(x.relu()?) }
}

/// Flattens everything but the batch dimension.
pub fn flatten(x: &Tensor) -> Result<Tensor> {
    Ok(x.flatten_from(1)?)
}

/// Index of the largest logit per row.
pub fn argmax(logits: &Tensor) -> Result<Vec<u32>> {
    Ok(logits.argmax(D::Minus1)?.to_vec1::<u32>()?)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::util::seed::rng_from_seed;

    /// The im2col convolution equals candle's own `conv2d` (NCHW) on the same weights.
    #[test]
    fn convolution_matches_candles_conv2d() -> Result<()> {
        let dev = Device::Cpu;
        let mut rng = rng_from_seed(1);
        let mut params = ParamStore::new(&dev);
        let (b, h, w, c_in, c_out, k) = (2, 5, 4, 3, 6, 3);
        let conv = Conv::new(&mut params, "c", (c_in, c_out, k), true, &mut rng)?;
        let data: Vec<f32> = (0..b * h * w * c_in).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
        let x = Var::from_tensor(&Tensor::from_vec(data, (b, h, w, c_in), &dev)?)?;
        let ours = conv.forward(x.as_tensor())?;
        // Our weights are (ky, kx, c_in) × c_out; candle's kernel is c_out × c_in × ky × kx.
        let kernel = Var::from_tensor(&conv.weight.reshape((k, k, c_in, c_out))?.permute((3, 2, 0, 1))?.contiguous()?)?;
        let theirs = x.as_tensor().permute((0, 3, 1, 2))?.conv2d(kernel.as_tensor(), 1, 1, 1, 1)?.permute((0, 2, 3, 1))?;
        let max_diff = |a: &Tensor, b: &Tensor| -> Result<f32> { Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?) };
        assert!(max_diff(&ours, &theirs)? < 1e-5);
        // Gradients through im2col's backward (col2im) equal those through candle's conv2d.
        let weights = Tensor::from_vec((0..b * h * w * c_out).map(|i| (i as f32 * 0.7).cos()).collect::<Vec<_>>(), ours.shape(), &dev)?;
        let g_ours = ours.mul(&weights)?.sum_all()?.backward()?;
        let g_theirs = theirs.mul(&weights)?.sum_all()?.backward()?;
        let (gx, gx_theirs) = (g_ours.get(x.as_tensor()).expect("dx"), g_theirs.get(x.as_tensor()).expect("dx"));
        assert!(max_diff(gx, gx_theirs)? < 1e-4);
        let gw = g_ours.get(&conv.weight).expect("dw").reshape((k, k, c_in, c_out))?.permute((3, 2, 0, 1))?;
        assert!(max_diff(&gw, g_theirs.get(kernel.as_tensor()).expect("dw"))? < 1e-4);
        Ok(())
    }

    #[test]
    fn batch_norm_standardises_in_training_and_tracks_running_stats() -> Result<()> {
        let dev = Device::Cpu;
        let mut params = ParamStore::new(&dev);
        let mut buffers = Vec::new();
        let bn = BatchNorm::new(&mut params, &mut buffers, "bn", 2)?;
        let x = Tensor::new(&[[1.0f32, 10.0], [3.0, 30.0]], &dev)?;
        let mut rng = rng_from_seed(0);
        let y = bn.forward(&x, &Pass::Train(&mut rng))?.to_vec2::<f32>()?;
        for col in 0..2 {
            assert!((y[0][col] + 1.0).abs() < 1e-3 && (y[1][col] - 1.0).abs() < 1e-3, "{y:?}");
        }
        let mean = bn.running_mean.as_tensor().to_vec1::<f32>()?;
        let var = bn.running_var.as_tensor().to_vec1::<f32>()?;
        assert!((mean[0] - 0.2).abs() < 1e-6 && (mean[1] - 2.0).abs() < 1e-5, "{mean:?}");
        // Unbiased variance of [1, 3] is 2: 0.9 · 1 + 0.1 · 2.
        assert!((var[0] - 1.1).abs() < 1e-5, "{var:?}");
        assert_eq!(buffers.len(), 2);
        Ok(())
    }

    /// The CPU kernels (batch norm, max pooling) give the values and gradients of the
    /// generic tensor-op versions other devices run.
    #[test]
    fn cpu_kernels_match_the_generic_ops_forwards_and_backwards() -> Result<()> {
        let dev = Device::Cpu;
        let data: Vec<f32> = (0..2 * 4 * 6 * 3).map(|i| (i as f32 * 0.731).sin() * 3.0 + (i % 3) as f32).collect();
        let x = Var::from_tensor(&Tensor::from_vec(data, (2, 4, 6, 3), &dev)?)?;
        let weights = Tensor::from_vec((0..2 * 4 * 6 * 3).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(), (2, 4, 6, 3), &dev)?;
        let max_diff = |a: &Tensor, b: &Tensor| -> Result<f32> { Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?) };
        let mut rng = rng_from_seed(0);
        let mut params = ParamStore::new(&dev);
        let mut buffers = Vec::new();
        let bn = BatchNorm::new(&mut params, &mut buffers, "bn", 3)?;
        let gamma = &params.vars().iter().find(|(n, _)| n == "bn.weight").expect("invariant: bn.weight was just made").1;
        gamma.set(&Tensor::new(&[0.5f32, 1.5, -1.0], &dev)?)?;
        let ours = relu(&bn.forward_relu(x.as_tensor(), &Pass::Train(&mut rng))?)?;
        let generic = bn.forward_generic(x.as_tensor(), &Pass::Train(&mut rng))?.relu()?;
        assert!(max_diff(&ours, &generic)? < 1e-5);
        // A loss that weights every output differently, so all gradient terms matter.
        let g_ours = ours.mul(&weights)?.sum_all()?.backward()?;
        let g_generic = generic.mul(&weights)?.sum_all()?.backward()?;
        for t in [x.as_tensor(), &bn.gamma, &bn.beta] {
            let (a, b) = (g_ours.get(t).expect("gradient"), g_generic.get(t).expect("gradient"));
            assert!(max_diff(a, b)? < 1e-4, "{a} vs {b}");
        }
        // Max pooling, on distinct values (with ties, candle's gradient goes to every
        // maximum and ours, as PyTorch's, to the first).
        let (pooled_ours, pooled_generic) = (max_pool2(x.as_tensor())?, max_pool2_generic(x.as_tensor(), (2, 4, 6, 3))?);
        assert!(max_diff(&pooled_ours, &pooled_generic)? < 1e-6);
        let pool_weights = weights.narrow(1, 0, 2)?.narrow(2, 0, 3)?;
        let g_ours = pooled_ours.mul(&pool_weights)?.sum_all()?.backward()?;
        let g_generic = pooled_generic.mul(&pool_weights)?.sum_all()?.backward()?;
        let (a, b) = (g_ours.get(x.as_tensor()).expect("gradient"), g_generic.get(x.as_tensor()).expect("gradient"));
        assert!(max_diff(a, b)? < 1e-6, "{a} vs {b}");
        Ok(())
    }

    #[test]
    fn pooling_takes_max_and_mean_of_each_window() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::from_vec((0..16).map(|v| v as f32).collect::<Vec<_>>(), (1, 4, 4, 1), &dev)?;
        assert_eq!(max_pool2(&x)?.flatten_all()?.to_vec1::<f32>()?, [5.0, 7.0, 13.0, 15.0]);
        assert_eq!(avg_pool2(&x)?.flatten_all()?.to_vec1::<f32>()?, [2.5, 4.5, 10.5, 12.5]);
        assert_eq!(global_avg_pool(&x)?.flatten_all()?.to_vec1::<f32>()?, [7.5]);
        Ok(())
    }
}
