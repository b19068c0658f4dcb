//! The physics-mode warehouse: robots are rapier3d bodies with velocity control,
//! simulated in a bevy ECS schedule.
//!
//! Floor plans are grid-mode [`Layout`]s with 1 m cells: a shelf stands on every
//! non-corridor cell, goals are cells on the corridor. A robot without a load drives
//! under shelves; lifting one (within 0.35 m of its centre) makes the robot collide
//! with standing shelves, and a shelf can be put down only on a free shelf cell.
//! Carrying a requested shelf within 0.5 m of a goal delivers it. Every step spent
//! touching a robot, a wall or (when loaded) a shelf costs `collision_penalty`.
//!
//! One env step runs the [`WarehouseStep`] schedule once, on a single thread:
//! `apply_commands` → [`SimSystems::Step`] → `carry_shelves` → `penalize_collisions`
//! → `deliver_shelves` → `advance_clock`.

use bevy::ecs::schedule::{ScheduleLabel, SingleThreadedExecutor};
use bevy::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{ActionKind, LayoutConfig, PhysicsConfig, RewardType};
use super::layout::Layout;
use crate::env::{Action, AgentRows, BoxSpace, EnvError, Info, ParallelEnv, ResetOptions, Space, check_action};
use crate::sim::plugin::{Physics, SimPlugin, SimSystems};
use crate::sim::{Groups, Handle, LidarConfig, SimWorld};
use crate::snapshot::{Class, ObjectState, Shape, Snapshot};
use crate::util::seed::{DEFAULT_SEED, rng_from_seed};

/// Collision layer of robots.
const ROBOT: u32 = 1;
/// Collision layer of standing shelves.
const SHELF: u32 = 2;
/// Collision layer of the outer walls.
const WALL: u32 = 4;
const ROBOT_RADIUS: f32 = 0.3;
const ROBOT_HALF_HEIGHT: f32 = 0.15;
const SHELF_HALF: [f32; 3] = [0.4, 0.5, 0.4];
/// A robot lifts or puts down a shelf within this distance of the shelf's (or
/// cell's) centre, and is then centred under it, so that the now-loaded robot does
/// not overlap the neighbouring shelves.
const PICK_RADIUS: f32 = 0.35;
/// A carried requested shelf within this distance of a goal's centre is delivered.
const DELIVER_RADIUS: f32 = 0.5;
/// Top yaw rate, 90° per second.
const MAX_YAW_RATE: f32 = std::f32::consts::FRAC_PI_2;
/// Observation entries before the lidar: pose (4), velocity (2), load (2), target (3).
const BASE_OBS: usize = 11;

/// The schedule that advances a physics warehouse by one step.
#[derive(ScheduleLabel, Clone, Debug, PartialEq, Eq, Hash)]
pub struct WarehouseStep;

/// What a robot is asked to do with loads this step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum LoadCommand {
    #[default]
    Keep,
    Toggle,
    Lift,
    PutDown,
}

/// A robot's command for one step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Command {
    forward: f32,
    yaw_rate: f32,
    load: LoadCommand,
}

/// A robot entity.
#[derive(Component, Debug)]
struct RobotBody {
    index: usize,
    handle: Handle,
    carrying: Option<usize>,
    has_delivered: bool,
    command: Command,
}

/// The floor plan and settings of the running episode.
#[derive(Resource)]
struct Floor {
    layout: Layout,
    cfg: PhysicsConfig,
}

/// Shelves, their positions and the request queue.
#[derive(Resource, Default)]
struct Shelves {
    handles: Vec<Handle>,
    pos: Vec<[f32; 2]>,
    /// Which shelf stands on each cell.
    at_cell: Vec<Option<usize>>,
    carried_by: Vec<Option<usize>>,
    requested: Vec<bool>,
    queue: Vec<usize>,
}

/// The env's random stream, used for resets and new requests.
#[derive(Resource)]
struct EpisodeRng(ChaCha8Rng);

/// Per-step outputs and episode counters.
#[derive(Resource, Default)]
struct StepOutputs {
    rewards: Vec<f32>,
    collisions: Vec<u32>,
    deliveries: u64,
    steps: u64,
}

fn loaded_groups(loaded: bool) -> Groups {
    Groups { memberships: ROBOT, filter: if loaded { ROBOT | WALL | SHELF } else { ROBOT | WALL } }
}

fn cell_at(layout: &Layout, x: f32, z: f32) -> Option<usize> {
    (x >= 0.0 && z >= 0.0 && (x as usize) < layout.width && (z as usize) < layout.height).then(|| z as usize * layout.width + x as usize)
}

fn cell_center(layout: &Layout, cell: usize) -> [f32; 2] {
    [(cell % layout.width) as f32 + 0.5, (cell / layout.width) as f32 + 0.5]
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Lifts or puts down shelves as commanded, then sets every robot's velocity.
fn apply_commands(
    mut robots: Query<&mut RobotBody>,
    mut physics: ResMut<Physics>,
    mut shelves: ResMut<Shelves>,
    floor: Res<Floor>,
    mut out: ResMut<StepOutputs>,
) {
    out.rewards.fill(0.0);
    for mut r in &mut robots {
        let [x, _, z] = physics.0.position(r.handle);
        let cell = cell_at(&floor.layout, x, z);
        let lift = match r.command.load {
            LoadCommand::Keep => None,
            LoadCommand::Toggle => Some(r.carrying.is_none()),
            LoadCommand::Lift => r.carrying.is_none().then_some(true),
            LoadCommand::PutDown => r.carrying.is_some().then_some(false),
        };
        match (lift, cell) {
            (Some(true), Some(c)) => {
                if let Some(s) = shelves.at_cell[c].filter(|&s| dist([x, z], shelves.pos[s]) < PICK_RADIUS) {
                    shelves.at_cell[c] = None;
                    shelves.carried_by[s] = Some(r.index);
                    physics.0.set_collider_enabled(shelves.handles[s], false);
                    physics.0.set_groups(r.handle, loaded_groups(true));
                    let yaw = physics.0.yaw(r.handle);
                    physics.0.teleport(r.handle, [shelves.pos[s][0], ROBOT_HALF_HEIGHT, shelves.pos[s][1]], yaw);
                    r.carrying = Some(s);
                }
            }
            (Some(false), Some(c)) => {
                let center = cell_center(&floor.layout, c);
                let free = !floor.layout.highways[c] && shelves.at_cell[c].is_none();
                if let (Some(s), true) = (r.carrying, free && dist([x, z], center) < PICK_RADIUS) {
                    physics.0.teleport(shelves.handles[s], [center[0], SHELF_HALF[1], center[1]], 0.0);
                    physics.0.set_collider_enabled(shelves.handles[s], true);
                    physics.0.set_groups(r.handle, loaded_groups(false));
                    shelves.pos[s] = center;
                    shelves.at_cell[c] = Some(s);
                    shelves.carried_by[s] = None;
                    r.carrying = None;
                    if r.has_delivered && floor.cfg.reward_type == RewardType::TwoStage {
                        out.rewards[r.index] += 0.5;
                    }
                    r.has_delivered = false;
                }
            }
            _ => {}
        }
        physics.0.set_planar_velocity(r.handle, r.command.forward, r.command.yaw_rate);
    }
}

/// Moves carried shelves along with their robots.
fn carry_shelves(robots: Query<&RobotBody>, mut physics: ResMut<Physics>, mut shelves: ResMut<Shelves>) {
    for r in &robots {
        if let Some(s) = r.carrying {
            let [x, _, z] = physics.0.position(r.handle);
            let yaw = physics.0.yaw(r.handle);
            physics.0.teleport(shelves.handles[s], [x, 2.0 * ROBOT_HALF_HEIGHT + SHELF_HALF[1], z], yaw);
            shelves.pos[s] = [x, z];
        }
    }
}

/// Charges the collision penalty to robots touching anything.
fn penalize_collisions(robots: Query<&RobotBody>, physics: Res<Physics>, floor: Res<Floor>, mut out: ResMut<StepOutputs>) {
    for r in &robots {
        if physics.0.in_contact(r.handle) {
            out.rewards[r.index] -= floor.cfg.collision_penalty;
            out.collisions[r.index] += 1;
        }
    }
}

/// Delivers requested shelves carried onto goals and replaces them in the queue.
fn deliver_shelves(
    mut robots: Query<&mut RobotBody>,
    physics: Res<Physics>,
    floor: Res<Floor>,
    mut shelves: ResMut<Shelves>,
    mut rng: ResMut<EpisodeRng>,
    mut out: ResMut<StepOutputs>,
) {
    for &(gx, gy) in &floor.layout.goals {
        let goal = [gx as f32 + 0.5, gy as f32 + 0.5];
        for mut r in &mut robots {
            let Some(s) = r.carrying.filter(|&s| shelves.requested[s]) else { continue };
            let [x, _, z] = physics.0.position(r.handle);
            if dist([x, z], goal) >= DELIVER_RADIUS {
                continue;
            }
            let candidates = shelves.requested.len() - shelves.queue.len();
            let k = rng.0.random_range(0..candidates);
            let new = shelves.requested.iter().enumerate().filter(|(_, req)| !**req).nth(k).map_or(s, |(i, _)| i);
            if let Some(slot) = shelves.queue.iter().position(|&q| q == s) {
                shelves.queue[slot] = new;
            }
            shelves.requested[s] = false;
            shelves.requested[new] = true;
            out.deliveries += 1;
            match floor.cfg.reward_type {
                RewardType::Global => out.rewards.iter_mut().for_each(|v| *v += 1.0),
                RewardType::Individual => out.rewards[r.index] += 1.0,
                RewardType::TwoStage => {
                    out.rewards[r.index] += 0.5;
                    r.has_delivered = true;
                }
            }
        }
    }
}

fn advance_clock(mut out: ResMut<StepOutputs>) {
    out.steps += 1;
}

/// Builds one physics warehouse as a bevy app (resources, plugin, step schedule) and
/// takes out its world and schedule, which are `Send` (an `App` is not), so the env
/// can live in a vector env's worker thread.
fn build_world(cfg: &PhysicsConfig, layout: Layout) -> Result<(World, Schedule), EnvError> {
    let mut app = App::new();
    let mut schedule = Schedule::new(WarehouseStep);
    schedule.set_executor(SingleThreadedExecutor::new());
    app.add_schedule(schedule);
    app.add_plugins(SimPlugin::new(WarehouseStep, cfg.dt));
    app.insert_resource(Floor { layout, cfg: cfg.clone() })
        .insert_resource(EpisodeRng(rng_from_seed(DEFAULT_SEED)))
        .init_resource::<Shelves>()
        .init_resource::<StepOutputs>()
        .add_systems(
            WarehouseStep,
            (
                apply_commands.before(SimSystems::Step),
                (carry_shelves, penalize_collisions, deliver_shelves, advance_clock).chain().after(SimSystems::Step),
            ),
        );
    let schedule = app
        .world_mut()
        .resource_mut::<Schedules>()
        .remove(WarehouseStep)
        .ok_or_else(|| EnvError::InvalidConfig { what: "warehouse schedule".into(), reason: "missing after build".into() })?;
    Ok((std::mem::take(app.world_mut()), schedule))
}

/// A physics-mode warehouse with `n_agents` robots, as a [`ParallelEnv`]; see
/// [`Joint`](crate::env::Joint) for the single-agent view.
pub struct PhysicsWarehouse {
    world: World,
    schedule: Schedule,
    cfg: PhysicsConfig,
    robots: Vec<Entity>,
    names: Vec<String>,
    obs_space: Space,
    act_space: Space,
    lidar: LidarConfig,
    /// Per cell: whether a robot is on it (occupancy observations).
    robot_cells: Vec<bool>,
    has_reset: bool,
}

impl PhysicsWarehouse {
    /// Builds the warehouse; call `reset` before stepping.
    pub fn new(cfg: PhysicsConfig) -> Result<Self, EnvError> {
        cfg.validate()?;
        let layout = match cfg.layout.fixed()? {
            Some(l) => l,
            None => cfg.layout.largest()?,
        };
        let dim = Self::obs_dim(&cfg);
        let mut low = vec![0.0f32; dim];
        // cos, sin, velocities and the target direction may be negative.
        for i in [2, 3, 4, 5, 8, 9] {
            low[i] = -1.0;
        }
        let obs_space = Space::Box(BoxSpace::new(low, vec![1.0; dim], vec![dim])?);
        let act_space = match cfg.actions {
            ActionKind::Discrete => Space::discrete(5)?,
            ActionKind::Continuous => Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![3])?),
        };
        let lidar = LidarConfig {
            rays: cfg.lidar_rays,
            fov: std::f32::consts::TAU,
            range: cfg.lidar_range,
            height: ROBOT_HALF_HEIGHT,
            hits: ROBOT | WALL,
        };
        let (world, schedule) = build_world(&cfg, layout)?;
        Ok(Self {
            world,
            schedule,
            names: (0..cfg.n_agents).map(|i| format!("robot_{i}")).collect(),
            robots: Vec::with_capacity(cfg.n_agents),
            obs_space,
            act_space,
            lidar,
            robot_cells: Vec::new(),
            has_reset: false,
            cfg,
        })
    }

    /// Observation entries per robot.
    pub fn obs_dim(cfg: &PhysicsConfig) -> usize {
        BASE_OBS + cfg.lidar_rays + cfg.occupancy_grid.map_or(0, |k| 2 * k * k)
    }

    /// The configuration.
    pub fn config(&self) -> &PhysicsConfig {
        &self.cfg
    }

    /// The observation space of one robot.
    pub fn agent_observation_space(&self) -> &Space {
        &self.obs_space
    }

    /// The action space of one robot.
    pub fn agent_action_space(&self) -> &Space {
        &self.act_space
    }

    /// Deliveries since the last reset.
    pub fn deliveries(&self) -> u64 {
        self.world.resource::<StepOutputs>().deliveries
    }

    /// Steps since the last reset.
    pub fn steps(&self) -> u64 {
        self.world.resource::<StepOutputs>().steps
    }

    /// Steps each robot has spent in contact since the last reset.
    pub fn collisions(&self) -> &[u32] {
        &self.world.resource::<StepOutputs>().collisions
    }

    /// The current floor plan.
    pub fn layout(&self) -> &Layout {
        &self.world.resource::<Floor>().layout
    }

    /// Requested shelf indices, in queue order.
    pub fn requests(&self) -> &[usize] {
        &self.world.resource::<Shelves>().queue
    }

    /// Position `(x, z)` and heading of robot `i`.
    pub fn robot_pose(&self, i: usize) -> Option<([f32; 2], f32)> {
        let world = &self.world;
        let r = world.get::<RobotBody>(*self.robots.get(i)?)?;
        let physics = &world.resource::<Physics>().0;
        let [x, _, z] = physics.position(r.handle);
        Some(([x, z], physics.yaw(r.handle)))
    }

    /// The shelf robot `i` carries.
    pub fn carrying(&self, i: usize) -> Option<usize> {
        self.world.get::<RobotBody>(*self.robots.get(i)?)?.carrying
    }

    /// Position `(x, z)` of every shelf.
    pub fn shelf_positions(&self) -> &[[f32; 2]] {
        &self.world.resource::<Shelves>().pos
    }

    /// Places robot `i` at `(x, z)` facing `yaw`, at rest (for scripted scenarios and tests).
    pub fn set_robot_pose(&mut self, i: usize, position: [f32; 2], yaw: f32) -> Result<(), EnvError> {
        let handle = self
            .robots
            .get(i)
            .and_then(|&e| self.world.get::<RobotBody>(e))
            .map(|r| r.handle)
            .ok_or_else(|| EnvError::InvalidConfig { what: "robot".into(), reason: format!("no robot {i} (reset first)") })?;
        let physics = &mut self.world.resource_mut::<Physics>().0;
        physics.teleport(handle, [position[0], ROBOT_HALF_HEIGHT, position[1]], yaw);
        physics.set_planar_velocity(handle, 0.0, 0.0);
        Ok(())
    }

    /// Replaces the request queue with these shelf indices (distinct, in range).
    pub fn set_requests(&mut self, requests: &[usize]) -> Result<(), EnvError> {
        let mut shelves = self.world.resource_mut::<Shelves>();
        let n = shelves.requested.len();
        let distinct = requests.iter().enumerate().all(|(i, r)| !requests[..i].contains(r));
        if requests.len() != self.cfg.request_queue_size || !distinct || requests.iter().any(|&r| r >= n) {
            return Err(EnvError::InvalidConfig { what: "request queue".into(), reason: format!("{requests:?} is not a valid queue") });
        }
        shelves.requested.iter_mut().for_each(|r| *r = false);
        shelves.queue.clear();
        for &r in requests {
            shelves.requested[r] = true;
            shelves.queue.push(r);
        }
        Ok(())
    }

    /// The shelf standing on cell `(x, y)`, if any.
    pub fn shelf_at(&self, x: usize, y: usize) -> Option<usize> {
        let layout = &self.world.resource::<Floor>().layout;
        if x >= layout.width || y >= layout.height {
            return None;
        }
        self.world.resource::<Shelves>().at_cell[y * layout.width + x]
    }

    /// Each robot's reward for the last step.
    pub fn rewards(&self) -> &[f32] {
        &self.world.resource::<StepOutputs>().rewards
    }

    /// Starts an episode: a new physics world with walls, a shelf on every shelf cell
    /// (moved up to `shelf_jitter` from its centre), robots on distinct random cells
    /// with random headings, and a random request queue.
    pub fn reset_state(&mut self, seed: Option<u64>) -> Result<(), EnvError> {
        // Everything fallible happens before the old episode is torn down.
        let world = &mut self.world;
        let mut rng = match seed {
            Some(s) => rng_from_seed(s),
            None => world.get_resource::<EpisodeRng>().map_or_else(|| rng_from_seed(DEFAULT_SEED), |r| r.0.clone()),
        };
        let layout = match &self.cfg.layout {
            LayoutConfig::Procedural { shelf_columns, column_height, shelf_rows } => Layout::procedural(
                &mut rng,
                (shelf_columns[0], shelf_columns[1]),
                (column_height[0], column_height[1]),
                (shelf_rows[0], shelf_rows[1]),
            )
            .inspect_err(|_| self.has_reset = false)?,
            _ => world.resource::<Floor>().layout.clone(),
        };
        for e in self.robots.drain(..) {
            world.despawn(e);
        }
        let (w, h) = (layout.width as f32, layout.height as f32);
        let mut sim = SimWorld::new(self.cfg.dt);
        let wall = Groups { memberships: WALL, filter: ROBOT };
        sim.add_static_box([-0.1, 0.5, h / 2.0], [0.1, 0.5, h / 2.0 + 0.2], wall);
        sim.add_static_box([w + 0.1, 0.5, h / 2.0], [0.1, 0.5, h / 2.0 + 0.2], wall);
        sim.add_static_box([w / 2.0, 0.5, -0.1], [w / 2.0 + 0.2, 0.5, 0.1], wall);
        sim.add_static_box([w / 2.0, 0.5, h + 0.1], [w / 2.0 + 0.2, 0.5, 0.1], wall);

        let mut shelves = Shelves { at_cell: vec![None; layout.cells()], ..Default::default() };
        let jitter = self.cfg.shelf_jitter;
        for c in (0..layout.cells()).filter(|&c| !layout.highways[c]) {
            let [cx, cz] = cell_center(&layout, c);
            let (dx, dz) = if jitter > 0.0 { (rng.random_range(-jitter..=jitter), rng.random_range(-jitter..=jitter)) } else { (0.0, 0.0) };
            let handle = sim.add_static_box([cx + dx, SHELF_HALF[1], cz + dz], SHELF_HALF, Groups { memberships: SHELF, filter: ROBOT });
            shelves.at_cell[c] = Some(shelves.handles.len());
            shelves.handles.push(handle);
            shelves.pos.push([cx + dx, cz + dz]);
        }
        let n_shelves = shelves.handles.len();
        shelves.carried_by = vec![None; n_shelves];
        shelves.requested = vec![false; n_shelves];
        while shelves.queue.len() < self.cfg.request_queue_size {
            let s = rng.random_range(0..n_shelves);
            if !shelves.requested[s] {
                shelves.requested[s] = true;
                shelves.queue.push(s);
            }
        }

        // Robots on distinct cells (partial Fisher–Yates), any heading.
        let mut cells: Vec<usize> = (0..layout.cells()).collect();
        let mut robots = Vec::with_capacity(self.cfg.n_agents);
        for i in 0..self.cfg.n_agents {
            let j = rng.random_range(i..cells.len());
            cells.swap(i, j);
            let [cx, cz] = cell_center(&layout, cells[i]);
            let yaw = rng.random_range(-std::f32::consts::PI..std::f32::consts::PI);
            let handle = sim.add_planar_robot([cx, ROBOT_HALF_HEIGHT, cz], yaw, ROBOT_RADIUS, ROBOT_HALF_HEIGHT, loaded_groups(false));
            robots.push(RobotBody { index: i, handle, carrying: None, has_delivered: false, command: Command::default() });
        }
        self.robot_cells = vec![false; layout.cells()];
        world.insert_resource(Physics(sim));
        world.insert_resource(shelves);
        world.insert_resource(EpisodeRng(rng));
        world.insert_resource(StepOutputs {
            rewards: vec![0.0; self.cfg.n_agents],
            collisions: vec![0; self.cfg.n_agents],
            deliveries: 0,
            steps: 0,
        });
        world.insert_resource(Floor { layout, cfg: self.cfg.clone() });
        // Spawned in index order, so queries visit robots in index order.
        for r in robots {
            self.robots.push(world.spawn(r).id());
        }
        self.has_reset = true;
        Ok(())
    }

    /// Decodes robot `i`'s action into its command.
    fn command_for(&self, action: Action<'_>) -> Command {
        let max_speed = self.cfg.max_speed;
        match action {
            Action::Discrete(a) => match a {
                1 => Command { forward: max_speed, yaw_rate: 0.0, load: LoadCommand::Keep },
                2 => Command { forward: 0.0, yaw_rate: MAX_YAW_RATE, load: LoadCommand::Keep },
                3 => Command { forward: 0.0, yaw_rate: -MAX_YAW_RATE, load: LoadCommand::Keep },
                4 => Command { forward: 0.0, yaw_rate: 0.0, load: LoadCommand::Toggle },
                _ => Command::default(),
            },
            Action::Continuous(a) => Command {
                forward: a[0] * max_speed,
                yaw_rate: a[1] * MAX_YAW_RATE,
                load: if a[2] > 0.5 {
                    LoadCommand::Lift
                } else if a[2] < -0.5 {
                    LoadCommand::PutDown
                } else {
                    LoadCommand::Keep
                },
            },
            Action::MultiDiscrete(_) => Command::default(),
        }
    }

    /// Runs one step with `actions(i)` for robot `i` (already validated); returns
    /// whether the step limit was reached. Rewards are in `StepOutputs`.
    /// Steps with `actions(i)` for robot `i`; the actions must lie in the robot action space.
    pub fn step_with<'a>(&mut self, actions: impl Fn(usize) -> Action<'a>) -> Result<bool, EnvError> {
        if !self.has_reset {
            return Err(EnvError::ResetNeeded);
        }
        for i in 0..self.robots.len() {
            check_action(&self.act_space, actions(i))?;
        }
        for (i, &e) in self.robots.iter().enumerate() {
            let command = self.command_for(actions(i));
            if let Some(mut r) = self.world.get_mut::<RobotBody>(e) {
                r.command = command;
            }
        }
        self.schedule.run(&mut self.world);
        let steps = self.steps();
        Ok(self.cfg.max_steps.is_some_and(|m| steps >= m))
    }

    /// Writes robot `i`'s observation: `[x/W, z/H, cos yaw, sin yaw, speed/max,
    /// yaw rate/max, carrying, carrying a requested shelf, target direction in the
    /// robot frame (forward, left), target distance / diagonal]`, then the lidar
    /// (distance / range per ray, ray 0 straight ahead, counter-clockwise; robots
    /// and walls, and shelves too when loaded), then
    /// the optional occupancy grid (shelves, then robots, row-major around the robot).
    /// The target is the nearest goal when carrying a requested shelf, the nearest
    /// free shelf cell when carrying another, else the nearest requested shelf.
    pub fn observe(&mut self, i: usize, out: &mut [f32]) {
        let world = &self.world;
        let Some(r) = self.robots.get(i).and_then(|&e| world.get::<RobotBody>(e)) else { return };
        let physics = &world.resource::<Physics>().0;
        let shelves = world.resource::<Shelves>();
        let layout = &world.resource::<Floor>().layout;
        let [x, _, z] = physics.position(r.handle);
        let yaw = physics.yaw(r.handle);
        let (speed, yaw_rate) = physics.planar_velocity(r.handle);
        let (w, h) = (layout.width as f32, layout.height as f32);
        out[0] = (x / w).clamp(0.0, 1.0);
        out[1] = (z / h).clamp(0.0, 1.0);
        out[2] = yaw.cos();
        out[3] = yaw.sin();
        out[4] = (speed / self.cfg.max_speed).clamp(-1.0, 1.0);
        out[5] = (yaw_rate / MAX_YAW_RATE).clamp(-1.0, 1.0);
        out[6] = f32::from(u8::from(r.carrying.is_some()));
        out[7] = f32::from(u8::from(r.carrying.is_some_and(|s| shelves.requested[s])));
        let here = [x, z];
        let nearest = |points: &mut dyn Iterator<Item = [f32; 2]>| {
            points.map(|p| (dist(p, here), p)).min_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, p)| p)
        };
        let target = match r.carrying {
            Some(s) if shelves.requested[s] => nearest(&mut layout.goals.iter().map(|&(gx, gy)| [gx as f32 + 0.5, gy as f32 + 0.5])),
            Some(_) => nearest(
                &mut (0..layout.cells()).filter(|&c| !layout.highways[c] && shelves.at_cell[c].is_none()).map(|c| cell_center(layout, c)),
            ),
            None => nearest(&mut shelves.queue.iter().filter(|&&s| shelves.carried_by[s].is_none()).map(|&s| shelves.pos[s])),
        };
        let diagonal = (w * w + h * h).sqrt();
        match target {
            Some(t) => {
                let (dx, dz) = (t[0] - x, t[1] - z);
                let d = (dx * dx + dz * dz).sqrt();
                let (fwd, left) = (dx * yaw.sin() + dz * yaw.cos(), dx * yaw.cos() - dz * yaw.sin());
                let (f, l) = if d > 1e-6 { (fwd / d, left / d) } else { (0.0, 0.0) };
                out[8] = f.clamp(-1.0, 1.0);
                out[9] = l.clamp(-1.0, 1.0);
                out[10] = (d / diagonal).clamp(0.0, 1.0);
            }
            None => out[8..11].fill(0.0),
        }
        let rays = self.cfg.lidar_rays;
        let lidar = LidarConfig { hits: if r.carrying.is_some() { ROBOT | WALL | SHELF } else { ROBOT | WALL }, ..self.lidar };
        physics.cast_lidar(r.handle, &lidar, &mut out[BASE_OBS..BASE_OBS + rays]);
        if let Some(k) = self.cfg.occupancy_grid {
            self.robot_cells.fill(false);
            for &e in &self.robots {
                if let Some(other) = world.get::<RobotBody>(e) {
                    let [ox, _, oz] = physics.position(other.handle);
                    if let Some(c) = cell_at(layout, ox, oz) {
                        self.robot_cells[c] = true;
                    }
                }
            }
            let (cx, cz) = (x.floor() as isize, z.floor() as isize);
            let half = (k / 2) as isize;
            let base = BASE_OBS + rays;
            for (n, (dz, dx)) in (-half..=half).flat_map(|dz| (-half..=half).map(move |dx| (dz, dx))).enumerate() {
                let (gx, gz) = (cx + dx, cz + dz);
                let inside = gx >= 0 && gz >= 0 && (gx as usize) < layout.width && (gz as usize) < layout.height;
                let c = if inside { Some(gz as usize * layout.width + gx as usize) } else { None };
                out[base + n] = f32::from(u8::from(c.is_some_and(|c| shelves.at_cell[c].is_some())));
                out[base + k * k + n] = f32::from(u8::from(c.is_some_and(|c| self.robot_cells[c])));
            }
        }
    }

    /// The shared counters every robot reports.
    fn info(&self) -> Info {
        let out = self.world.resource::<StepOutputs>();
        let mut info = Info::default();
        info.values.set("deliveries", out.deliveries as f64);
        info.values.set("collisions", out.collisions.iter().map(|&c| c as f64).sum());
        info
    }
}

impl ParallelEnv for PhysicsWarehouse {
    fn possible_agents(&self) -> &[String] {
        &self.names
    }

    fn observation_space(&self, agent: usize) -> Option<&Space> {
        (agent < self.names.len()).then_some(&self.obs_space)
    }

    fn action_space(&self, agent: usize) -> Option<&Space> {
        (agent < self.names.len()).then_some(&self.act_space)
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_uniform(self.names.len(), self.obs_space.flat_dim())?;
        ResetOptions::reject_any(options)?;
        self.reset_state(seed)?;
        let info = self.info();
        for i in 0..self.names.len() {
            self.observe(i, out.obs_mut(i));
            out.rewards[i] = 0.0;
            out.terminated[i] = false;
            out.truncated[i] = false;
            out.active[i] = true;
            out.infos[i] = info;
        }
        Ok(())
    }

    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_uniform(self.names.len(), self.obs_space.flat_dim())?;
        if actions.len() != self.names.len() {
            return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected: self.names.len() });
        }
        if out.all_done() {
            return Err(EnvError::ResetNeeded);
        }
        for &a in actions {
            check_action(&self.act_space, a)?;
        }
        let truncated = self.step_with(|i| actions[i])?;
        let info = self.info();
        for i in 0..self.names.len() {
            self.observe(i, out.obs_mut(i));
            out.rewards[i] = self.rewards()[i];
            out.truncated[i] = truncated;
            out.terminated[i] = false;
            out.active[i] = !truncated;
            out.infos[i] = info;
        }
        Ok(())
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        let world = &self.world;
        let physics = &world.resource::<Physics>().0;
        let shelves = world.resource::<Shelves>();
        let layout = &world.resource::<Floor>().layout;
        let steps = world.resource::<StepOutputs>().steps;
        out.step = steps;
        out.time_s = steps as f64 * self.cfg.dt as f64;
        out.objects.clear();
        let mut id = super::push_floor_and_goals(layout, out);
        for (s, &handle) in shelves.handles.iter().enumerate() {
            out.objects.push(ObjectState {
                id: id + s as u32,
                class: if shelves.requested[s] { Class::RequestedShelf } else { Class::Shelf },
                position: physics.position(handle),
                rotation: ObjectState::yaw(physics.yaw(handle)),
                shape: Shape::Cuboid { half_extents: SHELF_HALF },
            });
        }
        id += shelves.handles.len() as u32;
        for (i, &e) in self.robots.iter().enumerate() {
            if let Some(r) = world.get::<RobotBody>(e) {
                out.objects.push(ObjectState {
                    id: id + i as u32,
                    class: Class::Robot,
                    position: physics.position(r.handle),
                    rotation: ObjectState::yaw(physics.yaw(r.handle)),
                    shape: Shape::Cylinder { radius: ROBOT_RADIUS, half_height: ROBOT_HALF_HEIGHT },
                });
            }
        }
        true
    }
}
