//! Warehouse scene configuration, as read from TOML scene files in `scenes/`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::layout::Layout;
use crate::env::EnvError;

/// Which simulation a warehouse scene uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// rware's discrete grid rules.
    Grid,
    /// rapier3d robots driving in continuous space.
    Physics,
}

/// How rewards are shared between robots (rware's `RewardType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardType {
    /// Every robot gets +1 for every delivery by anyone.
    Global,
    /// The delivering robot gets +1.
    #[default]
    Individual,
    /// +0.5 for delivering, +0.5 more for putting the shelf back down afterwards.
    TwoStage,
}

/// Where the floor plan comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LayoutConfig {
    /// A named rware size: tiny, small, medium or large.
    Preset(String),
    /// rware's parametric layout.
    Params {
        /// Number of 2-wide shelf column blocks (odd).
        shelf_columns: usize,
        /// Shelves per column block.
        column_height: usize,
        /// Number of shelf row blocks.
        shelf_rows: usize,
    },
    /// An ASCII map: `x` shelf, `.` corridor, `g` goal.
    Ascii(String),
    /// A parametric layout drawn at every reset from inclusive ranges (domain randomisation).
    Procedural {
        /// Range of shelf column blocks (odd values are drawn).
        shelf_columns: [usize; 2],
        /// Range of shelves per column block.
        column_height: [usize; 2],
        /// Range of shelf row blocks.
        shelf_rows: [usize; 2],
    },
}

impl LayoutConfig {
    /// The fixed layout, or `None` for a procedural one.
    pub fn fixed(&self) -> Result<Option<Layout>, EnvError> {
        match self {
            LayoutConfig::Preset(name) => Layout::preset(name).map(Some),
            LayoutConfig::Params { shelf_columns, column_height, shelf_rows } => {
                Layout::from_params(*shelf_columns, *column_height, *shelf_rows).map(Some)
            }
            LayoutConfig::Ascii(text) => Layout::from_ascii(text).map(Some).map_err(|e| match e {
                EnvError::InvalidConfig { reason, .. } => {
                    EnvError::InvalidConfig { what: "field 'layout.ascii'".into(), reason: format!("map {reason}") }
                }
                other => other,
            }),
            LayoutConfig::Procedural { .. } => Ok(None),
        }
    }

    /// The largest layout this config can produce, which sizes coordinate bounds.
    pub fn largest(&self) -> Result<Layout, EnvError> {
        match self {
            LayoutConfig::Procedural { shelf_columns, column_height, shelf_rows } => {
                let cols = (shelf_columns[0]..=shelf_columns[1]).rev().find(|c| c % 2 == 1).ok_or_else(|| EnvError::InvalidConfig {
                    what: "field 'layout.procedural.shelf_columns'".into(),
                    reason: "the range holds no odd number".into(),
                })?;
                Layout::from_params(cols, column_height[1], shelf_rows[1])
            }
            other => other.fixed()?.ok_or_else(|| EnvError::InvalidConfig { what: "layout".into(), reason: "no fixed layout".into() }),
        }
    }
}

/// A validation error of a scene read from `text`, naming the file and, for field
/// errors, the line where the field is set.
fn located(text: &str, origin: &str, err: EnvError) -> EnvError {
    let line = match &err {
        EnvError::InvalidConfig { what, .. } => {
            what.strip_prefix("field '").and_then(|f| f.strip_suffix('\'')).and_then(|f| f.rsplit('.').next()).and_then(|key| {
                text.lines().position(|l| {
                    let l = l.trim_start();
                    l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=') || rest.starts_with(']'))
                        || l.starts_with('[') && l.trim_end_matches(']').ends_with(key)
                })
            })
        }
        _ => None,
    };
    let location = line.map_or_else(|| format!("scene file {origin}"), |l| format!("scene file {origin}, line {}", l + 1));
    EnvError::InvalidConfig { what: location, reason: err.to_string() }
}

fn default_sensor_range() -> usize {
    1
}

fn default_max_steps() -> Option<u64> {
    Some(500)
}

/// A grid-mode warehouse scene (rware's parameters). Every field is documented in
/// `scenes/README.md` and checked by [`GridConfig::validate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    /// Must be `grid`.
    pub mode: Mode,
    /// The floor plan.
    pub layout: LayoutConfig,
    /// Number of robots.
    pub n_agents: usize,
    /// Number of shelves requested at any time.
    pub request_queue_size: usize,
    /// Cells seen in each direction around a robot (1 gives a 3x3 view).
    #[serde(default = "default_sensor_range")]
    pub sensor_range: usize,
    /// Episode length; the episode is truncated after it.
    #[serde(default = "default_max_steps")]
    pub max_steps: Option<u64>,
    /// Truncate after this many steps without a delivery.
    #[serde(default)]
    pub max_inactivity_steps: Option<u64>,
    /// How delivery rewards are shared.
    #[serde(default)]
    pub reward_type: RewardType,
}

/// Checks shared by grid and physics scenes: the robots and the request queue fit
/// every layout the config can produce.
fn validate_common(layout: &LayoutConfig, n_agents: usize, request_queue_size: usize) -> Result<(), EnvError> {
    let field = |name: &str, reason: String| EnvError::InvalidConfig { what: format!("field '{name}'"), reason };
    if let Some(fixed) = layout.fixed()? {
        if n_agents > fixed.cells() {
            return Err(field("n_agents", format!("{} robots do not fit in {} cells", n_agents, fixed.cells())));
        }
        if request_queue_size >= fixed.num_shelves() {
            return Err(field(
                "request_queue_size",
                format!("must be below the number of shelves ({}), got {}", fixed.num_shelves(), request_queue_size),
            ));
        }
    }
    if let LayoutConfig::Procedural { shelf_columns, column_height, shelf_rows } = layout {
        for (name, [lo, hi]) in [("shelf_columns", shelf_columns), ("column_height", column_height), ("shelf_rows", shelf_rows)] {
            if *lo == 0 || lo > hi {
                return Err(field(&format!("layout.procedural.{name}"), format!("[{lo}, {hi}] must satisfy 1 <= low <= high")));
            }
        }
        let Some(min_cols) = (shelf_columns[0]..=shelf_columns[1]).find(|c| c % 2 == 1) else {
            return Err(field("layout.procedural.shelf_columns", "the range holds no odd number".into()));
        };
        // Cells and shelves grow with every parameter: the smallest plan must hold
        // the robots and requests, and the largest must not be too big.
        let max_cols = (shelf_columns[0]..=shelf_columns[1]).rev().find(|c| c % 2 == 1).unwrap_or(min_cols);
        Layout::from_params(max_cols, column_height[1], shelf_rows[1])?;
        let l = Layout::from_params(min_cols, column_height[0], shelf_rows[0])?;
        if n_agents > l.cells() || request_queue_size >= l.num_shelves() {
            return Err(field(
                "layout.procedural",
                format!(
                    "its smallest plan (shelf_columns={min_cols}, column_height={}, shelf_rows={}) has {} shelves, too few for {request_queue_size} requests",
                    column_height[0],
                    shelf_rows[0],
                    l.num_shelves()
                ),
            ));
        }
    }
    if n_agents == 0 {
        return Err(field("n_agents", "must be at least 1".into()));
    }
    if request_queue_size == 0 {
        return Err(field("request_queue_size", "must be at least 1".into()));
    }
    Ok(())
}

impl GridConfig {
    /// rware's registered task `rware-{size}-{n}ag{difficulty}-v2`: 8-high columns, a
    /// 3x3 view, 500 steps, individual rewards, and a request queue of
    /// `n_agents * factor` (factor 2 for easy, 1 for normal, 0.5 for hard).
    pub fn rware(size: &str, n_agents: usize, queue_factor: f64) -> Self {
        Self {
            mode: Mode::Grid,
            layout: LayoutConfig::Preset(size.into()),
            n_agents,
            request_queue_size: (n_agents as f64 * queue_factor) as usize,
            sensor_range: 1,
            max_steps: Some(500),
            max_inactivity_steps: None,
            reward_type: RewardType::Individual,
        }
    }

    /// Checks every field against the (largest) layout; errors name the field.
    pub fn validate(&self) -> Result<(), EnvError> {
        let field = |name: &str, reason: String| EnvError::InvalidConfig { what: format!("field '{name}'"), reason };
        if self.mode != Mode::Grid {
            return Err(field("mode", "a grid scene needs mode = \"grid\"".into()));
        }
        validate_common(&self.layout, self.n_agents, self.request_queue_size)?;
        let layout = self.layout.largest()?;
        if self.sensor_range > layout.width.max(layout.height) {
            return Err(field("sensor_range", format!("{} is larger than the warehouse", self.sensor_range)));
        }
        if self.max_steps == Some(0) || self.max_inactivity_steps == Some(0) {
            return Err(field("max_steps", "limits must be at least 1 (leave them out for none)".into()));
        }
        Ok(())
    }

    /// Parses and validates a TOML scene; `origin` names the source in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, EnvError> {
        let cfg: GridConfig = toml::from_str(text).map_err(|e| EnvError::InvalidConfig {
            what: format!("scene file {origin}"),
            reason: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        cfg.validate().map_err(|e| located(text, origin, e))?;
        Ok(cfg)
    }

    /// Reads a TOML scene file.
    pub fn from_file(path: &Path) -> Result<Self, EnvError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EnvError::InvalidConfig { what: format!("scene file {}", path.display()), reason: e.to_string() })?;
        Self::from_toml(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_name_the_file_line_and_field() {
        let text = "mode = \"grid\"\nn_agents = 2\nrequest_queu_size = 2\n[layout]\npreset = \"tiny\"\n";
        let Err(e) = GridConfig::from_toml(text, "scenes/bad.toml") else { panic!("typo accepted") };
        let msg = e.to_string();
        assert!(msg.contains("scenes/bad.toml") && msg.contains("line 3") && msg.contains("request_queu_size"), "{msg}");

        let text = "mode = \"grid\"\nn_agents = 0\nrequest_queue_size = 2\n[layout]\npreset = \"tiny\"\n";
        let Err(e) = GridConfig::from_toml(text, "x.toml") else { panic!("zero agents accepted") };
        assert!(e.to_string().contains("x.toml, line 2") && e.to_string().contains("field 'n_agents'"), "{e}");

        let text = "mode = \"physics\"\nn_agents = 1\nrequest_queue_size = 1\nlidar_rays = 0\n[layout]\npreset = \"tiny\"\n";
        let Err(e) = WarehouseScene::from_toml(text, "p.toml") else { panic!("zero rays accepted") };
        assert!(e.to_string().contains("p.toml, line 4") && e.to_string().contains("lidar_rays"), "{e}");
        let reversed = "mode = \"grid\"\nn_agents = 1\nrequest_queue_size = 1\n[layout.procedural]\nshelf_columns = [3, 3]\ncolumn_height = [8, 2]\nshelf_rows = [1, 1]\n";
        assert!(GridConfig::from_toml(reversed, "r.toml").is_err(), "reversed ranges are rejected");
        let huge = "mode = \"grid\"\nn_agents = 1\nrequest_queue_size = 1\n[layout.params]\nshelf_columns = 99999999\ncolumn_height = 99999999\nshelf_rows = 99999999\n";
        assert!(GridConfig::from_toml(huge, "h.toml").is_err(), "huge layouts are rejected, not allocated");
        let Err(e) = WarehouseScene::from_toml("n_agents = 1", "m.toml") else { panic!("no mode accepted") };
        assert!(e.to_string().contains("missing field 'mode'"), "{e}");
    }

    #[test]
    fn rware_difficulties_set_the_queue() {
        assert_eq!(GridConfig::rware("tiny", 4, 1.0).request_queue_size, 4);
        assert_eq!(GridConfig::rware("tiny", 4, 2.0).request_queue_size, 8);
        assert_eq!(GridConfig::rware("tiny", 4, 0.5).request_queue_size, 2);
    }
}

/// How physics-mode robots are commanded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `Discrete(5)` per robot: stop, drive forward, turn left, turn right, toggle load.
    #[default]
    Discrete,
    /// `Box([-1, 1]^3)` per robot: forward speed, yaw rate, load (> 0.5 lift, < -0.5 put down).
    Continuous,
}

fn default_lidar_rays() -> usize {
    16
}
fn default_lidar_range() -> f32 {
    4.0
}
fn default_collision_penalty() -> f32 {
    0.05
}
fn default_dt() -> f32 {
    0.1
}
fn default_max_speed() -> f32 {
    1.0
}

/// A physics-mode warehouse scene: rapier3d robots with velocity control on the same
/// floor plans as grid mode (1 m cells). Checked by [`PhysicsConfig::validate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhysicsConfig {
    /// Must be `physics`.
    pub mode: Mode,
    /// The floor plan.
    pub layout: LayoutConfig,
    /// Number of robots.
    pub n_agents: usize,
    /// Number of shelves requested at any time.
    pub request_queue_size: usize,
    /// Episode length in steps; truncated after it.
    #[serde(default = "default_max_steps")]
    pub max_steps: Option<u64>,
    /// How delivery rewards are shared.
    #[serde(default)]
    pub reward_type: RewardType,
    /// Discrete or continuous commands.
    #[serde(default)]
    pub actions: ActionKind,
    /// Lidar rays per robot, spread over 360°.
    #[serde(default = "default_lidar_rays")]
    pub lidar_rays: usize,
    /// Lidar range in metres.
    #[serde(default = "default_lidar_range")]
    pub lidar_range: f32,
    /// Side (odd, in cells) of an optional local occupancy grid in the observation.
    #[serde(default)]
    pub occupancy_grid: Option<usize>,
    /// Reward subtracted for every step a robot spends in contact with something.
    #[serde(default = "default_collision_penalty")]
    pub collision_penalty: f32,
    /// Seconds simulated per step.
    #[serde(default = "default_dt")]
    pub dt: f32,
    /// Top speed in m/s (turning tops out at 90°/s).
    #[serde(default = "default_max_speed")]
    pub max_speed: f32,
    /// Domain randomisation: shelves stand up to this far (m) from their cell centres.
    #[serde(default)]
    pub shelf_jitter: f32,
}

impl PhysicsConfig {
    /// The physics counterpart of a named rware task: same floor plan, robots and queue.
    pub fn rware(size: &str, n_agents: usize, actions: ActionKind) -> Self {
        Self {
            mode: Mode::Physics,
            layout: LayoutConfig::Preset(size.into()),
            n_agents,
            request_queue_size: n_agents,
            max_steps: Some(500),
            reward_type: RewardType::Individual,
            actions,
            lidar_rays: default_lidar_rays(),
            lidar_range: default_lidar_range(),
            occupancy_grid: None,
            collision_penalty: default_collision_penalty(),
            dt: default_dt(),
            max_speed: default_max_speed(),
            shelf_jitter: 0.0,
        }
    }

    /// Checks every field; errors name the field.
    pub fn validate(&self) -> Result<(), EnvError> {
        let field = |name: &str, reason: String| EnvError::InvalidConfig { what: format!("field '{name}'"), reason };
        if self.mode != Mode::Physics {
            return Err(field("mode", "a physics scene needs mode = \"physics\"".into()));
        }
        validate_common(&self.layout, self.n_agents, self.request_queue_size)?;
        let smallest = match &self.layout {
            LayoutConfig::Procedural { shelf_columns, column_height, shelf_rows } => {
                let cols = (shelf_columns[0]..=shelf_columns[1]).find(|c| c % 2 == 1).unwrap_or(shelf_columns[0]);
                Some(Layout::from_params(cols, column_height[0], shelf_rows[0])?)
            }
            other => other.fixed()?,
        };
        if let Some(fixed) = smallest
            && self.n_agents > fixed.cells() / 2
        {
            return Err(field("n_agents", format!("{} robots crowd {} cells; use at most half", self.n_agents, fixed.cells())));
        }
        if self.lidar_rays == 0 || self.lidar_rays > 1024 {
            return Err(field("lidar_rays", format!("must be 1..=1024, got {}", self.lidar_rays)));
        }
        if !(self.lidar_range > 0.0 && self.lidar_range.is_finite()) {
            return Err(field("lidar_range", format!("must be positive, got {}", self.lidar_range)));
        }
        if self.occupancy_grid.is_some_and(|k| k % 2 == 0 || k > 31) {
            return Err(field("occupancy_grid", "must be an odd side length up to 31".into()));
        }
        if !(self.dt > 0.0 && self.dt <= 0.5) {
            return Err(field("dt", format!("must be in (0, 0.5] seconds, got {}", self.dt)));
        }
        if !(self.max_speed > 0.0 && self.max_speed * self.dt <= 0.3) {
            return Err(field(
                "max_speed",
                format!("must be positive and move at most 0.3 m per step (dt {}), got {}", self.dt, self.max_speed),
            ));
        }
        if !(0.0..=0.1).contains(&self.shelf_jitter) {
            return Err(field("shelf_jitter", format!("must be in [0, 0.1] m, got {}", self.shelf_jitter)));
        }
        if self.max_steps == Some(0) || !self.collision_penalty.is_finite() {
            return Err(field("max_steps", "limits must be at least 1 and the penalty finite".into()));
        }
        Ok(())
    }
}

/// A warehouse scene file: grid or physics mode, told apart by its `mode` field.
#[derive(Clone, Debug, PartialEq)]
pub enum WarehouseScene {
    /// `mode = "grid"`.
    Grid(GridConfig),
    /// `mode = "physics"`.
    Physics(PhysicsConfig),
}

impl WarehouseScene {
    /// Parses and validates a TOML scene; `origin` names the source in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, EnvError> {
        let wrap = |reason: String| EnvError::InvalidConfig { what: format!("scene file {origin}"), reason };
        let table: toml::Table = toml::from_str(text).map_err(|e| wrap(e.to_string().trim_end().replace('\n', "\n  ")))?;
        match table.get("mode").and_then(|m| m.as_str()) {
            Some("grid") => GridConfig::from_toml(text, origin).map(Self::Grid),
            Some("physics") => {
                let cfg: PhysicsConfig = toml::from_str(text).map_err(|e| wrap(e.to_string().trim_end().replace('\n', "\n  ")))?;
                cfg.validate().map_err(|e| located(text, origin, e))?;
                Ok(Self::Physics(cfg))
            }
            Some(other) => Err(wrap(format!("field 'mode': '{other}' is not one of \"grid\", \"physics\""))),
            None => Err(wrap("missing field 'mode' (\"grid\" or \"physics\")".into())),
        }
    }

    /// Reads a TOML scene file.
    pub fn from_file(path: &Path) -> Result<Self, EnvError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EnvError::InvalidConfig { what: format!("scene file {}", path.display()), reason: e.to_string() })?;
        Self::from_toml(&text, &path.display().to_string())
    }
}
