//! Sampling a trained model into an ImageFolder dataset (one sub-folder per class), so
//! that `classify train` and `classify report` read generated images like rendered ones.

use std::path::Path;

use super::model::GenNet;
use super::{GenError, Result};
use crate::data::png::{PngLayout, write_png};
use crate::util::seed::rng_from_seed;

/// Images decoded per forward pass.
const CHUNK: usize = 256;

/// 8-bit pixels (`H × W × C` per image) of `per_class` samples of every class, in class
/// order, drawn from `seed`; with their labels.
pub fn sample_bytes(net: &GenNet, per_class: usize, seed: u64) -> Result<(Vec<Vec<u8>>, Vec<u32>)> {
    let labels: Vec<u32> = (0..net.classes as u32).flat_map(|c| std::iter::repeat_n(c, per_class)).collect();
    sample_labels(net, labels, seed)
}

/// 8-bit pixels of one sample per entry of `labels` (class indices of `net`), drawn
/// from `seed`; with the labels. For example a real set's own labels, so that the
/// samples have its class proportions.
pub fn sample_labels(net: &GenNet, labels: Vec<u32>, seed: u64) -> Result<(Vec<Vec<u8>>, Vec<u32>)> {
    if let Some(&bad) = labels.iter().find(|&&l| l as usize >= net.classes) {
        return Err(GenError::config("labels", format!("class {bad} is not one of the model's {} classes", net.classes)));
    }
    let mut rng = rng_from_seed(seed);
    let mut images = Vec::with_capacity(labels.len());
    let size = net.spec.len();
    for chunk in labels.chunks(CHUNK) {
        let pixels = net.sample(chunk, &mut rng)?.flatten_all()?.to_vec1::<f32>()?;
        images.extend(pixels.chunks_exact(size).map(|p| p.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()));
    }
    Ok((images, labels))
}

/// Writes `per_class` samples of every class of `net` (named `classes`) under `out`
/// as `<class>/<class>_<i>.png`. The folder is built under a temporary name and renamed
/// into place, so an interrupted run never leaves a partial dataset under `out`.
pub fn write_image_folder(net: &GenNet, classes: &[String], per_class: usize, seed: u64, out: &Path) -> Result<usize> {
    if out.exists() {
        return Err(GenError::config("out", format!("{} already exists; choose a new folder", out.display())));
    }
    let (images, labels) = sample_bytes(net, per_class, seed)?;
    let layout = if net.spec.channels == 3 { PngLayout::Rgb8 } else { PngLayout::Gray8 };
    let (w, h) = (net.spec.width as u32, net.spec.height as u32);
    crate::util::fs::replace_dir_atomic(out, |tmp| {
        for name in classes {
            std::fs::create_dir_all(tmp.join(name))?;
        }
        let mut counts = vec![0usize; classes.len()];
        for (image, &label) in images.iter().zip(&labels) {
            let name = &classes[label as usize];
            let i = counts[label as usize];
            counts[label as usize] += 1;
            write_png(&tmp.join(name).join(format!("{name}_{i:05}.png")), w, h, layout, image)?;
        }
        Ok(())
    })
    .map_err(GenError::io(out))?;
    Ok(images.len())
}
