//! Weight initialisers drawn from a seeded RNG on the host: orthogonal (PyTorch's
//! `orthogonal_`, as CleanRL's `layer_init` and SB3 use for policies) and Kaiming-normal
//! (for layers feeding ReLUs).

use rand::Rng;

/// A `rows × cols` matrix (row-major) with orthonormal rows or columns (whichever are
/// fewer), scaled by `gain`: PyTorch's `orthogonal_`, by Gram–Schmidt on Gaussian draws.
pub fn orthogonal<R: Rng + ?Sized>(rows: usize, cols: usize, gain: f32, rng: &mut R) -> Vec<f32> {
    // Orthonormalise the columns of a tall `n × m` matrix (n ≥ m), then transpose if needed.
    let (n, m) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    let mut a: Vec<f64> = (0..n * m).map(|_| standard_normal(rng)).collect();
    for j in 0..m {
        for k in 0..j {
            let dot: f64 = (0..n).map(|i| a[i * m + j] * a[i * m + k]).sum();
            for i in 0..n {
                a[i * m + j] -= dot * a[i * m + k];
            }
        }
        let norm = (0..n).map(|i| a[i * m + j] * a[i * m + j]).sum::<f64>().sqrt().max(1e-12);
        for i in 0..n {
            a[i * m + j] /= norm;
        }
    }
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let v = if rows >= cols { a[r * m + c] } else { a[c * m + r] };
            out[r * cols + c] = gain * v as f32;
        }
    }
    out
}

/// One draw from N(0, 1) by the Box–Muller transform (rand 0.9 has no normal
/// distribution without `rand_distr`).
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Kaiming-normal weights (He et al., 2015) for a layer with `fan_in` inputs feeding ReLUs.
pub fn kaiming<R: Rng + ?Sized>(n: usize, fan_in: usize, rng: &mut R) -> Vec<f32> {
    let std = (2.0 / fan_in as f64).sqrt();
    (0..n).map(|_| (standard_normal(rng) * std) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal() {
        let mut rng = rng_from_seed(3);
        for (rows, cols) in [(8, 3), (3, 8), (5, 5)] {
            let w = orthogonal(rows, cols, 2.0, &mut rng);
            // W Wᵀ = 4 I when rows ≤ cols, Wᵀ W = 4 I otherwise.
            let k = rows.min(cols);
            for p in 0..k {
                for q in 0..k {
                    let dot: f32 = if rows <= cols {
                        (0..cols).map(|c| w[p * cols + c] * w[q * cols + c]).sum()
                    } else {
                        (0..rows).map(|r| w[r * cols + p] * w[r * cols + q]).sum()
                    };
                    let expected = if p == q { 4.0 } else { 0.0 };
                    assert!((dot - expected).abs() < 1e-4, "{rows}x{cols}: ({p},{q}) = {dot}");
                }
            }
        }
    }
}
