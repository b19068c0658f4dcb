//! Vehicles: a kinematic bicycle model, lane-following controllers, and traffic
//! driven by IDM (Treiber et al., "Congested traffic states in empirical observations
//! and microscopic simulations", 2000) and MOBIL (Kesting et al., "General
//! lane-changing model MOBIL for car-following models", 2007), after highway-env's
//! `vehicle/kinematics.py`, `controller.py` and `behavior.py`.

use super::road::{LaneIndex, RoadNetwork, wrap_to_pi};
use crate::sim::{PlanarBox, rectangles_overlap};

/// Vehicle length and width (metres).
pub const LENGTH: f64 = 5.0;
/// Vehicle width (metres).
pub const WIDTH: f64 = 2.0;
/// Speed bounds (m/s).
pub const MAX_SPEED: f64 = 40.0;
const TAU_ACC: f64 = 0.6;
const TAU_HEADING: f64 = 0.2;
const TAU_LATERAL: f64 = 0.6;
const TAU_PURSUIT: f64 = 0.5 * TAU_HEADING;
/// Steering limit of lane-following controllers.
pub const MAX_STEERING_ANGLE: f64 = std::f64::consts::PI / 3.0;
/// IDM: maximum acceleration magnitude.
const ACC_MAX: f64 = 6.0;
const COMFORT_ACC_MAX: f64 = 3.0;
const COMFORT_ACC_MIN: f64 = -5.0;
const DISTANCE_WANTED: f64 = 5.0 + LENGTH;
const TIME_WANTED: f64 = 1.5;
const LANE_CHANGE_MIN_ACC_GAIN: f64 = 0.2;
const LANE_CHANGE_MAX_BRAKING_IMPOSED: f64 = 2.0;
const LANE_CHANGE_DELAY: f64 = 1.0;

/// Who drives a vehicle.
#[derive(Clone, Debug, PartialEq)]
pub enum Driver {
    /// The agent, through discrete meta-actions: target lane and one of `target_speeds`.
    MetaAgent {
        /// The speeds FASTER/SLOWER step between.
        target_speeds: Vec<f64>,
    },
    /// The agent, through continuous steering and acceleration.
    ContinuousAgent,
    /// IDM longitudinal control and (optionally) MOBIL lane changes.
    Idm {
        /// IDM acceleration exponent (randomised per driver).
        delta: f64,
        /// MOBIL politeness.
        politeness: f64,
        /// Seconds since the last lane-change decision.
        timer: f64,
        /// Whether MOBIL may change lanes.
        lane_changes: bool,
    },
    /// A parked car: never moves.
    Parked,
}

/// A vehicle on the road.
#[derive(Clone, Debug, PartialEq)]
pub struct Vehicle {
    /// Centre position.
    pub position: [f64; 2],
    /// Heading (radians).
    pub heading: f64,
    /// Speed along the heading (m/s).
    pub speed: f64,
    /// Front-wheel steering angle applied this step.
    pub steering: f64,
    /// Acceleration applied this step.
    pub acceleration: f64,
    /// The lane the vehicle is on.
    pub lane: LaneIndex,
    /// The lane its controller steers to.
    pub target_lane: LaneIndex,
    /// The speed its controller tracks.
    pub target_speed: f64,
    /// Planned nodes ahead (empty: choose at random at each junction).
    pub route: Vec<u16>,
    /// Whether it has crashed.
    pub crashed: bool,
    /// Who drives it.
    pub driver: Driver,
    /// Instance id, unique within an episode (snapshots use it).
    pub id: u32,
}

impl Vehicle {
    /// A vehicle at `position` on `lane` (its closest lane), tracking its current speed.
    pub fn new(position: [f64; 2], heading: f64, speed: f64, lane: LaneIndex, driver: Driver) -> Self {
        Self {
            position,
            heading,
            speed,
            steering: 0.0,
            acceleration: 0.0,
            lane,
            target_lane: lane,
            target_speed: speed,
            route: Vec::new(),
            crashed: false,
            driver,
            id: 0,
        }
    }

    /// Velocity vector.
    pub fn velocity(&self) -> [f64; 2] {
        [self.speed * self.heading.cos(), self.speed * self.heading.sin()]
    }

    /// Unit heading vector.
    pub fn direction(&self) -> [f64; 2] {
        [self.heading.cos(), self.heading.sin()]
    }

    /// Integrates the bicycle model for `dt` seconds with the stored steering and
    /// acceleration (a crashed vehicle brakes to a stop, speeds stay in ±40 m/s).
    pub fn step(&mut self, dt: f64) {
        if matches!(self.driver, Driver::Parked) {
            return;
        }
        if self.crashed {
            self.steering = 0.0;
            self.acceleration = -self.speed;
        }
        if self.speed > MAX_SPEED {
            self.acceleration = self.acceleration.min(MAX_SPEED - self.speed);
        } else if self.speed < -MAX_SPEED {
            self.acceleration = self.acceleration.max(-MAX_SPEED - self.speed);
        }
        let beta = (0.5 * self.steering.tan()).atan();
        self.position[0] += self.speed * (self.heading + beta).cos() * dt;
        self.position[1] += self.speed * (self.heading + beta).sin() * dt;
        self.heading += self.speed * beta.sin() / (LENGTH / 2.0) * dt;
        self.speed += self.acceleration * dt;
        if let Driver::Idm { timer, .. } = &mut self.driver {
            *timer += dt;
        }
    }

    /// Steering that tracks `target` lane: pure pursuit of the lane heading a little
    /// ahead, plus a lateral correction (highway-env's `steering_control`).
    pub fn steering_control(&self, net: &RoadNetwork, target: LaneIndex) -> f64 {
        let Some(lane) = net.lane(target) else { return 0.0 };
        let (s, lat) = lane.local_coordinates(self.position);
        let future_heading = lane.heading_at(s + self.speed * TAU_PURSUIT);
        let speed = not_zero(self.speed);
        let lateral_speed_command = -lat / TAU_LATERAL;
        let heading_command = (lateral_speed_command / speed).clamp(-1.0, 1.0).asin();
        let heading_ref = future_heading + heading_command.clamp(-std::f64::consts::FRAC_PI_4, std::f64::consts::FRAC_PI_4);
        let heading_rate = wrap_to_pi(heading_ref - self.heading) / TAU_HEADING;
        let slip = (LENGTH / 2.0 / speed * heading_rate).clamp(-1.0, 1.0).asin();
        (2.0 * slip.tan()).atan().clamp(-MAX_STEERING_ANGLE, MAX_STEERING_ANGLE)
    }

    /// Proportional speed control towards `target_speed`.
    pub fn speed_control(&self, target_speed: f64) -> f64 {
        (target_speed - self.speed) / TAU_ACC
    }

    /// Moves the target lane on to the next segment near the end of the current one.
    pub fn follow_road(&mut self, net: &RoadNetwork, pick: &mut dyn FnMut(usize) -> usize) {
        if net.lane(self.target_lane).is_some_and(|l| l.after_end(self.position)) {
            self.target_lane = net.next_lane(self.target_lane, &self.route, pick);
        }
    }

    /// Longitudinal distance from this vehicle to `other` along this vehicle's lane.
    pub fn lane_distance_to(&self, net: &RoadNetwork, other: &Vehicle) -> f64 {
        match net.lane(self.lane) {
            Some(l) => l.local_coordinates(other.position).0 - l.local_coordinates(self.position).0,
            None => f64::INFINITY,
        }
    }
}

fn not_zero(x: f64) -> f64 {
    if x.abs() > 1e-2 {
        x
    } else if x >= 0.0 {
        1e-2
    } else {
        -1e-2
    }
}

/// IDM parameters shared by all traffic (per-driver `delta` lives in [`Driver::Idm`]).
pub struct Idm;

impl Idm {
    /// IDM acceleration of `ego` following `front` (free road when `None`); a lane
    /// speed limit caps the desired speed.
    pub fn acceleration(net: &RoadNetwork, ego: &Vehicle, front: Option<&Vehicle>) -> f64 {
        let delta = match ego.driver {
            Driver::Idm { delta, .. } => delta,
            _ => 4.0,
        };
        let mut target = ego.target_speed;
        if let Some(lane) = net.lane(ego.lane) {
            target = target.clamp(0.0, lane.speed_limit);
        }
        let mut acc = COMFORT_ACC_MAX * (1.0 - (ego.speed.max(0.0) / not_zero(target).abs()).powf(delta));
        if let Some(front) = front {
            let d = ego.lane_distance_to(net, front);
            acc -= COMFORT_ACC_MAX * (Self::desired_gap(ego, front) / not_zero(d)).powi(2);
        }
        acc
    }

    /// IDM's desired gap to `front`.
    pub fn desired_gap(ego: &Vehicle, front: &Vehicle) -> f64 {
        let ab = -COMFORT_ACC_MAX * COMFORT_ACC_MIN;
        // (v_ego - v_front) · d_ego, with one cosine instead of three sin/cos pairs.
        let dv = ego.speed - front.speed * (front.heading - ego.heading).cos();
        DISTANCE_WANTED + ego.speed * TIME_WANTED + ego.speed * dv / (2.0 * ab.sqrt())
    }
}

/// Vehicles of a single-segment road sorted along it, rebuilt every simulation frame
/// so that [`neighbours`] needs a binary search and a short scan instead of a pass
/// over every vehicle (the highway's hot path: ~100 queries a frame).
#[derive(Clone, Debug, Default)]
pub struct NeighbourIndex {
    segment: Option<(u16, u16)>,
    sorted: Vec<(f64, usize)>,
}

impl NeighbourIndex {
    /// Rebuilds the index when the network is one segment of parallel lanes; clears it otherwise.
    pub fn rebuild(&mut self, net: &RoadNetwork, vehicles: &[Vehicle]) {
        self.sorted.clear();
        self.segment = None;
        // Only straight parallel lanes share their longitudinal coordinate.
        if net.num_segments() != 1 || net.lanes().any(|(_, l)| !matches!(l.geometry, super::road::Geometry::Straight { .. })) {
            return;
        }
        let Some((first, lane)) = net.lanes().next() else { return };
        self.segment = Some((first.from, first.to));
        self.sorted.extend(vehicles.iter().enumerate().map(|(i, v)| (lane.local_coordinates(v.position).0, i)));
        self.sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }

    fn covers(&self, lane: LaneIndex) -> bool {
        self.segment == Some((lane.from, lane.to))
    }
}

/// The vehicles just ahead of and behind point `position` on `lane`, excluding `skip`:
/// every vehicle within the lane (1 m margin) counts (highway-env's `neighbour_vehicles`).
/// With an `index` covering the lane's segment, the same answer comes from a sorted scan.
pub fn neighbours(
    net: &RoadNetwork,
    vehicles: &[Vehicle],
    skip: usize,
    position: [f64; 2],
    lane: LaneIndex,
) -> (Option<usize>, Option<usize>) {
    neighbours_indexed(net, vehicles, None, skip, position, lane)
}

/// [`neighbours`] using `index` when it covers `lane`.
pub fn neighbours_indexed(
    net: &RoadNetwork,
    vehicles: &[Vehicle],
    index: Option<&NeighbourIndex>,
    skip: usize,
    position: [f64; 2],
    lane: LaneIndex,
) -> (Option<usize>, Option<usize>) {
    let Some(l) = net.lane(lane) else { return (None, None) };
    let s = l.local_coordinates(position).0;
    if let Some(index) = index.filter(|ix| ix.covers(lane)) {
        // Parallel lanes share their longitudinal coordinate, so the sorted order holds.
        let start = index.sorted.partition_point(|&(sv, _)| sv < s);
        let on = |i: usize| {
            let (sv, lat) = l.local_coordinates(vehicles[i].position);
            (i != skip && l.on_lane(sv, lat, 1.0)).then_some(sv)
        };
        let front = index.sorted[start..].iter().find_map(|&(_, i)| on(i).filter(|&sv| sv >= s).map(|_| i));
        let rear = index.sorted[..start].iter().rev().find_map(|&(_, i)| on(i).filter(|&sv| sv < s).map(|_| i));
        return (front, rear);
    }
    let (mut front, mut rear) = ((f64::INFINITY, None), (f64::NEG_INFINITY, None));
    for (i, v) in vehicles.iter().enumerate() {
        if i == skip {
            continue;
        }
        let (sv, lat) = l.local_coordinates(v.position);
        if !l.on_lane(sv, lat, 1.0) {
            continue;
        }
        if s <= sv && sv <= front.0 {
            front = (sv, Some(i));
        }
        if sv < s && sv > rear.0 {
            rear = (sv, Some(i));
        }
    }
    (front.1, rear.1)
}

/// Decides steering and acceleration for traffic vehicle `i` (IDM + MOBIL).
pub fn act_idm(
    net: &RoadNetwork,
    vehicles: &mut [Vehicle],
    i: usize,
    pick: &mut dyn FnMut(usize) -> usize,
    index: Option<&NeighbourIndex>,
) {
    if vehicles[i].crashed {
        return;
    }
    vehicles[i].follow_road(net, pick);
    let lane_changes = matches!(vehicles[i].driver, Driver::Idm { lane_changes: true, .. });
    if lane_changes {
        change_lane_policy(net, vehicles, i, index);
    }
    let v = &vehicles[i];
    let steering = v.steering_control(net, v.target_lane);
    let (front, _) = neighbours_indexed(net, vehicles, index, i, v.position, v.lane);
    let mut acc = Idm::acceleration(net, v, front.map(|f| &vehicles[f]));
    if v.lane != v.target_lane {
        let (front, _) = neighbours_indexed(net, vehicles, index, i, v.position, v.target_lane);
        acc = acc.min(Idm::acceleration(net, v, front.map(|f| &vehicles[f])));
    }
    let v = &mut vehicles[i];
    v.steering = steering;
    v.acceleration = acc.clamp(-ACC_MAX, ACC_MAX);
}

/// MOBIL: abort a lane change that cuts someone off; otherwise, every
/// `LANE_CHANGE_DELAY` seconds, move to a side lane if it pays off.
fn change_lane_policy(net: &RoadNetwork, vehicles: &mut [Vehicle], i: usize, index: Option<&NeighbourIndex>) {
    let v = &vehicles[i];
    if v.lane != v.target_lane {
        if v.lane.from == v.target_lane.from && v.lane.to == v.target_lane.to {
            for (j, o) in vehicles.iter().enumerate() {
                if j != i && o.lane != v.target_lane && o.target_lane == v.target_lane && !matches!(o.driver, Driver::Parked) {
                    let d = v.lane_distance_to(net, o);
                    if 0.0 < d && d < Idm::desired_gap(v, o) {
                        let lane = v.lane;
                        vehicles[i].target_lane = lane;
                        break;
                    }
                }
            }
        }
        return;
    }
    let Driver::Idm { timer, .. } = v.driver else { return };
    // highway-env's do_every(duration, timer): act when the timer passed the delay.
    if timer < LANE_CHANGE_DELAY {
        return;
    }
    if let Driver::Idm { timer, .. } = &mut vehicles[i].driver {
        *timer = 0.0;
    }
    let candidates: [Option<LaneIndex>; 2] = {
        let mut it = net.side_lanes(vehicles[i].lane);
        [it.next(), it.next()]
    };
    for lane in candidates.into_iter().flatten() {
        let v = &vehicles[i];
        if !net.lane(lane).is_some_and(|l| l.is_reachable_from(v.position)) || v.speed.abs() < 1.0 {
            continue;
        }
        if mobil(net, vehicles, i, lane, index) {
            vehicles[i].target_lane = lane;
        }
    }
}

/// MOBIL's incentive and safety criteria for vehicle `i` moving to `lane`.
fn mobil(net: &RoadNetwork, vehicles: &[Vehicle], i: usize, lane: LaneIndex, index: Option<&NeighbourIndex>) -> bool {
    let v = &vehicles[i];
    let politeness = match v.driver {
        Driver::Idm { politeness, .. } => politeness,
        _ => 0.0,
    };
    let (new_front, new_rear) = neighbours_indexed(net, vehicles, index, i, v.position, lane);
    let acc = |ego: Option<usize>, front: Option<&Vehicle>| ego.map_or(0.0, |e| Idm::acceleration(net, &vehicles[e], front));
    let new_rear_a = acc(new_rear, new_front.map(|f| &vehicles[f]));
    let new_rear_pred_a = acc(new_rear, Some(v));
    if new_rear_pred_a < -LANE_CHANGE_MAX_BRAKING_IMPOSED {
        return false;
    }
    let (old_front, old_rear) = neighbours_indexed(net, vehicles, index, i, v.position, v.lane);
    let self_pred_a = Idm::acceleration(net, v, new_front.map(|f| &vehicles[f]));
    let self_a = Idm::acceleration(net, v, old_front.map(|f| &vehicles[f]));
    let old_rear_a = acc(old_rear, Some(v));
    let old_rear_pred_a = acc(old_rear, old_front.map(|f| &vehicles[f]));
    let jerk = self_pred_a - self_a + politeness * (new_rear_pred_a - new_rear_a + old_rear_pred_a - old_rear_a);
    jerk >= LANE_CHANGE_MIN_ACC_GAIN
}

/// Whether two vehicles' footprints overlap: a distance check, then rapier's exact
/// cuboid test (through [`crate::sim::rectangles_overlap`]).
pub fn overlapping(a: &Vehicle, b: &Vehicle) -> bool {
    let (dx, dy) = (b.position[0] - a.position[0], b.position[1] - a.position[1]);
    let reach = (LENGTH * LENGTH + WIDTH * WIDTH).sqrt();
    if dx * dx + dy * dy > reach * reach {
        return false;
    }
    let footprint = |v: &Vehicle| PlanarBox { center: v.position, heading: v.heading, half_extents: [LENGTH / 2.0, WIDTH / 2.0] };
    rectangles_overlap(&footprint(a), &footprint(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_road(net: &RoadNetwork, x: f64, lane_id: u16, speed: f64, driver: Driver) -> Vehicle {
        let y = lane_id as f64 * 4.0;
        Vehicle::new([x, y], 0.0, speed, net.closest_lane([x, y], 0.0), driver)
    }

    fn idm() -> Driver {
        Driver::Idm { delta: 4.0, politeness: 0.0, timer: 0.0, lane_changes: true }
    }

    #[test]
    fn bicycle_model_goes_straight_and_turns() {
        let net = RoadNetwork::straight_road(2, 1000.0, 30.0);
        let mut v = on_road(&net, 0.0, 0, 10.0, Driver::ContinuousAgent);
        v.acceleration = 1.0;
        for _ in 0..10 {
            v.step(0.1);
        }
        assert!((v.position[0] - 10.45).abs() < 1e-9 && (v.speed - 11.0).abs() < 1e-9);
        v.steering = 0.2;
        v.acceleration = 0.0;
        v.step(0.1);
        assert!(v.heading > 0.0, "positive steering turns towards +y");
    }

    #[test]
    fn idm_follows_at_a_safe_gap_and_free_road_reaches_the_target_speed() {
        let net = RoadNetwork::straight_road(1, 10_000.0, 30.0);
        let mut vehicles = vec![on_road(&net, 0.0, 0, 20.0, idm()), on_road(&net, 60.0, 0, 20.0, idm())];
        vehicles[0].target_speed = 30.0;
        vehicles[1].target_speed = 15.0;
        for _ in 0..600 {
            for i in 0..2 {
                act_idm(&net, &mut vehicles, i, &mut |_| 0, None);
            }
            for v in &mut vehicles {
                v.step(0.1);
            }
        }
        let gap = vehicles[1].position[0] - vehicles[0].position[0];
        assert!((vehicles[1].speed - 15.0).abs() < 0.5, "leader at its target: {}", vehicles[1].speed);
        assert!((vehicles[0].speed - 15.0).abs() < 0.5, "follower matches the leader: {}", vehicles[0].speed);
        assert!(gap > DISTANCE_WANTED + 15.0 * TIME_WANTED - 2.0, "keeps the desired gap: {gap}");
        assert!(!overlapping(&vehicles[0], &vehicles[1]));
    }

    #[test]
    fn mobil_overtakes_a_slow_leader() {
        let net = RoadNetwork::straight_road(2, 10_000.0, 30.0);
        let mut vehicles = vec![
            on_road(&net, 0.0, 1, 25.0, idm()),
            on_road(&net, 40.0, 1, 15.0, Driver::Idm { delta: 4.0, politeness: 0.0, timer: 0.0, lane_changes: false }),
        ];
        vehicles[0].target_speed = 30.0;
        vehicles[1].target_speed = 15.0;
        for _ in 0..300 {
            for i in 0..2 {
                act_idm(&net, &mut vehicles, i, &mut |_| 0, None);
            }
            for v in &mut vehicles {
                v.step(0.1);
                v.lane = net.closest_lane(v.position, v.heading);
            }
        }
        assert!(vehicles[0].position[0] > vehicles[1].position[0], "passed the slow car");
        assert!(!vehicles.iter().any(|v| v.crashed));
    }

    #[test]
    fn indexed_neighbours_match_the_full_scan() {
        use rand::{Rng, SeedableRng};
        let net = RoadNetwork::straight_road(4, 10_000.0, 30.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let vehicles: Vec<Vehicle> = (0..60)
            .map(|_| {
                let p = [rng.random_range(0.0..800.0), rng.random_range(-2.0..14.0)];
                Vehicle::new(p, rng.random_range(-0.1..0.1), 25.0, net.closest_lane(p, 0.0), idm())
            })
            .collect();
        let mut index = NeighbourIndex::default();
        index.rebuild(&net, &vehicles);
        for i in 0..vehicles.len() {
            for id in 0..4 {
                let lane = LaneIndex { id, ..vehicles[i].lane };
                assert_eq!(
                    neighbours_indexed(&net, &vehicles, Some(&index), i, vehicles[i].position, lane),
                    neighbours(&net, &vehicles, i, vehicles[i].position, lane),
                    "vehicle {i}, lane {id}"
                );
            }
        }
    }

    #[test]
    fn the_index_stays_off_on_curved_roads() {
        // Regression: on an arc, lanes of one segment have different lengths, so a
        // shared sorted order would skip neighbours.
        let mut net = RoadNetwork::new();
        for k in 0..2 {
            let lane = super::super::road::Lane::circular(
                [0.0, 0.0],
                50.0 - 4.0 * k as f64,
                0.0,
                1.5,
                true,
                4.0,
                [super::super::road::LineType::Striped; 2],
                20.0,
            );
            net.add_lane("a", "b", lane);
        }
        let vehicles: Vec<Vehicle> = (0..6)
            .map(|k| {
                let lane = LaneIndex { from: 0, to: 1, id: (k % 2) as u16 };
                let p = net.lane(lane).map_or([0.0; 2], |l| l.position(5.0 + 9.0 * k as f64, 0.0));
                Vehicle::new(p, 0.0, 10.0, lane, idm())
            })
            .collect();
        let mut index = NeighbourIndex::default();
        index.rebuild(&net, &vehicles);
        for i in 0..vehicles.len() {
            for id in 0..2 {
                let lane = LaneIndex { from: 0, to: 1, id };
                assert_eq!(
                    neighbours_indexed(&net, &vehicles, Some(&index), i, vehicles[i].position, lane),
                    neighbours(&net, &vehicles, i, vehicles[i].position, lane)
                );
            }
        }
    }

    #[test]
    fn rectangles_overlap_only_when_touching() {
        let net = RoadNetwork::straight_road(2, 100.0, 30.0);
        let a = on_road(&net, 10.0, 0, 0.0, Driver::Parked);
        let mut b = on_road(&net, 14.9, 0, 0.0, Driver::Parked);
        assert!(overlapping(&a, &b));
        b.position[0] = 15.1;
        assert!(!overlapping(&a, &b));
        b.position = [10.0, 2.1];
        assert!(!overlapping(&a, &b));
        b.heading = std::f64::consts::FRAC_PI_2;
        b.position = [10.0, 3.0];
        assert!(overlapping(&a, &b), "a car turned across touches");
    }
}
