//! Road networks and initial traffic of each driving scene, after highway-env's
//! `highway_env.py`, `merge_env.py`, `intersection_env.py`, `roundabout_env.py` and
//! `parking_env.py`. All geometry is deterministic; traffic placement draws from the
//! episode RNG.

use std::f64::consts::{FRAC_PI_2, PI};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{DrivingConfig, SceneKind};
use super::road::{LANE_WIDTH, Lane, LaneIndex, LineType, RoadNetwork};
use super::vehicle::{Driver, Vehicle};

const N: LineType = LineType::None;
const S: LineType = LineType::Striped;
const C: LineType = LineType::Continuous;

/// A scene's road and traffic at reset, with the ego vehicles' indices first.
pub struct Built {
    /// The road network.
    pub net: RoadNetwork,
    /// Every vehicle; the first `n_egos` are controlled.
    pub vehicles: Vec<Vehicle>,
    /// Parking: the goal pose `[x, y, heading]` of each ego.
    pub goals: Vec<[f64; 3]>,
}

fn idm_driver(rng: &mut ChaCha8Rng, lane_changes: bool) -> Driver {
    Driver::Idm { delta: rng.random_range(3.5..=4.5), politeness: 0.0, timer: rng.random_range(0.0..1.0), lane_changes }
}

fn place(net: &RoadNetwork, lane: LaneIndex, s: f64, speed: f64, driver: Driver) -> Vehicle {
    let (p, h) = match net.lane(lane) {
        Some(l) => (l.position(s, 0.0), l.heading_at(s)),
        None => ([0.0, 0.0], 0.0),
    };
    let mut v = Vehicle::new(p, h, speed, lane, driver);
    v.target_speed = speed;
    v
}

fn ego_driver(cfg: &DrivingConfig, speeds: &[f64]) -> Driver {
    match cfg.actions {
        super::config::ActionKind::Meta => Driver::MetaAgent { target_speeds: speeds.to_vec() },
        super::config::ActionKind::Continuous => Driver::ContinuousAgent,
    }
}

/// Builds the road and traffic of `cfg.scene`.
pub fn build(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    match cfg.scene {
        SceneKind::Highway => highway(cfg, rng),
        SceneKind::Merge => merge(cfg, rng),
        SceneKind::Intersection => intersection(cfg, rng),
        SceneKind::Roundabout => roundabout(cfg, rng),
        SceneKind::Parking => parking(cfg, rng),
    }
}

/// Where highway-env's `create_random` puts the next vehicle: a random lane of the
/// segment `from→to`, ahead of every vehicle already placed by the spacing
/// `(12 + v) e^{-5 lanes / 40}` scaled by `spacing`.
fn next_on_segment(net: &RoadNetwork, placed: &[&Vehicle], rng: &mut ChaCha8Rng, (from, to): (u16, u16), speed: f64, spacing: f64) -> (LaneIndex, f64) {
    let lanes = net.lanes_in(from, to);
    let lane = LaneIndex { from, to, id: rng.random_range(0..lanes.max(1)) as u16 };
    let offset = spacing * (12.0 + speed) * (-5.0 / 40.0 * lanes as f64).exp();
    let x0 = net.lane(lane).and_then(|l| placed.iter().map(|v| l.local_coordinates(v.position).0).reduce(f64::max));
    (lane, x0.unwrap_or(3.0 * offset) + offset * rng.random_range(0.9..1.1))
}

fn highway(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    let net = RoadNetwork::straight_road(cfg.lanes, 10_000.0, 30.0);
    let segment = (net.node_id("0").unwrap_or(0), net.node_id("1").unwrap_or(1));
    let others = cfg.vehicles / cfg.controlled_vehicles.max(1);
    let (mut egos, mut traffic): (Vec<Vehicle>, Vec<Vehicle>) = (Vec::new(), Vec::with_capacity(cfg.vehicles));
    for _ in 0..cfg.controlled_vehicles {
        let placed: Vec<&Vehicle> = egos.iter().chain(&traffic).collect();
        let (lane, s) = next_on_segment(&net, &placed, rng, segment, 25.0, 2.0);
        egos.push(place(&net, lane, s, 25.0, ego_driver(cfg, &[20.0, 25.0, 30.0])));
        for _ in 0..others {
            let speed = rng.random_range(0.7 * 30.0..0.8 * 30.0);
            let placed: Vec<&Vehicle> = egos.iter().chain(&traffic).collect();
            let (lane, s) = next_on_segment(&net, &placed, rng, segment, speed, 1.0 / cfg.density);
            let driver = idm_driver(rng, true);
            traffic.push(place(&net, lane, s, speed, driver));
        }
    }
    egos.extend(traffic);
    Built { net, vehicles: egos, goals: Vec::new() }
}

fn merge(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    // A two-lane highway a→b→c→d and an on-ramp j→k→b→c that ends in a merge zone.
    let ends = [150.0, 80.0, 80.0, 150.0];
    let mut net = RoadNetwork::new();
    let y = [0.0, LANE_WIDTH];
    let xs = [0.0, ends[0], ends[0] + ends[1], ends[0] + ends[1] + ends[2], ends.iter().sum::<f64>()];
    for (i, &yi) in y.iter().enumerate() {
        let lines = if i == 0 { [C, S] } else { [N, C] };
        net.add_lane("a", "b", Lane::straight([xs[0], yi], [xs[2], yi], LANE_WIDTH, lines, 30.0));
        let lines_bc = if i == 0 { [C, S] } else { [N, S] };
        net.add_lane("b", "c", Lane::straight([xs[2], yi], [xs[3], yi], LANE_WIDTH, lines_bc, 30.0));
        net.add_lane("c", "d", Lane::straight([xs[3], yi], [xs[4], yi], LANE_WIDTH, lines, 30.0));
    }
    let ramp_y = 2.0 * LANE_WIDTH + 4.0 * LANE_WIDTH;
    net.add_lane("j", "k", Lane::straight([0.0, ramp_y], [ends[0], ramp_y - 4.0 * LANE_WIDTH + LANE_WIDTH], LANE_WIDTH, [C, C], 30.0).forbid());
    net.add_lane("k", "b", Lane::straight([ends[0], 2.0 * LANE_WIDTH], [xs[2], 2.0 * LANE_WIDTH], LANE_WIDTH, [C, C], 30.0).forbid());
    net.add_lane("b", "c", Lane::straight([xs[2], 2.0 * LANE_WIDTH], [xs[3], 2.0 * LANE_WIDTH], LANE_WIDTH, [N, C], 30.0));
    let id = |n: &str| net.node_id(n).unwrap_or(0);
    let (a, b, j, k) = (id("a"), id("b"), id("j"), id("k"));
    let mut vehicles = Vec::new();
    let ego = place(&net, LaneIndex { from: a, to: b, id: 1 }, 30.0, 30.0, ego_driver(cfg, &[20.0, 25.0, 30.0]));
    vehicles.push(ego);
    for (lane_id, s, speed) in [(0u16, 90.0, 29.0), (1, 70.0, 31.0), (0, 5.0, 31.5)] {
        let jitter = rng.random_range(-1.0..1.0);
        let driver = idm_driver(rng, true);
        vehicles.push(place(&net, LaneIndex { from: a, to: b, id: lane_id }, s + jitter, speed + jitter, driver));
    }
    let driver = idm_driver(rng, true);
    let mut merging = place(&net, LaneIndex { from: j, to: k, id: 0 }, 110.0 + rng.random_range(-1.0..1.0), 20.0, driver);
    merging.target_speed = 30.0;
    vehicles.push(merging);
    let _ = k;
    Built { net, vehicles, goals: Vec::new() }
}

fn intersection(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    let w = LANE_WIDTH;
    let right_r = w + 5.0;
    let left_r = right_r + w;
    let outer = right_r + w / 2.0;
    let access = 100.0;
    let mut net = RoadNetwork::new();
    let rot = |a: f64, p: [f64; 2]| [a.cos() * p[0] - a.sin() * p[1], a.sin() * p[0] + a.cos() * p[1]];
    for corner in 0..4 {
        let angle = (90.0 * corner as f64).to_radians();
        let horizontal = corner % 2 == 1;
        let priority = if horizontal { 3 } else { 1 };
        let c = corner.to_string();
        let n = |k: i32| (corner + k).rem_euclid(4).to_string();
        net.add_lane(&format!("o{c}"), &format!("ir{c}"), Lane::straight(rot(angle, [w / 2.0, access + outer]), rot(angle, [w / 2.0, outer]), w, [S, C], 10.0).with_priority(priority));
        net.add_lane(
            &format!("ir{c}"),
            &format!("il{}", n(-1)),
            Lane::circular(rot(angle, [outer, outer]), right_r, angle + PI, angle + 1.5 * PI, true, w, [N, C], 10.0).with_priority(priority),
        );
        net.add_lane(
            &format!("ir{c}"),
            &format!("il{}", n(1)),
            Lane::circular(rot(angle, [-left_r + w / 2.0, left_r - w / 2.0]), left_r, angle, angle - FRAC_PI_2, false, w, [N, N], 10.0)
                .with_priority(priority - 1),
        );
        net.add_lane(&format!("ir{c}"), &format!("il{}", n(2)), Lane::straight(rot(angle, [w / 2.0, outer]), rot(angle, [w / 2.0, -outer]), w, [S, N], 10.0).with_priority(priority));
        net.add_lane(&format!("il{}", n(2)), &format!("o{}", n(2)), Lane::straight(rot(angle, [-w / 2.0, -outer]), rot(angle, [-w / 2.0, -access - outer]), w, [N, C], 10.0).with_priority(priority));
    }
    // Ego from the south (o0) turning left to the west exit, as highway-env's default.
    let id = |n: &str| net.node_id(n).unwrap_or(0);
    let ego_lane = LaneIndex { from: id("o0"), to: id("ir0"), id: 0 };
    let mut ego = place(&net, ego_lane, 60.0 + 5.0 * rng.random_range(-1.0..1.0), 9.0, ego_driver(cfg, &[0.0, 4.5, 9.0]));
    ego.route = net.shortest_path(id("o0"), id("o1"));
    let mut vehicles = vec![ego];
    let n_traffic = cfg.vehicles.min(12);
    for t in 0..n_traffic {
        let from = rng.random_range(0..4);
        let mut to = rng.random_range(0..4);
        if to == from {
            to = (to + 1) % 4;
        }
        let lane = LaneIndex { from: id(&format!("o{from}")), to: id(&format!("ir{from}")), id: 0 };
        let s = 5.0 + 25.0 * (t / 4) as f64 + rng.random_range(0.0..5.0);
        let driver = idm_driver(rng, false);
        let mut v = place(&net, lane, s, 8.0 + rng.random_range(0.0..2.0), driver);
        v.target_speed = 9.0;
        v.route = net.shortest_path(id(&format!("o{from}")), id(&format!("o{to}")));
        if vehicles.iter().all(|o| ((o.position[0] - v.position[0]).powi(2) + (o.position[1] - v.position[1]).powi(2)).sqrt() > 12.0) {
            vehicles.push(v);
        }
    }
    Built { net, vehicles, goals: Vec::new() }
}

fn roundabout(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    // A two-lane ring of radius 20 m with four entries/exits (highway-env's layout,
    // without the sine approach curves).
    let center = [0.0, 0.0];
    let radius = 20.0;
    let alpha = 24.0_f64.to_radians();
    let mut net = RoadNetwork::new();
    let radii = [radius, radius + 4.0];
    let arcs = [
        ("se", "ex", FRAC_PI_2 - alpha, alpha),
        ("ex", "ee", alpha, -alpha),
        ("ee", "nx", -alpha, -FRAC_PI_2 + alpha),
        ("nx", "ne", -FRAC_PI_2 + alpha, -FRAC_PI_2 - alpha),
        ("ne", "wx", -FRAC_PI_2 - alpha, -PI + alpha),
        ("wx", "we", -PI + alpha, -PI - alpha),
        ("we", "sx", PI - alpha, FRAC_PI_2 + alpha),
        ("sx", "se", FRAC_PI_2 + alpha, FRAC_PI_2 - alpha),
    ];
    for (lane_id, r) in radii.iter().enumerate() {
        for (from, to, a0, a1) in arcs {
            let lines = if lane_id == 0 { [C, S] } else { [N, C] };
            net.add_lane(from, to, Lane::circular(center, *r, a0, a1, false, 4.0, lines, 10.0));
        }
    }
    // Access roads: entries end at the ring's "e" nodes, exits start at "x" nodes.
    let access = 100.0;
    let dev = 85.0;
    let entries = [("ser", "se", [2.0, access], [2.0, dev / 2.0 + 10.0]), ("eer", "ee", [access, -2.0], [dev / 2.0 + 10.0, -2.0]), ("ner", "ne", [-2.0, -access], [-2.0, -dev / 2.0 - 10.0]), ("wer", "we", [-access, 2.0], [-dev / 2.0 - 10.0, 2.0])];
    for (from, to, a, b) in entries {
        net.add_lane(from, &format!("{to}s"), Lane::straight(a, b, 4.0, [S, C], 10.0));
        let ring = net.lanes().find(|(li, _)| net.node_name(li.from) == to && li.id == 1).map(|(_, l)| l.position(0.0, 0.0)).unwrap_or(b);
        net.add_lane(&format!("{to}s"), to, Lane::straight(b, ring, 4.0, [S, C], 10.0).with_priority(0));
    }
    let exits = [("sx", "sxs", "sxr", [-2.0, access]), ("ex", "exs", "exr", [access, 2.0]), ("nx", "nxs", "nxr", [2.0, -access]), ("wx", "wxs", "wxr", [-access, -2.0])];
    for (from, mid, to, far) in exits {
        let ring = net.lanes().find(|(li, _)| net.node_name(li.from) == from && li.id == 1).map(|(_, l)| l.position(0.0, 0.0)).unwrap_or([0.0, 0.0]);
        let towards = [far[0] * (dev / 2.0 + 10.0) / access, far[1] * (dev / 2.0 + 10.0) / access];
        net.add_lane(from, mid, Lane::straight(ring, towards, 4.0, [S, C], 10.0));
        net.add_lane(mid, to, Lane::straight(towards, far, 4.0, [N, C], 10.0));
    }
    let id = |n: &str| net.node_id(n).unwrap_or(0);
    let ego_lane = LaneIndex { from: id("ser"), to: id("ses"), id: 0 };
    let mut ego = place(&net, ego_lane, 5.0, 8.0, ego_driver(cfg, &[0.0, 8.0, 16.0]));
    let exit = ["exr", "sxr", "nxr", "wxr"][rng.random_range(0..4)];
    ego.route = net.shortest_path(id("ser"), id(exit));
    let mut vehicles = vec![ego];
    let n_traffic = cfg.vehicles.min(8);
    for t in 0..n_traffic {
        let arc = arcs[(t * 3 + rng.random_range(0..2)) % arcs.len()];
        let lane = LaneIndex { from: id(arc.0), to: id(arc.1), id: rng.random_range(0..2) };
        let driver = idm_driver(rng, true);
        let mut v = place(&net, lane, rng.random_range(0.0..5.0), 8.0 + rng.random_range(0.0..2.0), driver);
        v.target_speed = 10.0;
        let exits_r = ["exr", "sxr", "nxr", "wxr"];
        v.route = net.shortest_path(lane.to, id(exits_r[rng.random_range(0..4)]));
        v.route.insert(0, lane.from);
        if vehicles.iter().all(|o| ((o.position[0] - v.position[0]).powi(2) + (o.position[1] - v.position[1]).powi(2)).sqrt() > 8.0) {
            vehicles.push(v);
        }
    }
    Built { net, vehicles, goals: Vec::new() }
}

fn parking(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    // Two rows of 15 spots (4 m wide, 8 m deep) facing a central aisle; the ego
    // starts in the aisle and must park in a random free spot with the goal heading.
    let spots = 15;
    let (width, depth, x_offset, y_offset) = (4.0, 8.0, 0.0, 10.0);
    let mut net = RoadNetwork::new();
    for k in 0..spots {
        let x = (k as f64 + 0.5 - spots as f64 / 2.0) * width - width / 2.0 + x_offset;
        net.add_lane("a", "b", Lane::straight([x, y_offset], [x, y_offset + depth], width, [C, C], 5.0));
        net.add_lane("b", "c", Lane::straight([x, -y_offset], [x, -y_offset - depth], width, [C, C], 5.0));
    }
    let empty = LaneIndex { from: 0, to: 0, id: 0 };
    let mut vehicles = Vec::new();
    let n_egos = cfg.controlled_vehicles.max(1);
    for i in 0..n_egos {
        let x = (i as f64 * 20.0) - 10.0 * (n_egos as f64 - 1.0);
        let mut ego = Vehicle::new([x, 0.0], 2.0 * PI * rng.random::<f64>(), 0.0, empty, Driver::ContinuousAgent);
        ego.lane = net.closest_lane(ego.position, ego.heading);
        vehicles.push(ego);
    }
    let all: Vec<LaneIndex> = net.lanes().map(|(li, _)| li).collect();
    let mut free: Vec<LaneIndex> = all.clone();
    let mut goals = Vec::new();
    for _ in 0..n_egos {
        let k = rng.random_range(0..free.len());
        let li = free.swap_remove(k);
        let lane = net.lane(li).cloned();
        if let Some(l) = lane {
            let p = l.position(l.length() / 2.0, 0.0);
            goals.push([p[0], p[1], l.heading_at(0.0)]);
        }
    }
    let parked = cfg.vehicles.min(free.len());
    for _ in 0..parked {
        let k = rng.random_range(0..free.len());
        let li = free.swap_remove(k);
        if let Some(l) = net.lane(li) {
            let p = l.position(4.0, 0.0);
            let mut v = Vehicle::new(p, l.heading_at(0.0), 0.0, li, Driver::Parked);
            v.target_speed = 0.0;
            vehicles.push(v);
        }
    }
    Built { net, vehicles, goals }
}
