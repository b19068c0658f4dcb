//! Scene generation for driving: a VAE over highway traffic configurations (how many
//! lanes, where each car stands), trained on configurations the highway scene draws,
//! whose samples are checked before they become scene files with placed vehicles.
//!
//! A configuration is a window of road [`WINDOW`] metres long seen from above: a
//! `SIDE × SIDE` "image" whose rows are lanes (row 0 the leftmost) and whose columns are
//! [`CELL`]-metre stretches of road, with three channels:
//!
//! 0. road: 255 along every row that is a lane;
//! 1. car: 255 in the cell where a car's centre is;
//! 2. offset: where in its cell that centre is, 0 (cell start) to 255 (cell end).
//!
//! so the image VAE of [`super::model`] learns it as it learns pictures (one class). A
//! sample is drawn from the decoder's probabilities by [`draw_from_probabilities`]. The ego is the rearmost car (the
//! leftmost lane's on ties), as in the highway scene, where traffic is placed ahead of it.
//!
//! Validity (see [`check`]): 2 to 8 lanes, at least one car, every car on a lane, and no
//! two cars of a lane closer than a car's length (their bodies would overlap).

use rand::Rng;

use super::model::GenNet;
use super::{GenError, Result};
use crate::data::{ImageSet, ImageSpec};

/// The side of the square configurations are drawn on (lanes × cells).
pub const SIDE: usize = 16;
/// Length of road in one cell (m); shorter than the closest two training cars of a lane.
pub const CELL: f64 = 8.0;
/// Length of the window (m).
pub const WINDOW: f64 = CELL * SIDE as f64;
/// A car's length (m), as the driving scenes simulate it.
pub const CAR_LENGTH: f64 = 5.0;
/// Most lanes a driving scene takes.
pub const MAX_LANES: usize = 8;

/// One car: its lane (0 the leftmost) and its centre's distance from the window's start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Car {
    /// Lane, 0 the leftmost (may be past the last lane in a sample: off the road).
    pub lane: usize,
    /// Metres from the window's start, in `[0, WINDOW)`.
    pub position: f64,
}

/// A traffic configuration: the road's lanes and the cars on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    /// Lanes.
    pub lanes: usize,
    /// The cars, in no particular order.
    pub cars: Vec<Car>,
}

impl Traffic {
    /// The index in `cars` of the ego: the rearmost car, the leftmost lane's on ties.
    pub fn ego(&self) -> Option<usize> {
        (0..self.cars.len()).min_by(|&a, &b| {
            let (ca, cb) = (self.cars[a], self.cars[b]);
            ca.position.total_cmp(&cb.position).then(ca.lane.cmp(&cb.lane))
        })
    }

    /// The cars' cells (lane, column), sorted: equal keys are the same picture at cell
    /// resolution, which is how novelty is judged.
    pub fn cell_key(&self) -> (usize, Vec<(usize, usize)>) {
        let mut cells: Vec<(usize, usize)> =
            self.cars.iter().map(|c| (c.lane, ((c.position / CELL).floor().max(0.0) as usize).min(SIDE - 1))).collect();
        cells.sort_unstable();
        (self.lanes, cells)
    }
}

/// Why a configuration is not a usable driving scene.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Fewer than 2 or more than [`MAX_LANES`] lanes.
    Lanes(usize),
    /// No car, so no ego.
    NoCars,
    /// This many cars stand off the road.
    OffRoad(usize),
    /// This many pairs of cars of one lane overlap.
    Overlaps(usize),
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Lanes(n) => write!(f, "{n} lane(s), not 2 to {MAX_LANES}"),
            Invalid::NoCars => write!(f, "no car (no ego)"),
            Invalid::OffRoad(n) => write!(f, "{n} car(s) off the road"),
            Invalid::Overlaps(n) => write!(f, "{n} pair(s) of cars overlapping in a lane"),
        }
    }
}

/// Checks that `traffic` is a usable driving scene (see the module documentation).
pub fn check(traffic: &Traffic) -> std::result::Result<(), Invalid> {
    if !(2..=MAX_LANES).contains(&traffic.lanes) {
        return Err(Invalid::Lanes(traffic.lanes));
    }
    if traffic.cars.is_empty() {
        return Err(Invalid::NoCars);
    }
    let off_road = traffic.cars.iter().filter(|c| c.lane >= traffic.lanes || !(0.0..WINDOW).contains(&c.position)).count();
    if off_road > 0 {
        return Err(Invalid::OffRoad(off_road));
    }
    let mut by_lane: Vec<Vec<f64>> = vec![Vec::new(); traffic.lanes];
    traffic.cars.iter().for_each(|c| by_lane[c.lane].push(c.position));
    let overlaps = by_lane
        .iter_mut()
        .map(|lane| {
            lane.sort_by(f64::total_cmp);
            lane.windows(2).filter(|w| w[1] - w[0] < CAR_LENGTH).count()
        })
        .sum::<usize>();
    if overlaps > 0 {
        return Err(Invalid::Overlaps(overlaps));
    }
    Ok(())
}

/// The image of a configuration: `SIDE × SIDE × 3` bytes (see the module documentation).
/// Errors when it does not fit: too many lanes, a car outside the window, or two cars in
/// one cell.
pub fn to_pixels(traffic: &Traffic) -> Result<Vec<u8>> {
    if traffic.lanes > SIDE {
        return Err(GenError::config("traffic", format!("{} lanes do not fit {SIDE} rows", traffic.lanes)));
    }
    let mut px = vec![0u8; SIDE * SIDE * 3];
    for row in 0..traffic.lanes {
        (0..SIDE).for_each(|col| px[(row * SIDE + col) * 3] = 255);
    }
    for car in &traffic.cars {
        if car.lane >= traffic.lanes || !(0.0..WINDOW).contains(&car.position) {
            return Err(GenError::config("traffic", format!("a car at lane {}, {:.1} m is outside the window", car.lane, car.position)));
        }
        let col = (car.position / CELL).floor() as usize;
        let i = (car.lane * SIDE + col) * 3;
        if px[i + 1] != 0 {
            return Err(GenError::config("traffic", format!("two cars in one {CELL} m cell of lane {}", car.lane)));
        }
        px[i + 1] = 255;
        px[i + 2] = ((car.position / CELL - col as f64) * 255.0).round().clamp(0.0, 255.0) as u8;
    }
    Ok(px)
}

/// The configurations as a one-class image set for the VAE.
pub fn image_set(configs: &[Traffic]) -> Result<ImageSet> {
    let spec = ImageSpec { channels: 3, height: SIDE, width: SIDE };
    let pixels = configs.iter().map(to_pixels).collect::<Result<Vec<_>>>()?.concat();
    Ok(ImageSet::from_parts(spec, vec!["traffic".into()], pixels, vec![0; configs.len()])?)
}

/// Draws a configuration from channel probabilities (`SIDE × SIDE × 3`, in [0, 1]),
/// as the VAE's Bernoulli decoder defines it.
///
/// The lanes are the rows from the top whose road probability averages one half or more
/// (the road channel is near certain). Each cell, in any row, holds a car with its car
/// probability, drawn from `rng`: sampling rather than thresholding keeps the number of
/// cars what the model believes it to be, where a threshold would keep only the cars it
/// is sure of. A car stands at the offset its third channel gives. Cars in rows past the
/// lanes are kept, so that [`check`] finds them off the road. Probabilities of exactly 0
/// and 1 draw no car and a car, so an image of a configuration reads back as it.
pub fn draw_from_probabilities<R: Rng + ?Sized>(p: &[f32], rng: &mut R) -> Traffic {
    let at = |row: usize, col: usize, ch: usize| p[(row * SIDE + col) * 3 + ch];
    let lanes = (0..SIDE).take_while(|&row| (0..SIDE).map(|col| at(row, col, 0)).sum::<f32>() >= 0.5 * SIDE as f32).count();
    let mut cars = Vec::new();
    for row in 0..SIDE {
        for col in 0..SIDE {
            if rng.random::<f32>() < at(row, col, 1) {
                let position = (col as f64 + f64::from(at(row, col, 2)).clamp(0.0, 1.0)) * CELL;
                cars.push(Car { lane: row, position: position.min(WINDOW - 1e-3) });
            }
        }
    }
    Traffic { lanes, cars }
}

/// One sampled configuration and its verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    /// The configuration as read.
    pub traffic: Traffic,
    /// `Ok` if usable, else why not.
    pub verdict: std::result::Result<(), Invalid>,
}

/// `count` configurations sampled from a traffic VAE `net`, each checked; latent codes
/// come from the prior scaled by `temperature`, and the cars are drawn from the decoded
/// probabilities (both from `seed`).
pub fn sample_traffic(net: &GenNet, count: usize, temperature: f64, seed: u64) -> Result<Vec<Sampled>> {
    if net.spec != (ImageSpec { channels: 3, height: SIDE, width: SIDE }) || net.classes != 1 {
        return Err(GenError::config("model", "not a traffic model (one class of 16x16 three-channel configurations)"));
    }
    let mut rng = crate::util::seed::rng_from_seed(seed.wrapping_add(0x5eed));
    Ok(net
        .sample_prior(count, temperature, seed)?
        .chunks_exact(SIDE * SIDE * 3)
        .map(|p| {
            let traffic = draw_from_probabilities(p, &mut rng);
            let verdict = check(&traffic);
            Sampled { traffic, verdict }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probabilities(traffic: &Traffic) -> Vec<f32> {
        to_pixels(traffic).expect("fits").iter().map(|&v| f32::from(v) / 255.0).collect()
    }

    #[test]
    fn a_configuration_round_trips_through_its_image() {
        let t = Traffic {
            lanes: 3,
            cars: vec![Car { lane: 1, position: 4.0 }, Car { lane: 0, position: 30.0 }, Car { lane: 1, position: 100.0 }],
        };
        assert_eq!(check(&t), Ok(()));
        assert_eq!(t.ego(), Some(0), "the rearmost car");
        let back = draw_from_probabilities(&probabilities(&t), &mut crate::util::seed::rng_from_seed(0));
        assert_eq!(back.lanes, 3);
        assert_eq!(back.cell_key(), t.cell_key());
        let mut positions: Vec<f64> = back.cars.iter().map(|c| c.position).collect();
        positions.sort_by(f64::total_cmp);
        for (got, want) in positions.iter().zip([4.0, 30.0, 100.0]) {
            assert!((got - want).abs() < CELL / 255.0 + 1e-9, "{got} vs {want}");
        }
    }

    #[test]
    fn broken_configurations_say_what_is_wrong() {
        let car = |lane, position| Car { lane, position };
        assert_eq!(check(&Traffic { lanes: 1, cars: vec![car(0, 1.0)] }), Err(Invalid::Lanes(1)));
        assert_eq!(check(&Traffic { lanes: 2, cars: vec![] }), Err(Invalid::NoCars));
        assert_eq!(check(&Traffic { lanes: 2, cars: vec![car(0, 1.0), car(2, 9.0)] }), Err(Invalid::OffRoad(1)));
        let close = Traffic { lanes: 2, cars: vec![car(0, 7.0), car(0, 10.0), car(1, 8.0), car(0, 40.0)] };
        assert_eq!(check(&close), Err(Invalid::Overlaps(1)), "3 m apart in lane 0; lane 1's car is beside them");
        assert_eq!(check(&close).map_err(|e| e.to_string()), Err("1 pair(s) of cars overlapping in a lane".into()));
        // Two cars in one cell cannot be drawn.
        assert!(to_pixels(&Traffic { lanes: 2, cars: vec![car(0, 1.0), car(0, 7.0)] }).is_err());
        assert!(to_pixels(&Traffic { lanes: 2, cars: vec![car(0, WINDOW)] }).is_err());
        // A sample's car below the road is read, and found off it.
        let mut p = probabilities(&Traffic { lanes: 2, cars: vec![car(0, 1.0)] });
        p[(2 * SIDE + 5) * 3 + 1] = 1.0;
        let read = draw_from_probabilities(&p, &mut crate::util::seed::rng_from_seed(0));
        assert_eq!(read.lanes, 2);
        assert_eq!(check(&read), Err(Invalid::OffRoad(1)));
        // Adjacent cells whose offsets put the centres 1.6 m apart overlap.
        let mut p = probabilities(&Traffic { lanes: 2, cars: vec![car(1, 7.6)] });
        p[(SIDE + 1) * 3 + 1] = 1.0;
        p[(SIDE + 1) * 3 + 2] = 0.15;
        assert_eq!(check(&draw_from_probabilities(&p, &mut crate::util::seed::rng_from_seed(0))), Err(Invalid::Overlaps(1)));
        // Uncertain cells hold a car as often as their probability says.
        let mut p = vec![0.0f32; SIDE * SIDE * 3];
        (0..2 * SIDE).for_each(|i| p[i * 3] = 1.0);
        (0..2 * SIDE).for_each(|i| p[i * 3 + 1] = 0.25);
        let mut rng = crate::util::seed::rng_from_seed(1);
        let cars: usize = (0..200).map(|_| draw_from_probabilities(&p, &mut rng).cars.len()).sum();
        assert!((1400..1800).contains(&cars), "{cars} cars in 200 draws of 32 cells at 1/4 (1,600 expected)");
    }
}
