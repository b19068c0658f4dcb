//! Annotations of one image, from its [`LabelImage`]: tight boxes, occlusion and
//! truncation, run-length-encoded instance masks (COCO's uncompressed RLE), semantic
//! and instance mask images, and depth in millimetres.

use serde::{Deserialize, Serialize};

use crate::render::LabelImage;
use crate::snapshot::Class;

/// One object instance visible in an image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectAnnotation {
    /// Instance id from the snapshot (stable through an episode).
    pub object_id: u32,
    /// Value of this instance in the image's instance mask.
    pub instance_index: u32,
    /// Class id (see [`Class::id`]).
    pub category_id: u32,
    /// Tight box around the visible pixels, `[x, y, width, height]` in pixels.
    pub bbox: [u32; 4],
    /// Visible pixels.
    pub area: u32,
    /// Fraction of the object's in-image projection hidden by nearer objects.
    pub occlusion: f32,
    /// Whether the object's projection leaves the image (or crosses the near plane).
    pub truncated: bool,
    /// Box of the whole projection `[x0, y0, x1, y1]`, which may extend past the image.
    pub projected_box: [f32; 4],
    /// The visible mask as COCO uncompressed RLE.
    pub segmentation: Rle,
}

/// COCO's uncompressed run-length encoding: alternating runs of 0 and 1, column-major,
/// starting with a (possibly empty) run of 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rle {
    /// `[height, width]`.
    pub size: [u32; 2],
    /// Run lengths.
    pub counts: Vec<u32>,
}

impl Rle {
    /// Encodes the pixels of `labels` whose instance value is `value`, all of which lie in
    /// the inclusive box `[x0, y0, x1, y1]` (only the box is scanned).
    pub fn encode(labels: &LabelImage, value: u32, bbox: [u32; 4]) -> Rle {
        let (w, h) = (labels.width, labels.height);
        let mut counts = Vec::new();
        // Column-major positions: `end` is where the last run of ones stopped.
        let (mut end, mut run_start, mut on) = (0u32, 0u32, false);
        for x in bbox[0]..=bbox[2].min(w.saturating_sub(1)) {
            for y in bbox[1]..=bbox[3].min(h.saturating_sub(1)) {
                let k = x * h + y;
                let hit = labels.instance[(y * w + x) as usize] == value;
                if hit && !on {
                    counts.push(k - end);
                    run_start = k;
                    on = true;
                } else if !hit && on {
                    counts.push(k - run_start);
                    end = k;
                    on = false;
                }
            }
            // A run never continues past the box's bottom edge into the next column.
            if on {
                let k = x * h + bbox[3].min(h.saturating_sub(1)) + 1;
                counts.push(k - run_start);
                end = k;
                on = false;
            }
        }
        counts.push(w * h - end);
        Rle { size: [h, w], counts: normalise(counts) }
    }

    /// The mask, row-major.
    pub fn decode(&self) -> Vec<bool> {
        let [h, w] = self.size;
        let mut mask = vec![false; (w * h) as usize];
        let mut k = 0u32;
        for (i, &run) in self.counts.iter().enumerate() {
            for _ in 0..run {
                if k >= w * h {
                    return mask;
                }
                let (x, y) = (k / h, k % h);
                mask[(y * w + x) as usize] = i % 2 == 1;
                k += 1;
            }
        }
        mask
    }
}

/// Joins runs separated by an empty run (`[.., a, 0, b, ..]` → `[.., a + b, ..]`) and
/// drops an empty last run; the leading run of zeros stays even when empty, as COCO wants.
fn normalise(counts: Vec<u32>) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::with_capacity(counts.len());
    let mut i = 0;
    while i < counts.len() {
        if i > 0 && counts[i] == 0 && i + 1 < counts.len() {
            if let Some(last) = out.last_mut() {
                *last += counts[i + 1];
            }
            i += 2;
        } else {
            out.push(counts[i]);
            i += 1;
        }
    }
    if out.len() > 1 && out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// The annotations of every countable object (not floor or road) with visible pixels.
pub fn annotate(labels: &LabelImage) -> Vec<ObjectAnnotation> {
    let (w, h) = (labels.width, labels.height);
    // Visible boxes in one pass: [x0, y0, x1, y1] inclusive.
    let mut boxes = vec![[u32::MAX, u32::MAX, 0, 0]; labels.objects.len()];
    for y in 0..h {
        for x in 0..w {
            let v = labels.instance[(y * w + x) as usize];
            if v > 0 {
                let b = &mut boxes[v as usize - 1];
                *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
        }
    }
    labels
        .objects
        .iter()
        .enumerate()
        .filter(|(_, c)| c.visible_pixels > 0 && !c.class.is_surface())
        .map(|(i, c)| {
            let b = boxes[i];
            ObjectAnnotation {
                object_id: c.id,
                instance_index: i as u32 + 1,
                category_id: c.class.id(),
                bbox: [b[0], b[1], b[2] - b[0] + 1, b[3] - b[1] + 1],
                area: c.visible_pixels,
                occlusion: c.occlusion(),
                truncated: c.truncated(w, h),
                projected_box: c.projected_box.unwrap_or([0.0; 4]),
                segmentation: Rle::encode(labels, i as u32 + 1, b),
            }
        })
        .collect()
}

/// The semantic mask: class id per pixel, 0 for background.
pub fn semantic_mask(labels: &LabelImage) -> Vec<u8> {
    labels.instance.iter().map(|&v| if v == 0 { 0 } else { labels.objects[v as usize - 1].class.id() as u8 }).collect()
}

/// The instance mask: the instance index per pixel (as in [`ObjectAnnotation::instance_index`]).
pub fn instance_mask(labels: &LabelImage) -> Vec<u16> {
    labels.instance.iter().map(|&v| v.min(u16::MAX as u32) as u16).collect()
}

/// Depth in millimetres (0 for background; saturates at 65.535 m).
pub fn depth_mm(labels: &LabelImage) -> Vec<u16> {
    labels.depth.iter().map(|&d| if d.is_finite() { (d * 1000.0).round().clamp(1.0, 65_535.0) as u16 } else { 0 }).collect()
}

/// COCO categories: every class, with `isthing` false for surfaces.
pub fn categories() -> Vec<serde_json::Value> {
    Class::ALL
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id(),
                "name": c.name(),
                "supercategory": if c.is_surface() { "surface" } else { "object" },
                "isthing": u8::from(!c.is_surface()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::raster::Coverage;

    fn labels() -> LabelImage {
        // 4x3 image: object 1 (a robot) in a 2x2 block, object 2 (floor) elsewhere.
        #[rustfmt::skip]
        let instance = vec![
            2, 2, 2, 2,
            2, 1, 1, 2,
            2, 1, 1, 0,
        ];
        let cov = |id, class, n| Coverage {
            id,
            class,
            visible_pixels: n,
            unoccluded_pixels: n + 2,
            projected_box: Some([1.0, 1.0, 3.0, 3.0]),
            clipped_by_near_plane: false,
        };
        LabelImage {
            width: 4,
            height: 3,
            depth: instance.iter().map(|&v| if v == 0 { f32::INFINITY } else { v as f32 }).collect(),
            instance,
            objects: vec![cov(7, Class::Robot, 4), cov(0, Class::Floor, 7)],
        }
    }

    #[test]
    fn boxes_masks_and_rle_describe_the_visible_pixels() {
        let l = labels();
        let anns = annotate(&l);
        assert_eq!(anns.len(), 1, "the floor is a surface, not an instance");
        let a = &anns[0];
        assert_eq!((a.object_id, a.instance_index, a.category_id), (7, 1, Class::Robot.id()));
        assert_eq!(a.bbox, [1, 1, 2, 2]);
        assert_eq!(a.area, 4);
        assert!((a.occlusion - 1.0 / 3.0).abs() < 1e-6);
        // Column-major: column 0 empty (3), column 1 rows 1-2 → 1 off, 2 on, and so on.
        assert_eq!(a.segmentation.counts, vec![4, 2, 1, 2, 3]);
        // Masks that touch the borders, fill columns, or are empty.
        for value in 0..=2 {
            let mut b = [u32::MAX, u32::MAX, 0, 0];
            for (i, _) in l.instance.iter().enumerate().filter(|(_, v)| **v == value) {
                let (x, y) = (i as u32 % 4, i as u32 / 4);
                b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
            if b[0] == u32::MAX {
                b = [0, 0, 3, 2];
            }
            let rle = Rle::encode(&l, value, b);
            assert_eq!(rle.decode(), l.instance.iter().map(|&v| v == value).collect::<Vec<_>>(), "value {value}");
            assert_eq!(rle.counts.iter().sum::<u32>(), 12);
            assert!(rle.counts[1..].iter().all(|&c| c > 0), "value {value}: {:?}", rle.counts);
        }
        assert_eq!(a.segmentation.decode(), l.instance.iter().map(|&v| v == 1).collect::<Vec<_>>());
        assert_eq!(semantic_mask(&l)[5], Class::Robot.id() as u8);
        assert_eq!(semantic_mask(&l)[11], 0);
        assert_eq!(depth_mm(&l)[5], 1000);
        assert_eq!(depth_mm(&l)[11], 0);
    }
}
