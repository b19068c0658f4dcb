//! Nonlinearities: [`Activation`] (tanh or ReLU between MLP layers, tanh by a fast
//! rational approximation on the CPU) and [`relu`] with a one-pass CPU kernel.

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

use super::{Result, kernels};

/// Hidden-layer nonlinearity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `tanh`, SB3's default for PPO.
    #[default]
    Tanh,
    /// `max(0, x)`, SB3's default for DQN.
    Relu,
}

impl Activation {
    /// Applies the nonlinearity.
    pub fn forward(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            // candle's CPU tanh calls libm's scalar `tanhf` per element, which was a third
            // of PPO's CartPole update time; the rational approximation vectorises.
            Activation::Tanh if x.device().is_cpu() && x.dtype() == DType::F32 && x.is_contiguous() => x.apply_op1(FastTanh),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
        }
    }
}

/// `tanh` for f32 tensors on the CPU by a rational approximation (the one Eigen uses
/// for `ptanh`: odd degree-13 numerator over even degree-6 denominator, within a few
/// ulp of `f32::tanh`), with the usual gradient `1 - tanh²`.
struct FastTanh;

impl candle_core::CustomOp1 for FastTanh {
    fn name(&self) -> &'static str {
        "fast-tanh"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let candle_core::CpuStorage::F32(data) = storage else { candle_core::bail!("fast-tanh: expected f32 storage") };
        // Linear-layer outputs are always contiguous; anything else takes candle's own tanh.
        let Some((start, end)) = layout.contiguous_offsets() else { candle_core::bail!("fast-tanh: expected a contiguous tensor") };
        let out: Vec<f32> = data[start..end].iter().map(|&x| tanh_approx(x)).collect();
        Ok((candle_core::CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad_res.mul(&res.sqr()?.affine(-1.0, 1.0)?)?))
    }
}

/// `tanh(x)` as `x·p(x²)/q(x²)`, clamped where `tanh` rounds to ±1 in f32. Plain
/// multiply-adds rather than `mul_add`, which is a libm call without the `fma` target feature.
#[inline]
pub fn tanh_approx(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = x.clamp(-CLAMP, CLAMP);
    if x.abs() < 4e-4 {
        return x;
    }
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    p = p * x2 + 2.000_188e-13;
    p = p * x2 + -8.604_672e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619e-4;
    p = p * x2 + 4.893_524_6e-3;
    let mut q = 1.198_258_4e-6_f32;
    q = q * x2 + 1.185_347e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    x * p / q
}

/// `max(x, 0)`: one pass each way on the CPU (candle's own ReLU gradient takes four).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() { Ok(x.contiguous()?.apply_op1(kernels::Relu)?) } else { Ok(x.relu()?) }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    #[test]
    fn fast_tanh_matches_std_and_has_the_right_gradient() -> Result<()> {
        for i in -2000..=2000 {
            let x = i as f32 * 0.005;
            assert!((tanh_approx(x) - x.tanh()).abs() < 6e-7, "x = {x}: {} vs {}", tanh_approx(x), x.tanh());
        }
        assert_eq!(tanh_approx(50.0), tanh_approx(7.905_311));
        assert!((tanh_approx(50.0) - 1.0).abs() < 1e-6);
        let x = Var::from_tensor(&Tensor::new(&[-1.5f32, 0.0, 0.7], &Device::Cpu)?)?;
        let y = Activation::Tanh.forward(x.as_tensor())?;
        let g = y.sum_all()?.backward()?;
        let grad = g.get(x.as_tensor()).map(|t| t.to_vec1::<f32>()).transpose()?.unwrap_or_default();
        for (gi, xi) in grad.iter().zip([-1.5f32, 0.0, 0.7]) {
            assert!((gi - (1.0 - xi.tanh().powi(2))).abs() < 1e-6);
        }
        Ok(())
    }
}
