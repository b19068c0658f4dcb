//! The replay player: what the viewer shows and what its keys do, with no window or
//! GPU: the episodes, the playback position and speed, the camera mode, the overlays,
//! and keyboard takeover.
//!
//! The viewer window (`crate::viewer`, feature `viewer`) turns key presses and mouse
//! clicks into [`Command`]s and draws whatever [`Player::shown`] says; everything a key does is decided here, so
//! tests drive it directly.

use std::path::{Path, PathBuf};

use super::{ActionLog, Branch, EpisodeLog, RecordEnv, Recording, StepLog};
use crate::env::Space;
use crate::snapshot::{Class, Snapshot};

/// Recorded steps shown per second at 1x speed.
pub const STEPS_PER_SECOND: f32 = 10.0;
/// Playback speeds, slowest first.
pub const SPEEDS: [f32; 8] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
const NORMAL_SPEED: usize = 3;

/// Makes a fresh env of the recording for a takeover.
pub type MakeEnv = Box<dyn FnMut() -> Result<RecordEnv, Box<dyn std::error::Error + Send + Sync>>>;

/// Where the camera is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CameraMode {
    /// Orbits a point the user moves (mouse drag, scroll, WASD).
    Free,
    /// Behind the followed agent, turning with it.
    #[default]
    Follow,
    /// Straight down over the whole scene.
    TopDown,
}

impl CameraMode {
    fn next(self) -> CameraMode {
        match self {
            CameraMode::Free => CameraMode::Follow,
            CameraMode::Follow => CameraMode::TopDown,
            CameraMode::TopDown => CameraMode::Free,
        }
    }

    /// Name shown in the HUD.
    pub fn name(self) -> &'static str {
        match self {
            CameraMode::Free => "free",
            CameraMode::Follow => "follow",
            CameraMode::TopDown => "top-down",
        }
    }
}

/// Things drawn over the scene.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// Lidar rays from the followed agent.
    Lidar,
    /// Goal stations and requested shelves.
    Goals,
    /// 3-D boxes around every object.
    Boxes,
    /// The text panel (step, rewards, actions, events, keys).
    Hud,
}

/// Which overlays are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlays {
    /// Lidar rays.
    pub lidar: bool,
    /// Goals.
    pub goals: bool,
    /// Boxes.
    pub boxes: bool,
    /// HUD text.
    pub hud: bool,
}

impl Default for Overlays {
    fn default() -> Self {
        Overlays { lidar: false, goals: true, boxes: false, hud: true }
    }
}

impl Overlays {
    fn toggle(&mut self, o: Overlay) {
        let flag = match o {
            Overlay::Lidar => &mut self.lidar,
            Overlay::Goals => &mut self.goals,
            Overlay::Boxes => &mut self.boxes,
            Overlay::Hud => &mut self.hud,
        };
        *flag = !*flag;
    }
}

/// A driving key during takeover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drive {
    /// Forward / faster.
    Up,
    /// Stop / slower.
    Down,
    /// Turn or change lane left.
    Left,
    /// Turn or change lane right.
    Right,
    /// Lift or put down a shelf (warehouse); lift with continuous actions.
    Act,
    /// Put down (continuous warehouse actions).
    Release,
    /// Do nothing for a step (keep lane and speed).
    Wait,
    /// The discrete action with this index (digit keys).
    Index(u8),
}

/// Something the user asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    /// Play or pause.
    TogglePlay,
    /// Step forward (positive) or back (negative) this many steps, pausing.
    Step(i64),
    /// To the reset.
    First,
    /// To the last step.
    Last,
    /// To a fraction (0 to 1) of the episode (timeline click or drag).
    Seek(f32),
    /// Faster playback.
    Faster,
    /// Slower playback.
    Slower,
    /// Next (positive) or previous (negative) episode.
    Episode(i64),
    /// Free → follow → top-down.
    CycleCamera,
    /// Follow the next agent.
    NextAgent,
    /// Toggle an overlay.
    Toggle(Overlay),
    /// Take over the followed agent at this step, or end the takeover (saving the branch).
    Takeover,
    /// A driving key (takeover only).
    Drive(Drive),
}

/// How keys map onto the taken-over agent's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controls {
    /// Warehouse grid robots, `Discrete(5)`: NOOP, FORWARD, LEFT, RIGHT, TOGGLE_LOAD.
    Grid,
    /// Driving meta-actions, `Discrete(5)`: LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER.
    Lanes,
    /// A `Box` action: arrows set the first two components to ±1 (forward/brake, left/right);
    /// a third (warehouse load) is set by the lift/put-down keys.
    Continuous(usize),
    /// Any other discrete space: the digit keys pick the action index.
    Digits(i64, i64),
}

impl Controls {
    /// The controls for agent 0 of a scene like `scene`, acting in `space`.
    pub fn for_space(space: &Space, scene: &Snapshot) -> Option<Controls> {
        let has = |c: Class| scene.objects.iter().any(|o| o.class == c);
        let (warehouse, driving) = (has(Class::Robot), has(Class::EgoVehicle));
        match space {
            Space::Discrete { n: 5, .. } | Space::MultiDiscrete { .. } if warehouse => Some(Controls::Grid),
            Space::Discrete { n: 5, .. } | Space::MultiDiscrete { .. } if driving => Some(Controls::Lanes),
            Space::Discrete { n, start } => Some(Controls::Digits(*start, *n as i64)),
            Space::Box(b) if !b.shape().is_empty() => Some(Controls::Continuous(b.low().len())),
            _ => None,
        }
    }

    /// Key help for the HUD.
    pub fn help(self) -> &'static str {
        match self {
            Controls::Grid => "Up forward, Left/Right turn, Space lift/put down, . wait",
            Controls::Lanes => "Up faster, Down slower, Left/Right change lane, . keep",
            Controls::Continuous(_) => "Up/Down forward/back, Left/Right turn, Space lift, X put down, . coast",
            Controls::Digits(..) => "0-9 action index",
        }
    }

    /// Agent 0's part of the action for `key`, or `None` if the key means nothing here.
    /// `recorded` is what the agent did at this step in the recording (or an idle action),
    /// whose other components (other robots of a joint action) are kept.
    pub fn action(self, key: Drive, recorded: &ActionLog) -> Option<ActionLog> {
        let pick = match self {
            // NOOP 0, FORWARD 1, LEFT 2, RIGHT 3, TOGGLE_LOAD 4; down stops (NOOP).
            Controls::Grid => match key {
                Drive::Wait | Drive::Down => Some(0),
                Drive::Up => Some(1),
                Drive::Left => Some(2),
                Drive::Right => Some(3),
                Drive::Act => Some(4),
                Drive::Index(i) if i < 5 => Some(i64::from(i)),
                _ => None,
            },
            // LANE_LEFT 0, IDLE 1, LANE_RIGHT 2, FASTER 3, SLOWER 4.
            Controls::Lanes => match key {
                Drive::Left => Some(0),
                Drive::Wait => Some(1),
                Drive::Right => Some(2),
                Drive::Up => Some(3),
                Drive::Down => Some(4),
                Drive::Index(i) if i < 5 => Some(i64::from(i)),
                _ => None,
            },
            Controls::Digits(start, n) => match key {
                Drive::Index(i) if i64::from(i) < n => Some(start + i64::from(i)),
                _ => None,
            },
            Controls::Continuous(dim) => {
                let mut a = match recorded {
                    ActionLog::Continuous(v) if v.len() == dim => v.clone(),
                    _ => vec![0.0; dim],
                };
                a.iter_mut().for_each(|x| *x = 0.0);
                match key {
                    Drive::Up => a[0] = 1.0,
                    Drive::Down => a[0] = -1.0,
                    Drive::Left if dim > 1 => a[1] = 1.0,
                    Drive::Right if dim > 1 => a[1] = -1.0,
                    Drive::Act if dim > 2 => a[2] = 1.0,
                    Drive::Release if dim > 2 => a[2] = -1.0,
                    Drive::Wait => {}
                    _ => return None,
                }
                return Some(ActionLog::Continuous(a));
            }
        }?;
        Some(match recorded {
            // A joint action of several robots: the person drives the first.
            ActionLog::MultiDiscrete(v) if !v.is_empty() => {
                let mut v = v.clone();
                v[0] = pick;
                ActionLog::MultiDiscrete(v)
            }
            _ => ActionLog::Discrete(pick),
        })
    }
}

/// One episode the viewer can show.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewEpisode {
    /// Name in the episode picker.
    pub label: String,
    /// Its steps.
    pub log: EpisodeLog,
}

impl ViewEpisode {
    /// Scenes: after the reset, then after each step.
    pub fn scenes(&self) -> usize {
        self.log.steps.len() + 1
    }

    /// Scene `i` (0: after the reset).
    pub fn scene(&self, i: usize) -> &Snapshot {
        if i == 0 { &self.log.initial } else { &self.log.steps[i - 1].snapshot }
    }

    /// The step that led to scene `i` (none for the reset).
    pub fn step(&self, i: usize) -> Option<&StepLog> {
        i.checked_sub(1).and_then(|k| self.log.steps.get(k))
    }

    /// Sum of all agents' rewards up to scene `i`.
    pub fn return_at(&self, i: usize) -> f64 {
        self.log.steps[..i.min(self.log.steps.len())].iter().flat_map(|s| &s.rewards).map(|&r| f64::from(r)).sum()
    }
}

/// A takeover in progress.
struct Takeover {
    branch: Branch,
    controls: Controls,
    /// Episode index it branched from.
    source: usize,
    /// Episode index of the live branch in the picker.
    live: usize,
}

/// The whole viewer state.
pub struct Player {
    /// The recording's metadata (episodes moved into [`Player::episodes`]).
    recording: Recording,
    /// Where the recording came from (branches are written beside it).
    source: PathBuf,
    make_env: Option<MakeEnv>,
    /// Recorded episodes, then branches made in this session.
    pub episodes: Vec<ViewEpisode>,
    /// The episode shown.
    pub episode: usize,
    /// The scene shown (0: after the reset).
    pub scene: usize,
    /// Whether playback runs.
    pub playing: bool,
    speed: usize,
    /// Fraction of a step accumulated by playback.
    carry: f32,
    /// Camera mode.
    pub camera: CameraMode,
    /// The agent followed (index among the scene's agents).
    pub follow: usize,
    /// Overlays on.
    pub overlays: Overlays,
    takeover: Option<Takeover>,
    /// The last message for the user (errors, saved branches).
    pub status: String,
    /// Files written by takeovers.
    pub saved: Vec<PathBuf>,
}

/// The agents of a scene, in index order: ego vehicles, else robots.
pub fn agents(scene: &Snapshot) -> Vec<usize> {
    let of = |c: Class| scene.objects.iter().enumerate().filter(|(_, o)| o.class == c).map(|(i, _)| i).collect::<Vec<_>>();
    let ego = of(Class::EgoVehicle);
    if ego.is_empty() { of(Class::Robot) } else { ego }
}

impl Player {
    /// A viewer of `recording` (read from `source`); `make_env` enables takeover. Playback
    /// starts at once unless `paused`.
    pub fn new(mut recording: Recording, source: &Path, make_env: Option<MakeEnv>, paused: bool) -> Player {
        let episodes = std::mem::take(&mut recording.episodes)
            .into_iter()
            .enumerate()
            .map(|(k, log)| ViewEpisode { label: format!("episode {k} (seed {})", log.seed), log })
            .collect();
        Player {
            recording,
            source: source.to_owned(),
            make_env,
            episodes,
            episode: 0,
            scene: 0,
            playing: !paused,
            speed: NORMAL_SPEED,
            carry: 0.0,
            camera: CameraMode::default(),
            follow: 0,
            overlays: Overlays::default(),
            takeover: None,
            status: String::new(),
            saved: Vec::new(),
        }
    }

    /// The recording's metadata.
    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// The episode shown.
    pub fn current(&self) -> &ViewEpisode {
        &self.episodes[self.episode]
    }

    /// The scene shown.
    pub fn shown(&self) -> &Snapshot {
        self.current().scene(self.scene)
    }

    /// Playback speed (1 = [`STEPS_PER_SECOND`]).
    pub fn speed(&self) -> f32 {
        SPEEDS[self.speed]
    }

    /// The takeover's controls, if one is in progress.
    pub fn takeover(&self) -> Option<Controls> {
        self.takeover.as_ref().map(|t| t.controls)
    }

    fn seek(&mut self, scene: i64) {
        let last = self.current().scenes() as i64 - 1;
        self.scene = scene.clamp(0, last) as usize;
        self.carry = 0.0;
    }

    /// Applies one command.
    pub fn apply(&mut self, command: Command) {
        if self.takeover.is_some() {
            match command {
                Command::Takeover => self.end_takeover(),
                Command::Drive(key) => self.drive(key),
                Command::CycleCamera | Command::Toggle(_) | Command::Faster | Command::Slower => self.view_command(command),
                _ => self.status = "taking over: drive with the keys below, T to finish and save the branch".into(),
            }
            return;
        }
        match command {
            Command::TogglePlay => {
                if !self.playing && self.scene + 1 >= self.current().scenes() {
                    self.scene = 0;
                }
                self.playing = !self.playing;
            }
            Command::Step(n) => {
                self.playing = false;
                self.seek(self.scene as i64 + n);
            }
            Command::First => self.seek(0),
            Command::Last => self.seek(i64::MAX),
            Command::Seek(f) => {
                let last = (self.current().scenes() - 1) as f32;
                self.seek((f.clamp(0.0, 1.0) * last).round() as i64);
            }
            Command::Episode(n) => {
                let count = self.episodes.len() as i64;
                self.episode = (self.episode as i64 + n).rem_euclid(count) as usize;
                self.seek(0);
                self.follow = 0;
            }
            Command::Takeover => self.start_takeover(),
            Command::Drive(_) => self.status = "press T to take over the followed agent first".into(),
            Command::CycleCamera | Command::Toggle(_) | Command::Faster | Command::Slower | Command::NextAgent => {
                self.view_command(command)
            }
        }
    }

    fn view_command(&mut self, command: Command) {
        match command {
            Command::CycleCamera => self.camera = self.camera.next(),
            Command::Toggle(o) => self.overlays.toggle(o),
            Command::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Command::Slower => self.speed = self.speed.saturating_sub(1),
            Command::NextAgent => {
                let n = agents(self.shown()).len().max(1);
                self.follow = (self.follow + 1) % n;
            }
            _ => {}
        }
    }

    /// Advances playback by `dt` seconds; returns whether the scene changed.
    pub fn advance(&mut self, dt: f32) -> bool {
        if !self.playing || self.takeover.is_some() {
            return false;
        }
        self.carry += dt * STEPS_PER_SECOND * self.speed();
        let whole = self.carry.floor();
        if whole < 1.0 {
            return false;
        }
        self.carry -= whole;
        let last = self.current().scenes() - 1;
        let before = self.scene;
        self.scene = (self.scene + whole as usize).min(last);
        if self.scene == last {
            self.playing = false;
        }
        self.scene != before
    }

    fn start_takeover(&mut self) {
        if self.follow != 0 {
            self.status = "takeover drives agent 0: press Tab until agent 0 is followed".into();
            return;
        }
        let Some(make_env) = self.make_env.as_mut() else {
            self.status = "takeover needs the recording's env, which could not be made".into();
            return;
        };
        let env = match make_env() {
            Ok(env) => env,
            Err(e) => {
                self.status = format!("takeover: {e}");
                return;
            }
        };
        let (source, at) = (self.episode, self.scene);
        let branch = match Branch::start(env, &self.episodes[source].log, at) {
            Ok(b) => b,
            Err(e) => {
                self.status = format!("takeover: {e}");
                return;
            }
        };
        let Some(controls) = branch.action_space().and_then(|s| Controls::for_space(s, self.shown())) else {
            self.status = "takeover: the agent's action space has no keyboard mapping".into();
            return;
        };
        if branch.is_over() {
            self.status = "takeover: the episode is already over at this step".into();
            return;
        }
        self.episodes.push(ViewEpisode {
            label: format!("takeover of {} at step {at} (live)", self.episodes[source].label),
            log: branch.log().clone(),
        });
        let live = self.episodes.len() - 1;
        self.takeover = Some(Takeover { branch, controls, source, live });
        self.episode = live;
        self.scene = at;
        self.playing = false;
        self.status = format!("took over agent 0 at step {at}");
    }

    fn drive(&mut self, key: Drive) {
        let Some(t) = self.takeover.as_mut() else { return };
        let recorded = &self.episodes[t.source].log;
        let next = t.branch.log().steps.len();
        let agents = self.recording.agents.len().max(1);
        // Other agents repeat what they did in the recording at this step (or sit idle).
        let mut actions: Vec<ActionLog> = match recorded.steps.get(next) {
            Some(step) => step.actions.clone(),
            None => vec![ActionLog::None; agents],
        };
        let template = match actions.first() {
            Some(a) if *a != ActionLog::None => a.clone(),
            _ => t.branch.action_space().map_or(ActionLog::None, super::recorder::idle_action),
        };
        let Some(mine) = t.controls.action(key, &template) else { return };
        if actions.is_empty() {
            actions.push(ActionLog::None);
        }
        actions[0] = mine;
        let stepped = t.branch.step(&actions).cloned();
        match stepped {
            Ok(step) => {
                let live = &mut self.episodes[t.live];
                live.log.steps.push(step);
                self.scene = live.scenes() - 1;
                if t.branch.is_over() {
                    self.end_takeover();
                    self.status = format!("the episode ended; {}", self.status);
                }
            }
            Err(e) => self.status = format!("takeover step failed: {e}"),
        }
    }

    /// The path of the next branch file of episode `source` at step `at`.
    fn branch_path(&self, source: usize, at: usize) -> PathBuf {
        let stem = self.source.file_stem().map_or_else(|| "recording".into(), |s| s.to_string_lossy().into_owned());
        let dir = self.source.parent().unwrap_or(Path::new("."));
        (0..)
            .map(|n| {
                let suffix = if n == 0 { String::new() } else { format!("-{n}") };
                dir.join(format!("{stem}.branch-e{source}-s{at}{suffix}.episodes"))
            })
            .find(|p| !p.exists() && !self.saved.contains(p))
            .unwrap_or_default()
    }

    fn end_takeover(&mut self) {
        let Some(t) = self.takeover.take() else { return };
        let at = t.branch.from_step();
        let log = t.branch.into_log();
        let path = self.branch_path(t.source, at);
        let recording = Recording {
            policy: format!("keyboard (from step {at} of {}'s episode {})", self.recording.policy, t.source),
            episodes: vec![log.clone()],
            ..self.recording.clone()
        };
        let label = format!("branch of episode {} at step {at}", t.source);
        match super::write(&path, &recording) {
            Ok(()) => {
                self.status = format!("saved the branch ({} steps) to {}", log.steps.len(), path.display());
                self.episodes[t.live].label = format!("{label}, saved to {}", path.display());
                self.saved.push(path);
            }
            Err(e) => {
                self.status = format!("could not save the branch: {e}");
                self.episodes[t.live].label = format!("{label} (unsaved)");
            }
        }
        self.episodes[t.live].log = log;
    }

    /// Ends a takeover in progress (saving its branch), as on closing the window.
    pub fn finish(&mut self) {
        self.end_takeover();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::FORMAT_VERSION;
    use crate::snapshot::{ObjectState, Shape};

    fn episode(steps: usize) -> EpisodeLog {
        let scene = |t: usize| Snapshot {
            step: t as u64,
            time_s: t as f64,
            objects: vec![ObjectState {
                id: 1,
                class: Class::Robot,
                position: [t as f32, 0.2, 0.0],
                rotation: [0.0, 0.0, 0.0, 1.0],
                shape: Shape::Cylinder { radius: 0.3, half_height: 0.2 },
            }],
        };
        EpisodeLog {
            seed: 3,
            initial: scene(0),
            initial_obs_hash: 0,
            steps: (1..=steps)
                .map(|t| StepLog {
                    actions: vec![ActionLog::Discrete(1)],
                    rewards: vec![1.0],
                    terminated: vec![false],
                    truncated: vec![t == steps],
                    events: Vec::new(),
                    snapshot: scene(t),
                    obs_hash: 0,
                })
                .collect(),
            cut_short: false,
        }
    }

    fn viewer(lengths: &[usize]) -> Player {
        let recording = Recording {
            format_version: FORMAT_VERSION,
            synthgym_version: "test".into(),
            env: "toy".into(),
            scene: None,
            policy: "random".into(),
            agents: vec!["agent_0".into()],
            multi_agent: false,
            episodes: lengths.iter().map(|&n| episode(n)).collect(),
        };
        Player::new(recording, Path::new("/nonexistent/rec.episodes"), None, false)
    }

    #[test]
    fn playback_advances_at_the_chosen_speed_and_stops_at_the_end() {
        let mut v = viewer(&[20]);
        assert!(v.playing);
        assert!(!v.advance(0.05), "half a step at 1x");
        assert!(v.advance(0.05));
        assert_eq!(v.scene, 1);
        v.apply(Command::Faster);
        assert_eq!(v.speed(), 2.0);
        v.advance(0.5);
        assert_eq!(v.scene, 11, "10 steps in half a second at 2x");
        v.advance(10.0);
        assert_eq!((v.scene, v.playing), (20, false), "stops on the last scene");
        v.apply(Command::TogglePlay);
        assert_eq!((v.scene, v.playing), (0, true), "play at the end starts over");
        for _ in 0..20 {
            v.apply(Command::Slower);
        }
        assert_eq!(v.speed(), SPEEDS[0]);
    }

    #[test]
    fn stepping_seeking_and_the_episode_picker() {
        let mut v = viewer(&[10, 4]);
        v.apply(Command::Step(3));
        assert_eq!((v.scene, v.playing), (3, false), "stepping pauses");
        v.apply(Command::Step(-5));
        assert_eq!(v.scene, 0, "clamped at the reset");
        v.apply(Command::Seek(0.5));
        assert_eq!(v.scene, 5);
        v.apply(Command::Last);
        assert_eq!(v.scene, 10);
        assert_eq!(v.shown().objects[0].position[0], 10.0);
        assert_eq!(v.current().return_at(v.scene), 10.0);
        assert_eq!(v.current().step(v.scene).map(|s| s.rewards[0]), Some(1.0));
        v.apply(Command::Episode(1));
        assert_eq!((v.episode, v.scene), (1, 0));
        v.apply(Command::Episode(1));
        assert_eq!(v.episode, 0, "the picker wraps around");
        v.apply(Command::Episode(-1));
        assert_eq!(v.episode, 1);
        v.apply(Command::Seek(2.0));
        assert_eq!(v.scene, 4, "seeks past the end clamp");
    }

    #[test]
    fn view_commands_cycle_and_toggle() {
        let mut v = viewer(&[3]);
        assert_eq!(v.camera, CameraMode::Follow);
        v.apply(Command::CycleCamera);
        assert_eq!(v.camera, CameraMode::TopDown);
        v.apply(Command::CycleCamera);
        v.apply(Command::CycleCamera);
        assert_eq!(v.camera, CameraMode::Follow);
        let before = v.overlays;
        v.apply(Command::Toggle(Overlay::Lidar));
        v.apply(Command::Toggle(Overlay::Boxes));
        assert!(v.overlays.lidar != before.lidar && v.overlays.boxes != before.boxes && v.overlays.hud == before.hud);
        v.apply(Command::NextAgent);
        assert_eq!(v.follow, 0, "one robot: following wraps to it");
    }

    #[test]
    fn takeover_without_an_env_says_why() {
        let mut v = viewer(&[3]);
        v.apply(Command::Takeover);
        assert!(v.takeover().is_none());
        assert!(v.status.contains("could not be made"), "{}", v.status);
        v.apply(Command::Drive(Drive::Up));
        assert!(v.status.contains("take over"), "{}", v.status);
    }

    #[test]
    fn keys_map_onto_each_action_space() {
        let grid = Controls::Grid;
        assert_eq!(grid.action(Drive::Up, &ActionLog::None), Some(ActionLog::Discrete(1)));
        assert_eq!(grid.action(Drive::Act, &ActionLog::None), Some(ActionLog::Discrete(4)));
        assert_eq!(grid.action(Drive::Down, &ActionLog::None), Some(ActionLog::Discrete(0)));
        // A joint action: the person drives robot 0, the others keep their recorded actions.
        assert_eq!(grid.action(Drive::Left, &ActionLog::MultiDiscrete(vec![1, 3, 4])), Some(ActionLog::MultiDiscrete(vec![2, 3, 4])));
        let lanes = Controls::Lanes;
        assert_eq!(lanes.action(Drive::Left, &ActionLog::None), Some(ActionLog::Discrete(0)));
        assert_eq!(lanes.action(Drive::Right, &ActionLog::None), Some(ActionLog::Discrete(2)));
        assert_eq!(lanes.action(Drive::Up, &ActionLog::None), Some(ActionLog::Discrete(3)));
        assert_eq!(lanes.action(Drive::Down, &ActionLog::None), Some(ActionLog::Discrete(4)));
        assert_eq!(lanes.action(Drive::Wait, &ActionLog::None), Some(ActionLog::Discrete(1)));
        assert_eq!(lanes.action(Drive::Act, &ActionLog::None), None, "lanes have no load");
        let steer = Controls::Continuous(2);
        assert_eq!(steer.action(Drive::Left, &ActionLog::Continuous(vec![0.3, 0.2])), Some(ActionLog::Continuous(vec![0.0, 1.0])));
        assert_eq!(steer.action(Drive::Act, &ActionLog::None), None);
        assert_eq!(Controls::Continuous(3).action(Drive::Release, &ActionLog::None), Some(ActionLog::Continuous(vec![0.0, 0.0, -1.0])));
        let digits = Controls::Digits(0, 2);
        assert_eq!(digits.action(Drive::Index(1), &ActionLog::None), Some(ActionLog::Discrete(1)));
        assert_eq!(digits.action(Drive::Index(2), &ActionLog::None), None);
        assert_eq!(digits.action(Drive::Up, &ActionLog::None), None);

        let scene = episode(0).initial;
        assert_eq!(Controls::for_space(&Space::discrete(5).expect("space"), &scene), Some(Controls::Grid));
        assert_eq!(Controls::for_space(&Space::discrete(2).expect("space"), &scene), Some(Controls::Digits(0, 2)));
    }
}
