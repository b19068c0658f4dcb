//! Labelled image datasets: `synthgym generate`.
//!
//! Image `k` of a dataset is a pure function of the dataset's config and `k`: it comes
//! from episode `k / frames_per_episode`, seeded by [`derive`]`(seed, …, episode)`, and
//! its camera, light, colours and distractors are drawn from its own derived seed. So
//! `--shard i/N` (episodes `e` with `e % N == i`) writes the same files on any machine,
//! and an interrupted run resumes where it stopped.
//!
//! Layout of a dataset folder:
//! ```text
//! dataset.json                  the generation config (checked on resume)
//! images/000000.png             RGB
//! masks/semantic/000000.png     8-bit class ids (0 = background)
//! masks/instance/000000.png     16-bit instance index (see labels)
//! depth/000000.png              16-bit depth along the optical axis, millimetres (0 = sky)
//! crops/<class>/000000_17.png   object crops for classification (ImageFolder layout)
//! labels/000000.json            per-image record: seeds, camera, light, annotations
//! annotations.json              COCO instances, once every image exists
//! manifest.jsonl                one line per image: file, seeds, scene, version
//! ```
//! Every file is written under a temporary name and renamed; an image's label record is
//! written last and marks it complete, so a killed run never leaves an image looking
//! done, and `annotations.json` appears only when the whole dataset is there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::annotate::{ObjectAnnotation, annotate, categories, depth_mm, instance_mask, semantic_mask};
use crate::render::image::{PngLayout, crop_square, write_gray16, write_png, write_rgb};
use crate::render::randomize::{self, CameraMode, Randomization};
use crate::render::{CameraView, Frame, LabelImage, Lighting, Quality, Rasterizer, RenderError, RenderScene, Renderer, RgbImage};
use crate::snapshot::{Class, Snapshot};
use crate::util::fs::write_atomic;
use crate::util::seed::{derive, rng_from_seed};

/// Version of the dataset layout; bumped when files or fields change meaning.
pub const DATASET_FORMAT_VERSION: u32 = 1;

/// Streams of [`derive`] (so episode and image seeds never coincide).
const EPISODE_STREAM: u64 = 1;
const IMAGE_STREAM: u64 = 2;

/// How a dataset is generated. Everything that changes a pixel or a label is here, so
/// that equal configs give equal datasets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateConfig {
    /// Environment id or scene file.
    pub scene: String,
    /// Number of images.
    pub count: u64,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Rendering preset.
    pub quality: Quality,
    /// Base seed.
    pub seed: u64,
    /// Camera placement.
    pub camera: CameraMode,
    /// Domain randomisation of colours, light and camera pose.
    pub randomize: bool,
    /// Largest number of distractors per image.
    pub max_distractors: u32,
    /// Images taken from one simulated episode.
    pub frames_per_episode: u32,
    /// Environment steps between two images of an episode.
    pub frame_stride: u32,
    /// Side of the square object crops (0: no crops).
    pub crop_size: u32,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            scene: "warehouse-grid-small-4ag-v0".into(),
            count: 100,
            width: 128,
            height: 128,
            quality: Quality::Fast,
            seed: 0,
            camera: CameraMode::Random,
            randomize: true,
            max_distractors: 6,
            frames_per_episode: 8,
            frame_stride: 10,
            crop_size: 32,
        }
    }
}

impl GenerateConfig {
    /// Checks ranges, naming the offending option.
    pub fn validate(&self) -> Result<(), RenderError> {
        let bad = |what: &str, why: &str| Err(RenderError::Config(format!("{what}: {why}")));
        if self.count == 0 {
            return bad("count", "must be at least 1");
        }
        if !(8..=4096).contains(&self.width) || !(8..=4096).contains(&self.height) {
            return bad("size", &format!("{}x{} is outside 8..=4096 pixels a side", self.width, self.height));
        }
        if self.frames_per_episode == 0 {
            return bad("frames_per_episode", "must be at least 1");
        }
        if self.frame_stride == 0 {
            return bad("frame_stride", "must be at least 1");
        }
        if self.crop_size > 1024 {
            return bad("crop_size", "must be at most 1024");
        }
        Ok(())
    }

    fn randomization(&self) -> Randomization {
        Randomization { camera: self.camera, enabled: self.randomize, max_distractors: self.max_distractors }
    }

    /// Number of episodes the dataset draws from.
    pub fn episodes(&self) -> u64 {
        self.count.div_ceil(self.frames_per_episode as u64)
    }
}

/// Which part of a dataset a run writes: episodes `e` with `e % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| format!("shard `{s}`: expected INDEX/COUNT, such as 0/4"))?;
        let index: u64 = i.trim().parse().map_err(|_| format!("shard `{s}`: index `{i}` is not a whole number"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("shard `{s}`: count `{n}` is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard `{s}`: the index must be below the count (0/{count} to {}/{count})", count.max(1) - 1));
        }
        Ok(Shard { index, count })
    }
}

/// The label record of one image (`labels/NNNNNN.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Image index in the dataset (also its COCO image id).
    pub image_id: u64,
    /// RGB file, relative to the dataset folder.
    pub file_name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Environment id or scene file.
    pub scene: String,
    /// Version of synthgym that wrote it.
    pub synthgym_version: String,
    /// Seed of this image's randomisation (camera, light, colours, distractors).
    pub seed: u64,
    /// Episode index and the seed it was reset with.
    pub episode: u64,
    /// Seed of the episode's first reset.
    pub episode_seed: u64,
    /// Simulation step of the snapshot.
    pub step: u64,
    /// Camera.
    pub camera: CameraView,
    /// Light.
    pub lighting: Lighting,
    /// Visible object instances.
    pub annotations: Vec<ObjectAnnotation>,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenerateSummary {
    /// Images written by this run.
    pub written: u64,
    /// Images of this shard found complete and skipped.
    pub skipped: u64,
    /// Object annotations written by this run.
    pub annotations: u64,
    /// Object crops written by this run.
    pub crops: u64,
    /// Seconds spent.
    pub seconds: f64,
    /// Whether the whole dataset is complete and `annotations.json` was written.
    pub merged: bool,
    /// The adapter that rendered, if any image was rendered.
    pub adapter: Option<String>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> RenderError + '_ {
    move |source| RenderError::Io { path: path.to_path_buf(), source }
}

fn stem(k: u64) -> String {
    format!("{k:06}")
}

fn label_path(out: &Path, k: u64) -> PathBuf {
    out.join("labels").join(format!("{}.json", stem(k)))
}

/// The label record of image `k`: `Ok(None)` if it is not there, an error naming the file
/// if it does not parse.
fn read_record(out: &Path, k: u64) -> Result<Option<ImageRecord>, RenderError> {
    let path = label_path(out, k);
    let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| RenderError::Invalid { path, message: format!("not a label record: {e}") })
}

/// Whether image `k` is complete: its label record exists and parses.
fn is_complete(out: &Path, k: u64) -> bool {
    matches!(read_record(out, k), Ok(Some(_)))
}

/// The renderer in `slot`, started on first use.
fn renderer<'a>(slot: &'a mut Option<Renderer>, config: &GenerateConfig) -> Result<&'a mut Renderer, RenderError> {
    match slot {
        Some(r) => Ok(r),
        None => Ok(slot.insert(Renderer::new(config.width, config.height, config.quality)?)),
    }
}

/// Writes `dataset.json`, or checks that an existing one matches `config`.
fn check_or_write_config(out: &Path, config: &GenerateConfig) -> Result<(), RenderError> {
    let path = out.join("dataset.json");
    let ours = serde_json::json!({ "format_version": DATASET_FORMAT_VERSION, "config": config });
    match std::fs::read(&path) {
        Ok(bytes) => {
            let invalid = |message: String| RenderError::Invalid { path: path.clone(), message };
            let theirs: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
            if theirs.get("format_version") != ours.get("format_version") {
                return Err(invalid(format!(
                    "dataset format version {}; this synthgym writes version {DATASET_FORMAT_VERSION}",
                    theirs.get("format_version").unwrap_or(&serde_json::Value::Null)
                )));
            }
            for (field, value) in ours["config"].as_object().into_iter().flatten() {
                let found = theirs.get("config").and_then(|c| c.get(field));
                if found != Some(value) {
                    return Err(invalid(format!(
                        "the folder holds a dataset generated with {field} = {}, not {value}; use another --out, or the same options to resume",
                        found.map_or("(missing)".to_string(), |v| v.to_string())
                    )));
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = serde_json::to_vec_pretty(&ours).map_err(|e| RenderError::Config(e.to_string()))?;
            write_atomic(&path, &bytes, true).map_err(io(&path))
        }
        Err(e) => Err(io(&path)(e)),
    }
}

/// One image waiting to be rendered.
struct Pending {
    k: u64,
    frame: Frame,
    labels: LabelImage,
    record: ImageRecord,
}

/// A simulation that dataset generation advances and photographs.
pub trait SceneSource {
    /// Starts an episode; everything after depends on `seed` alone.
    fn reset(&mut self, seed: u64) -> Result<(), RenderError>;
    /// One control step; returns whether the episode is over.
    fn step(&mut self) -> Result<bool, RenderError>;
    /// The scene now (`None` if the environment has nothing to show).
    fn snapshot(&self) -> Option<Snapshot>;
}

/// Generates the images of `shard` into `out`. `make_source` builds the simulation
/// (called once, and only if some image is missing); `progress(done, total)` is called
/// after each image of the shard.
pub fn generate(
    config: &GenerateConfig,
    shard: Shard,
    out: &Path,
    make_source: &mut dyn FnMut() -> Result<Box<dyn SceneSource>, RenderError>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<GenerateSummary, RenderError> {
    config.validate()?;
    let start = Instant::now();
    std::fs::create_dir_all(out).map_err(io(out))?;
    check_or_write_config(out, config)?;
    let fpe = config.frames_per_episode as u64;
    let episodes: Vec<u64> = (0..config.episodes()).filter(|e| e % shard.count == shard.index).collect();
    let images_of = |e: u64| e * fpe..((e + 1) * fpe).min(config.count);
    let total: u64 = episodes.iter().map(|&e| images_of(e).count() as u64).sum();
    let mut summary = GenerateSummary::default();
    let mut done = 0;
    let mut gpu: Option<Renderer> = None;
    let mut source: Option<Box<dyn SceneSource>> = None;
    let mut raster = Rasterizer::default();
    let mut batch: Vec<Pending> = Vec::new();
    const BATCH: usize = 32;
    for &e in &episodes {
        let needed: Vec<u64> = images_of(e).filter(|&k| !is_complete(out, k)).collect();
        let skipped = images_of(e).count() as u64 - needed.len() as u64;
        summary.skipped += skipped;
        done += skipped;
        progress(done, total);
        if needed.is_empty() {
            continue;
        }
        let source = match &mut source {
            Some(s) => s,
            None => source.insert(make_source()?),
        };
        capture_episode(config, e, &needed, source.as_mut(), &mut raster, &mut batch)?;
        if batch.len() >= BATCH {
            let r = renderer(&mut gpu, config)?;
            done += write_batch(config, out, r, &mut batch, &mut summary, &mut |n| progress(done + n, total))?;
        }
    }
    if !batch.is_empty() {
        let r = renderer(&mut gpu, config)?;
        done += write_batch(config, out, r, &mut batch, &mut summary, &mut |n| progress(done + n, total))?;
    }
    progress(done, total);
    summary.adapter = gpu.map(|r| r.adapter().to_string());
    summary.merged = merge(config, out)?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Simulates episode `e` and queues its `needed` images (frames, labels, records).
fn capture_episode(
    config: &GenerateConfig,
    e: u64,
    needed: &[u64],
    source: &mut dyn SceneSource,
    raster: &mut Rasterizer,
    batch: &mut Vec<Pending>,
) -> Result<(), RenderError> {
    let episode_seed = derive(config.seed, EPISODE_STREAM, e);
    let mut rng = rng_from_seed(episode_seed);
    source.reset(episode_seed)?;
    let mut step = 0u64;
    let last = needed.iter().copied().max().unwrap_or(0);
    let first_image = e * config.frames_per_episode as u64;
    let randomization = config.randomization();
    for k in first_image..=last {
        // A random offset before the first image, then a fixed stride.
        let steps = if k == first_image { rng.random_range(0..config.frame_stride) } else { config.frame_stride };
        for _ in 0..steps {
            step += 1;
            if source.step()? {
                // The episode ended: carry on with a fresh one from this episode's RNG.
                source.reset(rng.random())?;
                step = 0;
            }
        }
        if !needed.contains(&k) {
            continue;
        }
        let Some(snapshot) = source.snapshot() else {
            return Err(RenderError::Config(format!("scene {}: this environment has no snapshot to render", config.scene)));
        };
        let image_seed = derive(config.seed, IMAGE_STREAM, k);
        let mut irng = rng_from_seed(image_seed);
        let camera = randomize::camera(randomization.camera, &snapshot, randomization.enabled, &mut irng);
        let lighting = randomize::lighting(randomization.enabled, &mut irng);
        let appearance = randomize::appearance(randomization.enabled, &mut irng);
        let mut shown = snapshot.clone();
        randomize::add_distractors(&mut shown, randomize::region(&snapshot), randomization.max_distractors, &mut irng);
        let scene = RenderScene::from_snapshot(&shown, &appearance);
        let labels = raster.rasterize(&scene, &camera, config.width, config.height);
        let record = ImageRecord {
            image_id: k,
            file_name: format!("images/{}.png", stem(k)),
            width: config.width,
            height: config.height,
            scene: config.scene.clone(),
            synthgym_version: env!("CARGO_PKG_VERSION").into(),
            seed: image_seed,
            episode: e,
            episode_seed,
            step,
            camera,
            lighting,
            annotations: annotate(&labels),
        };
        batch.push(Pending { k, frame: Frame { scene, camera, lighting }, labels, record });
    }
    Ok(())
}

/// Renders the queued images and writes their files; returns how many were written.
fn write_batch(
    config: &GenerateConfig,
    out: &Path,
    renderer: &mut Renderer,
    batch: &mut Vec<Pending>,
    summary: &mut GenerateSummary,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, RenderError> {
    let pending = std::mem::take(batch);
    let frames: Vec<&Frame> = pending.iter().map(|p| &p.frame).collect();
    let mut written = 0;
    renderer.render_all(frames, |i, image| {
        let p = &pending[i];
        write_image(config, out, p, &image, summary)?;
        written += 1;
        progress(written);
        Ok::<(), RenderError>(())
    })?;
    Ok(written)
}

/// Writes every file of one image, the label record last.
fn write_image(
    config: &GenerateConfig,
    out: &Path,
    p: &Pending,
    image: &RgbImage,
    summary: &mut GenerateSummary,
) -> Result<(), RenderError> {
    let (w, h) = (config.width, config.height);
    let name = format!("{}.png", stem(p.k));
    write_rgb(&out.join("images").join(&name), image)?;
    write_png(&out.join("masks/semantic").join(&name), w, h, PngLayout::Gray8, &semantic_mask(&p.labels))?;
    write_gray16(&out.join("masks/instance").join(&name), w, h, &instance_mask(&p.labels))?;
    write_gray16(&out.join("depth").join(&name), w, h, &depth_mm(&p.labels))?;
    if config.crop_size > 0 {
        for a in crops_of(&p.record.annotations) {
            let class = Class::ALL.iter().find(|c| c.id() == a.category_id).map_or("unknown", |c| c.name());
            let crop = crop_square(image, a.bbox, 0.1, config.crop_size);
            write_rgb(&out.join("crops").join(class).join(format!("{}_{}.png", stem(p.k), a.object_id)), &crop)?;
            summary.crops += 1;
        }
    }
    let bytes = serde_json::to_vec(&p.record).map_err(|e| RenderError::Config(e.to_string()))?;
    let path = label_path(out, p.k);
    write_atomic(&path, &bytes, false).map_err(io(&path))?;
    summary.written += 1;
    summary.annotations += p.record.annotations.len() as u64;
    Ok(())
}

/// Objects clear enough to be classification examples (mostly visible, inside the image,
/// at least 6 pixels on each side), at most [`CROPS_PER_CLASS`] per class and image,
/// largest first: a warehouse image shows dozens of shelves, and a crop set of mostly
/// shelves would teach a classifier little.
fn crops_of(annotations: &[ObjectAnnotation]) -> Vec<&ObjectAnnotation> {
    let mut worthy: Vec<&ObjectAnnotation> =
        annotations.iter().filter(|a| !a.truncated && a.occlusion <= 0.5 && a.bbox[2] >= 6 && a.bbox[3] >= 6).collect();
    worthy.sort_by_key(|a| (a.category_id, std::cmp::Reverse(a.area), a.object_id));
    let mut out = Vec::new();
    for a in worthy {
        if out.iter().filter(|b: &&&ObjectAnnotation| b.category_id == a.category_id).count() < CROPS_PER_CLASS {
            out.push(a);
        }
    }
    out
}

/// See [`crops_of`].
pub const CROPS_PER_CLASS: usize = 2;

/// When every image of the dataset is complete, writes `annotations.json` (COCO) and
/// `manifest.jsonl` from the label records. Returns whether it did.
pub fn merge(config: &GenerateConfig, out: &Path) -> Result<bool, RenderError> {
    // Every record must be there (and parse) before anything is written.
    for k in 0..config.count {
        if read_record(out, k)?.is_none() {
            return Ok(false);
        }
    }
    // The files are streamed a record at a time (each pass reads the records again), so
    // memory stays flat however many images the dataset has. Keys come in the order
    // `serde_json` gives an object's keys (sorted), as when the whole document was built
    // in memory: the bytes are the same.
    let each = |f: &mut dyn FnMut(&ImageRecord) -> std::io::Result<()>| -> std::io::Result<()> {
        for k in 0..config.count {
            let record = read_record(out, k)
                .map_err(std::io::Error::other)?
                .ok_or_else(|| std::io::Error::other(format!("{} disappeared while merging", label_path(out, k).display())))?;
            f(&record)?;
        }
        Ok(())
    };
    let json = |w: &mut dyn Write, v: &serde_json::Value| serde_json::to_writer(w, v).map_err(std::io::Error::other);
    let path = out.join("manifest.jsonl");
    crate::util::fs::write_atomic_with(&path, |file| {
        let mut w = std::io::BufWriter::new(file);
        each(&mut |r| {
            let line = serde_json::json!({
                "image_id": r.image_id, "file_name": r.file_name, "scene": r.scene, "seed": r.seed,
                "episode": r.episode, "episode_seed": r.episode_seed, "step": r.step,
                "synthgym_version": r.synthgym_version,
            });
            json(&mut w, &line)?;
            w.write_all(b"\n")
        })?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })
    .map_err(io(&path))?;
    let info = serde_json::json!({
        "description": format!("synthgym {} dataset of {}", env!("CARGO_PKG_VERSION"), config.scene),
        "version": DATASET_FORMAT_VERSION.to_string(),
        "depth_unit_m": 0.001,
        "config": config,
    });
    let path = out.join("annotations.json");
    crate::util::fs::write_atomic_with(&path, |file| {
        let mut w = std::io::BufWriter::new(file);
        w.write_all(b"{\"annotations\":[")?;
        let mut id = 0usize;
        each(&mut |r| {
            for a in &r.annotations {
                id += 1;
                if id > 1 {
                    w.write_all(b",")?;
                }
                let entry = serde_json::json!({
                    "id": id,
                    "image_id": r.image_id,
                    "category_id": a.category_id,
                    "bbox": a.bbox,
                    "area": a.area,
                    "iscrowd": 0,
                    "segmentation": a.segmentation,
                    "object_id": a.object_id,
                    "instance_index": a.instance_index,
                    "occlusion": a.occlusion,
                    "truncated": a.truncated,
                    "projected_box": a.projected_box,
                });
                json(&mut w, &entry)?;
            }
            Ok(())
        })?;
        w.write_all(b"],\"categories\":")?;
        serde_json::to_writer(&mut w, &categories()).map_err(std::io::Error::other)?;
        w.write_all(b",\"images\":[")?;
        let mut first = true;
        each(&mut |r| {
            if !std::mem::take(&mut first) {
                w.write_all(b",")?;
            }
            let image = serde_json::json!({
                "id": r.image_id, "file_name": r.file_name, "width": r.width, "height": r.height,
                "seed": r.seed, "episode": r.episode, "step": r.step,
            });
            json(&mut w, &image)
        })?;
        w.write_all(b"],\"info\":")?;
        json(&mut w, &info)?;
        w.write_all(b"}")?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })
    .map_err(io(&path))?;
    Ok(true)
}

/// Draws the outline of box `[x, y, w, h]` in `color`.
pub fn draw_box(image: &mut RgbImage, bbox: [u32; 4], color: [u8; 3]) {
    let [x, y, w, h] = bbox;
    let (x1, y1) = ((x + w).min(image.width) - 1, (y + h).min(image.height) - 1);
    let mut put = |px: u32, py: u32| {
        let i = 3 * (py * image.width + px) as usize;
        image.pixels[i..i + 3].copy_from_slice(&color);
    };
    for px in x..=x1 {
        put(px, y);
        put(px, y1);
    }
    for py in y..=y1 {
        put(x, py);
        put(x1, py);
    }
}

/// A bright colour per class for drawn boxes.
fn box_color(category_id: u32) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 8] =
        [[255, 64, 64], [64, 255, 64], [64, 160, 255], [255, 220, 0], [255, 0, 255], [0, 255, 255], [255, 128, 0], [255, 255, 255]];
    PALETTE[category_id as usize % PALETTE.len()]
}

/// Writes a 4-column grid of the first `n` images of the dataset in `out`, each with its
/// boxes drawn, to `path`; returns how many images it holds.
pub fn write_grid(out: &Path, n: u64, path: &Path) -> Result<usize, RenderError> {
    let mut images = Vec::new();
    for k in 0..n {
        let Some(record) = read_record(out, k)? else { continue };
        let mut image = crate::render::image::read_rgb(&out.join(&record.file_name))?;
        for a in &record.annotations {
            draw_box(&mut image, a.bbox, box_color(a.category_id));
        }
        images.push(image);
    }
    if let Some(grid) = crate::render::image::grid(&images, 4, 2) {
        write_rgb(path, &grid)?;
    }
    Ok(images.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_reject_nonsense() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "1", "a/2", "0/0", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn config_validation_names_the_option() {
        let c = GenerateConfig { frame_stride: 0, ..GenerateConfig::default() };
        assert!(c.validate().is_err_and(|e| e.to_string().contains("frame_stride")));
        let c = GenerateConfig { width: 4, ..GenerateConfig::default() };
        assert!(c.validate().is_err_and(|e| e.to_string().contains("size")));
        assert_eq!(GenerateConfig { count: 17, frames_per_episode: 8, ..GenerateConfig::default() }.episodes(), 3);
    }
}
