//! Seeded augmentation and normalisation of 8-bit images into model inputs.
//!
//! The transforms are torchvision's usual ones for small images: a random crop of the
//! image padded by `crop_pad` pixels of black (`RandomCrop(size, padding)`), a random
//! horizontal flip, and colour jitter (brightness, contrast, saturation factors drawn
//! uniformly from `[1 - x, 1 + x]`). Every draw comes from the generator passed in.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::ImageSpec;

/// Which augmentations to apply, and how strongly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Augment {
    /// Flip left-right with probability 0.5 (leave off for digits and text).
    pub flip: bool,
    /// Shift by up to this many pixels each way, filling with black.
    pub crop_pad: usize,
    /// Brightness jitter: pixel values scaled by a factor in `[1 - x, 1 + x]`.
    pub brightness: f32,
    /// Contrast jitter: distances from the image's mean gray scaled likewise.
    pub contrast: f32,
    /// Saturation jitter (RGB only): distances from each pixel's gray scaled likewise.
    pub saturation: f32,
}

impl Default for Augment {
    fn default() -> Self {
        Self { flip: true, crop_pad: 2, brightness: 0.2, contrast: 0.2, saturation: 0.2 }
    }
}

impl Augment {
    /// No augmentation at all.
    pub fn none() -> Self {
        Self { flip: false, crop_pad: 0, brightness: 0.0, contrast: 0.0, saturation: 0.0 }
    }
}

/// Per-channel standardisation, `(x - mean) / std` with `x` in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// Channel means.
    pub mean: Vec<f32>,
    /// Channel standard deviations.
    pub std: Vec<f32>,
}

impl Normalize {
    /// Writes image `src` (`H × W × C` bytes of `spec`) into `out` as normalised floats,
    /// augmented when `augment` is given.
    pub fn fill<R: Rng + ?Sized>(&self, spec: ImageSpec, src: &[u8], augment: Option<(&Augment, &mut R)>, out: &mut [f32]) {
        let ImageSpec { channels: c, height: h, width: w } = spec;
        let Some((aug, rng)) = augment else {
            for ((o, &v), ch) in out.iter_mut().zip(src).zip((0..c).cycle()) {
                *o = (f32::from(v) / 255.0 - self.mean[ch]) / self.std[ch];
            }
            return;
        };
        let pad = aug.crop_pad as i64;
        let (dx, dy) = if pad > 0 { (rng.random_range(-pad..=pad) as isize, rng.random_range(-pad..=pad) as isize) } else { (0, 0) };
        let flip = aug.flip && rng.random_bool(0.5);
        let factor = |x: f32, rng: &mut R| if x > 0.0 { rng.random_range(1.0 - x..=1.0 + x) } else { 1.0 };
        let (b, k, s) = (factor(aug.brightness, rng), factor(aug.contrast, rng), factor(aug.saturation, rng));
        for y in 0..h {
            for x in 0..w {
                let sx = if flip { w - 1 - x } else { x } as isize + dx;
                let sy = y as isize + dy;
                let dst = &mut out[(y * w + x) * c..(y * w + x + 1) * c];
                if sx < 0 || sy < 0 || sx >= w as isize || sy >= h as isize {
                    dst.fill(0.0);
                } else {
                    let i = (sy as usize * w + sx as usize) * c;
                    for (d, &v) in dst.iter_mut().zip(&src[i..i + c]) {
                        *d = f32::from(v) / 255.0 * b;
                    }
                }
            }
        }
        let gray = |p: &[f32]| if c == 3 { 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] } else { p[0] };
        if k != 1.0 {
            let mean = out[..h * w * c].chunks_exact(c).map(gray).sum::<f32>() / (h * w) as f32;
            for v in &mut out[..h * w * c] {
                *v = mean + (*v - mean) * k;
            }
        }
        for px in out[..h * w * c].chunks_exact_mut(c) {
            if c == 3 && s != 1.0 {
                let g = gray(px);
                for v in px.iter_mut() {
                    *v = g + (*v - g) * s;
                }
            }
            for (ch, v) in px.iter_mut().enumerate() {
                *v = (v.clamp(0.0, 1.0) - self.mean[ch]) / self.std[ch];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    const UNIT: fn(usize) -> Normalize = |c| Normalize { mean: vec![0.0; c], std: vec![1.0; c] };

    #[test]
    fn without_augmentation_pixels_are_only_normalised() {
        let spec = ImageSpec { channels: 3, height: 1, width: 2 };
        let norm = Normalize { mean: vec![0.5, 0.0, 0.0], std: vec![0.5, 1.0, 2.0] };
        let mut out = [0.0; 6];
        norm.fill::<rand_chacha::ChaCha8Rng>(spec, &[255, 255, 255, 0, 0, 0], None, &mut out);
        assert_eq!(out, [1.0, 1.0, 0.5, -1.0, 0.0, 0.0]);
    }

    #[test]
    fn flips_mirror_and_shifts_fill_with_black() {
        let spec = ImageSpec { channels: 1, height: 1, width: 3 };
        let src = [0, 51, 255];
        let flip_only = Augment { flip: true, ..Augment::none() };
        let mut rng = rng_from_seed(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..32 {
            let mut out = [0.0f32; 3];
            UNIT(1).fill(spec, &src, Some((&flip_only, &mut rng)), &mut out);
            seen.insert(out.map(|v| (v * 255.0).round() as u8));
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), [[0, 51, 255], [255, 51, 0]], "identity or mirror, both drawn");
        let shift = Augment { crop_pad: 1, ..Augment::none() };
        let mut out = [0.0f32; 3];
        for _ in 0..32 {
            UNIT(1).fill(spec, &src, Some((&shift, &mut rng)), &mut out);
            let bytes = out.map(|v| (v * 255.0).round() as u8);
            // Shifted left, not at all, right, or (one row high) vertically out of the image.
            assert!([[0, 51, 255], [51, 255, 0], [0, 0, 51], [0, 0, 0]].contains(&bytes), "{bytes:?}");
        }
    }

    #[test]
    fn jitter_is_seeded_and_stays_in_range() {
        let spec = ImageSpec { channels: 3, height: 4, width: 4 };
        let src: Vec<u8> = (0..48).map(|i| (i * 5) as u8).collect();
        let aug = Augment::default();
        let run = |seed| {
            let mut out = vec![0.0f32; 48];
            UNIT(3).fill(spec, &src, Some((&aug, &mut rng_from_seed(seed))), &mut out);
            out
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        assert!(run(5).iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
