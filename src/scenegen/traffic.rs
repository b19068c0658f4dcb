//! Highway traffic: the highway scene's own traffic seen through a 128 m window, a VAE
//! over it, and its checked samples written as highway scene files with placed
//! vehicles, driven by the scripted driver beside as many training configurations.

use std::collections::HashSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::tally::{Tally, TrafficStats, mean, train_or_load};
use super::{Result, SceneGenConfig, SceneGenReport};
use crate::env::{Action, Env};
use crate::generative::traffic;
use crate::scenes::driving::{DrivingConfig, DrivingEnv, SceneKind};

/// Where generated windows start along the highway (m), leaving road behind the ego.
const WINDOW_START: f64 = 50.0;

/// A training traffic configuration: the highway scene's own traffic (highway-env's
/// placement) on 2 to 5 lanes at a density of 0.5 to 1.5, seen through a window that
/// starts 2 to 18 m behind the ego.
fn training_traffic(rng: &mut ChaCha8Rng) -> Result<traffic::Traffic> {
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

/// Drives the highway scene file `text` for 10 decisions (10 s, or the scene's duration
/// if shorter) with the scripted driver; whether the ego got through without a crash.
fn drive_scripted(text: &str, origin: &str, seed: u64) -> Result<bool> {
    let cfg = DrivingConfig::from_toml(text, origin)?;
    let driver = crate::scenes::driving::scripted::HighwayScripted::new(cfg.lanes, cfg.vehicles_count);
    let mut env = crate::env::Joint::new(crate::scenes::driving::DrivingEnv::new(cfg)?)?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(seed), None, &mut obs)?;
    for _ in 0..10 {
        let out = env.step(Action::Discrete(driver.decide(&obs)), &mut obs)?;
        if out.terminated {
            return Ok(false);
        }
        if out.truncated {
            // The scene's duration ran out first: through without a crash.
            break;
        }
    }
    Ok(true)
}

/// `synthgym gen traffic`: trains (or loads) the traffic VAE, samples it, writes each
/// valid sample as a highway scene (loaded, stepped and driven), and drives as many
/// training configurations the same way; `log` hears progress.
pub fn run(c: &SceneGenConfig, log: &mut dyn FnMut(&str)) -> Result<SceneGenReport> {
    c.validate()?;
    let mut rng = crate::util::seed::rng_from_seed(c.seed);
    let configs = (0..c.train).map(|_| training_traffic(&mut rng)).collect::<Result<Vec<_>>>()?;
    let distinct: HashSet<_> = configs.iter().map(traffic::Traffic::cell_key).collect();
    let (trainer, meta) = train_or_load(c, &traffic::image_set(&configs)?, "traffic configuration", log)?;
    let sampled = traffic::sample_traffic(&trainer.net, c.samples, c.temperature, c.seed.wrapping_add(1))?;
    let mut tally = Tally::new(&c.out, "traffic", "Traffic", "also in the training set at cell resolution", c.seed)?;
    let mut speeds = crate::util::seed::rng_from_seed(c.seed.wrapping_add(2));
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
    for (k, t) in configs.iter().take(c.samples).enumerate() {
        let text = traffic_scene_text(t, "training", &mut speeds);
        training_driven += usize::from(drive_scripted(&text, &format!("training configuration {k}"), k as u64)?);
    }
    let stats = TrafficStats {
        driven_without_crash: driven,
        training_driven: configs.len().min(c.samples),
        training_driven_without_crash: training_driven,
        mean_cars_training: mean(configs.iter().map(|t| t.cars.len())),
        mean_cars_valid: mean(kept.iter().map(|t| t.cars.len())),
        mean_lanes_training: mean(configs.iter().map(|t| t.lanes)),
        mean_lanes_valid: mean(kept.iter().map(|t| t.lanes)),
    };
    tally.report(&c.out, (configs.len(), distinct.len()), &meta, sampled.len(), Some(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_traffic_is_valid_and_its_scenes_load_as_placed() -> Result<()> {
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
