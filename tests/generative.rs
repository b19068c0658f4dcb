//! Generative models end to end on the procedurally drawn shapes of `classify.rs`: the
//! VAE's held-out ELBO improves, a GAN resumes exactly, samples are labelled ImageFolders
//! that a classifier learns from, the Fréchet distance orders sets sensibly, and the
//! `synthgym gen` commands work and fail clearly.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use candle_core::Device;

use crate::classify::{SHAPES, draw_shapes};
use synthgym::classify::train::{Callbacks as ClassifyCallbacks, EpochStats as ClassifyStats};
use synthgym::classify::{ClassifyConfig, ModelKind};
use synthgym::data::{Augment, ImageSet, SpecRequest};
use synthgym::generative::fid::{self, frechet_distance};
use synthgym::generative::train::{Callbacks, EpochStats, load, train};
use synthgym::generative::{GenConfig, GenModel, sample};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgym-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn shapes(dir: &Path, per_class: usize, seed: u64) -> anyhow::Result<ImageSet> {
    draw_shapes(dir, per_class, seed)?;
    Ok(ImageSet::open(dir, &SpecRequest { channels: Some(3), size: Some((16, 16)), ..SpecRequest::default() })?)
}

fn tiny(model: GenModel, epochs: usize) -> GenConfig {
    GenConfig { image_size: 16, latent: 8, width: 8, epochs, batch_size: 30, ..GenConfig::for_model(model) }
}

fn run(config: &GenConfig, data: &ImageSet, dir: &Path, resume: bool) -> anyhow::Result<Vec<EpochStats>> {
    let (mut b, mut e) = (|_, _, _| {}, |_: &EpochStats| ControlFlow::Continue(()));
    Ok(train(config, data, &Device::Cpu, dir, resume, Callbacks { on_batch: &mut b, on_epoch: &mut e })?.epochs)
}

#[test]
fn the_vae_improves_its_held_out_elbo_and_samples_a_labelled_image_folder() -> anyhow::Result<()> {
    let root = temp("vae");
    let data = shapes(&root.join("data"), 60, 1)?;
    let config = GenConfig { lr: 3e-3, ..tiny(GenModel::Vae, 8) };
    let epochs = run(&config, &data, &root.join("run"), false)?;
    let elbo: Vec<f64> = epochs.iter().map(|e| e.heldout_elbo.expect("the VAE holds images out")).collect();
    assert!(elbo.iter().all(|e| e.is_finite() && *e < 0.0), "{elbo:?}");
    assert!(elbo[elbo.len() - 1] > elbo[0] + 5.0, "held-out ELBO should rise: {elbo:?}");
    assert!(root.join("run/samples/epoch-008.png").exists() && root.join("run/metrics.csv").exists());
    let (trainer, meta, _) = load(&root.join("run"), &Device::Cpu)?;
    assert_eq!((meta.epoch, meta.classes.len()), (8, 3));
    let out = root.join("samples");
    assert_eq!(sample::write_image_folder(&trainer.net, &meta.classes, 7, 3, &out)?, 21);
    let back = ImageSet::open(&out, &SpecRequest::default())?;
    assert_eq!((back.len(), back.classes()), (21, SHAPES.map(String::from).as_slice()));
    assert_eq!(back.class_counts(), [7, 7, 7]);
    assert!(sample::write_image_folder(&trainer.net, &meta.classes, 7, 3, &out).is_err(), "an existing folder is never overwritten");
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}

#[test]
fn a_gan_resumed_from_its_checkpoint_matches_an_uninterrupted_run() -> anyhow::Result<()> {
    let root = temp("resume");
    let data = shapes(&root.join("data"), 30, 2)?;
    let config = tiny(GenModel::Gan, 3);
    run(&config, &data, &root.join("straight"), false)?;
    run(&GenConfig { epochs: 2, ..config.clone() }, &data, &root.join("resumed"), false)?;
    run(&config, &data, &root.join("resumed"), true)?;
    let (a, _, _) = load(&root.join("straight"), &Device::Cpu)?;
    let (b, meta, _) = load(&root.join("resumed"), &Device::Cpu)?;
    assert_eq!(meta.epoch, 3);
    let (ta, tb) = (a.net.tensors(), b.net.tensors());
    assert_eq!(ta.len(), tb.len());
    for (name, t) in &ta {
        let u = &tb[name];
        assert_eq!(t.flatten_all()?.to_vec1::<f32>()?, u.flatten_all()?.to_vec1::<f32>()?, "{name} differs after resuming");
    }
    let err = run(&config, &data, &root.join("straight"), false).expect_err("a run is never overwritten");
    assert!(err.to_string().contains("--resume"), "{err}");
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}

/// `per_class` 16×16 images of each of three classes told apart by colour (a red,
/// green or blue disc of random size and place on a noisy dark background), seeded.
fn colour_discs(per_class: usize, seed: u64) -> anyhow::Result<ImageSet> {
    use rand::Rng;
    let mut rng = synthgym::util::seed::rng_from_seed(seed);
    let (side, mut pixels, mut labels) = (16usize, Vec::new(), Vec::new());
    for class in 0..3u32 {
        for _ in 0..per_class {
            let (cx, cy, r) = (rng.random_range(5.0..11.0f32), rng.random_range(5.0..11.0f32), rng.random_range(2.5..5.0f32));
            for y in 0..side {
                for x in 0..side {
                    let inside = (x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2) < r * r;
                    for c in 0..3u32 {
                        let noise = rng.random_range(0..40u8);
                        pixels.push(if inside && c == class { 200 + noise / 2 } else { noise });
                    }
                }
            }
            labels.push(class);
        }
    }
    let spec = synthgym::data::ImageSpec { channels: 3, height: side, width: side };
    Ok(ImageSet::from_parts(spec, vec!["red".into(), "green".into(), "blue".into()], pixels, labels)?)
}

#[test]
fn gan_samples_teach_a_classifier_and_the_frechet_distance_orders_sets() -> anyhow::Result<()> {
    let root = temp("cas");
    let data = colour_discs(90, 3)?;
    let test = colour_discs(40, 4)?;
    let config = GenConfig { lr: 1e-3, ..tiny(GenModel::Gan, 15) };
    run(&config, &data, &root.join("gan"), false)?;
    let (trainer, meta, _) = load(&root.join("gan"), &Device::Cpu)?;
    sample::write_image_folder(&trainer.net, &meta.classes, 90, 5, &root.join("samples"))?;
    // A classifier trained on the samples alone, tested on real shapes it never saw.
    let generated =
        ImageSet::open(&root.join("samples"), &SpecRequest { channels: Some(3), size: Some((16, 16)), ..SpecRequest::default() })?;
    let classify = ClassifyConfig {
        model: ModelKind::Cnn,
        width: 8,
        epochs: 12,
        patience: 0,
        batch_size: 32,
        learning_rate: 3e-3,
        image_size: 16,
        augment: Augment::none(),
        ..ClassifyConfig::default()
    };
    let (mut b, mut e) = (|_, _, _| {}, |_: &ClassifyStats| ControlFlow::Continue(()));
    let on_samples = synthgym::classify::train(
        &classify,
        &generated,
        &Device::Cpu,
        &root.join("cls-gen"),
        false,
        ClassifyCallbacks { on_batch: &mut b, on_epoch: &mut e },
    )?;
    let accuracy = synthgym::classify::checkpoint::load(&on_samples.best, &Device::Cpu)?.evaluate(&test)?.accuracy();
    assert!(accuracy > 0.6, "a classifier trained on GAN samples only scored {accuracy} on real shapes (chance is 0.33)");
    // Fréchet distance in the features of a classifier trained on real shapes.
    let (mut b, mut e) = (|_, _, _| {}, |_: &ClassifyStats| ControlFlow::Continue(()));
    let on_real = synthgym::classify::train(
        &classify,
        &data,
        &Device::Cpu,
        &root.join("cls-real"),
        false,
        ClassifyCallbacks { on_batch: &mut b, on_epoch: &mut e },
    )?;
    let extractor = synthgym::classify::checkpoint::load(&on_real.best, &Device::Cpu)?;
    let real = fid::stats(&extractor, &test)?;
    let other_real = fid::stats(&extractor, &data)?;
    let fakes = fid::stats(&extractor, &generated)?;
    let noise = ImageSet::from_parts(
        test.spec(),
        test.classes().to_vec(),
        (0..test.len() * test.spec().len()).map(|i| (i * 7919 % 251) as u8).collect(),
        test.labels().to_vec(),
    )?;
    let (d_real, d_gen, d_noise) =
        (frechet_distance(&other_real, &real), frechet_distance(&fakes, &real), frechet_distance(&fid::stats(&extractor, &noise)?, &real));
    assert!(d_real < d_gen && d_gen < d_noise, "real {d_real}, generated {d_gen}, noise {d_noise}");
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}

fn synthgym(args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_synthgym")).args(args).env("RAYON_NUM_THREADS", "2").env("CANDLE_NUM_THREADS", "2").output()?)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn gen_commands_train_sample_evaluate_and_fail_clearly() -> anyhow::Result<()> {
    let root = temp("cli");
    draw_shapes(&root.join("data"), 20, 6)?;
    let (data, run_dir) = (root.join("data").to_string_lossy().into_owned(), root.join("run").to_string_lossy().into_owned());
    let args = [
        "gen",
        "train",
        &data,
        "--model",
        "vae",
        "--image-size",
        "16",
        "--width",
        "8",
        "--latent",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "20",
        "--out",
        &run_dir,
        "-q",
    ];
    let out = synthgym(&args)?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("2 epochs in"), "{}", text(&out));
    // The run is not overwritten; --resume extends it.
    let again = synthgym(&args)?;
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("already holds a run"), "{}", text(&again));
    let out = synthgym(&["gen", "train", &data, "--out", &run_dir, "--resume", "--epochs", "3", "-q"])?;
    assert!(out.status.success() && text(&out).contains("1 epochs in"), "{}", text(&out));
    let samples = root.join("samples").to_string_lossy().into_owned();
    let grid = root.join("grid.png").to_string_lossy().into_owned();
    let out = synthgym(&["gen", "sample", &run_dir, "--per-class", "5", "--out", &samples, "--grid", &grid])?;
    assert!(out.status.success() && text(&out).contains("15 images (5 per class, 3 classes"), "{}", text(&out));
    assert!(Path::new(&grid).exists());
    let recon = root.join("recon.png").to_string_lossy().into_owned();
    let out = synthgym(&["gen", "reconstruct", &run_dir, &data, "--count", "6", "--out", &recon])?;
    assert!(out.status.success() && text(&out).contains("6 images and their reconstructions"), "{}", text(&out));
    let decoded = synthgym::data::png::decode_png(Path::new(&recon))?;
    assert_eq!((decoded.0, decoded.1), (6 * 18 + 2, 2 * 18 + 2), "two rows of six 16-pixel images with 2-pixel gaps");
    // Fréchet distance needs a feature extractor: a classifier trained on the real images.
    let cls = root.join("cls").to_string_lossy().into_owned();
    let out = synthgym(&["classify", "train", &data, "--image-size", "16", "--epochs", "2", "--out", &cls, "-q"])?;
    assert!(out.status.success(), "{}", text(&out));
    let json = root.join("eval.json").to_string_lossy().into_owned();
    let out = synthgym(&["gen", "eval", &run_dir, "--real", &data, "--extractor", &cls, "--json", &json])?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("generated vs real") && text(&out).contains("ELBO on the real images"), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    assert!(report["fid"].as_f64().is_some_and(|f| f >= 0.0) && report["elbo"].as_f64().is_some_and(|e| e < 0.0), "{report}");
    // Generated labels follow the real set's class counts, and every class gets its own distance.
    assert_eq!(
        (report["labels"].as_str(), report["generated_images"].as_u64()),
        (Some("real proportions"), report["real_images"].as_u64())
    );
    assert!(
        report["fid_per_class"].as_object().is_some_and(|m| m.len() == 3 && m.values().all(|d| d.as_f64().is_some_and(|d| d >= 0.0))),
        "{report}"
    );
    // Errors name the problem.
    let bad = synthgym(&["gen", "train", &data, "--image-size", "24", "--out", &root.join("x").to_string_lossy()])?;
    assert!(text(&bad).contains("image_size") && text(&bad).contains("8, 16, 32 or 64"), "{}", text(&bad));
    let missing = synthgym(&["gen", "sample", &root.join("nope").to_string_lossy(), "--out", &root.join("y").to_string_lossy()])?;
    assert!(text(&missing).contains("gen.json"), "{}", text(&missing));
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}

#[test]
fn sampled_warehouse_layouts_are_checked_and_load_as_scenes() -> anyhow::Result<()> {
    let root = temp("layouts");
    let out_dir = root.to_string_lossy().into_owned();
    let out = synthgym(&["gen", "layouts", "--train", "400", "--epochs", "12", "--samples", "40", "--out", &out_dir])?;
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("report.json"))?)?;
    let (samples, valid) = (report["samples"].as_u64().unwrap_or(0), report["valid"].as_u64().unwrap_or(0));
    assert_eq!(samples, 40);
    assert!(valid >= 10, "only {valid} of 40 sampled plans are valid: {report}");
    // Validity is also reported without the decoder's goal repair, which only adds valid plans.
    let (unrepaired, repaired) = (report["valid_without_repair"].as_u64(), report["repaired"].as_u64());
    assert!(unrepaired.zip(repaired).is_some_and(|(u, r)| u <= valid && valid - u <= r), "{report}");
    let scenes: Vec<PathBuf> =
        report["scenes"].as_array().map(|a| a.iter().filter_map(|p| p.as_str().map(PathBuf::from)).collect()).unwrap_or_default();
    assert_eq!(scenes.len() as u64, valid, "every valid plan is written as a scene");
    // Each scene file is an ordinary grid warehouse: it loads, resets and steps.
    for scene in scenes.iter().take(5) {
        let text = std::fs::read_to_string(scene)?;
        let ascii = text.split("\"\"\"").nth(1).unwrap_or_default();
        let plan = synthgym::generative::layout::FloorPlan::from_ascii(ascii)?;
        assert_eq!(synthgym::generative::layout::check(&plan), Ok(()), "{}", scene.display());
        let mut env = synthgym::scenes::make_env(&scene.to_string_lossy(), &synthgym::env::MakeOptions::default())?;
        let mut obs = vec![0.0; env.observation_space().flat_dim()];
        env.reset(Some(1), None, &mut obs)?;
        let space = env.action_space().clone();
        let mut rng = synthgym::util::seed::rng_from_seed(2);
        for _ in 0..50 {
            let action = space.sample(&mut rng);
            let step = env.step(action.as_action().expect("not a dict"), &mut obs)?;
            assert!(step.reward.is_finite());
        }
    }
    // A second run in the same folder must not train over the model; --resample reuses it.
    let again = synthgym(&["gen", "layouts", "--train", "400", "--samples", "5", "--out", &out_dir])?;
    assert!(text(&again).contains("--resample"), "{}", text(&again));
    let resampled = synthgym(&["gen", "layouts", "--train", "400", "--samples", "5", "--out", &out_dir, "--resample"])?;
    assert!(resampled.status.success() && text(&resampled).contains("of 5 sampled plans are valid"), "{}", text(&resampled));
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}

#[test]
fn sampled_traffic_is_checked_and_loads_as_highway_scenes() -> anyhow::Result<()> {
    use synthgym::scenes::driving::{DrivingConfig, DrivingEnv};
    let root = temp("traffic");
    let out_dir = root.to_string_lossy().into_owned();
    // Smaller runs leave the car channel uncertain outside the road, and most samples
    // draw cars off it; this size gives 27 of 40 valid (the defaults, 172 of 200).
    let out = synthgym(&["gen", "traffic", "--train", "1500", "--epochs", "30", "--samples", "40", "--out", &out_dir])?;
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("report.json"))?)?;
    let (samples, valid) = (report["samples"].as_u64().unwrap_or(0), report["valid"].as_u64().unwrap_or(0));
    assert_eq!(samples, 40);
    assert!(valid >= 15, "only {valid} of 40 sampled configurations are valid: {report}");
    assert!(report["traffic"]["driven_without_crash"].as_u64().is_some_and(|n| n <= valid), "{report}");
    assert!(report["traffic"]["mean_cars_training"].as_f64().is_some_and(|n| n > 2.0), "{report}");
    let scenes: Vec<PathBuf> =
        report["scenes"].as_array().map(|a| a.iter().filter_map(|p| p.as_str().map(PathBuf::from)).collect()).unwrap_or_default();
    assert_eq!(scenes.len() as u64, valid, "every valid configuration is written as a scene");
    // Each scene file is an ordinary highway with placed vehicles: the cars start where
    // the file says, none overlapping, and the scene steps.
    for scene in scenes.iter().take(5) {
        let cfg = DrivingConfig::from_toml(&std::fs::read_to_string(scene)?, &scene.to_string_lossy())?;
        assert!(cfg.vehicle.first().is_some_and(|v| v.controlled), "the ego comes first: {}", scene.display());
        let mut env = DrivingEnv::new(cfg.clone())?;
        env.reset_state(Some(1))?;
        for (placed, car) in cfg.vehicle.iter().zip(env.vehicles()) {
            assert_eq!((placed.lane, placed.position), (usize::from(car.lane.id), car.position[0]));
        }
        // And through the generic loader, as `synthgym train --env FILE` opens it.
        let mut env = synthgym::scenes::make_env(&scene.to_string_lossy(), &synthgym::env::MakeOptions::default())?;
        let mut obs = vec![0.0; env.observation_space().flat_dim()];
        env.reset(Some(1), None, &mut obs)?;
        for _ in 0..5 {
            let step = env.step(synthgym::env::Action::Discrete(1), &mut obs)?;
            assert!(step.reward.is_finite());
            if step.done() {
                break;
            }
        }
    }
    let again = synthgym(&["gen", "traffic", "--train", "100", "--samples", "5", "--out", &out_dir])?;
    assert!(text(&again).contains("--resample"), "{}", text(&again));
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}
