//! Road networks and initial traffic of each driving scene, after highway-env's
//! `highway_env.py`, `merge_env.py`, `intersection_env.py`, `roundabout_env.py` and
//! `parking_env.py`. All geometry is deterministic; traffic placement draws from the
//! episode RNG.

use std::f64::consts::{FRAC_PI_2, PI};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{DrivingConfig, PlacedVehicle, RoadSegment, SceneKind, SegmentShape};
use super::road::{HIGHWAY_LENGTH, LANE_WIDTH, Lane, LaneIndex, LineType, RoadNetwork};
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

/// Builds the road and traffic of `cfg.scene`; vehicles get ids 0, 1, 2, …
pub fn build(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    let mut built = build_scene(cfg, rng);
    for (i, v) in built.vehicles.iter_mut().enumerate() {
        v.id = i as u32;
    }
    built
}

/// Intersection traffic, as highway-env spawns it every step: with probability 0.6 a
/// car enters from a random side (if the entry is clear) and heads to a random exit.
pub fn spawn_intersection_car(net: &RoadNetwork, vehicles: &[Vehicle], rng: &mut ChaCha8Rng) -> Option<Vehicle> {
    if !rng.random_bool(0.6) {
        return None;
    }
    let from = rng.random_range(0..4);
    let to = (from + rng.random_range(1..4)) % 4;
    let id = |n: &str| net.node_id(n).unwrap_or(0);
    let lane = LaneIndex { from: id(&format!("o{from}")), to: id(&format!("ir{from}")), id: 0 };
    let s = rng.random_range(0.0..5.0);
    let speed = 8.0 + rng.random_range(0.0..2.0);
    let driver = idm_driver(rng, false);
    let mut v = place(net, lane, s, speed, driver);
    v.target_speed = 9.0;
    v.route = net.shortest_path(lane.from, id(&format!("o{to}")));
    vehicles.iter().all(|o| ((o.position[0] - v.position[0]).powi(2) + (o.position[1] - v.position[1]).powi(2)).sqrt() > 15.0).then_some(v)
}

fn build_scene(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    match cfg.scene {
        SceneKind::Highway => highway(cfg, rng),
        SceneKind::Merge => merge(cfg, rng),
        SceneKind::Intersection => intersection(cfg, rng),
        SceneKind::Roundabout => roundabout(cfg, rng),
        SceneKind::Parking => parking(cfg, rng),
        SceneKind::Custom => custom(cfg, rng),
        SceneKind::Procedural => procedural(cfg, rng),
    }
}

/// Adds a segment's parallel lanes: lane 0 on the given centre line, lane `k` offset
/// `k` widths to its right.
fn add_segment(net: &mut RoadNetwork, seg: &RoadSegment) {
    for k in 0..seg.lanes {
        let left = if k == 0 { C } else { S };
        let right = if k + 1 == seg.lanes { C } else { N };
        let offset = k as f64 * seg.width;
        let mut lane = match seg.shape {
            SegmentShape::Straight { start, end } => {
                let (dx, dy) = (end[0] - start[0], end[1] - start[1]);
                let len = (dx * dx + dy * dy).sqrt();
                let lat = [-dy / len * offset, dx / len * offset];
                Lane::straight(
                    [start[0] + lat[0], start[1] + lat[1]],
                    [end[0] + lat[0], end[1] + lat[1]],
                    seg.width,
                    [left, right],
                    seg.speed_limit,
                )
            }
            SegmentShape::Arc { center, radius, start_angle, end_angle, clockwise } => {
                let r = if clockwise { radius - offset } else { radius + offset };
                Lane::circular(
                    center,
                    r,
                    start_angle.to_radians(),
                    end_angle.to_radians(),
                    clockwise,
                    seg.width,
                    [left, right],
                    seg.speed_limit,
                )
            }
        }
        .with_priority(seg.priority);
        if seg.forbidden {
            lane = lane.forbid();
        }
        net.add_lane(&seg.from, &seg.to, lane);
    }
}

/// Traffic placed at random along random lanes, at least 12 m from other vehicles,
/// driving IDM/MOBIL at 70-80% of the speed limit with random routes.
fn scatter_traffic(net: &RoadNetwork, vehicles: &mut Vec<Vehicle>, count: usize, rng: &mut ChaCha8Rng) {
    let lanes: Vec<LaneIndex> = net.lanes().filter(|(_, l)| !l.forbidden).map(|(li, _)| li).collect();
    if lanes.is_empty() {
        return;
    }
    for _ in 0..count {
        for _attempt in 0..20 {
            let li = lanes[rng.random_range(0..lanes.len())];
            let Some(lane) = net.lane(li) else { continue };
            let s = rng.random_range(0.0..lane.length().abs().max(1.0));
            let p = lane.position(s, 0.0);
            if vehicles.iter().all(|o| ((o.position[0] - p[0]).powi(2) + (o.position[1] - p[1]).powi(2)).sqrt() > 12.0) {
                let speed = rng.random_range(0.7..0.8) * lane.speed_limit;
                let driver = idm_driver(rng, true);
                vehicles.push(place(net, li, s, speed, driver));
                break;
            }
        }
    }
}

/// The scene file's `[[vehicle]]` tables as vehicles (the config has checked them against
/// the road): the controlled ones first, in file order, then the traffic, which drives
/// IDM/MOBIL at its given speed. Egos of a custom scene head for its `destination`.
fn placed_vehicles(cfg: &DrivingConfig, net: &RoadNetwork, rng: &mut ChaCha8Rng) -> Vec<Vehicle> {
    let default = match (cfg.scene, cfg.road.first()) {
        (SceneKind::Custom, Some(first)) => (first.from.as_str(), first.to.as_str()),
        _ => ("0", "1"),
    };
    let (egos, traffic): (Vec<&PlacedVehicle>, Vec<&PlacedVehicle>) = cfg.vehicle.iter().partition(|v| v.controlled);
    egos.into_iter()
        .chain(traffic)
        .map(|v| {
            let node = |name: Option<&str>, fallback: &str| net.node_id(name.unwrap_or(fallback)).unwrap_or(0);
            let (from, to) = (node(v.from.as_deref(), default.0), node(v.to.as_deref(), default.1));
            let lane = LaneIndex { from, to, id: v.lane as u16 };
            let driver = if v.controlled {
                let cruise = net.lane(lane).map_or(25.0, |l| 0.75 * l.speed_limit).max(1.0);
                let speeds = if cfg.scene == SceneKind::Highway { [20.0, 25.0, 30.0] } else { [0.5 * cruise, cruise, 1.25 * cruise] };
                ego_driver(cfg, &speeds)
            } else {
                idm_driver(rng, true)
            };
            let mut car = place(net, lane, v.position, v.speed, driver);
            if v.controlled
                && let Some(dest) = cfg.destination.as_deref().and_then(|d| net.node_id(d))
            {
                car.route = net.shortest_path(from, dest);
            }
            car
        })
        .collect()
}

fn custom(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    let mut net = RoadNetwork::new();
    for seg in &cfg.road {
        add_segment(&mut net, seg);
    }
    if !cfg.vehicle.is_empty() {
        let vehicles = placed_vehicles(cfg, &net, rng);
        return Built { net, vehicles, goals: Vec::new() };
    }
    let first = &cfg.road[0];
    let (from, to) = (net.node_id(&first.from).unwrap_or(0), net.node_id(&first.to).unwrap_or(0));
    let lane = LaneIndex { from, to, id: 0 };
    let s = net.lane(lane).map_or(0.0, |l| (l.length() / 4.0).min(10.0));
    let speed = net.lane(lane).map_or(20.0, |l| 0.75 * l.speed_limit);
    let mut ego = place(&net, lane, s, speed, ego_driver(cfg, &[0.5 * speed, speed, 1.25 * speed]));
    if let Some(dest) = cfg.destination.as_deref().and_then(|d| net.node_id(d)) {
        ego.route = net.shortest_path(from, dest);
    }
    let mut vehicles = vec![ego];
    scatter_traffic(&net, &mut vehicles, cfg.vehicles, rng);
    Built { net, vehicles, goals: Vec::new() }
}

fn procedural(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    // A chain of six pieces, each a straight or a curve, with one junction.
    let lanes = rng.random_range(2..=4);
    let mut segments = Vec::new();
    let (mut pos, mut heading) = ([0.0f64, 0.0f64], 0.0f64);
    for k in 0..6 {
        let (from, to) = (format!("p{k}"), format!("p{}", k + 1));
        let shape = if k == 0 || rng.random_bool(0.5) {
            let len = rng.random_range(100.0..250.0);
            SegmentShape::Straight { start: pos, end: [pos[0] + len * heading.cos(), pos[1] + len * heading.sin()] }
        } else {
            let radius = rng.random_range(80.0..250.0);
            let turn = rng.random_range(15.0f64..60.0).to_radians();
            let clockwise = rng.random_bool(0.5);
            let (center, phi0, phi1) = if clockwise {
                let c = [pos[0] - radius * heading.sin(), pos[1] + radius * heading.cos()];
                (c, heading - FRAC_PI_2, heading - FRAC_PI_2 + turn)
            } else {
                let c = [pos[0] + radius * heading.sin(), pos[1] - radius * heading.cos()];
                (c, heading + FRAC_PI_2, heading + FRAC_PI_2 - turn)
            };
            SegmentShape::Arc { center, radius, start_angle: phi0.to_degrees(), end_angle: phi1.to_degrees(), clockwise }
        };
        let seg = RoadSegment { from, to, shape, lanes, width: LANE_WIDTH, speed_limit: 30.0, priority: 0, forbidden: false };
        let mut probe = RoadNetwork::new();
        add_segment(&mut probe, &RoadSegment { lanes: 1, ..seg.clone() });
        if let Some((_, l)) = probe.lanes().next() {
            pos = l.position(l.length(), 0.0);
            heading = l.heading_at(l.length());
        }
        segments.push(seg);
    }
    let mut net = RoadNetwork::new();
    for seg in &segments {
        add_segment(&mut net, seg);
    }
    // The junction: an on-ramp into piece 2, an off-ramp out of piece 3, or none.
    let rightmost = |net: &RoadNetwork, from: &str, to: &str| {
        let (f, t) = (net.node_id(from).unwrap_or(0), net.node_id(to).unwrap_or(0));
        net.lane(LaneIndex { from: f, to: t, id: lanes as u16 - 1 }).cloned()
    };
    match rng.random_range(0..3) {
        1 => {
            if let Some(l) = rightmost(&net, "p2", "p3") {
                let (p, h) = (l.position(0.0, 0.0), l.heading_at(0.0));
                let start = [p[0] - 120.0 * h.cos() - 12.0 * h.sin(), p[1] - 120.0 * h.sin() + 12.0 * h.cos()];
                net.add_lane(
                    "r0",
                    "r1",
                    Lane::straight(start, [p[0] - 30.0 * h.cos(), p[1] - 30.0 * h.sin()], LANE_WIDTH, [C, C], 25.0).forbid(),
                );
                net.add_lane("r1", "p2", Lane::straight([p[0] - 30.0 * h.cos(), p[1] - 30.0 * h.sin()], p, LANE_WIDTH, [S, C], 25.0));
            }
        }
        2 => {
            if let Some(l) = rightmost(&net, "p3", "p4") {
                let (p, h) = (l.position(l.length(), 0.0), l.heading_at(l.length()) + 15f64.to_radians());
                net.add_lane("p4", "x0", Lane::straight(p, [p[0] + 150.0 * h.cos(), p[1] + 150.0 * h.sin()], LANE_WIDTH, [C, C], 25.0));
            }
        }
        _ => {}
    }
    let (from, to) = (net.node_id("p0").unwrap_or(0), net.node_id("p1").unwrap_or(0));
    let lane = LaneIndex { from, to, id: rng.random_range(0..lanes) as u16 };
    let mut ego = place(&net, lane, 30.0, 25.0, ego_driver(cfg, &[20.0, 25.0, 30.0]));
    ego.route = net.shortest_path(from, net.node_id("p6").unwrap_or(0));
    let mut vehicles = vec![ego];
    scatter_traffic(&net, &mut vehicles, cfg.vehicles, rng);
    Built { net, vehicles, goals: Vec::new() }
}

/// Where highway-env's `create_random` puts the next vehicle: a random lane of the
/// segment `from→to`, ahead of every vehicle already placed by the spacing
/// `(12 + v) e^{-5 lanes / 40}` scaled by `spacing`.
fn next_on_segment(
    net: &RoadNetwork,
    placed: &[&Vehicle],
    rng: &mut ChaCha8Rng,
    (from, to): (u16, u16),
    speed: f64,
    spacing: f64,
) -> (LaneIndex, f64) {
    let lanes = net.lanes_in(from, to);
    let lane = LaneIndex { from, to, id: rng.random_range(0..lanes.max(1)) as u16 };
    let offset = spacing * (12.0 + speed) * (-5.0 / 40.0 * lanes as f64).exp();
    let x0 = net.lane(lane).and_then(|l| placed.iter().map(|v| l.local_coordinates(v.position).0).reduce(f64::max));
    (lane, x0.unwrap_or(3.0 * offset) + offset * rng.random_range(0.9..1.1))
}

fn highway(cfg: &DrivingConfig, rng: &mut ChaCha8Rng) -> Built {
    let net = RoadNetwork::straight_road(cfg.lanes, HIGHWAY_LENGTH, 30.0);
    if !cfg.vehicle.is_empty() {
        let vehicles = placed_vehicles(cfg, &net, rng);
        return Built { net, vehicles, goals: Vec::new() };
    }
    let segment = (net.node_id("0").unwrap_or(0), net.node_id("1").unwrap_or(1));
    let n_egos = cfg.controlled_vehicles.max(1);
    let (mut egos, mut traffic): (Vec<Vehicle>, Vec<Vehicle>) = (Vec::new(), Vec::with_capacity(cfg.vehicles));
    for e in 0..cfg.controlled_vehicles {
        // highway-env's near_split: the first `vehicles % egos` egos get one car more.
        let others = cfg.vehicles / n_egos + usize::from(e < cfg.vehicles % n_egos);
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
    // The ramp runs down to the merge lane's level, which continues the highway's right side.
    net.add_lane("j", "k", Lane::straight([0.0, ramp_y], [ends[0], 2.0 * LANE_WIDTH], LANE_WIDTH, [C, C], 30.0).forbid());
    net.add_lane("k", "b", Lane::straight([ends[0], 2.0 * LANE_WIDTH], [xs[2], 2.0 * LANE_WIDTH], LANE_WIDTH, [C, C], 30.0).forbid());
    net.add_lane("b", "c", Lane::straight([xs[2], 2.0 * LANE_WIDTH], [xs[3], 2.0 * LANE_WIDTH], LANE_WIDTH, [N, C], 30.0).forbid());
    let id = |n: &str| net.node_id(n).unwrap_or(0);
    let (a, b, j, k) = (id("a"), id("b"), id("j"), id("k"));
    let mut vehicles = Vec::new();
    let ego = place(&net, LaneIndex { from: a, to: b, id: 1 }, 30.0, 30.0, ego_driver(cfg, &[20.0, 25.0, 30.0]));
    vehicles.push(ego);
    // highway-env's traffic: three cars on the highway and one on the ramp (`vehicles` caps it).
    for &(lane_id, s, speed) in [(0u16, 90.0, 29.0), (1, 70.0, 31.0), (0, 5.0, 31.5)].iter().take(cfg.vehicles.saturating_sub(1)) {
        let jitter = rng.random_range(-1.0..1.0);
        let driver = idm_driver(rng, true);
        vehicles.push(place(&net, LaneIndex { from: a, to: b, id: lane_id }, s + jitter, speed + jitter, driver));
    }
    if cfg.vehicles > 0 {
        let driver = idm_driver(rng, true);
        let mut merging = place(&net, LaneIndex { from: j, to: k, id: 0 }, 110.0 + rng.random_range(-1.0..1.0), 20.0, driver);
        merging.target_speed = 30.0;
        vehicles.push(merging);
    }
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
        net.add_lane(
            &format!("o{c}"),
            &format!("ir{c}"),
            Lane::straight(rot(angle, [w / 2.0, access + outer]), rot(angle, [w / 2.0, outer]), w, [S, C], 10.0).with_priority(priority),
        );
        net.add_lane(
            &format!("ir{c}"),
            &format!("il{}", n(-1)),
            Lane::circular(rot(angle, [outer, outer]), right_r, angle + PI, angle + 1.5 * PI, true, w, [N, C], 10.0)
                .with_priority(priority),
        );
        net.add_lane(
            &format!("ir{c}"),
            &format!("il{}", n(1)),
            Lane::circular(rot(angle, [-left_r + w / 2.0, left_r - w / 2.0]), left_r, angle, angle - FRAC_PI_2, false, w, [N, N], 10.0)
                .with_priority(priority - 1),
        );
        net.add_lane(
            &format!("ir{c}"),
            &format!("il{}", n(2)),
            Lane::straight(rot(angle, [w / 2.0, outer]), rot(angle, [w / 2.0, -outer]), w, [S, N], 10.0).with_priority(priority),
        );
        // The exit of the opposite side, on the right-hand side of its road; it has the
        // priority of the corner after it, as in highway-env.
        let exit_priority = if (corner + 3) % 2 == 1 { 3 } else { 1 };
        net.add_lane(
            &format!("il{}", n(2)),
            &format!("o{}", n(2)),
            Lane::straight(rot(angle, [w / 2.0, -outer]), rot(angle, [w / 2.0, -access - outer]), w, [N, C], 10.0)
                .with_priority(exit_priority),
        );
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
    let entries = [
        ("ser", "se", [2.0, access], [2.0, dev / 2.0 + 10.0]),
        ("eer", "ee", [access, -2.0], [dev / 2.0 + 10.0, -2.0]),
        ("ner", "ne", [-2.0, -access], [-2.0, -dev / 2.0 - 10.0]),
        ("wer", "we", [-access, 2.0], [-dev / 2.0 - 10.0, 2.0]),
    ];
    for (from, to, a, b) in entries {
        net.add_lane(from, &format!("{to}s"), Lane::straight(a, b, 4.0, [S, C], 10.0));
        let ring = net.lanes().find(|(li, _)| net.node_name(li.from) == to && li.id == 1).map(|(_, l)| l.position(0.0, 0.0)).unwrap_or(b);
        net.add_lane(&format!("{to}s"), to, Lane::straight(b, ring, 4.0, [S, C], 10.0).with_priority(0));
    }
    let exits = [
        ("sx", "sxs", "sxr", [-2.0, access]),
        ("ex", "exs", "exr", [access, 2.0]),
        ("nx", "nxs", "nxr", [2.0, -access]),
        ("wx", "wxs", "wxr", [-access, -2.0]),
    ];
    for (from, mid, to, far) in exits {
        let ring = net
            .lanes()
            .find(|(li, _)| net.node_name(li.from) == from && li.id == 1)
            .map(|(_, l)| l.position(0.0, 0.0))
            .unwrap_or([0.0, 0.0]);
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
