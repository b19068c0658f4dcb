//! The driving environment: the simulation loop, observations, actions and rewards.

use std::f64::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{ActionKind, DrivingConfig, ObservationKind, SceneKind};
use super::road::{Geometry, LANE_WIDTH, LaneIndex, RoadNetwork, wrap_to_pi};
use super::scene;
use super::vehicle::{Driver, LENGTH, MAX_SPEED, NeighbourIndex, Vehicle, WIDTH, act_idm, neighbours, overlapping};
use crate::env::{Action, AgentRows, BoxSpace, EnvError, Info, ParallelEnv, ResetOptions, Space, check_action, check_obs_len};
use crate::snapshot::{Class, ObjectState, Shape, Snapshot};
use crate::util::seed::{DEFAULT_SEED, rng_from_seed};

/// Kinematics features per vehicle: presence, x, y, vx, vy, cos h, sin h.
const FEATURES: usize = 7;
/// Vehicles farther than this are not observed (highway-env's perception distance).
const PERCEPTION_DISTANCE: f64 = 5.0 * MAX_SPEED;
/// Parking: weights of [x, y, vx, vy, cos h, sin h] in the goal distance, and its exponent.
const PARKING_WEIGHTS: [f64; 6] = [1.0, 0.3, 0.0, 0.0, 0.02, 0.02];
const PARKING_SCALES: [f64; 6] = [100.0, 100.0, 5.0, 5.0, 1.0, 1.0];
const PARKING_SUCCESS: f64 = 0.12;
/// Merge: the ego finishes the scene past this x.
const MERGE_END_X: f64 = 370.0;

fn lmap(v: f64, from: [f64; 2], to: [f64; 2]) -> f64 {
    to[0] + (v - from[0]) * (to[1] - to[0]) / (from[1] - from[0])
}

/// A driving scene with one or more controlled vehicles: the multi-agent core
/// ([`ParallelEnv`]); [`Joint`](crate::env::Joint) is the single-agent view.
pub struct DrivingEnv {
    cfg: DrivingConfig,
    rng: ChaCha8Rng,
    net: RoadNetwork,
    vehicles: Vec<Vehicle>,
    n_egos: usize,
    goals: Vec<[f64; 3]>,
    time: f64,
    lane_changed: Vec<bool>,
    names: Vec<String>,
    obs_space: Space,
    act_space: Space,
    has_reset: bool,
    /// Scratch: (distance, vehicle) pairs for nearest-vehicle queries.
    near: Vec<(f64, usize)>,
    /// Vehicles sorted along the road, rebuilt every frame for neighbour queries.
    index: NeighbourIndex,
    /// The id the next spawned vehicle gets.
    next_id: u32,
    /// Simulation frames since the reset (right of way is enforced twice a second).
    frames: u64,
    /// Whether any lane has a priority, so right of way applies.
    regulated: bool,
}

impl DrivingEnv {
    /// Builds the scene; call `reset` before stepping.
    pub fn new(cfg: DrivingConfig) -> Result<Self, EnvError> {
        cfg.validate()?;
        let obs_space = Self::observation_space_for(&cfg)?;
        let act_space = match cfg.actions {
            ActionKind::Meta => Space::discrete(5)?,
            ActionKind::Continuous => Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![2])?),
        };
        let n = cfg.controlled_vehicles;
        Ok(Self {
            rng: rng_from_seed(DEFAULT_SEED),
            net: RoadNetwork::new(),
            vehicles: Vec::new(),
            n_egos: n,
            goals: Vec::new(),
            time: 0.0,
            lane_changed: vec![false; n],
            names: (0..n).map(|i| format!("ego_{i}")).collect(),
            obs_space,
            act_space,
            has_reset: false,
            near: Vec::new(),
            index: NeighbourIndex::default(),
            next_id: 0,
            frames: 0,
            regulated: false,
            cfg,
        })
    }

    fn observation_space_for(cfg: &DrivingConfig) -> Result<Space, EnvError> {
        if cfg.scene == SceneKind::Parking {
            let b = || BoxSpace::uniform(f32::NEG_INFINITY, f32::INFINITY, vec![6]).map(Space::Box);
            return Space::dict(vec![("observation".into(), b()?), ("achieved_goal".into(), b()?), ("desired_goal".into(), b()?)]);
        }
        Ok(match cfg.observation {
            ObservationKind::Kinematics => Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![cfg.vehicles_count * FEATURES])?),
            ObservationKind::Lidar => Space::Box(BoxSpace::uniform(0.0, 1.0, vec![cfg.lidar_rays])?),
            ObservationKind::OccupancyGrid => Space::Box(BoxSpace::uniform(0.0, 1.0, vec![cfg.grid_cells * cfg.grid_cells])?),
            ObservationKind::TimeToCollision => Space::Box(BoxSpace::uniform(0.0, 1.0, vec![6])?),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DrivingConfig {
        &self.cfg
    }

    /// The road network.
    pub fn network(&self) -> &RoadNetwork {
        &self.net
    }

    /// Every vehicle; the controlled ones come first.
    pub fn vehicles(&self) -> &[Vehicle] {
        &self.vehicles
    }

    /// Every vehicle, mutably, to script scenarios (place a car, stop one, …).
    pub fn vehicles_mut(&mut self) -> &mut Vec<Vehicle> {
        &mut self.vehicles
    }

    /// The parking goal `[x, y, heading]` of ego `i`.
    pub fn goal(&self, i: usize) -> Option<[f64; 3]> {
        self.goals.get(i).copied()
    }

    /// Ego `i`'s reward, terminated flag, and the episode's truncated flag, as the
    /// last step left them; `None` before a reset or for a missing ego.
    pub fn outcome(&self, i: usize) -> Option<(f64, bool, bool)> {
        (self.has_reset && i < self.n_egos.min(self.vehicles.len())).then(|| (self.reward(i), self.terminated(i), self.truncated()))
    }

    /// Simulated seconds since the reset.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// The observation space of one ego.
    pub fn agent_observation_space(&self) -> &Space {
        &self.obs_space
    }

    /// The action space of one ego.
    pub fn agent_action_space(&self) -> &Space {
        &self.act_space
    }

    /// Starts an episode: builds the road and traffic from the seed.
    pub fn reset_state(&mut self, seed: Option<u64>) -> Result<(), EnvError> {
        if let Some(s) = seed {
            self.rng = rng_from_seed(s);
        }
        let mut cfg = self.cfg.clone();
        if cfg.randomize {
            // Procedural variation drawn from the episode's stream.
            if cfg.scene == SceneKind::Highway {
                cfg.lanes = self.rng.random_range(2..=5);
            }
            cfg.vehicles = ((cfg.vehicles as f64) * self.rng.random_range(0.6..1.4)).round() as usize;
            cfg.density *= self.rng.random_range(0.7..1.3);
        }
        let built = scene::build(&cfg, &mut self.rng);
        self.net = built.net;
        self.vehicles = built.vehicles;
        self.next_id = self.vehicles.len() as u32;
        self.frames = 0;
        self.regulated = self.net.lanes().any(|(_, l)| l.priority != 0);
        self.goals = built.goals;
        self.time = 0.0;
        self.lane_changed.fill(false);
        self.has_reset = true;
        Ok(())
    }

    /// Applies ego `i`'s action for the coming policy step.
    fn apply_action(&mut self, i: usize, action: Action<'_>) {
        let net = &self.net;
        let v = &mut self.vehicles[i];
        self.lane_changed[i] = false;
        match (action, &v.driver) {
            (Action::Discrete(a), Driver::MetaAgent { target_speeds }) => {
                let speeds = target_speeds.clone();
                if speeds.is_empty() {
                    return;
                }
                let speed_index = |speed: f64| -> usize {
                    let (lo, hi) = (speeds[0], speeds[speeds.len() - 1]);
                    let x = (speed - lo) / (hi - lo);
                    (x * (speeds.len() - 1) as f64).round().clamp(0.0, (speeds.len() - 1) as f64) as usize
                };
                match a {
                    0 | 2 => {
                        let count = (net.lanes_in(v.target_lane.from, v.target_lane.to) as i64).max(1);
                        let id = (v.target_lane.id as i64 + if a == 0 { -1 } else { 1 }).clamp(0, count - 1) as u16;
                        let target = LaneIndex { id, ..v.target_lane };
                        if target != v.target_lane && net.lane(target).is_some_and(|l| l.is_reachable_from(v.position)) {
                            v.target_lane = target;
                            self.lane_changed[i] = true;
                        }
                    }
                    3 => v.target_speed = speeds[(speed_index(v.speed) + 1).min(speeds.len() - 1)],
                    4 => v.target_speed = speeds[speed_index(v.speed).saturating_sub(1)],
                    _ => {}
                }
            }
            (Action::Continuous(a), _) => {
                v.acceleration = a[0] as f64 * 5.0;
                v.steering = a[1] as f64 * PI / 4.0;
            }
            _ => {}
        }
    }

    /// Runs one policy step's worth of simulation frames.
    fn simulate(&mut self) {
        let frames = self.cfg.simulation_frequency / self.cfg.policy_frequency;
        let dt = 1.0 / self.cfg.simulation_frequency as f64;
        let regulate_every = (self.cfg.simulation_frequency / 2).max(1);
        for _ in 0..frames {
            self.index.rebuild(&self.net, &self.vehicles);
            let index = Some(&self.index);
            let rng = &mut self.rng;
            let mut pick = |n: usize| rng.random_range(0..n.max(1));
            for i in 0..self.vehicles.len() {
                match self.vehicles[i].driver {
                    Driver::MetaAgent { .. } => {
                        let v = &mut self.vehicles[i];
                        if v.crashed {
                            continue;
                        }
                        v.follow_road(&self.net, &mut pick);
                        v.steering = v.steering_control(&self.net, v.target_lane);
                        v.acceleration = v.speed_control(v.target_speed);
                    }
                    Driver::Idm { .. } => act_idm(&self.net, &mut self.vehicles, i, &mut pick, index),
                    Driver::ContinuousAgent | Driver::Parked => {}
                }
            }
            if self.regulated && self.frames.is_multiple_of(regulate_every as u64) {
                self.enforce_priorities();
            }
            self.frames += 1;
            for v in &mut self.vehicles {
                v.step(dt);
                if !matches!(v.driver, Driver::Parked) {
                    v.lane = self.net.closest_lane_near(v.position, v.heading, v.lane);
                }
            }
            self.collide();
        }
        self.time += 1.0 / self.cfg.policy_frequency as f64;
    }

    /// Marks overlapping vehicles as crashed.
    fn collide(&mut self) {
        let n = self.vehicles.len();
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = (&self.vehicles[i], &self.vehicles[j]);
                if matches!((&a.driver, &b.driver), (Driver::Parked, Driver::Parked)) {
                    continue;
                }
                if overlapping(a, b) {
                    self.vehicles[i].crashed = true;
                    self.vehicles[j].crashed = true;
                }
            }
        }
    }

    /// Right of way at the intersection (highway-env's `RegulatedRoad`): when two
    /// vehicles' constant-speed predictions meet within 3 s, the traffic vehicle on the
    /// lower-priority lane (or the one behind) stops until the conflict is gone.
    fn enforce_priorities(&mut self) {
        let n = self.vehicles.len();
        for v in self.vehicles.iter_mut().skip(self.n_egos) {
            if v.target_speed == 0.0 {
                v.target_speed = self.net.lane(v.lane).map_or(9.0, |l| l.speed_limit);
            }
        }
        for i in 0..n {
            for j in i + 1..n {
                if !self.conflict(i, j) {
                    continue;
                }
                let (a, b) = (&self.vehicles[i], &self.vehicles[j]);
                let (pa, pb) = (self.net.lane(a.lane).map_or(0, |l| l.priority), self.net.lane(b.lane).map_or(0, |l| l.priority));
                let yielding = if pa != pb {
                    if pa > pb { j } else { i }
                } else if a.lane_distance_to(&self.net, b) > b.lane_distance_to(&self.net, a) {
                    i
                } else {
                    j
                };
                if yielding >= self.n_egos {
                    self.vehicles[yielding].target_speed = 0.0;
                }
            }
        }
    }

    fn conflict(&self, i: usize, j: usize) -> bool {
        let (a, b) = (&self.vehicles[i], &self.vehicles[j]);
        let (va, vb) = (a.velocity(), b.velocity());
        let mut t = 0.25;
        while t < 3.0 {
            let pa = [a.position[0] + va[0] * t, a.position[1] + va[1] * t];
            let pb = [b.position[0] + vb[0] * t, b.position[1] + vb[1] * t];
            if ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt() < 1.5 * LENGTH {
                return true;
            }
            t += 0.25;
        }
        false
    }

    fn on_road(&self, v: &Vehicle) -> bool {
        self.net.lane(v.lane).is_some_and(|l| {
            let (s, lat) = l.local_coordinates(v.position);
            l.on_lane(s, lat, 0.0)
        })
    }

    /// Ego `i`'s reward for the last step (highway-env's per-scene rewards).
    fn reward(&self, i: usize) -> f64 {
        let cfg = &self.cfg;
        let v = &self.vehicles[i];
        if cfg.scene == SceneKind::Parking {
            let achieved = Self::goal_features(v.position, v.heading, v.speed);
            return -self.goal_distance(&achieved, i) + cfg.collision_reward * f64::from(u8::from(v.crashed));
        }
        let crashed = f64::from(u8::from(v.crashed));
        let forward =
            v.speed * (v.heading - self.net.lane(v.lane).map_or(v.heading, |l| l.heading_at(l.local_coordinates(v.position).0))).cos();
        let scaled_speed = lmap(forward, cfg.reward_speed_range, [0.0, 1.0]).clamp(0.0, 1.0);
        let lanes = self.net.lanes_in(v.lane.from, v.lane.to).max(1);
        let lane = match v.driver {
            Driver::MetaAgent { .. } => v.target_lane.id,
            _ => v.lane.id,
        } as f64;
        let right_lane = lane / (lanes as f64 - 1.0).max(1.0);
        let lane_change = f64::from(u8::from(self.lane_changed[i]));
        let mut reward = cfg.collision_reward * crashed
            + cfg.high_speed_reward * scaled_speed
            + cfg.right_lane_reward * right_lane
            + cfg.lane_change_reward * lane_change;
        let mut worst = cfg.collision_reward + cfg.lane_change_reward.min(0.0);
        if cfg.scene == SceneKind::Merge {
            // Penalise traffic slowed down on the merge lane (highway-env's merging_speed_reward).
            let slowed: f64 = self.vehicles[self.n_egos..]
                .iter()
                .filter(|o| self.net.node_name(o.lane.from) == "b" && o.lane.id == 2)
                .map(|o| (o.target_speed - o.speed) / o.target_speed.max(1e-6))
                .sum();
            reward += -0.5 * slowed;
            worst += -0.5;
        }
        if cfg.scene == SceneKind::Intersection && self.arrived(i) {
            reward = 1.0;
        }
        if cfg.normalize_reward {
            reward = lmap(reward, [worst, cfg.high_speed_reward + cfg.right_lane_reward], [0.0, 1.0]);
        }
        reward * f64::from(u8::from(self.on_road(v)))
    }

    fn arrived(&self, i: usize) -> bool {
        let v = &self.vehicles[i];
        self.net.node_name(v.lane.from).starts_with("il")
            && self.net.node_name(v.lane.to).starts_with('o')
            && self.net.lane(v.lane).is_some_and(|l| l.local_coordinates(v.position).0 >= 25.0)
    }

    fn terminated(&self, i: usize) -> bool {
        let v = &self.vehicles[i];
        v.crashed
            || match self.cfg.scene {
                SceneKind::Merge => v.position[0] > MERGE_END_X,
                SceneKind::Intersection => self.arrived(i),
                SceneKind::Parking => {
                    let achieved = Self::goal_features(v.position, v.heading, v.speed);
                    self.goal_distance(&achieved, i) < PARKING_SUCCESS
                }
                _ => false,
            }
    }

    fn truncated(&self) -> bool {
        self.time >= self.cfg.duration - 1e-9
    }

    fn goal_features(p: [f64; 2], heading: f64, speed: f64) -> [f64; 6] {
        [p[0], p[1], speed * heading.cos(), speed * heading.sin(), heading.cos(), heading.sin()]
    }

    /// Parking: `(Σ w |achieved - desired| / scale)^0.5`.
    fn goal_distance(&self, achieved: &[f64; 6], i: usize) -> f64 {
        let g = self.goals.get(i).copied().unwrap_or([0.0; 3]);
        let desired = Self::goal_features([g[0], g[1]], g[2], 0.0);
        (0..6).map(|k| PARKING_WEIGHTS[k] * ((achieved[k] - desired[k]) / PARKING_SCALES[k]).abs()).sum::<f64>().powf(0.5)
    }

    /// Writes ego `i`'s observation (see [`ObservationKind`]).
    pub fn observe(&mut self, i: usize, out: &mut [f32]) -> Result<(), EnvError> {
        check_obs_len(&self.obs_space, out)?;
        if i >= self.n_egos.min(self.vehicles.len()) || !self.has_reset {
            return Err(EnvError::ResetNeeded);
        }
        let ego = self.vehicles[i].clone();
        if self.cfg.scene == SceneKind::Parking {
            let obs = Self::goal_features(ego.position, ego.heading, ego.speed);
            let g = self.goals.get(i).copied().unwrap_or([0.0; 3]);
            let desired = Self::goal_features([g[0], g[1]], g[2], 0.0);
            for k in 0..6 {
                out[k] = (obs[k] / PARKING_SCALES[k]) as f32;
                out[6 + k] = (obs[k] / PARKING_SCALES[k]) as f32;
                out[12 + k] = (desired[k] / PARKING_SCALES[k]) as f32;
            }
            return Ok(());
        }
        match self.cfg.observation {
            ObservationKind::Kinematics => self.observe_kinematics(i, &ego, out),
            ObservationKind::Lidar => self.observe_lidar(i, &ego, out),
            ObservationKind::OccupancyGrid => self.observe_grid(i, &ego, out),
            ObservationKind::TimeToCollision => self.observe_ttc(i, &ego, out),
        }
        Ok(())
    }

    fn observe_kinematics(&mut self, i: usize, ego: &Vehicle, out: &mut [f32]) {
        out.fill(0.0);
        let side = self.net.lanes_in(ego.lane.from, ego.lane.to).max(1) as f64;
        // highway-env's feature ranges: per scene for the junctions, else from speeds and lanes.
        let ranges = match self.cfg.scene {
            SceneKind::Intersection => [[-100.0, 100.0], [-100.0, 100.0], [-20.0, 20.0]],
            SceneKind::Roundabout => [[-100.0, 100.0], [-100.0, 100.0], [-15.0, 15.0]],
            _ => {
                [[-PERCEPTION_DISTANCE, PERCEPTION_DISTANCE], [-LANE_WIDTH * side, LANE_WIDTH * side], [-2.0 * MAX_SPEED, 2.0 * MAX_SPEED]]
            }
        };
        let see_behind = false;
        let absolute = self.cfg.absolute;
        let write = |row: &mut [f32], v: &Vehicle, origin: Option<&Vehicle>| {
            let (mut x, mut y) = (v.position[0], v.position[1]);
            let [mut vx, mut vy] = v.velocity();
            if let Some(o) = origin {
                let ov = o.velocity();
                (x, y, vx, vy) = (x - o.position[0], y - o.position[1], vx - ov[0], vy - ov[1]);
            }
            let norm = |val: f64, r: [f64; 2]| lmap(val, r, [-1.0, 1.0]).clamp(-1.0, 1.0) as f32;
            row[0] = 1.0;
            row[1] = norm(x, ranges[0]);
            row[2] = norm(y, ranges[1]);
            row[3] = norm(vx, ranges[2]);
            row[4] = norm(vy, ranges[2]);
            row[5] = v.heading.cos() as f32;
            row[6] = v.heading.sin() as f32;
        };
        write(&mut out[..FEATURES], ego, None);
        self.near.clear();
        for (j, v) in self.vehicles.iter().enumerate() {
            if j == i {
                continue;
            }
            let d = ((v.position[0] - ego.position[0]).powi(2) + (v.position[1] - ego.position[1]).powi(2)).sqrt();
            if d > PERCEPTION_DISTANCE || (!see_behind && ego.lane_distance_to(&self.net, v) <= -2.0 * LENGTH) {
                continue;
            }
            self.near.push((d, j));
        }
        self.near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (row, &(_, j)) in out.chunks_mut(FEATURES).skip(1).zip(&self.near) {
            write(row, &self.vehicles[j], if absolute { None } else { Some(ego) });
        }
    }

    fn observe_lidar(&self, i: usize, ego: &Vehicle, out: &mut [f32]) {
        out.fill(1.0);
        let rays = out.len();
        let range = self.cfg.lidar_range;
        let half_diag = 0.5 * (LENGTH * LENGTH + WIDTH * WIDTH).sqrt();
        for (j, v) in self.vehicles.iter().enumerate() {
            if j == i {
                continue;
            }
            let (dx, dy) = (v.position[0] - ego.position[0], v.position[1] - ego.position[1]);
            let d = (dx * dx + dy * dy).sqrt();
            if d > range + half_diag {
                continue;
            }
            // Each vehicle shadows the sectors within its angular radius, at its near edge.
            let angle = wrap_to_pi(dy.atan2(dx) - ego.heading).rem_euclid(2.0 * PI);
            let half = (half_diag / d.max(half_diag)).asin();
            let dist = ((d - half_diag).max(0.0) / range).min(1.0) as f32;
            let sector = 2.0 * PI / rays as f64;
            let (lo, hi) = (((angle - half) / sector).floor() as i64, ((angle + half) / sector).floor() as i64);
            for k in lo..=hi {
                let idx = k.rem_euclid(rays as i64) as usize;
                out[idx] = out[idx].min(dist);
            }
        }
    }

    fn observe_grid(&self, i: usize, ego: &Vehicle, out: &mut [f32]) {
        out.fill(0.0);
        let n = self.cfg.grid_cells as i64;
        let step = self.cfg.grid_step;
        let (s, c) = ego.heading.sin_cos();
        for (j, v) in self.vehicles.iter().enumerate() {
            if j == i {
                continue;
            }
            let (dx, dy) = (v.position[0] - ego.position[0], v.position[1] - ego.position[1]);
            let (fx, fy) = (c * dx + s * dy, -s * dx + c * dy);
            let (cx, cy) = ((fx / step + n as f64 / 2.0).floor() as i64, (fy / step + n as f64 / 2.0).floor() as i64);
            if (0..n).contains(&cx) && (0..n).contains(&cy) {
                out[(cy * n + cx) as usize] = 1.0;
            }
        }
    }

    fn observe_ttc(&self, i: usize, ego: &Vehicle, out: &mut [f32]) {
        let horizon = self.cfg.ttc_horizon;
        let count = self.net.lanes_in(ego.lane.from, ego.lane.to) as i64;
        for (k, offset) in [-1i64, 0, 1].into_iter().enumerate() {
            let id = ego.lane.id as i64 + offset;
            if id < 0 || id >= count {
                out[k] = 0.0;
                out[3 + k] = 0.0;
                continue;
            }
            let lane = LaneIndex { id: id as u16, ..ego.lane };
            let (front, _) = neighbours(&self.net, &self.vehicles, i, ego.position, lane);
            let ttc = front.map_or(f64::INFINITY, |f| {
                let other = &self.vehicles[f];
                let gap = self
                    .net
                    .lane(lane)
                    .map_or(f64::INFINITY, |l| l.local_coordinates(other.position).0 - l.local_coordinates(ego.position).0)
                    - LENGTH;
                let closing = ego.speed - other.speed * (other.heading - ego.heading).cos();
                if closing > 0.0 { gap.max(0.0) / closing } else { f64::INFINITY }
            });
            out[k] = (ttc.min(horizon) / horizon) as f32;
            out[3 + k] = 1.0;
        }
    }

    /// Refills `info` with ego `i`'s values.
    fn write_info(&self, i: usize, info: &mut Info) {
        info.clear();
        if let Some(v) = self.vehicles.get(i) {
            info.values.set("speed", v.speed);
            info.values.set("crashed", f64::from(u8::from(v.crashed)));
            if self.cfg.scene == SceneKind::Parking {
                let achieved = Self::goal_features(v.position, v.heading, v.speed);
                info.values.set("is_success", f64::from(u8::from(self.goal_distance(&achieved, i) < PARKING_SUCCESS)));
            }
        }
    }

    /// Steps with `actions(i)` for ego `i` (validated here).
    pub fn step_with<'a>(&mut self, actions: impl Fn(usize) -> Action<'a>) -> Result<(), EnvError> {
        if !self.has_reset {
            return Err(EnvError::ResetNeeded);
        }
        if self.vehicles.len() < self.n_egos {
            return Err(EnvError::InvalidConfig { what: "vehicles".into(), reason: "the controlled vehicles were removed".into() });
        }
        for i in 0..self.n_egos {
            check_action(&self.act_space, actions(i))?;
        }
        for i in 0..self.n_egos {
            self.apply_action(i, actions(i));
        }
        self.simulate();
        if self.cfg.scene == SceneKind::Intersection {
            self.renew_intersection_traffic();
        }
        Ok(())
    }

    /// Removes traffic that has left the intersection and lets a new car enter
    /// (highway-env's `_clear_vehicles` and `_spawn_vehicle`), up to `vehicles` cars.
    fn renew_intersection_traffic(&mut self) {
        let net = &self.net;
        let n_egos = self.n_egos;
        let mut k = 0;
        self.vehicles.retain(|v| {
            k += 1;
            let leaving = net.node_name(v.lane.to).starts_with('o')
                && net.node_name(v.lane.from).starts_with("il")
                && net.lane(v.lane).is_some_and(|l| l.local_coordinates(v.position).0 > l.length() - 4.0 * LENGTH);
            k <= n_egos || !leaving
        });
        if self.vehicles.len() < self.n_egos + self.cfg.vehicles.min(12)
            && let Some(mut v) = scene::spawn_intersection_car(&self.net, &self.vehicles, &mut self.rng)
        {
            v.id = self.next_id;
            self.next_id += 1;
            self.vehicles.push(v);
        }
    }
}

impl ParallelEnv for DrivingEnv {
    fn possible_agents(&self) -> &[String] {
        &self.names
    }

    fn observation_space(&self, agent: usize) -> Option<&Space> {
        (agent < self.n_egos).then_some(&self.obs_space)
    }

    fn action_space(&self, agent: usize) -> Option<&Space> {
        (agent < self.n_egos).then_some(&self.act_space)
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_uniform(self.n_egos, self.obs_space.flat_dim())?;
        ResetOptions::reject_any(options)?;
        self.reset_state(seed)?;
        for i in 0..self.n_egos {
            self.observe(i, out.obs_mut(i))?;
            out.rewards[i] = 0.0;
            out.terminated[i] = false;
            out.truncated[i] = false;
            out.active[i] = true;
            self.write_info(i, &mut out.infos[i]);
        }
        Ok(())
    }

    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_uniform(self.n_egos, self.obs_space.flat_dim())?;
        if actions.len() != self.n_egos {
            return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected: self.n_egos });
        }
        if out.all_done() {
            return Err(EnvError::ResetNeeded);
        }
        // Inactive egos keep driving with a neutral command.
        let neutral = match self.cfg.actions {
            ActionKind::Meta => Action::Discrete(1),
            ActionKind::Continuous => Action::Continuous(&[0.0, 0.0]),
        };
        let active = &*out.active;
        self.step_with(|i| if active[i] { actions[i] } else { neutral })?;
        let truncated = self.truncated();
        for i in 0..self.n_egos {
            // Agent i's flag is read before it is overwritten, and no other agent's is.
            if !out.active[i] {
                out.rewards[i] = 0.0;
                continue;
            }
            self.observe(i, out.obs_mut(i))?;
            out.rewards[i] = self.reward(i) as f32;
            out.terminated[i] = self.terminated(i);
            out.truncated[i] = truncated && !out.terminated[i];
            out.active[i] = !(out.terminated[i] || out.truncated[i]);
            self.write_info(i, &mut out.infos[i]);
        }
        Ok(())
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        out.objects.clear();
        out.time_s = self.time;
        out.step = (self.time * self.cfg.policy_frequency as f64).round() as u64;
        // Road plane (x, y) maps to the world's (x, z); yaw 0 faces +z.
        let yaw = |heading: f64| (std::f64::consts::FRAC_PI_2 - heading) as f32;
        let mut id = 0;
        for (_, lane) in self.net.lanes() {
            let pieces = match lane.geometry {
                Geometry::Straight { .. } => 1,
                Geometry::Circular { .. } => 8,
            };
            let len = lane.length().abs().min(2_000.0);
            for k in 0..pieces {
                let s = (k as f64 + 0.5) * len / pieces as f64;
                let p = lane.position(s, 0.0);
                out.objects.push(ObjectState {
                    id,
                    class: Class::Road,
                    position: [p[0] as f32, -0.01, p[1] as f32],
                    rotation: ObjectState::yaw(yaw(lane.heading_at(s))),
                    shape: Shape::Cuboid { half_extents: [lane.width as f32 / 2.0, 0.01, (len / pieces as f64 / 2.0) as f32] },
                });
                id += 1;
            }
        }
        for (i, v) in self.vehicles.iter().enumerate() {
            out.objects.push(ObjectState {
                id: id + v.id,
                class: if i < self.n_egos { Class::EgoVehicle } else { Class::Vehicle },
                position: [v.position[0] as f32, 0.75, v.position[1] as f32],
                rotation: ObjectState::yaw(yaw(v.heading)),
                shape: Shape::Cuboid { half_extents: [WIDTH as f32 / 2.0, 0.75, LENGTH as f32 / 2.0] },
            });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lmap_maps_ranges() {
        assert_eq!(lmap(25.0, [20.0, 30.0], [0.0, 1.0]), 0.5);
        assert_eq!(lmap(-1.0, [-1.0, 0.5], [0.0, 1.0]), 0.0);
    }
}
