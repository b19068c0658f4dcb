//! Image sets as candle input batches: the one place where an [`ImageSet`]'s bytes
//! become a normalised (optionally augmented) `B × H × W × C` tensor, for the
//! classifier, the generative models and the feature extractor alike.

use candle_core::{Device, Tensor};

use super::{Augment, ImageSet, Normalize};

/// Builds a `B × H × W × C` input batch of `set`'s images at `indices`.
pub fn make_batch<R: rand::Rng + ?Sized>(
    set: &ImageSet,
    indices: &[usize],
    normalize: &Normalize,
    mut augment: Option<(&Augment, &mut R)>,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let spec = set.spec();
    let mut data = vec![0.0f32; indices.len() * spec.len()];
    for (&i, out) in indices.iter().zip(data.chunks_exact_mut(spec.len())) {
        let aug = augment.as_mut().map(|(a, r)| (*a, &mut **r));
        normalize.fill(spec, set.image(i), aug, out);
    }
    Tensor::from_vec(data, (indices.len(), spec.height, spec.width, spec.channels), device)
}
