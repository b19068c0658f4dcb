//! Headless export of recorded episodes: every recorded scene drawn through the same
//! renderer as datasets, written as PNG frames or one animated GIF.
//!
//! The camera is placed for every frame as datasets place it without randomisation:
//! over the floor of a warehouse (so it holds still), around the ego vehicle on roads
//! (so it follows the ego), or on the ego itself with the `ego` camera.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::error::RenderError;
use super::image::write_rgb;
use super::randomize::{self, CameraMode};
use super::renderer::{Frame, Lighting, Quality, Renderer};
use super::style::{Appearance, RenderScene};
use crate::snapshot::Snapshot;
use crate::util::seed::rng_from_seed;

/// How episodes are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportOptions {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Rendering preset.
    pub quality: Quality,
    /// Camera placement (`Random` is taken as `Fixed`).
    pub camera: CameraMode,
    /// Draw every `stride`-th scene (the first and last are always drawn).
    pub stride: usize,
    /// GIF frames per second.
    pub fps: u32,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { width: 320, height: 240, quality: Quality::Fast, camera: CameraMode::Fixed, stride: 1, fps: 10 }
    }
}

/// Where the frames go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportTarget {
    /// A folder of PNG files, `e<episode>_<step>.png`.
    Frames(PathBuf),
    /// One animated GIF (looping) of all exported episodes.
    Gif(PathBuf),
}

impl ExportTarget {
    /// A GIF for a path ending in `.gif`, otherwise a folder of frames.
    pub fn from_path(path: &Path) -> Self {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gif")) {
            Self::Gif(path.to_owned())
        } else {
            Self::Frames(path.to_owned())
        }
    }
}

/// The scene indices of an episode of `len` scenes that `stride` keeps.
fn kept(len: usize, stride: usize) -> Vec<usize> {
    let stride = stride.max(1);
    let mut idx: Vec<usize> = (0..len).step_by(stride).collect();
    if len > 0 && idx.last() != Some(&(len - 1)) {
        idx.push(len - 1);
    }
    idx
}

/// The frames of one episode (its scenes in order: after the reset, then after each step).
fn frames(scenes: &[&Snapshot], options: &ExportOptions) -> Vec<(usize, Frame)> {
    let mode = if options.camera == CameraMode::Random { CameraMode::Fixed } else { options.camera };
    kept(scenes.len(), options.stride)
        .into_iter()
        .map(|i| {
            let scene = scenes[i];
            let frame = Frame {
                scene: RenderScene::from_snapshot(scene, &Appearance::default()),
                camera: randomize::camera(mode, scene, false, &mut rng_from_seed(0)),
                lighting: Lighting::default(),
            };
            (i, frame)
        })
        .collect()
}

/// Draws `episodes` (each a list of scenes, numbered by the given episode index) to
/// `target`, and returns the number of frames written. A GIF is written under a
/// temporary name and renamed when complete; PNG frames are each written atomically.
pub fn export(episodes: &[(usize, Vec<&Snapshot>)], options: &ExportOptions, target: &ExportTarget) -> Result<usize, RenderError> {
    if episodes.iter().all(|(_, scenes)| scenes.iter().all(|s| s.objects.is_empty())) {
        return Err(RenderError::Config("the recording has no scene to draw (its env keeps no snapshots, as CartPole)".into()));
    }
    if options.fps == 0 || options.fps > 100 {
        return Err(RenderError::Config(format!("fps must be 1 to 100, got {}", options.fps)));
    }
    let mut renderer = Renderer::new(options.width, options.height, options.quality)?;
    let mut written = 0;
    match target {
        ExportTarget::Frames(dir) => {
            for (k, scenes) in episodes {
                let frames = frames(scenes, options);
                renderer.render_all(frames.iter().map(|(_, f)| f), |n, image| {
                    write_rgb(&dir.join(format!("e{k:03}_{:05}.png", frames[n].0)), &image)?;
                    written += 1;
                    Ok::<(), RenderError>(())
                })?;
            }
        }
        ExportTarget::Gif(path) => {
            let io = |source: std::io::Error| RenderError::Io { path: path.clone(), source };
            let (w, h) = (u16::try_from(options.width), u16::try_from(options.height));
            let (Ok(w), Ok(h)) = (w, h) else {
                return Err(RenderError::Size { width: options.width, height: options.height });
            };
            let delay = u16::try_from(100 / options.fps).unwrap_or(10);
            crate::util::fs::write_atomic_with(path, |file: &mut File| {
                let mut encoder = gif::Encoder::new(BufWriter::new(file), w, h, &[]).map_err(std::io::Error::other)?;
                encoder.set_repeat(gif::Repeat::Infinite).map_err(std::io::Error::other)?;
                for (_, scenes) in episodes {
                    let frames = frames(scenes, options);
                    renderer
                        .render_all(frames.iter().map(|(_, f)| f), |_, image| {
                            // NeuQuant at speed 10: a palette per frame, a few ms at 320x240.
                            let mut frame = gif::Frame::from_rgb_speed(w, h, &image.pixels, 10);
                            frame.delay = delay;
                            encoder.write_frame(&frame).map_err(|e| RenderError::Readback(format!("gif: {e}")))?;
                            written += 1;
                            Ok::<(), RenderError>(())
                        })
                        .map_err(std::io::Error::other)?;
                }
                encoder.into_inner().map_err(std::io::Error::other)?.into_inner().map_err(|e| e.into_error())?.sync_all()
            })
            .map_err(io)?;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_keeps_the_first_and_last_scene() {
        assert_eq!(kept(10, 3), [0, 3, 6, 9]);
        assert_eq!(kept(11, 3), [0, 3, 6, 9, 10]);
        assert_eq!(kept(1, 5), [0]);
        assert!(kept(0, 2).is_empty());
        assert_eq!(kept(3, 0), [0, 1, 2], "stride 0 is taken as 1");
    }

    #[test]
    fn targets_follow_the_extension() {
        assert_eq!(ExportTarget::from_path(Path::new("a/b.GIF")), ExportTarget::Gif("a/b.GIF".into()));
        assert_eq!(ExportTarget::from_path(Path::new("frames")), ExportTarget::Frames("frames".into()));
    }
}
