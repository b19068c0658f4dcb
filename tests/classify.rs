//! Image classifiers end to end: a procedurally drawn ImageFolder (squares, discs and
//! crosses of random colour, size and place on a noisy background, PNGs of mixed size
//! and layout), trained, evaluated, resumed and compared through the library and the
//! `synthgym classify` commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use candle_core::Device;
use rand::Rng;
use std::ops::ControlFlow;

use synthgym::classify::model::predict;
use synthgym::classify::train::{Callbacks, EpochStats};
use synthgym::classify::{ClassifyConfig, Evaluation, ModelKind, checkpoint, train};
use synthgym::data::{Augment, ImageSet, SpecRequest};
use synthgym::util::seed::rng_from_seed;

pub(crate) const SHAPES: [&str; 3] = ["cross", "disc", "square"];

/// Writes `per_class` images of each shape under `root/<shape>/`, seeded; every third
/// image is 24×24 instead of 20×20 and every fourth is grayscale, so the reader must
/// convert.
pub(crate) fn draw_shapes(root: &Path, per_class: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = rng_from_seed(seed);
    for (label, name) in SHAPES.iter().enumerate() {
        std::fs::create_dir_all(root.join(name))?;
        for i in 0..per_class {
            let side: usize = if i % 3 == 0 { 24 } else { 20 };
            let gray = i % 4 == 0;
            let (cx, cy) = (rng.random_range(7.0..side as f32 - 7.0), rng.random_range(7.0..side as f32 - 7.0));
            let r = rng.random_range(3.5..6.0f32);
            let ink = [rng.random_range(150..256u32), rng.random_range(150..256u32), rng.random_range(150..256u32)];
            let mut px = vec![0u8; side * side * 3];
            for y in 0..side {
                for x in 0..side {
                    let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                    let inside = match label {
                        0 => (dx.abs() < r && dy.abs() < r / 3.0) || (dy.abs() < r && dx.abs() < r / 3.0),
                        1 => dx * dx + dy * dy < r * r,
                        _ => dx.abs() < r * 0.85 && dy.abs() < r * 0.85,
                    };
                    for c in 0..3 {
                        let noise: u32 = rng.random_range(0..60);
                        px[(y * side + x) * 3 + c] = if inside { ink[c].saturating_sub(noise) as u8 } else { noise as u8 };
                    }
                }
            }
            let file = std::fs::File::create(root.join(name).join(format!("{i:03}.png")))?;
            let mut enc = png::Encoder::new(std::io::BufWriter::new(file), side as u32, side as u32);
            let data: Vec<u8> = if gray { px.chunks_exact(3).map(|p| p[0] / 3 + p[1] / 3 + p[2] / 3).collect() } else { px };
            enc.set_color(if gray { png::ColorType::Grayscale } else { png::ColorType::Rgb });
            enc.write_header()?.write_image_data(&data)?;
        }
    }
    Ok(())
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgym-classify-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn quick_config(model: ModelKind) -> ClassifyConfig {
    ClassifyConfig {
        model,
        width: 8,
        epochs: 15,
        patience: 0,
        batch_size: 32,
        learning_rate: 3e-3,
        image_size: 16,
        augment: Augment { flip: true, crop_pad: 1, ..Augment::none() },
        ..ClassifyConfig::default()
    }
}

fn quiet() -> (impl FnMut(usize, usize, usize), impl FnMut(&EpochStats) -> ControlFlow<()>) {
    (|_, _, _| {}, |_: &_| ControlFlow::Continue(()))
}

/// Both architectures learn the shapes well above chance (1/3) on a held-out set drawn
/// with another seed, and their checkpoints predict exactly as the trained model did.
#[test]
fn both_models_learn_shapes_and_checkpoints_predict_the_same() -> anyhow::Result<()> {
    let root = temp("learn");
    draw_shapes(&root.join("train"), 80, 1)?;
    draw_shapes(&root.join("test"), 30, 2)?;
    for model in [ModelKind::Cnn, ModelKind::Resnet] {
        let config = quick_config(model);
        let data = ImageSet::open(&root.join("train"), &SpecRequest { size: Some((16, 16)), ..Default::default() })?;
        assert_eq!((data.len(), data.spec().channels), (240, 3));
        let run = root.join(model.name());
        let (mut on_batch, mut on_epoch) = quiet();
        let outcome = train(&config, &data, &Device::Cpu, &run, false, Callbacks { on_batch: &mut on_batch, on_epoch: &mut on_epoch })?;
        assert_eq!(outcome.epochs_run, 15);
        let loaded = checkpoint::load(&run, &Device::Cpu)?;
        let test = ImageSet::open(&root.join("test"), &SpecRequest::exactly(loaded.meta.spec))?;
        let all: Vec<usize> = (0..test.len()).collect();
        let (predicted, _) = predict(&loaded.model, &loaded.meta.normalize, &test, &all)?;
        let accuracy = Evaluation::new(test.classes(), test.labels(), &predicted, None).accuracy();
        assert!(accuracy >= 0.85, "{model:?}: held-out accuracy {accuracy}");
        // The best checkpoint is the epoch the outcome names, and reloading it twice agrees.
        assert_eq!(loaded.meta.epoch, outcome.best_epoch);
        let again = checkpoint::load(&run, &Device::Cpu)?;
        assert_eq!(predict(&again.model, &again.meta.normalize, &test, &all)?.0, predicted);
    }
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}

/// A 5-epoch run stopped after 3 epochs and resumed ends with exactly the weights of an
/// uninterrupted one; a run directory is not overwritten without --resume.
#[test]
fn resuming_continues_exactly_and_runs_are_not_overwritten() -> anyhow::Result<()> {
    let root = temp("resume");
    draw_shapes(&root.join("data"), 20, 3)?;
    let data = ImageSet::open(&root.join("data"), &SpecRequest { size: Some((12, 12)), ..Default::default() })?;
    let five = ClassifyConfig { epochs: 5, patience: 0, ..quick_config(ModelKind::Cnn) };
    let (mut b, mut e) = quiet();
    train(&five, &data, &Device::Cpu, &root.join("straight"), false, Callbacks { on_batch: &mut b, on_epoch: &mut e })?;
    let mut stop_at_3 = |s: &EpochStats| if s.epoch == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
    let stopped =
        train(&five, &data, &Device::Cpu, &root.join("resumed"), false, Callbacks { on_batch: &mut b, on_epoch: &mut stop_at_3 })?;
    assert_eq!((stopped.epochs_run, stopped.stopped_early), (3, false));
    let again = train(&five, &data, &Device::Cpu, &root.join("resumed"), false, Callbacks { on_batch: &mut b, on_epoch: &mut e });
    assert!(again.is_err_and(|err| err.to_string().contains("--resume")), "an existing run is not overwritten");
    let outcome = train(&five, &data, &Device::Cpu, &root.join("resumed"), true, Callbacks { on_batch: &mut b, on_epoch: &mut e })?;
    assert_eq!((outcome.epochs_run, outcome.history.len()), (5, 2));
    let a = checkpoint::load(&root.join("straight/last"), &Device::Cpu)?;
    let r = checkpoint::load(&root.join("resumed/last"), &Device::Cpu)?;
    for (name, t) in a.model.tensors() {
        let u = &r.model.tensors()[&name];
        let diff = (t - u)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(diff == 0.0, "{name} differs by {diff} after resuming");
    }
    let csv = std::fs::read_to_string(root.join("resumed/metrics.csv"))?;
    assert_eq!(csv.lines().count(), 6, "a header and one row per epoch, across the resume:\n{csv}");
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}

fn synthgym(args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_synthgym")).args(args).env("RAYON_NUM_THREADS", "2").env("CANDLE_NUM_THREADS", "2").output()?)
}

/// The `crops/` of a `generate` dataset are split by episode: its label records say which
/// episode each crop's image came from.
#[test]
fn generated_crops_are_validated_on_whole_episodes() -> anyhow::Result<()> {
    let root = temp("episodes");
    draw_shapes(&root.join("drawn"), 24, 4)?;
    let (crops, labels) = (root.join("ds/crops"), root.join("ds/labels"));
    std::fs::create_dir_all(&labels)?;
    let mut k = 0usize;
    for class in std::fs::read_dir(root.join("drawn"))? {
        let class = class?.path();
        let name = class.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        std::fs::create_dir_all(crops.join(&name))?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&class)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        files.sort();
        for file in files {
            // Image k of episode k / 6, one crop (object 3) per image.
            std::fs::rename(&file, crops.join(&name).join(format!("{k:06}_3.png")))?;
            std::fs::write(labels.join(format!("{k:06}.json")), format!(r#"{{"image_id": {k}, "episode": {}}}"#, k / 6))?;
            k += 1;
        }
    }
    let run = root.join("run").display().to_string();
    let out = synthgym(&["classify", "train", &crops.display().to_string(), "--out", &run, "--epochs", "1", "--image-size", "16"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("whole episodes held out ({} episodes", k.div_ceil(6))), "{stderr}");
    // Without the label records, the split is per image.
    std::fs::remove_dir_all(&labels)?;
    let out =
        synthgym(&["classify", "train", &crops.display().to_string(), "--out", &format!("{run}2"), "--epochs", "1", "--image-size", "16"])?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("drawn per image"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&root)?;
    Ok(())
}

/// `classify train`, `eval` and `report` through the binary: files written, numbers
/// printed, and errors that name the problem.
#[test]
fn classify_commands_train_evaluate_and_report() -> anyhow::Result<()> {
    let root = temp("cli");
    draw_shapes(&root.join("train"), 40, 4)?;
    draw_shapes(&root.join("test"), 15, 5)?;
    // A "shifted" test set: only discs and squares, drawn with another seed.
    draw_shapes(&root.join("shifted"), 15, 6)?;
    std::fs::remove_dir_all(root.join("shifted/cross"))?;
    let s = |p: &str| root.join(p).display().to_string();
    let common = ["--model", "cnn", "--epochs", "4", "--image-size", "16", "--threads", "2", "--quiet"];
    let out = synthgym(&[&["classify", "train", &s("train"), "--out", &s("run")], &common[..]].concat())?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("best checkpoint") && stdout.contains("per epoch"), "{stdout}");
    for f in ["best/model.safetensors", "best/classifier.json", "last/model.safetensors", "metrics.csv", "config.toml"] {
        assert!(root.join("run").join(f).exists(), "{f} missing");
    }

    let out = synthgym(&["classify", "eval", &s("run"), &s("test"), "--out", &s("eval")])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("precision") && stdout.contains("confusion matrix"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("eval/eval.json"))?)?;
    assert_eq!(report["images"], 45);
    let confusion: u64 = report["confusion"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r.as_array().into_iter().flatten())
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(confusion, 45, "the confusion matrix counts every image once");
    assert!(root.join("eval/confusion.png").exists());

    let out = synthgym(
        &[
            &["classify", "report", "--train", &format!("first={}", s("train")), "--train", &format!("mixed={},{}", s("train"), s("test"))],
            &["--test", &format!("same={}", s("test")), "--test", &format!("shifted={}", s("shifted")), "--out", &s("report")],
            &common[..],
        ]
        .concat(),
    )?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = std::fs::read_to_string(root.join("report/report.md"))?;
    assert!(table.contains("| first | 120 |") && table.contains("| mixed | 165 |"), "{table}");
    assert!(table.contains("same (45)") && table.contains("shifted (30)"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("report/report.json"))?)?;
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(2));
    assert!(root.join("report/mixed/eval-shifted.json").exists());

    // Errors name the file or field and the problem, with exit code 2.
    let out = synthgym(&["classify", "train", &s("nowhere"), "--quiet"])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = synthgym(&["classify", "eval", &s("train"), &s("test")])?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("classifier.json"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = synthgym(&["classify", "train", &s("train"), "--out", &s("run"), "--quiet"])?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = synthgym(&["classify", "train", &s("train"), "--out", &s("run"), "--resume", "--lr", "0.1", "--quiet"])?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("only --epochs"), "{}", String::from_utf8_lossy(&out.stderr));
    // Resuming to more epochs continues the run, and the new length is kept for the next resume.
    let out = synthgym(&["classify", "train", &s("train"), "--out", &s("run"), "--resume", "--epochs", "5", "--quiet"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(root.join("run/metrics.csv"))?.lines().count(), 6, "4 epochs, then a fifth");
    let out = synthgym(&["classify", "train", &s("train"), "--out", &s("run"), "--resume", "--quiet"])?;
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 epochs"), "{}", String::from_utf8_lossy(&out.stdout));
    let dup = format!("same={}", s("test"));
    let out = synthgym(&["classify", "report", "--train", &format!("a={}", s("train")), "--test", &dup, "--test", &dup])?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("given twice"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}
