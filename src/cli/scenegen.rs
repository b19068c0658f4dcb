//! `synthgym gen layouts|traffic`: VAEs over scene layouts whose checked samples become
//! scene files, each loaded and stepped in the simulator before it is reported.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::data::ImageSet;
use crate::env::{Action, Env, MakeOptions};
use crate::generative::train::{Callbacks, EpochStats, GenMeta, Trainer, load};
use crate::generative::{GenConfig, GenModel, layout, traffic};
use crate::scenes::driving::{DrivingConfig, DrivingEnv, SceneKind};

/// Arguments of `synthgym gen layouts` and `synthgym gen traffic`.
#[derive(Debug, Args)]
pub struct SceneGenArgs {
    /// Training examples, drawn from the scenes' own generators (layouts: rware's
    /// parametric family with random gaps and goals; traffic: the highway scene's traffic
    /// at random lane counts and densities).
    #[arg(long, default_value_t = 2000)]
    pub train: usize,
    /// VAE epochs.
    #[arg(long, default_value_t = 40)]
    pub epochs: usize,
    /// Examples sampled from the trained VAE.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Seed of the training examples, the weights and the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder: model/, scenes/*.toml, report.json (must not hold a model already)
    /// [default: runs/gen-layouts or runs/gen-traffic].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Latent temperature of the samples (1 draws from the prior; lower, crisper examples).
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f64,
    /// Sample again from the VAE already in --out/model instead of training one.
    #[arg(long)]
    pub resample: bool,
    /// Device: cpu, or cuda[:N] in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads for the CPU kernels [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Trains the scene VAE on `data` into `out/model` (or, with `--resample`, loads the one
/// there) and returns it.
fn train_or_load(a: &SceneGenArgs, out: &Path, data: &ImageSet, what: &str) -> anyhow::Result<(Trainer, GenMeta)> {
    let config = GenConfig {
        image_size: data.spec().height,
        latent: 16,
        width: 16,
        epochs: a.epochs,
        seed: a.seed,
        ..GenConfig::for_model(GenModel::Vae)
    };
    let device = crate::nn::device(&a.device)?;
    let model_dir = out.join("model");
    if !a.resample && model_dir.join("checkpoint").exists() {
        bail!("{} already holds a {what} model; pass --resample to sample from it again, or choose another --out", out.display());
    }
    if !a.resample {
        eprintln!("{} training {what}s; training a VAE for {} epochs → {}", data.len(), a.epochs, model_dir.display());
        let mut on_batch = |_: usize, _: usize, _: usize| {};
        let mut on_epoch = |_: &EpochStats| std::ops::ControlFlow::Continue(());
        crate::generative::train::train(
            &config,
            data,
            &device,
            &model_dir,
            false,
            Callbacks { on_batch: &mut on_batch, on_epoch: &mut on_epoch },
        )?;
    }
    let (trainer, meta, _) = load(&model_dir, &device)?;
    Ok((trainer, meta))
}

/// `out/scenes`, emptied, with the previous run's `report.json` removed first, so that
/// a run stopped half-way never leaves a report listing scenes that are gone.
fn fresh_scenes_dir(out: &Path) -> anyhow::Result<PathBuf> {
    let report = out.join("report.json");
    if report.exists() {
        std::fs::remove_file(&report).with_context(|| format!("removing {}", report.display()))?;
    }
    let dir = out.join("scenes");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The samples' verdicts as they are written: reasons for the invalid ones, and a scene
/// file (loaded and stepped) for each valid one.
struct Tally {
    /// `out/scenes`, emptied.
    dir: PathBuf,
    /// File stem and model name: `layout` or `traffic`.
    stem: &'static str,
    /// What a sample is, for the scene files' first line ("Floor plan", "Traffic").
    kind: &'static str,
    /// How a scene file says its sample repeats a training example.
    repeat: &'static str,
    seed: u64,
    reasons: BTreeMap<String, usize>,
    valid: usize,
    novel: usize,
    scenes: Vec<PathBuf>,
}

impl Tally {
    fn new(out: &Path, stem: &'static str, kind: &'static str, repeat: &'static str, seed: u64) -> anyhow::Result<Self> {
        let dir = fresh_scenes_dir(out)?;
        Ok(Tally { dir, stem, kind, repeat, seed, reasons: BTreeMap::new(), valid: 0, novel: 0, scenes: Vec::new() })
    }

    fn invalid(&mut self, why: String) {
        *self.reasons.entry(why).or_default() += 1;
    }

    /// Counts valid sample `k` and writes the scene `text` makes from a note naming it,
    /// as `<stem>-<k>.toml`, then loads and steps it; returns the path and the text.
    fn write(&mut self, k: usize, is_new: bool, text: impl FnOnce(&str) -> String) -> anyhow::Result<(PathBuf, String)> {
        self.valid += 1;
        self.novel += usize::from(is_new);
        let note = format!(
            "{} sampled from the {} VAE (sample {k}, seed {}); {}",
            self.kind,
            self.stem,
            self.seed,
            if is_new { "not in the training set" } else { self.repeat }
        );
        let path = self.dir.join(format!("{}-{k:03}.toml", self.stem));
        let text = text(&note);
        write_and_step(&path, &text, k)?;
        self.scenes.push(path.clone());
        Ok((path, text))
    }

    /// The report, with what only the caller knows.
    fn report(
        self,
        (training_examples, distinct_training_examples): (usize, usize),
        meta: &GenMeta,
        samples: usize,
        traffic: Option<TrafficStats>,
    ) -> SceneGenReport {
        SceneGenReport {
            training_examples,
            distinct_training_examples,
            epochs: meta.epoch,
            final_heldout_elbo: meta.last.as_ref().and_then(|e| e.heldout_elbo),
            samples,
            valid: self.valid,
            valid_novel: self.novel,
            invalid_reasons: self.reasons,
            traffic,
            scenes: self.scenes,
        }
    }
}

/// What `gen layouts` and `gen traffic` report.
#[derive(Debug, Serialize)]
struct SceneGenReport {
    training_examples: usize,
    distinct_training_examples: usize,
    epochs: usize,
    final_heldout_elbo: Option<f64>,
    samples: usize,
    valid: usize,
    valid_novel: usize,
    invalid_reasons: BTreeMap<String, usize>,
    /// Traffic only: how the valid samples compare with the training configurations.
    #[serde(skip_serializing_if = "Option::is_none")]
    traffic: Option<TrafficStats>,
    scenes: Vec<PathBuf>,
}

/// Traffic samples beside the training configurations, and how they drive.
#[derive(Debug, Serialize)]
struct TrafficStats {
    /// Valid scenes the scripted highway driver got through for 10 s without a crash.
    driven_without_crash: usize,
    /// The same for as many training configurations (the first ones), written as
    /// scenes the same way: the rate the samples are to be compared with.
    training_driven: usize,
    training_driven_without_crash: usize,
    /// Mean cars in a training window and in a valid sample.
    mean_cars_training: f64,
    mean_cars_valid: f64,
    /// Mean lanes of the training configurations and of the valid samples.
    mean_lanes_training: f64,
    mean_lanes_valid: f64,
}

fn mean(values: impl Iterator<Item = usize>) -> f64 {
    let (sum, n) = values.fold((0usize, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum as f64 / n as f64 }
}

impl SceneGenReport {
    fn write(&self, out: &Path, what: &str, stepped_as: &str, scenes_dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        crate::util::fs::write_atomic(&out.join("report.json"), json.as_bytes(), true)?;
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "{} of {} sampled {what}s are valid ({} not in the training set); each loaded and stepped as {stepped_as} → {}",
            self.valid,
            self.samples,
            self.valid_novel,
            scenes_dir.display()
        )?;
        if let Some(t) = &self.traffic {
            writeln!(
                stdout,
                "  cars per window: {:.2} in training, {:.2} in valid samples; lanes: {:.2} and {:.2}",
                t.mean_cars_training, t.mean_cars_valid, t.mean_lanes_training, t.mean_lanes_valid
            )?;
            writeln!(
                stdout,
                "  the scripted driver got through 10 s without a crash in {} of the {} valid scenes ({} of {} training configurations)",
                t.driven_without_crash, self.valid, t.training_driven_without_crash, t.training_driven
            )?;
        }
        for (why, n) in &self.invalid_reasons {
            writeln!(stdout, "  invalid: {n} × {why}")?;
        }
        Ok(())
    }
}

fn check_args(a: &SceneGenArgs) -> anyhow::Result<()> {
    if a.train < 10 || a.samples == 0 {
        bail!("--train must be at least 10 and --samples at least 1");
    }
    if !(a.temperature.is_finite() && a.temperature > 0.0) {
        bail!("--temperature must be a positive number, got {}", a.temperature);
    }
    Ok(())
}

/// Writes `text` to `path` and steps the scene it describes for 20 random actions.
fn write_and_step(path: &Path, text: &str, k: usize) -> anyhow::Result<Box<dyn Env>> {
    crate::util::fs::write_atomic(path, text.as_bytes(), false).with_context(|| format!("writing {}", path.display()))?;
    let mut env =
        crate::scenes::make_env(&path.to_string_lossy(), &MakeOptions::default()).with_context(|| format!("loading {}", path.display()))?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(k as u64), None, &mut obs)?;
    let space = env.action_space().clone();
    let mut action_rng = crate::util::seed::rng_from_seed(k as u64);
    for _ in 0..20 {
        let action = space.sample(&mut action_rng);
        let out = env.step(action.as_action().with_context(|| format!("{}: a random action", path.display()))?, &mut obs)?;
        if out.terminated || out.truncated {
            env.reset(None, None, &mut obs)?;
        }
    }
    Ok(env)
}

/// A training floor plan: rware's parametric layout (3 or 5 shelf blocks, columns 2 to 6
/// high, 1 or 2 rows), then up to 3 shelves cleared to corridor and 1 to 3 goals placed at
/// random on the bottom row.
fn training_plan(rng: &mut ChaCha8Rng) -> anyhow::Result<layout::FloorPlan> {
    let base = crate::scenes::warehouse::Layout::procedural(rng, (3, 5), (2, 6), (1, 2))?;
    let mut cells: Vec<layout::Cell> =
        base.highways.iter().map(|&h| if h { layout::Cell::Corridor } else { layout::Cell::Shelf }).collect();
    let shelves: Vec<usize> = (0..cells.len()).filter(|&i| cells[i] == layout::Cell::Shelf).collect();
    for _ in 0..rng.random_range(0..=3usize) {
        cells[shelves[rng.random_range(0..shelves.len())]] = layout::Cell::Corridor;
    }
    let bottom = (base.height - 1) * base.width;
    for _ in 0..rng.random_range(1..=3usize) {
        cells[bottom + rng.random_range(0..base.width)] = layout::Cell::Goal;
    }
    Ok(layout::FloorPlan { width: base.width, height: base.height, cells })
}

/// A grid-mode warehouse scene file around `plan` (two robots; two requests, or one when
/// the plan has only two shelves, as requests must be fewer than shelves).
fn layout_scene_text(plan: &layout::FloorPlan, note: &str) -> String {
    let shelves = plan.cells.iter().filter(|c| **c == layout::Cell::Shelf).count();
    format!(
        "# {note}\nmode = \"grid\"\nn_agents = 2\nrequest_queue_size = {}\nmax_steps = 500\n\n[layout]\nascii = \"\"\"\n{}\"\"\"\n",
        shelves.saturating_sub(1).clamp(1, 2),
        plan.to_ascii()
    )
}

/// Runs `synthgym gen layouts`.
pub fn run_layouts(a: &SceneGenArgs) -> anyhow::Result<()> {
    check_args(a)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("runs/gen-layouts"));
    let mut rng = crate::util::seed::rng_from_seed(a.seed);
    let plans = (0..a.train).map(|_| training_plan(&mut rng)).collect::<anyhow::Result<Vec<_>>>()?;
    let distinct: HashSet<&layout::FloorPlan> = plans.iter().collect();
    let (trainer, meta) = train_or_load(a, &out, &layout::image_set(&plans)?, "floor plan")?;
    let sampled = layout::sample_plans(&trainer.net, a.samples, a.temperature, a.seed.wrapping_add(1))?;
    let mut tally = Tally::new(&out, "layout", "Floor plan", "also in the training set", a.seed)?;
    for (k, s) in sampled.iter().enumerate() {
        match (&s.plan, &s.verdict) {
            (Some(plan), Ok(())) => {
                tally.write(k, !distinct.contains(plan), |note| layout_scene_text(plan, note))?;
            }
            (_, verdict) => tally.invalid(verdict.as_ref().err().map_or_else(|| "unknown".into(), ToString::to_string)),
        }
    }
    let scenes_dir = tally.dir.clone();
    tally.report((plans.len(), distinct.len()), &meta, sampled.len(), None).write(&out, "plan", "a grid warehouse", &scenes_dir)
}

/// Where generated windows start along the highway (m), leaving road behind the ego.
const WINDOW_START: f64 = 50.0;

/// A training traffic configuration: the highway scene's own traffic (highway-env's
/// placement) on 2 to 5 lanes at a density of 0.5 to 1.5, seen through a window that
/// starts 2 to 18 m behind the ego.
fn training_traffic(rng: &mut ChaCha8Rng) -> anyhow::Result<traffic::Traffic> {
    let lanes = rng.random_range(2..=5);
    let density = rng.random_range(0.5..1.5);
    let cfg = DrivingConfig { lanes, density, vehicles: 30, ..DrivingConfig::scene(SceneKind::Highway) };
    let mut env = DrivingEnv::new(cfg)?;
    env.reset_state(Some(rng.random()))?;
    let start = env.vehicles()[0].position[0] - rng.random_range(2.0..2.0 + 2.0 * traffic::CELL);
    let cars = env
        .vehicles()
        .iter()
        .map(|v| traffic::Car { lane: usize::from(v.lane.id), position: v.position[0] - start })
        .filter(|c| (0.0..traffic::WINDOW).contains(&c.position))
        .collect();
    Ok(traffic::Traffic { lanes, cars })
}

/// A highway scene file placing `t`'s cars: the ego (controlled, 25 m/s) first, then the
/// traffic at highway-env's traffic speeds (21 to 24 m/s, drawn from `rng`).
fn traffic_scene_text(t: &traffic::Traffic, note: &str, rng: &mut ChaCha8Rng) -> String {
    let ego = t.ego().unwrap_or(0);
    let mut text = format!("# {note}\nscene = \"highway\"\nlanes = {}\nduration = 40.0\n", t.lanes);
    for k in std::iter::once(ego).chain((0..t.cars.len()).filter(|&k| k != ego)) {
        let car = t.cars[k];
        let speed = if k == ego { 25.0 } else { rng.random_range(21.0..24.0) };
        text += &format!(
            "\n[[vehicle]]\nlane = {}\nposition = {:.2}\nspeed = {speed:.2}\n{}",
            car.lane,
            WINDOW_START + car.position,
            if k == ego { "controlled = true\n" } else { "" }
        );
    }
    text
}

/// Drives the highway scene file `text` for 10 decisions (10 s) with the scripted driver;
/// whether the ego got through without a crash.
fn drive_scripted(text: &str, origin: &str, seed: u64) -> anyhow::Result<bool> {
    let cfg = DrivingConfig::from_toml(text, origin)?;
    let driver = crate::scenes::driving::scripted::HighwayScripted::new(cfg.lanes, cfg.vehicles_count);
    let mut env = crate::scenes::driving::JointDrivingEnv::from_config(cfg)?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(seed), None, &mut obs)?;
    for _ in 0..10 {
        let out = env.step(Action::Discrete(driver.decide(&obs)), &mut obs)?;
        if out.terminated {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs `synthgym gen traffic`.
pub fn run_traffic(a: &SceneGenArgs) -> anyhow::Result<()> {
    check_args(a)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("runs/gen-traffic"));
    let mut rng = crate::util::seed::rng_from_seed(a.seed);
    let configs = (0..a.train).map(|_| training_traffic(&mut rng)).collect::<anyhow::Result<Vec<_>>>()?;
    let distinct: HashSet<_> = configs.iter().map(traffic::Traffic::cell_key).collect();
    let (trainer, meta) = train_or_load(a, &out, &traffic::image_set(&configs)?, "traffic configuration")?;
    let sampled = traffic::sample_traffic(&trainer.net, a.samples, a.temperature, a.seed.wrapping_add(1))?;
    let mut tally = Tally::new(&out, "traffic", "Traffic", "also in the training set at cell resolution", a.seed)?;
    let mut speeds = crate::util::seed::rng_from_seed(a.seed.wrapping_add(2));
    let (mut driven, mut kept) = (0, Vec::new());
    for (k, s) in sampled.iter().enumerate() {
        if let Err(why) = &s.verdict {
            tally.invalid(why.to_string());
            continue;
        }
        kept.push(&s.traffic);
        let is_new = !distinct.contains(&s.traffic.cell_key());
        let (path, text) = tally.write(k, is_new, |note| traffic_scene_text(&s.traffic, note, &mut speeds))?;
        driven += usize::from(drive_scripted(&text, &path.to_string_lossy(), k as u64)?);
    }
    let mut training_driven = 0;
    for (k, t) in configs.iter().take(a.samples).enumerate() {
        let text = traffic_scene_text(t, "training", &mut speeds);
        training_driven += usize::from(drive_scripted(&text, &format!("training configuration {k}"), k as u64)?);
    }
    let stats = TrafficStats {
        driven_without_crash: driven,
        training_driven: configs.len().min(a.samples),
        training_driven_without_crash: training_driven,
        mean_cars_training: mean(configs.iter().map(|t| t.cars.len())),
        mean_cars_valid: mean(kept.iter().map(|t| t.cars.len())),
        mean_lanes_training: mean(configs.iter().map(|t| t.lanes)),
        mean_lanes_valid: mean(kept.iter().map(|t| t.lanes)),
    };
    let scenes_dir = tally.dir.clone();
    tally.report((configs.len(), distinct.len()), &meta, sampled.len(), Some(stats)).write(
        &out,
        "traffic configuration",
        "a highway with placed vehicles",
        &scenes_dir,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_traffic_is_valid_and_its_scenes_load_as_placed() -> anyhow::Result<()> {
        assert_eq!(traffic::CAR_LENGTH, crate::scenes::driving::vehicle::LENGTH, "the check's car is the simulator's");
        let mut rng = crate::util::seed::rng_from_seed(5);
        for k in 0..40 {
            let t = training_traffic(&mut rng)?;
            assert_eq!(traffic::check(&t), Ok(()), "training configuration {k}: {t:?}");
            traffic::to_pixels(&t)?;
            let text = traffic_scene_text(&t, "test", &mut rng);
            let cfg = DrivingConfig::from_toml(&text, "generated.toml")?;
            assert_eq!(cfg.vehicle.len(), t.cars.len());
            let mut env = DrivingEnv::new(cfg)?;
            env.reset_state(Some(k))?;
            let ego = t.cars[t.ego().unwrap_or(0)];
            let first = &env.vehicles()[0];
            assert_eq!(usize::from(first.lane.id), ego.lane);
            assert!((first.position[0] - WINDOW_START - ego.position).abs() < 0.006, "placed where written (to the centimetre)");
            assert!(env.vehicles().iter().all(|v| v.position[0] >= first.position[0]), "the ego is the rearmost car");
        }
        Ok(())
    }
}
