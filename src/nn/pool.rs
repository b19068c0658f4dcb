//! Pooling on channels-last (`B × H × W × C`) tensors: 2 × 2 max and average
//! pooling, and global average pooling.

use candle_core::Tensor;

use super::{Result, kernels};

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

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    #[test]
    fn pooling_takes_max_and_mean_of_each_window() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::from_vec((0..16).map(|v| v as f32).collect::<Vec<_>>(), (1, 4, 4, 1), &dev)?;
        assert_eq!(max_pool2(&x)?.flatten_all()?.to_vec1::<f32>()?, [5.0, 7.0, 13.0, 15.0]);
        assert_eq!(avg_pool2(&x)?.flatten_all()?.to_vec1::<f32>()?, [2.5, 4.5, 10.5, 12.5]);
        assert_eq!(global_avg_pool(&x)?.flatten_all()?.to_vec1::<f32>()?, [7.5]);
        Ok(())
    }

    /// The CPU max-pooling kernel gives the values and gradients of the generic
    /// tensor-op version other devices run.
    #[test]
    fn cpu_max_pool_matches_the_generic_ops_forwards_and_backwards() -> Result<()> {
        let dev = Device::Cpu;
        let data: Vec<f32> = (0..2 * 4 * 6 * 3).map(|i| (i as f32 * 0.731).sin() * 3.0 + (i % 3) as f32).collect();
        let x = Var::from_tensor(&Tensor::from_vec(data, (2, 4, 6, 3), &dev)?)?;
        let weights = Tensor::from_vec((0..2 * 4 * 6 * 3).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(), (2, 4, 6, 3), &dev)?;
        let max_diff = |a: &Tensor, b: &Tensor| -> Result<f32> { Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?) };
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
}
