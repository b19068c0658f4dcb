//! The ImageFolder layout read into memory: `ROOT/<class>/<name>.png`, classes in
//! name order (as torchvision's `ImageFolder` orders them), every image converted to
//! one [`ImageSpec`] and stored as 8-bit `H × W × C` rows of one buffer.
//!
//! Reading takes two passes: PNG headers first (cheap), to choose the spec when the
//! caller leaves it open, then decoding and resizing on every core.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;

use super::DataError;
use super::png::decode_png;
use crate::util::seed::rng_from_seed;

/// Channels and size every image of a set is converted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageSpec {
    /// Bytes (and floats) in one image.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether an image holds no pixels (never, for a valid spec).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for ImageSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.channels == 1 { "gray" } else { "rgb" };
        write!(f, "{}x{} {kind}", self.width, self.height)
    }
}

/// What the caller fixes of the spec; the rest is chosen from the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecRequest {
    /// Channels (1 or 3); by default 3 if any image has colour, else 1.
    pub channels: Option<usize>,
    /// Height and width in pixels; by default the most common size in the folder,
    /// scaled down so that its longer side is at most `max_side`.
    pub size: Option<(usize, usize)>,
    /// Upper bound on the side of an automatically chosen size.
    pub max_side: usize,
}

impl Default for SpecRequest {
    fn default() -> Self {
        Self { channels: None, size: None, max_side: 64 }
    }
}

impl SpecRequest {
    /// A request that fixes everything to `spec`.
    pub fn exactly(spec: ImageSpec) -> Self {
        Self { channels: Some(spec.channels), size: Some((spec.height, spec.width)), max_side: usize::MAX }
    }
}

/// Images of an ImageFolder (or a subset or union of them), converted to one spec.
#[derive(Clone, Debug)]
pub struct ImageSet {
    spec: ImageSpec,
    classes: Vec<String>,
    pixels: Vec<u8>,
    labels: Vec<u32>,
    paths: Vec<PathBuf>,
    /// Which group (for example the simulated episode) each image came from, when known:
    /// images of one group are near-copies, so splits keep a group on one side.
    groups: Option<Vec<u64>>,
}

/// A PNG's header facts.
struct Header {
    width: usize,
    height: usize,
    colour: bool,
}

const OTHER_IMAGE_FORMATS: [&str; 7] = ["jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"];

/// Class names, and every PNG file with its label.
type Listing = (Vec<String>, Vec<(PathBuf, u32)>);

/// Lists `root`'s class folders and their PNG files, both in name order.
fn scan(root: &Path) -> Result<Listing, DataError> {
    if !root.is_dir() {
        return Err(DataError::invalid(root, "not a folder (an ImageFolder dataset is a folder with one sub-folder per class)"));
    }
    let sorted_entries = |dir: &Path| -> Result<Vec<PathBuf>, DataError> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir).map_err(DataError::io(dir))?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        v.sort();
        Ok(v)
    };
    let hidden = |p: &Path| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
    let class_dirs: Vec<PathBuf> = sorted_entries(root)?.into_iter().filter(|p| p.is_dir() && !hidden(p)).collect();
    if class_dirs.is_empty() {
        return Err(DataError::invalid(root, "has no class sub-folders (an ImageFolder dataset is ROOT/<class>/<image>.png)"));
    }
    let mut classes = Vec::new();
    let mut files = Vec::new();
    for dir in class_dirs {
        let label = classes.len() as u32;
        let before = files.len();
        for path in sorted_entries(&dir)? {
            if hidden(&path) || !path.is_file() {
                continue;
            }
            let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
            if ext == "png" {
                files.push((path, label));
            } else if OTHER_IMAGE_FORMATS.contains(&ext.as_str()) {
                return Err(DataError::invalid(path, format!("only PNG images are supported, not .{ext}; convert the dataset to PNG")));
            }
        }
        if files.len() == before {
            let hint = if root.join("crops").is_dir() && dir.ends_with("images") {
                format!(" (this looks like a `synthgym generate` dataset: its ImageFolder is {})", root.join("crops").display())
            } else {
                String::new()
            };
            return Err(DataError::invalid(&dir, format!("class folder has no PNG images{hint}")));
        }
        classes.push(dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
    }
    Ok((classes, files))
}

fn read_header(path: &Path) -> Result<Header, DataError> {
    let file = std::fs::File::open(path).map_err(DataError::io(path))?;
    let reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .map_err(|e| DataError::invalid(path, format!("not a readable PNG: {e}")))?;
    let info = reader.info();
    let colour = matches!(info.color_type, png::ColorType::Rgb | png::ColorType::Rgba | png::ColorType::Indexed);
    Ok(Header { width: info.width as usize, height: info.height as usize, colour })
}

/// Per output index, the source indices and weights that make it: area averaging
/// when shrinking (no aliasing), linear interpolation (pixel centres aligned, as
/// `align_corners=False`) when growing.
fn resample_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f32 / dst as f32;
    (0..dst)
        .map(|o| {
            if scale > 1.0 {
                let (a, b) = (o as f32 * scale, (o + 1) as f32 * scale);
                let mut taps = Vec::new();
                let mut i = a.floor() as usize;
                while (i as f32) < b && i < src {
                    let overlap = (b.min(i as f32 + 1.0) - a.max(i as f32)).max(0.0);
                    if overlap > 0.0 {
                        taps.push((i, overlap / scale));
                    }
                    i += 1;
                }
                taps
            } else {
                let x = ((o as f32 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f32);
                let i = x.floor() as usize;
                let t = x - i as f32;
                if i + 1 < src && t > 0.0 { vec![(i, 1.0 - t), (i + 1, t)] } else { vec![(i, 1.0)] }
            }
        })
        .collect()
}

/// Converts a decoded image to `spec`: channel conversion (BT.601 luma for RGB → gray),
/// then separable resampling.
pub fn convert(width: usize, height: usize, channels: usize, data: &[u8], spec: ImageSpec) -> Vec<u8> {
    if (channels, height, width) == (spec.channels, spec.height, spec.width) {
        return data.to_vec();
    }
    let c = spec.channels;
    let px: Vec<f32> = match (channels, c) {
        (a, b) if a == b => data.iter().map(|&v| f32::from(v)).collect(),
        (1, 3) => data.iter().flat_map(|&v| [f32::from(v); 3]).collect(),
        _ => data.chunks_exact(3).map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])).collect(),
    };
    let rows = resample_weights(height, spec.height);
    let cols = resample_weights(width, spec.width);
    // Horizontal pass: height × spec.width × c.
    let mut tmp = vec![0.0f32; height * spec.width * c];
    for y in 0..height {
        for (x, taps) in cols.iter().enumerate() {
            for ch in 0..c {
                tmp[(y * spec.width + x) * c + ch] = taps.iter().map(|&(i, w)| w * px[(y * width + i) * c + ch]).sum();
            }
        }
    }
    let mut out = vec![0u8; spec.len()];
    for (y, taps) in rows.iter().enumerate() {
        for x in 0..spec.width {
            for ch in 0..c {
                let v: f32 = taps.iter().map(|&(i, w)| w * tmp[(i * spec.width + x) * c + ch]).sum();
                out[(y * spec.width + x) * c + ch] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// The spec for `headers` given what `request` fixes.
fn resolve(request: &SpecRequest, headers: &[Header]) -> ImageSpec {
    let channels = request.channels.unwrap_or(if headers.iter().any(|h| h.colour) { 3 } else { 1 });
    let (height, width) = match request.size {
        Some(size) => size,
        None => {
            let mut counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
            for h in headers {
                *counts.entry((h.height, h.width)).or_default() += 1;
            }
            // Most common size; ties go to the larger one.
            let (h, w) = counts.iter().max_by_key(|&(&size, &n)| (n, size)).map_or((32, 32), |(&s, _)| s);
            let longest = h.max(w);
            if longest > request.max_side {
                let s = request.max_side as f32 / longest as f32;
                (((h as f32 * s).round() as usize).max(1), ((w as f32 * s).round() as usize).max(1))
            } else {
                (h, w)
            }
        }
    };
    ImageSpec { channels, height, width }
}

impl ImageSet {
    /// Reads the ImageFolder at `root`, converting every image to the spec that
    /// `request` fixes or the data suggests.
    pub fn open(root: &Path, request: &SpecRequest) -> Result<Self, DataError> {
        if let Some(c) = request.channels.filter(|c| *c != 1 && *c != 3) {
            return Err(DataError::invalid(root, format!("channels must be 1 or 3, got {c}")));
        }
        if request.size.is_some_and(|(h, w)| h == 0 || w == 0) {
            return Err(DataError::invalid(root, "image size must be at least 1"));
        }
        let (classes, files) = scan(root)?;
        let headers = files.iter().map(|(p, _)| read_header(p)).collect::<Result<Vec<_>, _>>()?;
        let spec = resolve(request, &headers);
        let mut pixels = vec![0u8; files.len() * spec.len()];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().max(1));
        let per = files.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let jobs: Vec<_> = files
                .chunks(per)
                .zip(pixels.chunks_mut(per * spec.len()))
                .map(|(chunk, out)| {
                    scope.spawn(move || -> Result<(), DataError> {
                        for ((path, _), dst) in chunk.iter().zip(out.chunks_exact_mut(spec.len())) {
                            let (w, h, c, data) = decode_png(path)?;
                            dst.copy_from_slice(&convert(w, h, c, &data, spec));
                        }
                        Ok(())
                    })
                })
                .collect();
            jobs.into_iter().try_for_each(|j| j.join().unwrap_or_else(|_| Err(DataError::invalid(root, "a decoding thread panicked"))))
        })?;
        let (paths, labels) = files.into_iter().unzip();
        Ok(Self { spec, classes, pixels, labels, paths, groups: None })
    }

    /// A set from raw parts (images `H × W × C`, 8-bit, one after another), as a
    /// generator's samples or a test's fixtures are made.
    pub fn from_parts(spec: ImageSpec, classes: Vec<String>, pixels: Vec<u8>, labels: Vec<u32>) -> Result<Self, DataError> {
        let bad = |problem: String| DataError::invalid("<in-memory images>", problem);
        if pixels.len() != labels.len() * spec.len() {
            return Err(bad(format!("{} bytes for {} images of {spec}", pixels.len(), labels.len())));
        }
        if let Some(l) = labels.iter().find(|&&l| l as usize >= classes.len()) {
            return Err(bad(format!("label {l} but only {} classes", classes.len())));
        }
        let paths = (0..labels.len()).map(|i| PathBuf::from(format!("<image {i}>"))).collect();
        Ok(Self { spec, classes, pixels, labels, paths, groups: None })
    }

    /// The spec every image has.
    pub fn spec(&self) -> ImageSpec {
        self.spec
    }

    /// Class names; label `i` is `classes()[i]`.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `i` as `H × W × C` bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * self.spec.len()..(i + 1) * self.spec.len()]
    }

    /// Every label, in image order.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The file image `i` came from.
    pub fn path(&self, i: usize) -> &Path {
        &self.paths[i]
    }

    /// Images per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The images at `indices`, in that order, with the same classes.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut pixels = Vec::with_capacity(indices.len() * self.spec.len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Self {
            spec: self.spec,
            classes: self.classes.clone(),
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            paths: indices.iter().map(|&i| self.paths[i].clone()).collect(),
            groups: self.groups.as_ref().map(|g| indices.iter().map(|&i| g[i]).collect()),
        }
    }

    /// Sets the group of every image (see [`ImageSet::groups`]).
    pub fn with_groups(mut self, groups: Vec<u64>) -> Result<Self, DataError> {
        if groups.len() != self.len() {
            return Err(DataError::invalid("<in-memory images>", format!("{} groups for {} images", groups.len(), self.len())));
        }
        self.groups = Some(groups);
        Ok(self)
    }

    /// The group of every image, when the data says (for example the episode a
    /// rendered crop came from).
    pub fn groups(&self) -> Option<&[u64]> {
        self.groups.as_deref()
    }

    /// Splits the indices into (train, held out) with `fraction` of every class held
    /// out (at least one image of a class with two or more, and never a class's last
    /// one), shuffled by `seed`: the same seed gives the same split on any machine.
    /// When the images have groups, whole groups are held out instead (see
    /// [`ImageSet::group_split`]), so that no near-copy of a held-out image trains.
    pub fn stratified_split(&self, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
        if let Some(groups) = &self.groups {
            return self.group_split(groups, fraction, seed);
        }
        let mut rng = rng_from_seed(seed);
        let mut train = Vec::new();
        let mut held = Vec::new();
        for class in 0..self.classes.len() as u32 {
            let mut idx: Vec<usize> = (0..self.len()).filter(|&i| self.labels[i] == class).collect();
            idx.shuffle(&mut rng);
            let mut n = (idx.len() as f64 * fraction).round() as usize;
            if fraction > 0.0 && n == 0 && idx.len() >= 2 {
                n = 1;
            }
            // Every class keeps at least one training image.
            n = n.min(idx.len().saturating_sub(1));
            held.extend_from_slice(&idx[..n]);
            train.extend_from_slice(&idx[n..]);
        }
        train.sort_unstable();
        held.sort_unstable();
        (train, held)
    }

    /// Holds out whole groups, drawn in an order shuffled by `seed`, until `fraction` of
    /// the images are held out; a group is skipped when it would take a class's last
    /// training images. Classes are balanced only as far as the groups mix them.
    fn group_split(&self, groups: &[u64], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
        let mut members: std::collections::BTreeMap<u64, Vec<usize>> = std::collections::BTreeMap::new();
        for (i, &g) in groups.iter().enumerate() {
            members.entry(g).or_default().push(i);
        }
        let mut order: Vec<&Vec<usize>> = members.values().collect();
        order.shuffle(&mut rng_from_seed(seed));
        let target = (self.len() as f64 * fraction).round() as usize;
        let mut left = self.class_counts();
        let mut held_out = vec![false; self.len()];
        let mut held = 0;
        for group in order {
            if held >= target {
                break;
            }
            let mut take = vec![0usize; left.len()];
            for &i in group {
                take[self.labels[i] as usize] += 1;
            }
            if take.iter().zip(&left).any(|(&t, &l)| t > 0 && t >= l) {
                continue;
            }
            for (l, t) in left.iter_mut().zip(&take) {
                *l -= t;
            }
            for &i in group {
                held_out[i] = true;
            }
            held += group.len();
        }
        (0..self.len()).partition(|&i| !held_out[i])
    }

    /// The union of `sets` (same spec), with their classes merged by name (sorted).
    pub fn concat(sets: &[&ImageSet]) -> Result<Self, DataError> {
        let Some(first) = sets.first() else {
            return Err(DataError::invalid("<in-memory images>", "no image sets to join"));
        };
        let names: BTreeSet<&String> = sets.iter().flat_map(|s| s.classes.iter()).collect();
        let classes: Vec<String> = names.into_iter().cloned().collect();
        // A union keeps groups when every set has them, numbered apart per set.
        let groups = sets.iter().all(|s| s.groups.is_some()).then(Vec::new);
        let mut out = Self { spec: first.spec, classes, pixels: Vec::new(), labels: Vec::new(), paths: Vec::new(), groups };
        for set in sets {
            if set.spec != first.spec {
                let path = set.paths.first().cloned().unwrap_or_default();
                return Err(DataError::invalid(path, format!("images are {}, the first set's are {}", set.spec, first.spec)));
            }
            let relabelled = set.relabel(&out.classes)?;
            // Each set's groups are renumbered densely past the ones before it.
            if let (Some(all), Some(own)) = (&mut out.groups, &set.groups) {
                let offset = all.iter().max().map_or(0, |m| m + 1);
                let mut dense: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
                for g in own {
                    let next = dense.len() as u64;
                    all.push(offset + *dense.entry(*g).or_insert(next));
                }
            }
            out.pixels.extend_from_slice(&relabelled.pixels);
            out.labels.extend_from_slice(&relabelled.labels);
            out.paths.extend_from_slice(&relabelled.paths);
        }
        Ok(out)
    }

    /// The same images labelled against `classes` (matched by name), for evaluating a
    /// model trained on a superset of this set's classes.
    pub fn relabel(&self, classes: &[String]) -> Result<Self, DataError> {
        let map = self
            .classes
            .iter()
            .map(|name| {
                classes.iter().position(|c| c == name).map(|p| p as u32).ok_or_else(|| {
                    let folder = self.paths.first().and_then(|p| p.parent()).and_then(Path::parent).unwrap_or(Path::new("."));
                    DataError::invalid(folder.join(name), format!("class '{name}' is not one of {classes:?}"))
                })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let mut out = self.clone();
        out.classes = classes.to_vec();
        for l in &mut out.labels {
            *l = map[*l as usize];
        }
        Ok(out)
    }

    /// Per-channel mean and standard deviation of the pixels (in [0, 1]) of `indices`.
    pub fn channel_stats(&self, indices: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let c = self.spec.channels;
        let mut sum = vec![0.0f64; c];
        let mut sq = vec![0.0f64; c];
        for &i in indices {
            for px in self.image(i).chunks_exact(c) {
                for (ch, &v) in px.iter().enumerate() {
                    let v = f64::from(v) / 255.0;
                    sum[ch] += v;
                    sq[ch] += v * v;
                }
            }
        }
        let n = (indices.len() * self.spec.height * self.spec.width).max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sq.iter().zip(&mean).map(|(q, &m)| ((q / n - f64::from(m).powi(2)).max(0.0).sqrt() as f32).max(1e-3)).collect();
        (mean, std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, colour: png::ColorType, depth: png::BitDepth, data: &[u8]) {
        std::fs::create_dir_all(path.parent().expect("invariant: test paths have parents")).expect("mkdir");
        let file = std::fs::File::create(path).expect("create");
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
        enc.set_color(colour);
        enc.set_depth(depth);
        enc.write_header().and_then(|mut w| w.write_image_data(data)).expect("write");
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("synthgym-data-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn reads_every_png_layout_into_one_spec() -> Result<(), DataError> {
        let root = temp("layouts");
        use png::{BitDepth::*, ColorType::*};
        write_png(&root.join("a/gray8.png"), 2, 2, Grayscale, Eight, &[0, 255, 255, 0]);
        write_png(&root.join("a/gray16.png"), 2, 2, Grayscale, Sixteen, &[0, 0, 255, 255, 255, 255, 0, 0]);
        write_png(&root.join("b/rgba.png"), 2, 2, Rgba, Eight, &[255, 0, 0, 9, 0, 255, 0, 9, 0, 0, 255, 9, 255, 255, 255, 9]);
        write_png(&root.join("b/gray_alpha.png"), 2, 2, GrayscaleAlpha, Eight, &[10, 0, 20, 0, 30, 0, 40, 0]);
        std::fs::write(root.join("b/notes.txt"), "ignored").expect("write");
        let set = ImageSet::open(&root, &SpecRequest::default())?;
        assert_eq!(set.classes(), ["a", "b"]);
        assert_eq!(set.spec(), ImageSpec { channels: 3, height: 2, width: 2 }, "one colour image makes the set RGB");
        assert_eq!(set.labels(), [0, 0, 1, 1]);
        assert_eq!(set.image(0)[..6], [0, 0, 0, 255, 255, 255], "gray becomes three equal channels");
        assert_eq!(set.image(0), set.image(1), "16-bit samples scale to 8 bits");
        // Files are read in name order: gray_alpha.png, then rgba.png.
        assert_eq!(set.image(2)[..6], [10, 10, 10, 20, 20, 20], "alpha is dropped");
        assert_eq!(set.image(3)[..3], [255, 0, 0]);
        let gray = ImageSet::open(&root, &SpecRequest { channels: Some(1), size: Some((4, 4)), ..Default::default() })?;
        assert_eq!(gray.spec(), ImageSpec { channels: 1, height: 4, width: 4 });
        assert_eq!(gray.image(3)[0], 76, "red is BT.601 luma 0.299");
        std::fs::remove_dir_all(&root).ok();
        Ok(())
    }

    #[test]
    fn resampling_keeps_flat_images_flat_and_averages_when_shrinking() {
        let spec = ImageSpec { channels: 1, height: 3, width: 5 };
        assert!(convert(7, 4, 1, &[100; 28], spec).iter().all(|&v| v == 100));
        let half = ImageSpec { channels: 1, height: 1, width: 2 };
        // 4x1 → 2x1 averages pairs.
        assert_eq!(convert(4, 1, 1, &[0, 100, 200, 250], half), [50, 225]);
        // 2x1 → 4x1 interpolates between centres.
        let double = ImageSpec { channels: 1, height: 1, width: 4 };
        assert_eq!(convert(2, 1, 1, &[0, 200], double), [0, 50, 150, 200]);
    }

    #[test]
    fn bad_folders_name_the_file_and_problem() {
        let root = temp("bad");
        let err = ImageSet::open(&root, &SpecRequest::default()).expect_err("missing");
        assert!(err.to_string().contains("not a folder"), "{err}");
        std::fs::create_dir_all(root.join("cat")).expect("mkdir");
        let err = ImageSet::open(&root, &SpecRequest::default()).expect_err("empty class");
        assert!(err.to_string().contains("cat") && err.to_string().contains("no PNG"), "{err}");
        std::fs::write(root.join("cat/x.jpg"), b"\xff\xd8").expect("write");
        let err = ImageSet::open(&root, &SpecRequest::default()).expect_err("jpeg");
        assert!(err.to_string().contains("x.jpg") && err.to_string().contains("only PNG"), "{err}");
        std::fs::remove_file(root.join("cat/x.jpg")).expect("rm");
        std::fs::write(root.join("cat/broken.png"), b"\x89PNG\r\n\x1a\nnope").expect("write");
        let err = ImageSet::open(&root, &SpecRequest::default()).expect_err("corrupt");
        assert!(err.to_string().contains("broken.png"), "{err}");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn splits_are_stratified_seeded_and_disjoint() -> Result<(), DataError> {
        let spec = ImageSpec { channels: 1, height: 1, width: 1 };
        let labels: Vec<u32> = (0..100).map(|i| u32::from(i % 4 == 0)).collect();
        let set = ImageSet::from_parts(spec, vec!["x".into(), "y".into()], (0..100).map(|i| i as u8).collect(), labels)?;
        let (train, held) = set.stratified_split(0.2, 7);
        assert_eq!((train.len(), held.len()), (80, 20));
        assert_eq!(held.iter().filter(|&&i| set.labels()[i] == 1).count(), 5, "20% of each class");
        assert!(train.iter().all(|i| !held.contains(i)));
        assert_eq!(set.stratified_split(0.2, 7), (train.clone(), held.clone()));
        assert_ne!(set.stratified_split(0.2, 8).1, held);
        // A large fraction never takes a class's last training image.
        let tiny = ImageSet::from_parts(spec, vec!["x".into(), "y".into()], vec![0, 1, 2], vec![0, 0, 1])?;
        let (train, held) = tiny.stratified_split(0.8, 1);
        assert_eq!((train.len(), held.len()), (2, 1), "{train:?} {held:?}");
        assert!(train.contains(&2), "the one image of class y stays in training");
        Ok(())
    }

    #[test]
    fn grouped_images_are_held_out_a_whole_group_at_a_time() -> Result<(), DataError> {
        let spec = ImageSpec { channels: 1, height: 1, width: 1 };
        // 25 episodes of 4 crops each; class y is rare (every 7th crop).
        let labels: Vec<u32> = (0..100).map(|i| u32::from(i % 7 == 0)).collect();
        let set = ImageSet::from_parts(spec, vec!["x".into(), "y".into()], vec![0; 100], labels)?;
        let set = set.with_groups((0..100).map(|i| i / 4).collect())?;
        let (train, held) = set.stratified_split(0.2, 7);
        assert_eq!((train.len(), held.len()), (80, 20), "five whole episodes");
        let groups = set.groups().unwrap_or_default();
        assert!(held.iter().all(|&h| train.iter().all(|&t| groups[t] != groups[h])), "no episode on both sides");
        assert!(train.iter().any(|&i| set.labels()[i] == 1), "the rare class keeps training images");
        assert_eq!(set.stratified_split(0.2, 7), (train, held.clone()), "seeded");
        assert_ne!(set.stratified_split(0.2, 8).1, held);
        // A union numbers each set's groups apart; one set without groups drops them all.
        let both = ImageSet::concat(&[&set, &set])?;
        assert_eq!(both.groups().map(|g| (g[0], g[100], g[199])), Some((0, 25, 49)));
        let plain = ImageSet::from_parts(spec, vec!["x".into()], vec![0], vec![0])?;
        assert_eq!(ImageSet::concat(&[&set, &plain])?.groups(), None);
        // Subsets keep their images' groups; a wrong count is an error.
        assert_eq!(set.subset(&[5, 9]).groups(), Some(&[1u64, 2][..]));
        assert!(set.clone().with_groups(vec![0; 3]).is_err());
        Ok(())
    }

    #[test]
    fn unions_merge_classes_by_name() -> Result<(), DataError> {
        let spec = ImageSpec { channels: 1, height: 1, width: 1 };
        let a = ImageSet::from_parts(spec, vec!["cat".into(), "dog".into()], vec![1, 2], vec![0, 1])?;
        let b = ImageSet::from_parts(spec, vec!["dog".into(), "eel".into()], vec![3, 4], vec![0, 1])?;
        let u = ImageSet::concat(&[&a, &b])?;
        assert_eq!(u.classes(), ["cat", "dog", "eel"]);
        assert_eq!(u.labels(), [0, 1, 1, 2]);
        assert!(b.relabel(a.classes()).is_err(), "eel is not a class of a");
        Ok(())
    }
}
