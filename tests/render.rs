//! The offscreen renderer against the label rasteriser: the GPU's pixels and the CPU's
//! masks must agree, frame by frame, through the pipelined readback.

use synthgym::render::image::write_rgb;
use synthgym::render::{Appearance, CameraView, Frame, LabelImage, Lighting, Quality, Rasterizer, RenderScene, Renderer, RgbImage};
use synthgym::snapshot::{Class, Snapshot};

const SKY: [f32; 3] = [1.0, 0.0, 1.0];

fn warehouse_snapshot() -> anyhow::Result<Snapshot> {
    let mut env = synthgym::scenes::registry().make("warehouse-grid-tiny-2ag-v0", &Default::default())?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(3), None, &mut obs)?;
    let mut snap = Snapshot::default();
    assert!(env.snapshot(&mut snap));
    // Without the floor, the sky shows between objects.
    snap.objects.retain(|o| o.class != Class::Floor);
    Ok(snap)
}

fn frame(snap: &Snapshot, camera: CameraView) -> Frame {
    Frame {
        scene: RenderScene::from_snapshot(snap, &Appearance::default()),
        camera,
        lighting: Lighting { sky: SKY, ..Lighting::default() },
    }
}

/// Fraction of pixels where "the GPU drew sky" and "the labels say background" agree.
fn agreement(image: &RgbImage, labels: &LabelImage) -> f64 {
    let sky = [255u8, 0, 255];
    let mut same = 0;
    for y in 0..image.height {
        for x in 0..image.width {
            let background = labels.instance[(y * image.width + x) as usize] == 0;
            if (image.pixel(x, y) == sky) == background {
                same += 1;
            }
        }
    }
    same as f64 / (image.width * image.height) as f64
}

#[test]
fn gpu_pixels_agree_with_label_masks_through_pipelined_readback() -> anyhow::Result<()> {
    let snap = warehouse_snapshot()?;
    let (w, h) = (96, 64);
    let top = CameraView { eye: [5.0, 14.0, 5.5], target: [5.0, 0.0, 5.5], up: [0.0, 0.0, -1.0], fov_y_deg: 60.0, near: 0.1 };
    let oblique = CameraView { eye: [-2.0, 7.0, 14.0], target: [5.0, 0.0, 5.0], up: [0.0, 1.0, 0.0], fov_y_deg: 50.0, near: 0.1 };
    let frames = [frame(&snap, top), frame(&snap, oblique), frame(&snap, top), frame(&snap, oblique)];
    let mut raster = Rasterizer::default();
    let labels: Vec<LabelImage> = frames.iter().map(|f| raster.rasterize(&f.scene, &f.camera, w, h)).collect();
    assert!(labels[0].instance.contains(&0) && labels[0].instance.iter().any(|&i| i > 0));

    let mut renderer = Renderer::new(w, h, Quality::Fast)?;
    let mut images = vec![None; frames.len()];
    renderer.render_all(&frames, |i, image| {
        images[i] = Some(image);
        Ok::<(), anyhow::Error>(())
    })?;
    let dir = std::env::temp_dir().join("synthgym-render-test");
    for (i, (image, own_labels)) in images.iter().zip(&labels).enumerate() {
        let image = image.as_ref().expect("every frame comes back");
        write_rgb(&dir.join(format!("frame{i}.png")), image)?;
        let own = agreement(image, own_labels);
        let other = agreement(image, &labels[(i + 1) % 2]);
        assert!(own > 0.985, "frame {i}: GPU and labels agree on only {own:.4} of pixels");
        assert!(other < own - 0.05, "frame {i} matches the other camera's labels too well ({other:.4} vs {own:.4})");
    }
    // A single synchronous render gives the same pixels as the batch.
    let again = renderer.render(&frames[1])?;
    assert_eq!(Some(&again), images[1].as_ref());
    Ok(())
}

// ---- `synthgym generate` ----

use std::path::Path;
use std::process::{Command, Output};

use synthgym::dataset::annotate::Rle;
use synthgym::render::image::{PngLayout, read_png};

fn generate(out: &Path, extra: &[&str]) -> anyhow::Result<Output> {
    let base = ["generate", "warehouse-grid-tiny-2ag-v0", "--count", "6", "--size", "48", "--frames-per-episode", "2", "-q", "--out"];
    let output = Command::new(env!("CARGO_BIN_EXE_synthgym")).args(base).arg(out).args(extra).env("NODEVICE_SELECT", "1").output()?;
    Ok(output)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgym-gen-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> anyhow::Result<std::collections::BTreeMap<String, Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(dir)?.to_string_lossy().into_owned(), std::fs::read(&path)?);
            }
        }
    }
    Ok(out)
}

#[test]
fn generate_writes_coco_whose_boxes_and_masks_agree_with_the_mask_images() -> anyhow::Result<()> {
    let dir = temp_dir("coco");
    let out = generate(&dir, &[])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let coco: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("annotations.json"))?)?;
    let images = coco["images"].as_array().expect("images");
    assert_eq!(images.len(), 6);
    assert_eq!(coco["categories"].as_array().map(Vec::len), Some(Class::ALL.len()));
    let annotations = coco["annotations"].as_array().expect("annotations");
    assert!(annotations.len() >= 6, "a tiny warehouse shows shelves in every image");
    for image in images {
        let id = image["id"].as_u64().expect("id");
        let name = format!("{id:06}.png");
        let (w, h, layout, instance) = read_png(&dir.join("masks/instance").join(&name))?;
        assert_eq!((w, h, layout), (48, 48, PngLayout::Gray16));
        let instance: Vec<u16> = instance.chunks(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect();
        let (.., semantic) = read_png(&dir.join("masks/semantic").join(&name))?;
        let (.., depth) = read_png(&dir.join("depth").join(&name))?;
        let depth: Vec<u16> = depth.chunks(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect();
        for (i, (&inst, &d)) in instance.iter().zip(&depth).enumerate() {
            assert_eq!(inst == 0, d == 0, "pixel {i}: depth exists exactly where something is drawn");
            assert_eq!(inst == 0, semantic[i] == 0, "pixel {i}: semantic and instance masks agree on background");
        }
        for a in annotations.iter().filter(|a| a["image_id"].as_u64() == Some(id)) {
            let rle: Rle = serde_json::from_value(a["segmentation"].clone())?;
            let mask = rle.decode();
            let index = a["instance_index"].as_u64().expect("instance_index") as u16;
            let from_png: Vec<bool> = instance.iter().map(|&v| v == index).collect();
            assert_eq!(mask, from_png, "image {id}: the RLE and the instance mask differ");
            let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
            for (i, _) in mask.iter().enumerate().filter(|(_, on)| **on) {
                let (x, y) = (i as u32 % w, i as u32 / w);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
            let bbox: Vec<u32> = serde_json::from_value(a["bbox"].clone())?;
            assert_eq!(bbox, vec![x0, y0, x1 - x0 + 1, y1 - y0 + 1], "image {id}: the box is the mask's tight box");
            assert_eq!(a["area"].as_u64(), Some(mask.iter().filter(|&&m| m).count() as u64));
            let class = a["category_id"].as_u64().expect("category") as u8;
            assert!(mask.iter().zip(&semantic).all(|(&m, &c)| !m || c == class), "semantic mask disagrees");
        }
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl"))?;
    assert_eq!(manifest.lines().count(), 6);
    let line: serde_json::Value = serde_json::from_str(manifest.lines().next().unwrap_or_default())?;
    assert_eq!(line["scene"], "warehouse-grid-tiny-2ag-v0");
    assert!(line["seed"].is_u64() && line["synthgym_version"].is_string());
    assert!(std::fs::read_dir(dir.join("crops"))?.count() >= 2, "crops of at least two classes");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn shards_and_resumed_runs_write_the_same_dataset() -> anyhow::Result<()> {
    let whole = temp_dir("whole");
    assert!(generate(&whole, &[])?.status.success());
    let sharded = temp_dir("sharded");
    let first = generate(&sharded, &["--shard", "0/2"])?;
    assert!(first.status.success());
    assert!(!sharded.join("annotations.json").exists(), "half a dataset is not announced as complete");
    assert!(String::from_utf8(first.stdout)?.contains("still missing"));
    assert!(generate(&sharded, &["--shard", "1/2"])?.status.success());
    assert_eq!(files(&whole)?, files(&sharded)?, "two shards make the same files as one run");

    // A run killed after writing an image but before its label record: resuming
    // rewrites that image, leaves the others alone, and ends with the same files.
    std::fs::remove_file(sharded.join("labels/000003.json"))?;
    std::fs::write(sharded.join("images/000003.png"), b"half a png")?;
    std::fs::remove_file(sharded.join("annotations.json"))?;
    let resumed = generate(&sharded, &[])?;
    let stdout = String::from_utf8(resumed.stdout)?;
    assert!(stdout.contains("wrote 1 images") && stdout.contains("5 already complete"), "{stdout}");
    assert_eq!(files(&whole)?, files(&sharded)?);

    // The same folder with other options is refused, naming the option.
    let other = generate(&sharded, &["--seed", "9"])?;
    assert_eq!(other.status.code(), Some(2));
    let err = String::from_utf8(other.stderr)?;
    assert!(err.contains("dataset.json") && err.contains("seed"), "{err}");
    std::fs::remove_dir_all(&whole).ok();
    std::fs::remove_dir_all(&sharded).ok();
    Ok(())
}

#[test]
fn no_vulkan_driver_is_a_clear_error() -> anyhow::Result<()> {
    let dir = temp_dir("nodriver");
    let out = Command::new(env!("CARGO_BIN_EXE_synthgym"))
        .args(["generate", "cartpole-v1", "--count", "1", "--size", "16", "-q", "--out"])
        .arg(&dir)
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr)?;
    assert!(err.contains("no graphics adapter") && err.contains("mesa-vulkan-drivers"), "{err}");
    assert!(!dir.join("labels").exists(), "nothing is written without a renderer");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

// ---- camera observations ----

use synthgym::env::{Action, Env};
use synthgym::render::randomize::CameraMode;
use synthgym::render::{CameraObservation, SceneCamera};

#[test]
fn camera_observations_are_images_in_their_space_and_deterministic() -> anyhow::Result<()> {
    let make = || -> anyhow::Result<CameraObservation> {
        let inner = synthgym::scenes::registry().make("cartpole-v1", &Default::default())?;
        Ok(CameraObservation::new(inner, SceneCamera::new(32, 24, Quality::Fast, CameraMode::Fixed)?)?)
    };
    let boxed = || -> Result<Box<dyn Env>, synthgym::env::EnvError> {
        make()
            .map(|e| Box::new(e) as Box<dyn Env>)
            .map_err(|e| synthgym::env::EnvError::InvalidConfig { what: "camera".into(), reason: e.to_string() })
    };
    synthgym::env::check::check_env(&boxed, &synthgym::env::check::CheckConfig { steps: 40, ..Default::default() })?;
    let mut env = make()?;
    match env.observation_space() {
        synthgym::env::Space::Box(b) => assert_eq!(b.shape(), &[24, 32, 3]),
        other => panic!("expected a Box space, got {other}"),
    }
    let run = |env: &mut CameraObservation| -> anyhow::Result<Vec<Vec<f32>>> {
        let mut obs = vec![0.0; env.observation_space().flat_dim()];
        env.reset(Some(3), None, &mut obs)?;
        let mut frames = vec![obs.clone()];
        for _ in 0..5 {
            env.step(Action::Discrete(1), &mut obs)?;
            frames.push(obs.clone());
        }
        Ok(frames)
    };
    let a = run(&mut env)?;
    assert!(a.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
    let sky = a[0].iter().filter(|&&v| v == a[0][0]).count();
    assert!(sky < a[0].len() * 9 / 10, "the cart and pole are in view");
    assert!(a[0] != a[5], "the cart moves, so the picture changes");
    assert!(a == run(&mut make()?)?, "same seed, same pictures");
    Ok(())
}

/// `replay --export`: a recorded episode drawn to PNG frames (every kept step, the
/// last always) and to a looping GIF of the requested size; frames differ as robots move.
#[test]
fn replay_exports_png_frames_and_gifs() -> anyhow::Result<()> {
    let dir = temp_dir("export");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("run.episodes").to_string_lossy().into_owned();
    let bin = env!("CARGO_BIN_EXE_synthgym");
    let run = |args: &[&str]| Command::new(bin).args(args).env("NODEVICE_SELECT", "1").output();
    let out = run(&["eval", "--baseline", "scripted", "--env", "warehouse-grid-tiny-2ag-v0", "-n", "2", "--record", &file])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rec = synthgym::replay::read(Path::new(&file))?;
    let steps = rec.episodes[1].steps.len();

    let frames = dir.join("frames").to_string_lossy().into_owned();
    let out = run(&["replay", &file, "--export", &frames, "--episode", "1", "--stride", "7", "--width", "64", "--height", "48"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = files(Path::new(&frames))?;
    // Scenes 0..=steps (after the reset, then after each step), every 7th plus the last.
    let expected = (0..=steps).step_by(7).count() + usize::from(!steps.is_multiple_of(7));
    assert_eq!(written.len(), expected, "{:?}", written.keys().collect::<Vec<_>>());
    assert!(written.contains_key("e001_00000.png") && written.contains_key(&format!("e001_{steps:05}.png")));
    let (w, h, layout, first) = read_png(&Path::new(&frames).join("e001_00000.png"))?;
    assert_eq!((w, h, layout), (64, 48, PngLayout::Rgb8));
    let (.., last) = read_png(&Path::new(&frames).join(format!("e001_{steps:05}.png")))?;
    assert_ne!(first, last, "the robots moved between the first and last frame");

    let gif_path = dir.join("run.gif");
    let out = run(&["replay", &file, "--export", &gif_path.to_string_lossy(), "--stride", "10", "--width", "80", "--height", "60"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut decoder = gif::DecodeOptions::new().read_info(std::fs::File::open(&gif_path)?)?;
    assert_eq!((decoder.width(), decoder.height()), (80, 60));
    let mut count = 0;
    while decoder.read_next_frame()?.is_some() {
        count += 1;
    }
    let per_episode = |n: usize| (0..=n).step_by(10).count() + usize::from(!n.is_multiple_of(10));
    assert_eq!(count, per_episode(rec.episodes[0].steps.len()) + per_episode(steps), "both episodes, one after the other");

    let out = run(&["replay", &file, "--export", &frames, "--episode", "5"])?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("--episode 5"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
