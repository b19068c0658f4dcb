//! CPU kernels for the layers that candle's generic ops make slow on channels-last
//! tensors, as candle custom ops with their own backward passes: im2col / col2im,
//! training-mode batch norm, and 2×2 max pooling.
//!
//! Why: profiling a CNN epoch (32×32 RGB, batch 64, 2 cores) with candle's ops alone
//! showed 22% of the time in candle's reductions (batch-norm statistics and pooling
//! reduce over the strided, non-innermost dimensions) and another 12% in broadcast
//! arithmetic, against 23% in the matrix products. Here each is one or two passes over
//! contiguous rows with per-channel accumulators. Only the CPU runs these; other
//! devices use the generic tensor-op versions in the layers ([`super::BatchNorm`],
//! [`super::max_pool2`], [`super::conv_same`]).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor, bail};

/// The contiguous `f32` data of a tensor given to a custom op.
fn data<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else { bail!("{op} needs a contiguous input") };
    Ok(&storage.as_slice::<f32>()?[start..end])
}

/// Splits `0..n` rows of `row_len` floats into one chunk per core, for the loops below.
fn par_chunks(out: &mut [f32], rows: usize, row_len: usize, work: impl Fn(usize, &mut [f32]) + Sync) {
    // As many as candle's own kernels use (`--threads`).
    let threads = candle_core::utils::get_num_threads();
    // Below ~1 MB of output a thread costs more than it saves.
    let threads = if out.len() < (1 << 18) { 1 } else { threads.min(rows) };
    let per = rows.div_ceil(threads.max(1)).max(1);
    if threads <= 1 {
        work(0, out);
        return;
    }
    std::thread::scope(|scope| {
        for (i, chunk) in out.chunks_mut(per * row_len).enumerate() {
            let work = &work;
            scope.spawn(move || work(i * per, chunk));
        }
    });
}

/// im2col for channels-last images: `B × H × W × C → (B·H·W) × (k·k·C)`, zero outside
/// the image; row `(b, y, x)` holds the `k × k` neighbourhood of pixel `(y, x)`, tap
/// by tap, channels innermost. Its gradient is [`Col2Im`].
#[derive(Debug, Clone, Copy)]
pub struct Im2Col {
    /// Kernel side (odd).
    pub k: usize,
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col-nhwc"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h, w, c) = layout.shape().dims4()?;
        let src = data(storage, layout, "im2col")?;
        let (k, p) = (self.k, self.k as isize / 2);
        let row = k * k * c;
        let mut out = vec![0.0f32; b * h * w * row];
        par_chunks(&mut out, b, h * w * row, |b0, chunk| {
            for (bi, image_cols) in chunk.chunks_mut(h * w * row).enumerate() {
                let image = &src[(b0 + bi) * h * w * c..(b0 + bi + 1) * h * w * c];
                for y in 0..h {
                    for x in 0..w {
                        let dst = &mut image_cols[(y * w + x) * row..(y * w + x + 1) * row];
                        for ky in 0..k {
                            let sy = y as isize + ky as isize - p;
                            if sy < 0 || sy >= h as isize {
                                continue;
                            }
                            for kx in 0..k {
                                let sx = x as isize + kx as isize - p;
                                if sx < 0 || sx >= w as isize {
                                    continue;
                                }
                                let s = (sy as usize * w + sx as usize) * c;
                                dst[(ky * k + kx) * c..(ky * k + kx + 1) * c].copy_from_slice(&image[s..s + c]);
                            }
                        }
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((b * h * w, row))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (b, h, w, c) = arg.dims4()?;
        Ok(Some(grad_res.contiguous()?.apply_op1_no_bwd(&Col2Im { k: self.k, b, h, w, c })?))
    }
}

/// col2im, the adjoint of [`Im2Col`]: sums each column entry back onto the pixel it
/// was copied from.
#[derive(Debug, Clone, Copy)]
pub struct Col2Im {
    k: usize,
    b: usize,
    h: usize,
    w: usize,
    c: usize,
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im-nhwc"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let Self { k, b, h, w, c } = *self;
        let cols = data(storage, layout, "col2im")?;
        let row = k * k * c;
        if cols.len() != b * h * w * row {
            bail!("col2im: {} values for {b}x{h}x{w}x{c} with k={k}", cols.len());
        }
        let p = k as isize / 2;
        let mut out = vec![0.0f32; b * h * w * c];
        par_chunks(&mut out, b, h * w * c, |b0, chunk| {
            for (bi, image) in chunk.chunks_mut(h * w * c).enumerate() {
                let image_cols = &cols[(b0 + bi) * h * w * row..(b0 + bi + 1) * h * w * row];
                for y in 0..h {
                    for x in 0..w {
                        let src = &image_cols[(y * w + x) * row..(y * w + x + 1) * row];
                        for ky in 0..k {
                            let sy = y as isize + ky as isize - p;
                            if sy < 0 || sy >= h as isize {
                                continue;
                            }
                            for kx in 0..k {
                                let sx = x as isize + kx as isize - p;
                                if sx < 0 || sx >= w as isize {
                                    continue;
                                }
                                let d = (sy as usize * w + sx as usize) * c;
                                for (o, v) in image[d..d + c].iter_mut().zip(&src[(ky * k + kx) * c..(ky * k + kx + 1) * c]) {
                                    *o += v;
                                }
                            }
                        }
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((b, h, w, c))))
    }
}

/// Per-channel mean and biased variance of `x` (`rows × c`), two passes in f64.
fn channel_moments(x: &[f32], c: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = (x.len() / c).max(1) as f64;
    let mut mean = vec![0.0f64; c];
    for row in x.chunks_exact(c) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows);
    let mut var = vec![0.0f64; c];
    for row in x.chunks_exact(c) {
        for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
            let d = f64::from(v) - m;
            *s += d * d;
        }
    }
    var.iter_mut().for_each(|s| *s /= rows);
    (mean, var)
}

/// Per-channel batch statistics of a `… × C` tensor: a `2 × C` tensor of the mean
/// and the biased variance. No gradient (it feeds the running statistics).
#[derive(Debug, Clone, Copy)]
pub struct ChannelStats;

impl CustomOp1 for ChannelStats {
    fn name(&self) -> &'static str {
        "channel-stats"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let c = *layout.dims().last().unwrap_or(&1);
        let (mean, var) = channel_moments(data(storage, layout, "channel-stats")?, c);
        let out: Vec<f32> = mean.iter().chain(&var).map(|&v| v as f32).collect();
        Ok((CpuStorage::F32(out), Shape::from((2, c))))
    }
}

/// Training-mode batch norm on `… × C` with batch statistics: `(x, γ, β) → γ x̂ + β`,
/// `x̂ = (x - μ) / √(σ² + ε)`, optionally followed by a ReLU in the same pass. The
/// backward pass is the usual closed form `dx = γ/σ · (dy - mean(dy) - x̂ · mean(dy · x̂))`,
/// with `dγ = Σ dy · x̂`, `dβ = Σ dy` (and `dy` zeroed where the ReLU cut).
#[derive(Debug, Clone, Copy)]
pub struct BatchNormTrain {
    /// Added to the variance.
    pub eps: f64,
    /// Apply a ReLU to the output.
    pub relu: bool,
}

impl BatchNormTrain {
    /// `1 / √(σ² + ε)` per channel.
    fn inv_std(&self, var: &[f64]) -> Vec<f64> {
        var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect()
    }
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch-norm-train"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = data(s1, l1, "batch-norm")?;
        let (gamma, beta) = (data(s2, l2, "batch-norm")?, data(s3, l3, "batch-norm")?);
        let c = gamma.len();
        let (mean, var) = channel_moments(x, c);
        let inv = self.inv_std(&var);
        let scale: Vec<f32> = (0..c).map(|i| (f64::from(gamma[i]) * inv[i]) as f32).collect();
        let shift: Vec<f32> = (0..c).map(|i| (f64::from(beta[i]) - mean[i] * f64::from(scale[i])) as f32).collect();
        let floor = if self.relu { 0.0 } else { f32::NEG_INFINITY };
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks_exact(c) {
            y.extend(row.iter().zip(&scale).zip(&shift).map(|((v, s), t)| (v * s + t).max(floor)));
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let c = gamma.elem_count();
        let gamma_beta = Tensor::cat(&[gamma.flatten_all()?, beta.flatten_all()?], 0)?;
        let packed = x.contiguous()?.apply_op3_no_bwd(&gamma_beta, &grad.contiguous()?, &BatchNormTrainGrad { norm: *self })?;
        let n = x.elem_count();
        let dx = packed.narrow(0, 0, n)?.reshape(x.shape())?;
        let dgamma = packed.narrow(0, n, c)?.reshape(gamma.shape())?;
        let dbeta = packed.narrow(0, n + c, c)?.reshape(gamma.shape())?;
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

/// The gradients of [`BatchNormTrain`] from `(x, [γ…, β…], dy)`, packed as
/// `[dx…, dγ…, dβ…]` in one buffer.
#[derive(Debug, Clone, Copy)]
struct BatchNormTrainGrad {
    norm: BatchNormTrain,
}

impl CustomOp3 for BatchNormTrainGrad {
    fn name(&self) -> &'static str {
        "batch-norm-train-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = data(s1, l1, "batch-norm grad")?;
        let gamma_beta = data(s2, l2, "batch-norm grad")?;
        let dy = data(s3, l3, "batch-norm grad")?;
        let c = gamma_beta.len() / 2;
        let (gamma, beta) = gamma_beta.split_at(c);
        let rows = (x.len() / c).max(1) as f64;
        let (mean, var) = channel_moments(x, c);
        let inv = self.norm.inv_std(&var);
        let (mean32, inv32): (Vec<f32>, Vec<f32>) = mean.iter().zip(&inv).map(|(&m, &s)| (m as f32, s as f32)).unzip();
        // Pass 1: the gradient after the ReLU's mask (kept in `out`), and per channel
        // Σ dy and Σ dy · x̂, summed in f32 over blocks of rows and in f64 across blocks
        // so the inner loops vectorise over channels.
        let mut out = vec![0.0f32; x.len() + 2 * c];
        let (mut dbeta, mut dgamma) = (vec![0.0f64; c], vec![0.0f64; c]);
        let (mut block_beta, mut block_gamma) = (vec![0.0f32; c], vec![0.0f32; c]);
        let floor = if self.norm.relu { 0.0 } else { f32::NEG_INFINITY };
        // Every slice re-cut to length c, so the compiler drops the bounds checks and vectorises.
        let (mean32, inv32, gamma, beta) = (&mean32[..c], &inv32[..c], &gamma[..c], &beta[..c]);
        for (n, ((row, g), o)) in x.chunks_exact(c).zip(dy.chunks_exact(c)).zip(out.chunks_exact_mut(c)).enumerate() {
            let (bb, bg) = (&mut block_beta[..c], &mut block_gamma[..c]);
            for i in 0..c {
                let xhat = (row[i] - mean32[i]) * inv32[i];
                let kept = if xhat * gamma[i] + beta[i] > floor { g[i] } else { 0.0 };
                bb[i] += kept;
                bg[i] += kept * xhat;
                o[i] = kept;
            }
            if n % 256 == 255 {
                for i in 0..c {
                    dbeta[i] += f64::from(std::mem::take(&mut block_beta[i]));
                    dgamma[i] += f64::from(std::mem::take(&mut block_gamma[i]));
                }
            }
        }
        for i in 0..c {
            dbeta[i] += f64::from(block_beta[i]);
            dgamma[i] += f64::from(block_gamma[i]);
        }
        // Pass 2: dx in place of the masked gradient.
        let k: Vec<f32> = (0..c).map(|i| (f64::from(gamma[i]) * inv[i]) as f32).collect();
        let mean_dy: Vec<f32> = dbeta.iter().map(|s| (s / rows) as f32).collect();
        let mean_dy_xhat: Vec<f32> = dgamma.iter().map(|s| (s / rows) as f32).collect();
        let (k, mean_dy, mean_dy_xhat) = (&k[..c], &mean_dy[..c], &mean_dy_xhat[..c]);
        for (o, row) in out[..x.len()].chunks_exact_mut(c).zip(x.chunks_exact(c)) {
            for i in 0..c {
                let xhat = (row[i] - mean32[i]) * inv32[i];
                o[i] = k[i] * (o[i] - mean_dy[i] - xhat * mean_dy_xhat[i]);
            }
        }
        for (o, v) in out[x.len()..].iter_mut().zip(dgamma.iter().chain(&dbeta)) {
            *o = *v as f32;
        }
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

/// 2 × 2 max pooling with stride 2 on `B × H × W × C` (even `H` and `W`); the gradient
/// goes to the first maximum of each window, as PyTorch routes it.
#[derive(Debug, Clone, Copy)]
pub struct MaxPool2;

/// For every output pixel of a 2×2 pooling of `B × H × W × C`, in output order, the
/// input offsets (in floats) of the four pixels of its window.
fn windows((b, h, w, c): (usize, usize, usize, usize)) -> impl Iterator<Item = [usize; 4]> {
    (0..b * (h / 2)).flat_map(move |row| {
        let (bi, y) = (row / (h / 2), row % (h / 2));
        (0..w / 2).map(move |x| {
            let top = ((bi * h + 2 * y) * w + 2 * x) * c;
            [top, top + c, top + w * c, top + w * c + c]
        })
    })
}

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "max-pool-2x2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h, w, c) = layout.shape().dims4()?;
        if h % 2 == 1 || w % 2 == 1 {
            bail!("max-pool-2x2 needs an even height and width, got {h}x{w}");
        }
        let x = data(storage, layout, "max-pool")?;
        let mut out = vec![0.0f32; b * h / 2 * w / 2 * c];
        for (o, [p0, p1, p2, p3]) in out.chunks_exact_mut(c).zip(windows((b, h, w, c))) {
            for i in 0..c {
                o[i] = x[p0 + i].max(x[p1 + i]).max(x[p2 + i]).max(x[p3 + i]);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, h / 2, w / 2, c))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(arg.contiguous()?.apply_op2_no_bwd(&grad.contiguous()?, &MaxPool2Grad)?))
    }
}

/// The gradient of [`MaxPool2`]: `(x, dy) → dx`.
#[derive(Debug, Clone, Copy)]
struct MaxPool2Grad;

impl CustomOp2 for MaxPool2Grad {
    fn name(&self) -> &'static str {
        "max-pool-2x2-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h, w, c) = l1.shape().dims4()?;
        let (x, dy) = (data(s1, l1, "max-pool grad")?, data(s2, l2, "max-pool grad")?);
        let mut dx = vec![0.0f32; x.len()];
        for (g, taps) in dy.chunks_exact(c).zip(windows((b, h, w, c))) {
            for i in 0..c {
                let best = taps.iter().copied().fold(taps[0], |best, p| if x[p + i] > x[best + i] { p } else { best });
                dx[best + i] += g[i];
            }
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// `max(x, 0)` with its gradient, one pass each way.
#[derive(Debug, Clone, Copy)]
pub struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = data(storage, layout, "relu")?;
        Ok((CpuStorage::F32(x.iter().map(|v| v.max(0.0)).collect()), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(res.contiguous()?.apply_op2_no_bwd(&grad.contiguous()?, &ReluGrad)?))
    }
}

/// The gradient of [`Relu`]: `(y, dy) → dy where y > 0`.
#[derive(Debug, Clone, Copy)]
struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "relu-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (y, dy) = (data(s1, l1, "relu grad")?, data(s2, l2, "relu grad")?);
        let dx = y.iter().zip(dy).map(|(&y, &g)| if y > 0.0 { g } else { 0.0 }).collect();
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}
