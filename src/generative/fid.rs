//! The Fréchet distance between two image sets in a feature space (Heusel et al., 2017):
//! `‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^{½} Σ₂ Σ₁^{½})^{½})`.
//!
//! The features are not Inception's: they come from any [`FeatureExtractor`]. `synthgym gen
//! eval` plugs in the penultimate layer of a classifier the project trains (`synthgym
//! classify train` on the real images; the CNN's 128-unit hidden layer, after ReLU, in
//! evaluation mode), so the distance measures what that classifier can tell apart.
//! Distances are comparable only under the same extractor.

use candle_core::{Device, Tensor};

use super::Result;
use crate::data::{ImageSet, ImageSpec, Normalize, make_batch};

/// Mean and covariance of a set of feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStats {
    /// Dimension.
    pub dim: usize,
    /// Vectors summarised.
    pub count: usize,
    /// Mean.
    pub mean: Vec<f64>,
    /// Covariance (unbiased), row-major `dim × dim`.
    pub cov: Vec<f64>,
}

impl FeatureStats {
    /// Statistics of `rows` (each `dim` long, concatenated).
    pub fn of(rows: &[f32], dim: usize) -> FeatureStats {
        let count = rows.len() / dim.max(1);
        let mut mean = vec![0.0f64; dim];
        for row in rows.chunks_exact(dim) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= count.max(1) as f64);
        let mut cov = vec![0.0f64; dim * dim];
        let mut centred = vec![0.0f64; dim];
        for row in rows.chunks_exact(dim) {
            for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = f64::from(v) - m;
            }
            for i in 0..dim {
                let ci = centred[i];
                for j in i..dim {
                    cov[i * dim + j] += ci * centred[j];
                }
            }
        }
        let norm = (count.max(2) - 1) as f64;
        for i in 0..dim {
            for j in i..dim {
                let v = cov[i * dim + j] / norm;
                cov[i * dim + j] = v;
                cov[j * dim + i] = v;
            }
        }
        FeatureStats { dim, count, mean, cov }
    }
}

/// Eigenvalues and eigenvectors (columns, row-major `n × n`) of the symmetric matrix `a`,
/// by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0f64; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * n + j].powi(2)).sum();
        if off.sqrt() <= 1e-14 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues
/// from rounding are taken as 0).
fn sqrt_psd(a: &[f64], n: usize) -> Vec<f64> {
    let (values, vectors) = symmetric_eigen(a, n);
    let mut out = vec![0.0f64; n * n];
    for (k, &lambda) in values.iter().enumerate() {
        let s = lambda.max(0.0).sqrt();
        for i in 0..n {
            let vik = vectors[i * n + k] * s;
            for j in 0..n {
                out[i * n + j] += vik * vectors[j * n + k];
            }
        }
    }
    out
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                out[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    out
}

/// The Fréchet distance between two Gaussians fitted to feature sets.
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> f64 {
    let n = a.dim;
    let mean_term: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y).powi(2)).sum();
    let trace = |m: &[f64]| (0..n).map(|i| m[i * n + i]).sum::<f64>();
    let root_a = sqrt_psd(&a.cov, n);
    let mut middle = matmul(&matmul(&root_a, &b.cov, n), &root_a, n);
    // Symmetrise against rounding before the eigen-decomposition.
    for i in 0..n {
        for j in i + 1..n {
            let m = 0.5 * (middle[i * n + j] + middle[j * n + i]);
            middle[i * n + j] = m;
            middle[j * n + i] = m;
        }
    }
    let (values, _) = symmetric_eigen(&middle, n);
    let cross: f64 = values.iter().map(|v| v.max(0.0).sqrt()).sum();
    (mean_term + trace(&a.cov) + trace(&b.cov) - 2.0 * cross).max(0.0)
}

/// What the Fréchet distance needs of a feature extractor: the images it takes and
/// its embedding of a batch of them. A trained classifier is one (the CLI adapts
/// `classify`'s checkpoints to it); this module never depends on `classify` itself.
pub trait FeatureExtractor {
    /// The image shape it takes.
    fn spec(&self) -> ImageSpec;
    /// How its input pixels are scaled.
    fn normalize(&self) -> &Normalize;
    /// The device its weights live on.
    fn device(&self) -> Device;
    /// Feature rows (`B × F`) of a `B × H × W × C` input batch, in evaluation mode.
    fn embed(&self, x: &Tensor) -> crate::nn::Result<Tensor>;
}

/// Feature vectors of every image of `set` (converted to the extractor's spec),
/// concatenated; and their dimension.
pub fn features(extractor: &dyn FeatureExtractor, set: &ImageSet) -> Result<(Vec<f32>, usize)> {
    let spec = extractor.spec();
    let set = if set.spec() == spec {
        set.clone()
    } else {
        let from = set.spec();
        let pixels: Vec<u8> = (0..set.len())
            .flat_map(|i| crate::data::imagefolder::convert(from.width, from.height, from.channels, set.image(i), spec))
            .collect();
        ImageSet::from_parts(spec, set.classes().to_vec(), pixels, set.labels().to_vec())?
    };
    let device = extractor.device();
    let mut out = Vec::new();
    let mut dim = 0;
    let all: Vec<usize> = (0..set.len()).collect();
    for chunk in all.chunks(256) {
        let x = make_batch::<rand_chacha::ChaCha8Rng>(&set, chunk, extractor.normalize(), None, &device)?;
        let f = extractor.embed(&x)?;
        dim = f.dim(1)?;
        out.extend(f.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok((out, dim))
}

/// Feature statistics of `set`.
pub fn stats(extractor: &dyn FeatureExtractor, set: &ImageSet) -> Result<FeatureStats> {
    let (rows, dim) = features(extractor, set)?;
    Ok(FeatureStats::of(&rows, dim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        // Eigenvalues of [[2, 1], [1, 2]] are 1 and 3.
        let (mut values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12, "{values:?}");
        // Columns are orthonormal.
        let dot = vectors[0] * vectors[1] + vectors[2] * vectors[3];
        assert!(dot.abs() < 1e-12);
        let root = sqrt_psd(&[4.0, 0.0, 0.0, 9.0], 2);
        assert!((root[0] - 2.0).abs() < 1e-12 && (root[3] - 3.0).abs() < 1e-12 && root[1].abs() < 1e-12);
    }

    #[test]
    fn frechet_distance_matches_the_closed_form() {
        // Two 1-D Gaussians: (μ₁ − μ₂)² + (σ₁ − σ₂)².
        let a = FeatureStats { dim: 1, count: 10, mean: vec![1.0], cov: vec![4.0] };
        let b = FeatureStats { dim: 1, count: 10, mean: vec![3.0], cov: vec![1.0] };
        assert!((frechet_distance(&a, &b) - (4.0 + 1.0)).abs() < 1e-12);
        // Diagonal covariances: the sum over dimensions.
        let a = FeatureStats { dim: 2, count: 10, mean: vec![0.0, 0.0], cov: vec![1.0, 0.0, 0.0, 4.0] };
        let b = FeatureStats { dim: 2, count: 10, mean: vec![1.0, 0.0], cov: vec![9.0, 0.0, 0.0, 4.0] };
        assert!((frechet_distance(&a, &b) - (1.0 + 4.0)).abs() < 1e-9);
        assert!(frechet_distance(&a, &a).abs() < 1e-9, "a set is at distance 0 from itself");
        // Statistics of samples: mean and unbiased covariance.
        let s = FeatureStats::of(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2);
        assert_eq!(s.mean, vec![3.0, 4.0]);
        assert_eq!(s.cov, vec![4.0, 4.0, 4.0, 4.0]);
    }
}
