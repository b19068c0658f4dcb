//! PNG files of datasets (RGB, 8-bit and 16-bit grey, written atomically through [`crate::data::png`]), and the small image
//! operations datasets need (crops, resizing, tiling into a grid).

use std::path::Path;

use super::error::RenderError;
use super::renderer::RgbImage;

pub use crate::data::png::PngLayout;

/// Writes `data` (already in `layout`'s byte order) as a PNG at `path`, atomically
/// (see [`crate::data::png::write_png`]).
pub fn write_png(path: &Path, width: u32, height: u32, layout: PngLayout, data: &[u8]) -> Result<(), RenderError> {
    crate::data::png::write_png(path, width, height, layout, data).map_err(|source| RenderError::Io { path: path.to_path_buf(), source })
}

/// Writes an RGB image as PNG.
pub fn write_rgb(path: &Path, image: &RgbImage) -> Result<(), RenderError> {
    write_png(path, image.width, image.height, PngLayout::Rgb8, &image.pixels)
}

/// Writes 16-bit grey samples as PNG.
pub fn write_gray16(path: &Path, width: u32, height: u32, samples: &[u16]) -> Result<(), RenderError> {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_be_bytes()).collect();
    write_png(path, width, height, PngLayout::Gray16, &bytes)
}

/// Reads a PNG into (width, height, layout, bytes), checking it is one of ours.
pub fn read_png(path: &Path) -> Result<(u32, u32, PngLayout, Vec<u8>), RenderError> {
    let invalid = |message: String| RenderError::Invalid { path: path.to_path_buf(), message };
    let file = std::fs::File::open(path).map_err(|source| RenderError::Io { path: path.to_path_buf(), source })?;
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().map_err(|e| invalid(format!("not a PNG: {e}")))?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf).map_err(|e| invalid(format!("corrupt PNG: {e}")))?;
    let layout = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => PngLayout::Rgb8,
        (png::ColorType::Grayscale, png::BitDepth::Eight) => PngLayout::Gray8,
        (png::ColorType::Grayscale, png::BitDepth::Sixteen) => PngLayout::Gray16,
        (c, d) => return Err(invalid(format!("unsupported PNG layout {c:?} {d:?}"))),
    };
    buf.truncate(info.buffer_size());
    Ok((info.width, info.height, layout, buf))
}

/// Reads an 8-bit RGB PNG.
pub fn read_rgb(path: &Path) -> Result<RgbImage, RenderError> {
    match read_png(path)? {
        (width, height, PngLayout::Rgb8, pixels) => Ok(RgbImage { width, height, pixels }),
        (.., layout, _) => {
            Err(RenderError::Invalid { path: path.to_path_buf(), message: format!("expected an RGB image, found {layout:?}") })
        }
    }
}

/// The square crop around box `[x, y, w, h]` (grown by `margin` of its longer side, and
/// clamped to the image), resized to `size` x `size` with bilinear filtering.
pub fn crop_square(image: &RgbImage, bbox: [u32; 4], margin: f32, size: u32) -> RgbImage {
    let [x, y, w, h] = bbox.map(|v| v as f32);
    let side = w.max(h) * (1.0 + 2.0 * margin);
    let (cx, cy) = (x + w / 2.0, y + h / 2.0);
    let (x0, y0) = (cx - side / 2.0, cy - side / 2.0);
    let scale = side / size as f32;
    let mut pixels = Vec::with_capacity(3 * (size * size) as usize);
    let (iw, ih) = (image.width as f32, image.height as f32);
    for j in 0..size {
        for i in 0..size {
            let sx = (x0 + (i as f32 + 0.5) * scale - 0.5).clamp(0.0, iw - 1.0);
            let sy = (y0 + (j as f32 + 0.5) * scale - 0.5).clamp(0.0, ih - 1.0);
            let (fx, fy) = (sx.floor(), sy.floor());
            let (tx, ty) = (sx - fx, sy - fy);
            let (ax, ay) = (fx as u32, fy as u32);
            let (bx, by) = ((ax + 1).min(image.width - 1), (ay + 1).min(image.height - 1));
            let (p00, p10, p01, p11) = (image.pixel(ax, ay), image.pixel(bx, ay), image.pixel(ax, by), image.pixel(bx, by));
            for c in 0..3 {
                let top = p00[c] as f32 * (1.0 - tx) + p10[c] as f32 * tx;
                let bottom = p01[c] as f32 * (1.0 - tx) + p11[c] as f32 * tx;
                pixels.push((top * (1.0 - ty) + bottom * ty).round() as u8);
            }
        }
    }
    RgbImage { width: size, height: size, pixels }
}

/// Tiles equally sized images into a grid `columns` wide, with a `gap`-pixel border.
pub fn grid(images: &[RgbImage], columns: usize, gap: u32) -> Option<RgbImage> {
    let first = images.first()?;
    let (w, h) = (first.width, first.height);
    let columns = columns.clamp(1, images.len());
    let rows = images.len().div_ceil(columns);
    let width = columns as u32 * (w + gap) + gap;
    let height = rows as u32 * (h + gap) + gap;
    let mut pixels = vec![255; 3 * (width * height) as usize];
    for (k, img) in images.iter().enumerate().filter(|(_, i)| i.width == w && i.height == h) {
        let (ox, oy) = (gap + (k % columns) as u32 * (w + gap), gap + (k / columns) as u32 * (h + gap));
        for y in 0..h {
            let src = 3 * (y * w) as usize;
            let dst = 3 * ((oy + y) * width + ox) as usize;
            pixels[dst..dst + 3 * w as usize].copy_from_slice(&img.pixels[src..src + 3 * w as usize]);
        }
    }
    Some(RgbImage { width, height, pixels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_every_layout() -> Result<(), RenderError> {
        let dir = std::env::temp_dir().join(format!("synthgym-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|source| RenderError::Io { path: dir.clone(), source })?;
        let rgb = RgbImage { width: 3, height: 2, pixels: (0..18).collect() };
        write_rgb(&dir.join("a.png"), &rgb)?;
        assert_eq!(read_rgb(&dir.join("a.png"))?, rgb);
        write_gray16(&dir.join("b.png"), 2, 2, &[0, 1, 65535, 300])?;
        let (w, h, layout, bytes) = read_png(&dir.join("b.png"))?;
        assert_eq!((w, h, layout), (2, 2, PngLayout::Gray16));
        assert_eq!(bytes, vec![0, 0, 0, 1, 255, 255, 1, 44]);
        assert!(matches!(read_rgb(&dir.join("b.png")), Err(RenderError::Invalid { .. })));
        std::fs::write(dir.join("c.png"), b"nope").map_err(|source| RenderError::Io { path: dir.clone(), source })?;
        assert!(matches!(read_png(&dir.join("c.png")), Err(RenderError::Invalid { .. })));
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }

    #[test]
    fn crops_resize_a_box_to_the_requested_square() {
        // A 4x4 image, left half red, right half blue.
        let mut pixels = Vec::new();
        for _ in 0..4 {
            for x in 0..4 {
                pixels.extend(if x < 2 { [255, 0, 0] } else { [0, 0, 255] });
            }
        }
        let image = RgbImage { width: 4, height: 4, pixels };
        let crop = crop_square(&image, [0, 0, 2, 4], 0.0, 2);
        assert_eq!(crop.pixel(0, 0), [255, 0, 0]);
        // The square around the 2x4 box spans x = -1..3, so its right column samples
        // across the red/blue edge.
        let right = crop.pixel(1, 1);
        assert!(right[2] >= 100 && right[0] < 255, "the square around a 2x4 box reaches the blue half: {right:?}");
        let g = grid(&[image.clone(), image], 2, 1).expect("two images");
        assert_eq!((g.width, g.height), (11, 6));
        assert_eq!(g.pixel(0, 0), [255, 255, 255]);
        assert_eq!(g.pixel(1, 1), [255, 0, 0]);
    }
}
