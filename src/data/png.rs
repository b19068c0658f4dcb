//! PNG files: writing 8-bit RGB, 8-bit grey and 16-bit grey images atomically, and
//! decoding any PNG into 8-bit gray or RGB samples. Shared by the dataset writer
//! (`render`), the classifiers' confusion matrices and the ImageFolder reader.

use std::io::BufWriter;
use std::path::Path;

use super::DataError;
use crate::util::fs::write_atomic_with;

/// Pixel layouts that [`write_png`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PngLayout {
    /// 8-bit RGB.
    Rgb8,
    /// 8-bit grey (class ids).
    Gray8,
    /// 16-bit grey, big-endian samples (instance ids, depth in millimetres).
    Gray16,
}

/// Writes `data` (already in `layout`'s byte order) as a PNG at `path`, via a temporary
/// file that is renamed into place, so a crash never leaves a truncated image.
pub fn write_png(path: &Path, width: u32, height: u32, layout: PngLayout, data: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |file| {
        let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
        let (color, depth) = match layout {
            PngLayout::Rgb8 => (png::ColorType::Rgb, png::BitDepth::Eight),
            PngLayout::Gray8 => (png::ColorType::Grayscale, png::BitDepth::Eight),
            PngLayout::Gray16 => (png::ColorType::Grayscale, png::BitDepth::Sixteen),
        };
        encoder.set_color(color);
        encoder.set_depth(depth);
        // Fast compression: datasets are many small files; zlib's default level costs
        // more time than the bytes it saves.
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(data).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}

/// Decodes any PNG (gray, gray+alpha, RGB, RGBA, palette; 1 to 16 bits) into 8-bit
/// samples with 1 or 3 channels (alpha is dropped): `(width, height, channels, data)`.
pub fn decode_png(path: &Path) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let file = std::fs::File::open(path).map_err(DataError::io(path))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| DataError::invalid(path, format!("not a readable PNG: {e}")))?;
    let size = reader.output_buffer_size().ok_or_else(|| DataError::invalid(path, "PNG too large to decode"))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| DataError::invalid(path, format!("corrupt PNG: {e}")))?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width as usize, info.height as usize);
    let (channels, data) = match info.color_type {
        png::ColorType::Grayscale => (1, buf),
        png::ColorType::GrayscaleAlpha => (1, buf.chunks_exact(2).map(|p| p[0]).collect()),
        png::ColorType::Rgb => (3, buf),
        png::ColorType::Rgba => (3, buf.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()),
        png::ColorType::Indexed => return Err(DataError::invalid(path, "palette PNG was not expanded")),
    };
    if data.len() != w * h * channels {
        return Err(DataError::invalid(path, "decoded size does not match the header"));
    }
    Ok((w, h, channels, data))
}
