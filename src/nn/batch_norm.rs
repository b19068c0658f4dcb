//! [`BatchNorm`] over the channels of channels-last tensors, with a fused
//! batch-norm + ReLU kernel for CPU training.

use candle_core::{Tensor, Var};

use super::{ParamStore, Pass, Result, kernels};

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

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::util::seed::rng_from_seed;

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

    /// The CPU batch-norm kernel (fused with ReLU) gives the values and gradients of the
    /// generic tensor-op version other devices run.
    #[test]
    fn cpu_batch_norm_matches_the_generic_ops_forwards_and_backwards() -> Result<()> {
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
        let ours = crate::nn::relu(&bn.forward_relu(x.as_tensor(), &Pass::Train(&mut rng))?)?;
        let generic = bn.forward_generic(x.as_tensor(), &Pass::Train(&mut rng))?.relu()?;
        assert!(max_diff(&ours, &generic)? < 1e-5);
        // A loss that weights every output differently, so all gradient terms matter.
        let g_ours = ours.mul(&weights)?.sum_all()?.backward()?;
        let g_generic = generic.mul(&weights)?.sum_all()?.backward()?;
        for t in [x.as_tensor(), &bn.gamma, &bn.beta] {
            let (a, b) = (g_ours.get(t).expect("gradient"), g_generic.get(t).expect("gradient"));
            assert!(max_diff(a, b)? < 1e-4, "{a} vs {b}");
        }
        Ok(())
    }
}
