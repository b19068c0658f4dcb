//! Driving scene configuration: a TOML scene file or the defaults of a registry id,
//! with every field overridable.

use serde::{Deserialize, Serialize};

use crate::env::EnvError;

/// Which scene.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SceneKind {
    /// A straight multi-lane highway with dense traffic.
    Highway,
    /// A two-lane highway with an on-ramp merging into it.
    Merge,
    /// A four-way intersection with right-of-way; the ego turns left.
    Intersection,
    /// A two-lane roundabout with four entries; the ego takes a random exit.
    Roundabout,
    /// A parking lot: reach a goal spot and heading (goal-conditioned).
    Parking,
    /// A road network given segment by segment in the scene file (`[[road]]` tables).
    Custom,
    /// A random road drawn from the episode seed: straights and curves, 2 to 4 lanes,
    /// and a junction (none, an on-ramp or an off-ramp).
    Procedural,
}

/// The centre line of a custom road segment's first (leftmost) lane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SegmentShape {
    /// A straight line.
    Straight {
        /// Start point (m).
        start: [f64; 2],
        /// End point (m).
        end: [f64; 2],
    },
    /// A circular arc.
    Arc {
        /// Centre (m).
        center: [f64; 2],
        /// Radius of the first lane (m).
        radius: f64,
        /// Start angle (degrees).
        start_angle: f64,
        /// End angle (degrees).
        end_angle: f64,
        /// Whether the angle increases along the road.
        clockwise: bool,
    },
}

fn d_seg_lanes() -> usize {
    1
}
fn d_width() -> f64 {
    4.0
}
fn d_limit() -> f64 {
    30.0
}

/// One segment of a custom road network: lanes from node `from` to node `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoadSegment {
    /// Start node name.
    pub from: String,
    /// End node name.
    pub to: String,
    /// Centre line of lane 0; further lanes are offset to its right by `width`.
    pub shape: SegmentShape,
    /// Number of parallel lanes.
    #[serde(default = "d_seg_lanes")]
    pub lanes: usize,
    /// Lane width (m).
    #[serde(default = "d_width")]
    pub width: f64,
    /// Speed limit (m/s).
    #[serde(default = "d_limit")]
    pub speed_limit: f64,
    /// Right of way (higher goes first at conflicts).
    #[serde(default)]
    pub priority: i32,
    /// Whether vehicles may not change into these lanes.
    #[serde(default)]
    pub forbidden: bool,
}

/// A vehicle placed by the scene file (a `[[vehicle]]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacedVehicle {
    /// Start node of its segment: highway scenes have one, `"0"` → `"1"`; custom scenes
    /// default to the first `[[road]]` segment's.
    #[serde(default)]
    pub from: Option<String>,
    /// End node of its segment (defaults as `from` does).
    #[serde(default)]
    pub to: Option<String>,
    /// Lane within the segment, 0 the leftmost.
    #[serde(default)]
    pub lane: usize,
    /// Distance along the lane's centre line (m).
    pub position: f64,
    /// Initial speed (m/s); also its cruising speed.
    pub speed: f64,
    /// Whether an agent drives it (the egos, in file order) instead of IDM/MOBIL.
    #[serde(default)]
    pub controlled: bool,
}

/// How the ego is commanded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `Discrete(5)`: LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER over lane and speed controllers.
    #[default]
    Meta,
    /// `Box([-1, 1]^2)`: acceleration (±5 m/s²) and steering (±45°).
    Continuous,
}

/// What the ego observes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    /// `vehicles_count` rows of [presence, x, y, vx, vy, cos h, sin h]: the ego
    /// (absolute) then the nearest vehicles (relative to the ego), normalised.
    #[default]
    Kinematics,
    /// `lidar_rays` distances to the nearest vehicle in each direction, over `lidar_range`.
    Lidar,
    /// A `grid_cells`² occupancy grid of `grid_step` m cells around the ego, aligned with it.
    OccupancyGrid,
    /// Time to collision with the vehicle ahead on the left, current and right lane,
    /// over a `ttc_horizon`-second horizon (1 = none within it).
    TimeToCollision,
}

fn d_lanes() -> usize {
    4
}
fn d_vehicles() -> usize {
    50
}
fn d_one() -> f64 {
    1.0
}
fn d_controlled() -> usize {
    1
}
fn d_duration() -> f64 {
    40.0
}
fn d_sim() -> u32 {
    15
}
fn d_policy() -> u32 {
    1
}
fn d_vcount() -> usize {
    5
}
fn d_rays() -> usize {
    16
}
fn d_range() -> f64 {
    60.0
}
fn d_cells() -> usize {
    11
}
fn d_step() -> f64 {
    5.0
}
fn d_horizon() -> f64 {
    10.0
}
fn d_collision() -> f64 {
    -1.0
}
fn d_high_speed() -> f64 {
    0.4
}
fn d_right_lane() -> f64 {
    0.1
}
fn d_speed_range() -> [f64; 2] {
    [20.0, 30.0]
}
fn d_true() -> bool {
    true
}

/// Longest episode, in seconds of simulated time.
pub const MAX_DURATION: f64 = 100_000.0;
/// Highest simulation frequency (highway-env uses 15 Hz; rapier scenes 60).
pub const MAX_SIMULATION_FREQUENCY: u32 = 1_000;
/// Most kinematics rows.
pub const MAX_VEHICLES_COUNT: usize = 256;
/// Most lidar rays.
pub const MAX_LIDAR_RAYS: usize = 4_096;
/// Largest coordinate, radius or angle in a custom road, in metres or degrees (1000 km).
pub const MAX_COORD: f64 = 1e6;
/// Widest lane, in metres.
pub const MAX_LANE_WIDTH: f64 = 100.0;
/// Highest speed limit, in m/s.
pub const MAX_SPEED_LIMIT: f64 = 100.0;
/// Most road segments in a custom scene.
pub const MAX_SEGMENTS: usize = 10_000;

/// A driving scene. Defaults are highway-env's `highway-v0`; the registry's ids
/// change `scene` and the fields that scene needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrivingConfig {
    /// The scene.
    pub scene: SceneKind,
    /// Highway: number of lanes.
    #[serde(default = "d_lanes")]
    pub lanes: usize,
    /// Traffic vehicles (parking: parked cars).
    #[serde(default = "d_vehicles")]
    pub vehicles: usize,
    /// Traffic density factor (larger packs vehicles closer).
    #[serde(default = "d_one")]
    pub density: f64,
    /// Controlled (ego) vehicles; more than one gives a multi-agent scene.
    #[serde(default = "d_controlled")]
    pub controlled_vehicles: usize,
    /// Episode duration in seconds; truncated after it.
    #[serde(default = "d_duration")]
    pub duration: f64,
    /// Simulation steps per second.
    #[serde(default = "d_sim")]
    pub simulation_frequency: u32,
    /// Agent decisions per second (each spans `simulation_frequency / policy_frequency` steps).
    #[serde(default = "d_policy")]
    pub policy_frequency: u32,
    /// Meta or continuous actions.
    #[serde(default)]
    pub actions: ActionKind,
    /// Observation type.
    #[serde(default)]
    pub observation: ObservationKind,
    /// Kinematics: rows (ego included).
    #[serde(default = "d_vcount")]
    pub vehicles_count: usize,
    /// Kinematics: report others' absolute positions instead of ego-relative ones.
    #[serde(default)]
    pub absolute: bool,
    /// Lidar: rays.
    #[serde(default = "d_rays")]
    pub lidar_rays: usize,
    /// Lidar: range in metres.
    #[serde(default = "d_range")]
    pub lidar_range: f64,
    /// Occupancy grid: cells per side (odd).
    #[serde(default = "d_cells")]
    pub grid_cells: usize,
    /// Occupancy grid: cell size in metres.
    #[serde(default = "d_step")]
    pub grid_step: f64,
    /// Time to collision: horizon in seconds.
    #[serde(default = "d_horizon")]
    pub ttc_horizon: f64,
    /// Reward for crashing.
    #[serde(default = "d_collision")]
    pub collision_reward: f64,
    /// Reward at the top of `reward_speed_range`, linearly less below.
    #[serde(default = "d_high_speed")]
    pub high_speed_reward: f64,
    /// Reward for the rightmost lane, linearly less for the others.
    #[serde(default = "d_right_lane")]
    pub right_lane_reward: f64,
    /// Reward for each lane change.
    #[serde(default)]
    pub lane_change_reward: f64,
    /// Forward speeds mapped to 0..1 for the speed reward.
    #[serde(default = "d_speed_range")]
    pub reward_speed_range: [f64; 2],
    /// Rescale the reward to [0, 1] (highway-env's `normalize_reward`).
    #[serde(default = "d_true")]
    pub normalize_reward: bool,
    /// Procedural variation from the seed: lane count (highway), traffic count and
    /// density are drawn around their configured values at each reset.
    #[serde(default)]
    pub randomize: bool,
    /// Custom scenes: the road segments.
    #[serde(default)]
    pub road: Vec<RoadSegment>,
    /// Custom scenes: the node the ego drives to (a random route when absent).
    #[serde(default)]
    pub destination: Option<String>,
    /// Highway and custom scenes: the vehicles, placed exactly (`[[vehicle]]` tables).
    /// When given they replace the random traffic, so `vehicles` and `density` go unused;
    /// exactly `controlled_vehicles` of them are `controlled`.
    #[serde(default)]
    pub vehicle: Vec<PlacedVehicle>,
}

impl DrivingConfig {
    /// Defaults for a scene, as highway-env's `*-v0` environments set them.
    pub fn scene(scene: SceneKind) -> Self {
        let mut cfg: DrivingConfig = Self {
            scene,
            lanes: d_lanes(),
            vehicles: d_vehicles(),
            density: 1.0,
            controlled_vehicles: 1,
            duration: d_duration(),
            simulation_frequency: d_sim(),
            policy_frequency: d_policy(),
            actions: ActionKind::Meta,
            observation: ObservationKind::Kinematics,
            vehicles_count: d_vcount(),
            absolute: false,
            lidar_rays: d_rays(),
            lidar_range: d_range(),
            grid_cells: d_cells(),
            grid_step: d_step(),
            ttc_horizon: d_horizon(),
            collision_reward: d_collision(),
            high_speed_reward: d_high_speed(),
            right_lane_reward: d_right_lane(),
            lane_change_reward: 0.0,
            reward_speed_range: d_speed_range(),
            normalize_reward: true,
            randomize: false,
            road: Vec::new(),
            destination: None,
            vehicle: Vec::new(),
        };
        match scene {
            SceneKind::Highway => {}
            SceneKind::Merge => {
                cfg.high_speed_reward = 0.2;
                cfg.lane_change_reward = -0.05;
                cfg.vehicles = 4;
            }
            SceneKind::Intersection => {
                cfg.vehicles = 10;
                cfg.duration = 13.0;
                cfg.vehicles_count = 15;
                cfg.absolute = true;
                cfg.high_speed_reward = 1.0;
                cfg.right_lane_reward = 0.0;
                cfg.reward_speed_range = [7.0, 9.0];
                cfg.collision_reward = -5.0;
                cfg.normalize_reward = false;
            }
            SceneKind::Roundabout => {
                cfg.vehicles = 6;
                cfg.duration = 11.0;
                cfg.high_speed_reward = 0.2;
                cfg.right_lane_reward = 0.0;
                cfg.lane_change_reward = -0.05;
                cfg.reward_speed_range = [0.0, 16.0];
            }
            SceneKind::Custom | SceneKind::Procedural => cfg.vehicles = 20,
            SceneKind::Parking => {
                cfg.vehicles = 10;
                cfg.duration = 100.0;
                cfg.policy_frequency = 5;
                cfg.actions = ActionKind::Continuous;
                cfg.collision_reward = -5.0;
                cfg.normalize_reward = false;
            }
        }
        cfg
    }

    /// Checks every field; errors name the field.
    pub fn validate(&self) -> Result<(), EnvError> {
        let field = |name: &str, reason: String| Err(EnvError::InvalidConfig { what: format!("field '{name}'"), reason });
        if self.lanes == 0 || self.lanes > 8 {
            return field("lanes", format!("must be 1..=8, got {}", self.lanes));
        }
        if self.vehicles > 200 {
            return field("vehicles", format!("at most 200, got {}", self.vehicles));
        }
        if !(0.01..=100.0).contains(&self.density) {
            return field("density", format!("must be 0.01..=100, got {}", self.density));
        }
        if self.controlled_vehicles == 0 || self.controlled_vehicles > 16 {
            return field("controlled_vehicles", format!("must be 1..=16, got {}", self.controlled_vehicles));
        }
        if self.scene != SceneKind::Highway && self.scene != SceneKind::Parking && self.controlled_vehicles != 1 {
            return field("controlled_vehicles", format!("{:?} supports one controlled vehicle", self.scene));
        }
        if !(self.duration > 0.0 && self.duration <= MAX_DURATION) {
            return field("duration", format!("must be positive and at most {MAX_DURATION} s, got {}", self.duration));
        }
        if self.simulation_frequency == 0 || self.simulation_frequency > MAX_SIMULATION_FREQUENCY {
            return field("simulation_frequency", format!("must be 1..={MAX_SIMULATION_FREQUENCY} Hz, got {}", self.simulation_frequency));
        }
        if self.policy_frequency == 0 || !self.simulation_frequency.is_multiple_of(self.policy_frequency) {
            return field(
                "policy_frequency",
                format!("must be at least 1 and divide simulation_frequency ({})", self.simulation_frequency),
            );
        }
        if !(1..=MAX_VEHICLES_COUNT).contains(&self.vehicles_count) {
            return field("vehicles_count", format!("must be 1..={MAX_VEHICLES_COUNT}, got {}", self.vehicles_count));
        }
        if !(1..=MAX_LIDAR_RAYS).contains(&self.lidar_rays) {
            return field("lidar_rays", format!("must be 1..={MAX_LIDAR_RAYS}, got {}", self.lidar_rays));
        }
        if self.grid_cells.is_multiple_of(2) || self.grid_cells > 63 {
            return field("grid_cells", format!("must be odd and at most 63, got {}", self.grid_cells));
        }
        let ranges =
            [("lidar_range", self.lidar_range, 10_000.0), ("grid_step", self.grid_step, 1_000.0), ("ttc_horizon", self.ttc_horizon, 600.0)];
        if let Some((name, v, max)) = ranges.iter().find(|(_, v, max)| !(*v > 0.0 && v <= max)) {
            return field(name, format!("must be positive and at most {max}, got {v}"));
        }
        if self.reward_speed_range.iter().any(|v| !v.is_finite()) || self.reward_speed_range[0] >= self.reward_speed_range[1] {
            return field("reward_speed_range", "must be finite [low, high] with low < high".into());
        }
        let numbers = [
            ("density", self.density),
            ("duration", self.duration),
            ("lidar_range", self.lidar_range),
            ("grid_step", self.grid_step),
            ("ttc_horizon", self.ttc_horizon),
            ("collision_reward", self.collision_reward),
            ("high_speed_reward", self.high_speed_reward),
            ("right_lane_reward", self.right_lane_reward),
            ("lane_change_reward", self.lane_change_reward),
        ];
        if let Some((name, v)) = numbers.iter().find(|(_, v)| !v.is_finite()) {
            return field(name, format!("must be a finite number, got {v}"));
        }
        if self.normalize_reward
            && self.high_speed_reward + self.right_lane_reward
                <= self.collision_reward + self.lane_change_reward.min(0.0) - 0.5 * f64::from(u8::from(self.scene == SceneKind::Merge))
        {
            return field("normalize_reward", "the best reward must exceed the worst to normalise".into());
        }
        if self.scene == SceneKind::Parking && self.actions != ActionKind::Continuous {
            return field("actions", "parking needs continuous actions".into());
        }
        if self.scene == SceneKind::Custom && self.road.is_empty() {
            return field("road", "a custom scene needs at least one [[road]] segment".into());
        }
        if self.road.len() > MAX_SEGMENTS {
            return field("road", format!("at most {MAX_SEGMENTS} segments, got {}", self.road.len()));
        }
        // Coordinates within MAX_COORD keep every derived length (lane lengths, offsets,
        // positions along lanes) finite and precise in f64.
        let coord = |v: &f64| v.is_finite() && v.abs() <= MAX_COORD;
        for (k, seg) in self.road.iter().enumerate() {
            let bad = match &seg.shape {
                SegmentShape::Straight { start, end } => start == end || !start.iter().chain(end).all(coord),
                SegmentShape::Arc { center, radius, start_angle, end_angle, clockwise } => {
                    // The sweep must run the way `clockwise` says, by less than half a turn.
                    let sweep = (end_angle - start_angle) * if *clockwise { 1.0 } else { -1.0 };
                    !(coord(radius) && center.iter().all(coord) && coord(start_angle) && coord(end_angle))
                        || *radius <= seg.width * seg.lanes as f64
                        || sweep <= 0.0
                        || sweep >= 180.0
                }
            };
            let sizes_ok = (0.0..=MAX_LANE_WIDTH).contains(&seg.width)
                && seg.width > 0.0
                && (0.0..=MAX_SPEED_LIMIT).contains(&seg.speed_limit)
                && seg.speed_limit > 0.0;
            if bad || seg.lanes == 0 || seg.lanes > 8 || !sizes_ok || seg.from == seg.to {
                return field(
                    &format!("road[{k}]"),
                    format!(
                        "segment {}→{}: needs distinct nodes, 1..=8 lanes, a width in (0, {MAX_LANE_WIDTH}] m, a speed limit in (0, {MAX_SPEED_LIMIT}] m/s, coordinates, radii and angles within ±{MAX_COORD:e}, and a non-degenerate shape (arcs wider than their lanes, sweeping under 180° in their direction)",
                        seg.from, seg.to
                    ),
                );
            }
        }
        if let Some(d) = &self.destination
            && !self.road.iter().any(|s| &s.to == d)
        {
            return field("destination", format!("no segment ends at node '{d}'"));
        }
        self.validate_vehicles()
    }

    /// The segment a placed vehicle names, as (from, to, lanes, length of each lane).
    fn placed_segment(&self, v: &PlacedVehicle) -> Option<(String, String, Vec<f64>)> {
        match self.scene {
            SceneKind::Highway => {
                let (from, to) = (v.from.as_deref().unwrap_or("0"), v.to.as_deref().unwrap_or("1"));
                ((from, to) == ("0", "1")).then(|| (from.into(), to.into(), vec![super::road::HIGHWAY_LENGTH; self.lanes]))
            }
            _ => {
                let first = self.road.first()?;
                let (from, to) = (v.from.as_deref().unwrap_or(&first.from), v.to.as_deref().unwrap_or(&first.to));
                let seg = self.road.iter().find(|s| s.from == from && s.to == to)?;
                let lengths = (0..seg.lanes)
                    .map(|k| match &seg.shape {
                        SegmentShape::Straight { start, end } => ((end[0] - start[0]).powi(2) + (end[1] - start[1]).powi(2)).sqrt(),
                        SegmentShape::Arc { radius, start_angle, end_angle, clockwise, .. } => {
                            let offset = k as f64 * seg.width;
                            let r = if *clockwise { radius - offset } else { radius + offset };
                            r * (end_angle - start_angle).abs().to_radians()
                        }
                    })
                    .collect();
                Some((from.into(), to.into(), lengths))
            }
        }
    }

    /// Checks the `[[vehicle]]` tables: a scene that takes them, segments and lanes that
    /// exist, positions on the lane, plausible speeds, no two vehicles overlapping, and
    /// as many controlled ones as `controlled_vehicles`.
    fn validate_vehicles(&self) -> Result<(), EnvError> {
        if self.vehicle.is_empty() {
            return Ok(());
        }
        let field = |name: String, reason: String| Err(EnvError::InvalidConfig { what: format!("field '{name}'"), reason });
        if !matches!(self.scene, SceneKind::Highway | SceneKind::Custom) {
            return field("vehicle".into(), format!("placed vehicles are taken by highway and custom scenes, not {:?}", self.scene));
        }
        if self.randomize {
            return field("vehicle".into(), "placed vehicles need the road as written: set randomize = false".into());
        }
        let mut placed: Vec<(String, String, usize, f64)> = Vec::with_capacity(self.vehicle.len());
        for (k, v) in self.vehicle.iter().enumerate() {
            let name = format!("vehicle[{k}]");
            let Some((from, to, lengths)) = self.placed_segment(v) else {
                return field(
                    name,
                    format!(
                        "no segment {}→{} in this {:?} scene",
                        v.from.as_deref().unwrap_or("(default)"),
                        v.to.as_deref().unwrap_or("(default)"),
                        self.scene
                    ),
                );
            };
            let Some(&length) = lengths.get(v.lane) else {
                return field(name, format!("lane {} does not exist: segment {from}→{to} has {} lane(s)", v.lane, lengths.len()));
            };
            if !(v.position.is_finite() && (0.0..=length).contains(&v.position)) {
                return field(name, format!("position {} m is off lane {} of {from}→{to} (0 to {length:.1} m)", v.position, v.lane));
            }
            if !(v.speed.is_finite() && (0.0..=super::vehicle::MAX_SPEED).contains(&v.speed)) {
                return field(name, format!("speed {} m/s is outside 0..={}", v.speed, super::vehicle::MAX_SPEED));
            }
            if let Some(j) = placed
                .iter()
                .position(|(f, t, lane, s)| (f, t, *lane) == (&from, &to, v.lane) && (s - v.position).abs() < super::vehicle::LENGTH)
            {
                return field(
                    name,
                    format!(
                        "overlaps vehicle[{j}]: both on lane {} of {from}→{to} less than a car length ({} m) apart",
                        v.lane,
                        super::vehicle::LENGTH
                    ),
                );
            }
            placed.push((from, to, v.lane, v.position));
        }
        let controlled = self.vehicle.iter().filter(|v| v.controlled).count();
        if controlled != self.controlled_vehicles {
            return field(
                "vehicle".into(),
                format!("{controlled} vehicle(s) are controlled but controlled_vehicles is {}", self.controlled_vehicles),
            );
        }
        Ok(())
    }

    /// Parses and validates a TOML scene; `origin` names the source in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, EnvError> {
        let cfg: DrivingConfig = toml::from_str(text).map_err(|e| EnvError::InvalidConfig {
            what: format!("scene file {origin}"),
            reason: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        cfg.validate().map_err(|e| EnvError::InvalidConfig { what: format!("scene file {origin}"), reason: e.to_string() })?;
        Ok(cfg)
    }
}
