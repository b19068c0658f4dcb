//! The grid-mode warehouse: the rules of rware 2.0 (Papoudakis et al., "Benchmarking
//! Multi-Agent Deep Reinforcement Learning Algorithms in Cooperative Tasks", NeurIPS
//! 2021 Datasets and Benchmarks; reference implementation `rware/warehouse.py`),
//! re-implemented without allocation in the step.
//!
//! Given the same layout, robot positions, directions, request queue and actions,
//! a step produces rware's next positions, loads, rewards and flattened
//! observations. Two deliberate differences: the random draws come from our seeded
//! ChaCha8 stream rather than numpy's, and reaching `max_steps` or
//! `max_inactivity_steps` is reported as `truncated` (a time limit), where rware
//! reports it as terminated.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{GridConfig, LayoutConfig, RewardType};
use super::layout::Layout;
use crate::env::{Action, AgentRows, BoxSpace, EnvError, Info, ParallelEnv, ResetOptions, Space, check_obs_len, invalid_action};
use crate::snapshot::{Class, ObjectState, Shape, Snapshot};
use crate::util::seed::{DEFAULT_SEED, rng_from_seed};

/// rware's actions, in `Discrete(5)` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum GridAction {
    /// Do nothing.
    Noop = 0,
    /// Move one cell in the facing direction.
    Forward = 1,
    /// Turn 90° counter-clockwise.
    Left = 2,
    /// Turn 90° clockwise.
    Right = 3,
    /// Lift the shelf underneath, or put the carried shelf down (not on a corridor).
    ToggleLoad = 4,
}

impl GridAction {
    /// The action with index `i` of `Discrete(5)`.
    pub fn from_index(i: i64) -> Option<Self> {
        [Self::Noop, Self::Forward, Self::Left, Self::Right, Self::ToggleLoad].get(usize::try_from(i).ok()?).copied()
    }
}

/// Facing directions, with rware's values (UP 0, DOWN 1, LEFT 2, RIGHT 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Towards row 0.
    Up = 0,
    /// Towards the last row.
    Down = 1,
    /// Towards column 0.
    Left = 2,
    /// Towards the last column.
    Right = 3,
}

impl Direction {
    /// The direction with rware's value `v`.
    pub fn from_index(v: usize) -> Option<Self> {
        [Self::Up, Self::Down, Self::Left, Self::Right].get(v).copied()
    }

    fn turned_right(self) -> Self {
        match self {
            Self::Up => Self::Right,
            Self::Right => Self::Down,
            Self::Down => Self::Left,
            Self::Left => Self::Up,
        }
    }

    fn turned_left(self) -> Self {
        match self {
            Self::Up => Self::Left,
            Self::Left => Self::Down,
            Self::Down => Self::Right,
            Self::Right => Self::Up,
        }
    }

    /// Rotation about the up axis for snapshots: facing "down" (+z) is yaw 0.
    fn yaw(self) -> f32 {
        use std::f32::consts::{FRAC_PI_2, PI};
        match self {
            Self::Down => 0.0,
            Self::Right => FRAC_PI_2,
            Self::Up => PI,
            Self::Left => -FRAC_PI_2,
        }
    }
}

/// One robot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Robot {
    /// Column.
    pub x: usize,
    /// Row.
    pub y: usize,
    /// Facing direction.
    pub dir: Direction,
    /// Index of the carried shelf.
    pub carrying: Option<usize>,
    /// Delivered its shelf and has not put it down yet (two-stage rewards).
    pub has_delivered: bool,
}

/// Per-step scratch space for collision resolution, allocated once.
#[derive(Clone, Debug, Default)]
struct Scratch {
    /// Actions handed in by the env adapters, decoded.
    input: Vec<GridAction>,
    /// Actions as requested, then as surviving collision resolution.
    req: Vec<GridAction>,
    start: Vec<usize>,
    target: Vec<usize>,
    succ: Vec<Option<usize>>,
    visit: Vec<u8>,
    stack: Vec<usize>,
    committed: Vec<bool>,
    height: Vec<u32>,
    in_root_tree: Vec<bool>,
    node_stamp: Vec<u32>,
    node_ord: Vec<u32>,
    root_stamp: Vec<u32>,
    stamp: u32,
    moved: Vec<bool>,
    old_cell: Vec<usize>,
    /// Cells of the request graph in insertion order (networkx's node order).
    g_nodes: Vec<usize>,
}

/// Observation size per robot: 8 self features plus 7 per sensed cell.
pub fn obs_dim(sensor_range: usize) -> usize {
    let side = 2 * sensor_range + 1;
    8 + side * side * 7
}

/// A grid-mode warehouse with `n_agents` robots: the multi-agent core, offered as a
/// [`ParallelEnv`] here and as a single-agent joint [`Env`](crate::env::Env) by
/// [`Joint`](crate::env::Joint).
#[derive(Clone, Debug)]
pub struct GridWarehouse {
    cfg: GridConfig,
    layout: Layout,
    rng: ChaCha8Rng,
    robots: Vec<Robot>,
    shelves: Vec<(usize, usize)>,
    requests: Vec<usize>,
    requested: Vec<bool>,
    /// Per cell: 0, or robot index + 1.
    robot_grid: Vec<u32>,
    /// Per cell: 0, or shelf index + 1.
    shelf_grid: Vec<u32>,
    steps: u64,
    inactive_steps: u64,
    deliveries: u64,
    names: Vec<String>,
    obs_space: Space,
    act_space: Space,
    scratch: Scratch,
    has_reset: bool,
}

impl GridWarehouse {
    /// Builds the warehouse; call `reset` before stepping.
    pub fn new(cfg: GridConfig) -> Result<Self, EnvError> {
        cfg.validate()?;
        let largest = cfg.layout.largest()?;
        let layout = match cfg.layout.fixed()? {
            Some(l) => l,
            None => largest.clone(),
        };
        let coord_max = largest.width.max(largest.height) as f32;
        let dim = obs_dim(cfg.sensor_range);
        let mut high = vec![1.0f32; dim];
        high[0] = coord_max;
        high[1] = coord_max;
        let obs_space = Space::Box(BoxSpace::new(vec![0.0; dim], high, vec![dim])?);
        let n = cfg.n_agents;
        let mut env = Self {
            names: (0..n).map(|i| format!("robot_{i}")).collect(),
            robots: Vec::with_capacity(n),
            shelves: Vec::new(),
            requests: Vec::with_capacity(cfg.request_queue_size),
            requested: Vec::new(),
            robot_grid: Vec::new(),
            shelf_grid: Vec::new(),
            steps: 0,
            inactive_steps: 0,
            deliveries: 0,
            rng: rng_from_seed(DEFAULT_SEED),
            obs_space,
            act_space: Space::Discrete { n: 5, start: 0 },
            scratch: Scratch::default(),
            has_reset: false,
            layout,
            cfg,
        };
        env.size_buffers();
        Ok(env)
    }

    fn size_buffers(&mut self) {
        let cells = self.layout.cells();
        let n = self.cfg.n_agents;
        self.robot_grid = vec![0; cells];
        self.shelf_grid = vec![0; cells];
        let s = &mut self.scratch;
        s.input = vec![GridAction::Noop; n];
        s.req = vec![GridAction::Noop; n];
        s.start = vec![0; n];
        s.target = vec![0; n];
        s.succ = vec![None; n];
        s.visit = vec![0; n];
        s.stack = Vec::with_capacity(n);
        s.committed = vec![false; n];
        s.height = vec![0; n];
        s.in_root_tree = vec![false; n];
        s.node_stamp = vec![0; cells];
        s.node_ord = vec![0; cells];
        s.root_stamp = vec![0; cells];
        s.stamp = 0;
        s.g_nodes = Vec::with_capacity(2 * n);
        s.moved = vec![false; n];
        s.old_cell = vec![0; n];
    }

    /// The configuration.
    pub fn config(&self) -> &GridConfig {
        &self.cfg
    }

    /// The current floor plan.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The robots.
    pub fn robots(&self) -> &[Robot] {
        &self.robots
    }

    /// Shelf positions `(x, y)` by shelf index.
    pub fn shelves(&self) -> &[(usize, usize)] {
        &self.shelves
    }

    /// Requested shelf indices, in queue order.
    pub fn requests(&self) -> &[usize] {
        &self.requests
    }

    /// Deliveries since the last reset.
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// Steps since the last reset.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The observation space of one robot.
    pub fn agent_observation_space(&self) -> &Space {
        &self.obs_space
    }

    fn cell(&self, x: usize, y: usize) -> usize {
        self.layout.cell(x, y)
    }

    fn recompute_grids(&mut self) {
        self.robot_grid.fill(0);
        self.shelf_grid.fill(0);
        for (i, &(x, y)) in self.shelves.iter().enumerate() {
            let c = self.cell(x, y);
            self.shelf_grid[c] = i as u32 + 1;
        }
        for (i, r) in self.robots.iter().enumerate() {
            let c = self.cell(r.x, r.y);
            self.robot_grid[c] = i as u32 + 1;
        }
    }

    /// Starts an episode: a shelf on every non-corridor cell, robots on distinct
    /// random cells facing random directions, and a random request queue.
    /// Procedural layouts are redrawn from the env's RNG.
    pub fn reset_state(&mut self, seed: Option<u64>) -> Result<(), EnvError> {
        if let Some(s) = seed {
            self.rng = rng_from_seed(s);
        }
        if let LayoutConfig::Procedural { shelf_columns, column_height, shelf_rows } = &self.cfg.layout {
            let (c, h, r) = ((shelf_columns[0], shelf_columns[1]), (column_height[0], column_height[1]), (shelf_rows[0], shelf_rows[1]));
            let layout = Layout::procedural(&mut self.rng, c, h, r).inspect_err(|_| self.has_reset = false)?;
            if self.cfg.n_agents > layout.cells() || self.cfg.request_queue_size >= layout.num_shelves() {
                self.has_reset = false;
                return Err(EnvError::InvalidConfig {
                    what: "procedural layout".into(),
                    reason: format!("a drawn {}x{} layout is too small for the robots or requests", layout.width, layout.height),
                });
            }
            if layout != self.layout {
                self.layout = layout;
                self.size_buffers();
            }
        }
        let (w, h) = (self.layout.width, self.layout.height);
        self.shelves.clear();
        for y in 0..h {
            for x in 0..w {
                if !self.layout.is_highway(x, y) {
                    self.shelves.push((x, y));
                }
            }
        }
        // Robots on distinct cells: a partial Fisher–Yates draw over cell indices.
        let cells = w * h;
        self.robots.clear();
        let mut taken = std::mem::take(&mut self.scratch.node_ord);
        taken.iter_mut().enumerate().for_each(|(i, t)| *t = i as u32);
        for i in 0..self.cfg.n_agents {
            let j = self.rng.random_range(i..cells);
            taken.swap(i, j);
            let c = taken[i] as usize;
            let dir = Direction::from_index(self.rng.random_range(0..4)).unwrap_or(Direction::Up);
            self.robots.push(Robot { x: c % w, y: c / w, dir, carrying: None, has_delivered: false });
        }
        self.scratch.node_ord = taken;
        self.requested = vec![false; self.shelves.len()];
        self.requests.clear();
        while self.requests.len() < self.cfg.request_queue_size {
            let s = self.rng.random_range(0..self.shelves.len());
            if !self.requested[s] {
                self.requested[s] = true;
                self.requests.push(s);
            }
        }
        self.steps = 0;
        self.inactive_steps = 0;
        self.deliveries = 0;
        self.recompute_grids();
        self.has_reset = true;
        Ok(())
    }

    /// Puts robots and requests in a given state (shelves back at their home cells),
    /// e.g. to replay a transition recorded from rware.
    pub fn set_state(&mut self, robots: &[Robot], requests: &[usize]) -> Result<(), EnvError> {
        let invalid = |reason: String| EnvError::InvalidConfig { what: "warehouse state".into(), reason };
        if robots.len() != self.cfg.n_agents || requests.len() != self.cfg.request_queue_size {
            return Err(invalid(format!("need {} robots and {} requests", self.cfg.n_agents, self.cfg.request_queue_size)));
        }
        if !self.has_reset {
            self.reset_state(None)?;
        }
        self.shelves.clear();
        for y in 0..self.layout.height {
            for x in 0..self.layout.width {
                if !self.layout.is_highway(x, y) {
                    self.shelves.push((x, y));
                }
            }
        }
        for (i, r) in robots.iter().enumerate() {
            if r.x >= self.layout.width || r.y >= self.layout.height || r.carrying.is_some_and(|s| s >= self.shelves.len()) {
                return Err(invalid(format!("robot {r:?} is outside the warehouse")));
            }
            let clash = robots[..i].iter().any(|o| (o.x, o.y) == (r.x, r.y) || (o.carrying.is_some() && o.carrying == r.carrying));
            if clash {
                return Err(invalid(format!("robot {i} shares a cell or a carried shelf with another robot")));
            }
        }
        // A carried shelf leaves its home cell; no other shelf may stand where it goes.
        for r in robots {
            let Some(s) = r.carrying else { continue };
            let blocked = self
                .shelves
                .iter()
                .enumerate()
                .any(|(k, &pos)| k != s && pos == (r.x, r.y) && !robots.iter().any(|o| o.carrying == Some(k)));
            if blocked {
                return Err(invalid(format!("robot at ({}, {}) carries a shelf onto a standing shelf", r.x, r.y)));
            }
        }
        self.robots.clear();
        self.robots.extend_from_slice(robots);
        for r in robots {
            if let Some(s) = r.carrying {
                self.shelves[s] = (r.x, r.y);
            }
        }
        self.set_requests(requests)?;
        self.recompute_grids();
        Ok(())
    }

    /// Replaces the request queue (e.g. with rware's random choice after a delivery).
    pub fn set_requests(&mut self, requests: &[usize]) -> Result<(), EnvError> {
        let distinct = requests.iter().enumerate().all(|(i, r)| !requests[..i].contains(r));
        if requests.len() != self.cfg.request_queue_size || !distinct || requests.iter().any(|&s| s >= self.shelves.len()) {
            return Err(EnvError::InvalidConfig { what: "request queue".into(), reason: format!("{requests:?} is not a valid queue") });
        }
        self.requested.iter_mut().for_each(|r| *r = false);
        self.requests.clear();
        for &s in requests {
            self.requested[s] = true;
            self.requests.push(s);
        }
        Ok(())
    }

    /// rware's collision resolution. Each robot is an edge from its cell to the cell
    /// it asks for. In each weakly connected component of that graph (each has at
    /// most one cycle, since a cell holds one robot): if there is a cycle, the robots
    /// on it move (a two-robot swap is impossible, so none do); otherwise the robots
    /// on the longest path into the free cell move, ties broken as networkx's
    /// `dag_longest_path` breaks them. Every other forward move becomes a no-op.
    fn resolve_moves(&mut self) {
        // Borrowed field by field: moving the scratch out and back would copy it twice a step.
        let Self { scratch: s, robots, layout, robot_grid, shelf_grid, .. } = self;
        let (robots, layout, robot_grid, shelf_grid) = (&*robots, &*layout, &*robot_grid, &*shelf_grid);
        let n = robots.len();
        s.stamp = s.stamp.wrapping_add(1);
        if s.stamp == 0 {
            s.node_stamp.fill(0);
            s.root_stamp.fill(0);
            s.stamp = 1;
        }
        for i in 0..n {
            let r = robots[i];
            let start = layout.cell(r.x, r.y);
            let mut target = req_cell(layout, &r, s.req[i]);
            if r.carrying.is_some() && target != start && shelf_grid[target] != 0 {
                let other = robot_grid[target];
                let other_carries = other != 0 && robots[other as usize - 1].carrying.is_some();
                if !other_carries {
                    // A standing shelf blocks a loaded robot.
                    s.req[i] = GridAction::Noop;
                    target = start;
                }
            }
            s.start[i] = start;
            s.target[i] = target;
        }
        // Node insertion order of the reference graph, used to break ties.
        let mut ord = 0;
        s.g_nodes.clear();
        for i in 0..n {
            for node in [s.start[i], s.target[i]] {
                if s.node_stamp[node] != s.stamp {
                    s.node_stamp[node] = s.stamp;
                    s.node_ord[node] = ord;
                    s.g_nodes.push(node);
                    ord += 1;
                }
            }
        }
        for i in 0..n {
            s.succ[i] = if s.target[i] == s.start[i] {
                Some(i)
            } else {
                match robot_grid[s.target[i]] {
                    0 => None,
                    j => Some(j as usize - 1),
                }
            };
            s.visit[i] = 0;
            s.committed[i] = false;
            s.in_root_tree[i] = false;
            s.height[i] = 0;
        }
        // Walk each robot's chain of requests: it ends at a free cell or in a cycle.
        for i in 0..n {
            if s.visit[i] != 0 {
                continue;
            }
            s.stack.clear();
            let mut cur = Some(i);
            while let Some(c) = cur {
                if s.visit[c] != 0 {
                    break;
                }
                s.visit[c] = 1;
                s.stack.push(c);
                cur = s.succ[c];
            }
            match cur {
                Some(c) if s.visit[c] == 1 => {
                    // A new cycle: the stack from `c` on.
                    let pos = s.stack.iter().position(|&k| k == c).unwrap_or(0);
                    let len = s.stack.len() - pos;
                    if len != 2 {
                        for k in pos..s.stack.len() {
                            s.committed[s.stack[k]] = true;
                        }
                    }
                }
                Some(_) => {}
                None => {
                    for &k in &s.stack {
                        s.in_root_tree[k] = true;
                    }
                }
            }
            for &k in &s.stack {
                s.visit[k] = 2;
            }
            // Robots that joined an existing tree or cycle inherit its kind.
            if cur.is_some_and(|c| s.in_root_tree[c]) {
                for &k in &s.stack {
                    s.in_root_tree[k] = true;
                }
            }
        }
        // Longest chain of robots ending at each robot's cell (trees only).
        let mut changed = true;
        while changed {
            changed = false;
            for k in 0..n {
                if let (true, Some(j)) = (s.in_root_tree[k], s.succ[k])
                    && s.height[j] < s.height[k] + 1
                {
                    s.height[j] = s.height[k] + 1;
                    changed = true;
                }
            }
        }
        // For each free cell some chain ends at, commit the longest chain into it.
        for i in 0..n {
            if !s.in_root_tree[i] || s.succ[i].is_some() {
                continue;
            }
            let root = s.target[i];
            if s.root_stamp[root] == s.stamp {
                continue;
            }
            s.root_stamp[root] = s.stamp;
            let mut node = root;
            let mut order: Option<Vec<usize>> = None;
            loop {
                let mut best: Option<usize> = None;
                let mut tied = false;
                for j in 0..n {
                    if s.target[j] != node || s.start[j] == node || !s.in_root_tree[j] {
                        continue;
                    }
                    match best {
                        Some(b) if s.height[b] > s.height[j] => {}
                        Some(b) if s.height[b] == s.height[j] => tied = true,
                        _ => {
                            best = Some(j);
                            tied = false;
                        }
                    }
                }
                if tied {
                    // Equal chains: the first in networkx's node order of this component wins.
                    let order = order.get_or_insert_with(|| component_order(layout.width, s, n, root));
                    let height = best.map_or(0, |b| s.height[b]);
                    best = order.iter().find_map(|&cell| {
                        (0..n).find(|&j| s.start[j] == cell && s.target[j] == node && s.start[j] != node && s.height[j] == height)
                    });
                }
                match best {
                    Some(j) => {
                        s.committed[j] = true;
                        node = s.start[j];
                    }
                    None => break,
                }
            }
        }
        for i in 0..n {
            if !s.committed[i] {
                s.req[i] = GridAction::Noop;
            }
        }
    }

    /// One step of the rules with `actions[i]` for robot `i`; adds rewards into
    /// `rewards` (zeroed first) and returns whether a step limit was reached.
    pub fn step_state(&mut self, actions: &[GridAction], rewards: &mut [f32]) -> Result<bool, EnvError> {
        if !self.has_reset {
            return Err(EnvError::ResetNeeded);
        }
        let n = self.robots.len();
        if actions.len() != n || rewards.len() != n {
            return Err(EnvError::BufferSize { what: "per-robot actions/rewards", got: actions.len().min(rewards.len()), expected: n });
        }
        rewards.fill(0.0);
        self.scratch.req.copy_from_slice(actions);
        self.resolve_moves();

        // Apply the surviving actions in robot order.
        #[expect(clippy::needless_range_loop, reason = "i indexes robots, scratch and rewards alike")]
        for i in 0..n {
            let action = self.scratch.req[i];
            let mut r = self.robots[i];
            self.scratch.moved[i] = false;
            match action {
                GridAction::Forward => {
                    let target = self.scratch.target[i];
                    self.scratch.old_cell[i] = self.cell(r.x, r.y);
                    self.scratch.moved[i] = target != self.scratch.old_cell[i];
                    (r.x, r.y) = (target % self.layout.width, target / self.layout.width);
                    if let Some(s) = r.carrying {
                        self.shelves[s] = (r.x, r.y);
                    }
                }
                GridAction::Left => r.dir = r.dir.turned_left(),
                GridAction::Right => r.dir = r.dir.turned_right(),
                GridAction::ToggleLoad => match r.carrying {
                    None => {
                        let shelf = self.shelf_grid[self.cell(r.x, r.y)];
                        if shelf != 0 {
                            r.carrying = Some(shelf as usize - 1);
                        }
                    }
                    Some(_) => {
                        if !self.layout.is_highway(r.x, r.y) {
                            r.carrying = None;
                            if r.has_delivered && self.cfg.reward_type == RewardType::TwoStage {
                                rewards[i] += 0.5;
                            }
                            r.has_delivered = false;
                        }
                    }
                },
                GridAction::Noop => {}
            }
            self.robots[i] = r;
        }
        // Update the occupancy grids for the robots (and carried shelves) that moved.
        for i in 0..n {
            if self.scratch.moved[i] {
                let old = self.scratch.old_cell[i];
                self.robot_grid[old] = 0;
                if self.robots[i].carrying.is_some() {
                    self.shelf_grid[old] = 0;
                }
            }
        }
        for i in 0..n {
            if self.scratch.moved[i] {
                let r = self.robots[i];
                let c = self.cell(r.x, r.y);
                self.robot_grid[c] = i as u32 + 1;
                if let Some(s) = r.carrying {
                    self.shelf_grid[c] = s as u32 + 1;
                }
            }
        }

        // Deliveries: a requested shelf on a goal is replaced in the queue by a random
        // shelf that is not requested.
        let mut delivered = false;
        for g in 0..self.layout.goals.len() {
            let (gx, gy) = self.layout.goals[g];
            let c = self.cell(gx, gy);
            let shelf = self.shelf_grid[c];
            if shelf == 0 || !self.requested[shelf as usize - 1] {
                continue;
            }
            let shelf = shelf as usize - 1;
            delivered = true;
            self.deliveries += 1;
            let candidates = self.shelves.len() - self.requests.len();
            let mut k = self.rng.random_range(0..candidates);
            let mut new_request = 0;
            for (s, &req) in self.requested.iter().enumerate() {
                if !req {
                    if k == 0 {
                        new_request = s;
                        break;
                    }
                    k -= 1;
                }
            }
            if let Some(slot) = self.requests.iter().position(|&s| s == shelf) {
                self.requests[slot] = new_request;
            }
            self.requested[shelf] = false;
            self.requested[new_request] = true;
            let robot = self.robot_grid[c] as usize;
            match self.cfg.reward_type {
                RewardType::Global => rewards.iter_mut().for_each(|r| *r += 1.0),
                RewardType::Individual if robot > 0 => rewards[robot - 1] += 1.0,
                RewardType::TwoStage if robot > 0 => {
                    self.robots[robot - 1].has_delivered = true;
                    rewards[robot - 1] += 0.5;
                }
                _ => {}
            }
        }
        if delivered {
            self.inactive_steps = 0;
        } else {
            self.inactive_steps += 1;
        }
        self.steps += 1;
        let limit =
            self.cfg.max_inactivity_steps.is_some_and(|m| self.inactive_steps >= m) || self.cfg.max_steps.is_some_and(|m| self.steps >= m);
        Ok(limit)
    }

    /// Writes robot `agent`'s flattened observation (rware's `FLATTENED` layout):
    /// `[x, y, carrying, direction one-hot (4), on corridor]`, then for each cell of
    /// the `(2r+1)²` view in row-major order `[has robot, its direction one-hot (4;
    /// [1,0,0,0] when empty), has shelf, shelf requested]`. Cells off the map are empty.
    pub fn observe(&self, agent: usize, out: &mut [f32]) -> Result<(), EnvError> {
        check_obs_len(&self.obs_space, out)?;
        let Some(&r) = self.robots.get(agent) else {
            return Err(if self.has_reset {
                EnvError::InvalidConfig { what: "robot".into(), reason: format!("no robot {agent}") }
            } else {
                EnvError::ResetNeeded
            });
        };
        out[0] = r.x as f32;
        out[1] = r.y as f32;
        out[2] = f32::from(u8::from(r.carrying.is_some()));
        out[3..7].fill(0.0);
        out[3 + r.dir as usize] = 1.0;
        out[7] = f32::from(u8::from(self.layout.is_highway(r.x, r.y)));
        let range = self.cfg.sensor_range as isize;
        let (w, h) = (self.layout.width as isize, self.layout.height as isize);
        let mut o = 8;
        for dy in -range..=range {
            for dx in -range..=range {
                let (x, y) = (r.x as isize + dx, r.y as isize + dy);
                let (robot, shelf) = if x >= 0 && y >= 0 && x < w && y < h {
                    let c = (y * w + x) as usize;
                    (self.robot_grid[c], self.shelf_grid[c])
                } else {
                    (0, 0)
                };
                let cell = &mut out[o..o + 7];
                cell.fill(0.0);
                if robot == 0 {
                    cell[1] = 1.0;
                } else {
                    cell[0] = 1.0;
                    cell[1 + self.robots[robot as usize - 1].dir as usize] = 1.0;
                }
                if shelf != 0 {
                    cell[5] = 1.0;
                    cell[6] = f32::from(u8::from(self.requested[shelf as usize - 1]));
                }
                o += 7;
            }
        }
        Ok(())
    }

    /// Checks and decodes each robot's action into the input scratch buffer, then steps.
    fn step_actions(&mut self, actions: &[Action<'_>], rewards: &mut [f32]) -> Result<bool, EnvError> {
        let mut input = std::mem::take(&mut self.scratch.input);
        let decoded = input.iter_mut().zip(actions).try_for_each(|(slot, &a)| {
            // The action space is `Discrete(5)`: exactly the indices `from_index` takes.
            let action = if let Action::Discrete(i) = a { GridAction::from_index(i) } else { None };
            *slot = action.ok_or_else(|| invalid_action(&self.act_space, a))?;
            Ok(())
        });
        let result = decoded.and_then(|()| self.step_state(&input, rewards));
        self.scratch.input = input;
        result
    }

    /// Refills `info` with the shared counters every robot reports.
    fn write_info(&self, info: &mut Info) {
        info.clear();
        info.values.set("deliveries", self.deliveries as f64);
    }
}

/// The cell a robot asks to enter: forward moves clamp at the walls.
fn req_cell(layout: &Layout, r: &Robot, action: GridAction) -> usize {
    let (w, h) = (layout.width, layout.height);
    let (x, y) = if action != GridAction::Forward {
        (r.x, r.y)
    } else {
        match r.dir {
            Direction::Up => (r.x, r.y.saturating_sub(1)),
            Direction::Down => (r.x, (r.y + 1).min(h - 1)),
            Direction::Left => (r.x.saturating_sub(1), r.y),
            Direction::Right => ((r.x + 1).min(w - 1), r.y),
        }
    };
    layout.cell(x, y)
}

/// The cells of the request-graph component containing `cell`, in the order
/// networkx iterates `G.subgraph(component)` (see [`super::tiebreak`]). Runs only
/// when two chains tie, so it may allocate.
fn component_order(width: usize, s: &Scratch, n: usize, cell: usize) -> Vec<usize> {
    let succ = |c: usize| -> Option<usize> { (0..n).find(|&a| s.start[a] == c).map(|a| s.target[a]) };
    let preds = |c: usize| (0..n).filter(move |&a| s.target[a] == c).map(|a| s.start[a]);
    let mut seen_all: Vec<usize> = Vec::new();
    for &source in &s.g_nodes {
        if seen_all.contains(&source) {
            continue;
        }
        // networkx's _plain_bfs: successors, then predecessors, level by level.
        let mut bfs = vec![source];
        let mut level = vec![source];
        while !level.is_empty() {
            let mut next = Vec::new();
            for &v in &level {
                for w in succ(v).into_iter().chain(preds(v)) {
                    if !bfs.contains(&w) {
                        bfs.push(w);
                        next.push(w);
                    }
                }
            }
            level = next;
        }
        if !bfs.contains(&cell) {
            seen_all.extend_from_slice(&bfs);
            continue;
        }
        if 2 * bfs.len() < s.g_nodes.len() {
            let hash = |c: usize| super::tiebreak::tuple_hash((c % width) as u64, (c / width) as u64);
            let component: Vec<usize> =
                super::tiebreak::set_order(&bfs.iter().map(|&c| hash(c)).collect::<Vec<_>>()).into_iter().map(|i| bfs[i]).collect();
            let nodes = super::tiebreak::set_order(&component.iter().map(|&c| hash(c)).collect::<Vec<_>>());
            return nodes.into_iter().map(|i| component[i]).collect();
        }
        return s.g_nodes.iter().copied().filter(|c| bfs.contains(c)).collect();
    }
    Vec::new()
}

impl ParallelEnv for GridWarehouse {
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
        for i in 0..self.robots.len() {
            self.observe(i, out.obs_mut(i))?;
            out.rewards[i] = 0.0;
            out.terminated[i] = false;
            out.truncated[i] = false;
            out.active[i] = true;
            self.write_info(&mut out.infos[i]);
        }
        Ok(())
    }

    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_uniform(self.names.len(), self.obs_space.flat_dim())?;
        if actions.len() != self.robots.len() {
            return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected: self.robots.len() });
        }
        if out.all_done() {
            return Err(EnvError::ResetNeeded);
        }
        let truncated = self.step_actions(actions, out.rewards)?;
        for i in 0..self.robots.len() {
            self.observe(i, out.obs_mut(i))?;
            out.truncated[i] = truncated;
            out.terminated[i] = false;
            out.active[i] = !truncated;
            self.write_info(&mut out.infos[i]);
        }
        Ok(())
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        out.step = self.steps;
        out.time_s = self.steps as f64;
        out.objects.clear();
        let mut id = super::push_floor_and_goals(&self.layout, out);
        for (i, &(x, y)) in self.shelves.iter().enumerate() {
            let carried = self.robots.iter().any(|r| r.carrying == Some(i));
            out.objects.push(ObjectState {
                id: id + i as u32,
                class: if self.requested[i] { Class::RequestedShelf } else { Class::Shelf },
                position: [x as f32 + 0.5, if carried { 0.75 } else { 0.6 }, y as f32 + 0.5],
                rotation: ObjectState::yaw(0.0),
                shape: Shape::Cuboid { half_extents: [0.4, 0.5, 0.4] },
            });
        }
        id += self.shelves.len() as u32;
        for (i, r) in self.robots.iter().enumerate() {
            out.objects.push(ObjectState {
                id: id + i as u32,
                class: Class::Robot,
                position: [r.x as f32 + 0.5, 0.1, r.y as f32 + 0.5],
                rotation: ObjectState::yaw(r.dir.yaw()),
                shape: Shape::Cylinder { radius: 0.35, half_height: 0.1 },
            });
        }
        true
    }
}
