//! Concrete environments and the registry of their ids.
//!
//! Each environment implements [`Env`](crate::env::Env) (and, for multi-agent
//! scenes, [`ParallelEnv`](crate::env::ParallelEnv)) and is listed in [`registry`].
//! Scene docs follow Gymnasium's template (Description, Action Space, Observation
//! Space, Rewards, Starting State, Episode End, Arguments, Version History).

pub mod cartpole;
pub mod driving;
mod registry;
pub mod warehouse;

pub use registry::registry;

use std::path::Path;

use crate::env::wrappers::TimeLimit;
use crate::env::{Env, EnvError, Joint, MakeOptions, ParallelEnv, SingleAgent};

/// Whether `env` names a scene file (a path ending in `.toml`, or an existing file)
/// rather than a registry id.
pub fn is_scene_file(env: &str) -> bool {
    env.ends_with(".toml") || Path::new(env).is_file()
}

/// The single-agent env for a registry id or a scene file. A scene file's own step
/// limit applies; `options.max_episode_steps` adds a time limit on top.
pub fn make_env(env: &str, options: &MakeOptions) -> Result<Box<dyn Env>, EnvError> {
    if !is_scene_file(env) {
        return registry().make(env, options);
    }
    let made = make_from_file(Path::new(env))?;
    Ok(match options.max_episode_steps.filter(|_| !options.disable_time_limit) {
        Some(steps) => Box::new(TimeLimit::new(made, steps)?),
        None => made,
    })
}

/// The multi-agent env for a registry id or a scene file (whose step limit is set in
/// the file: `options.max_episode_steps` is an error for scene files).
pub fn make_parallel_env(env: &str, options: &MakeOptions) -> Result<Box<dyn ParallelEnv>, EnvError> {
    if !is_scene_file(env) {
        return registry().make_parallel(env, options);
    }
    if options.max_episode_steps.is_some() {
        return Err(EnvError::InvalidConfig {
            what: "max_episode_steps".into(),
            reason: "a multi-agent scene file sets its own step limit (max_steps or duration)".into(),
        });
    }
    make_parallel_from_file(Path::new(env))
}

/// Whether `env` has a multi-agent view (every scene file has one).
pub fn has_parallel(env: &str) -> Result<bool, EnvError> {
    Ok(is_scene_file(env) || registry().spec(env)?.parallel_entry_point.is_some())
}

/// The env for a registry id or a scene file as rows of agents, for code that drives
/// agents (trainers, recorders, dataset drivers): with `per_agent`, a multi-agent
/// scene's parallel view (one row per agent); otherwise, and for single-agent envs,
/// one row ([`SingleAgent`] over [`make_env`], the joint view of a multi-agent scene).
/// The choice is made here, once, so that callers never ask which kind they hold.
pub fn make_agents(env: &str, per_agent: bool, options: &MakeOptions) -> Result<Box<dyn ParallelEnv>, EnvError> {
    if per_agent && has_parallel(env)? {
        return make_parallel_env(env, options);
    }
    Ok(Box::new(SingleAgent::new(make_env(env, options)?)))
}

/// A driving scene file names its `scene`; warehouse files their `mode`.
fn driving_scene(path: &Path) -> Result<Option<driving::DrivingConfig>, EnvError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EnvError::InvalidConfig { what: format!("scene file {}", path.display()), reason: e.to_string() })?;
    let is_driving = toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("scene"));
    if is_driving { driving::DrivingConfig::from_toml(&text, &path.display().to_string()).map(Some) } else { Ok(None) }
}

/// Builds the single-agent view of the scene in a TOML scene file (see `scenes/`).
pub fn make_from_file(path: &Path) -> Result<Box<dyn Env>, EnvError> {
    if let Some(cfg) = driving_scene(path)? {
        return Ok(Box::new(Joint::new(driving::DrivingEnv::new(cfg)?)?));
    }
    Ok(match warehouse::WarehouseScene::from_file(path)? {
        warehouse::WarehouseScene::Grid(cfg) => Box::new(Joint::new(warehouse::GridWarehouse::new(cfg)?)?),
        warehouse::WarehouseScene::Physics(cfg) => Box::new(Joint::new(warehouse::PhysicsWarehouse::new(cfg)?)?),
    })
}

/// Builds the multi-agent view of the scene in a TOML scene file.
pub fn make_parallel_from_file(path: &Path) -> Result<Box<dyn ParallelEnv>, EnvError> {
    if let Some(cfg) = driving_scene(path)? {
        return Ok(Box::new(driving::DrivingEnv::new(cfg)?));
    }
    Ok(match warehouse::WarehouseScene::from_file(path)? {
        warehouse::WarehouseScene::Grid(cfg) => Box::new(warehouse::GridWarehouse::new(cfg)?),
        warehouse::WarehouseScene::Physics(cfg) => Box::new(warehouse::PhysicsWarehouse::new(cfg)?),
    })
}

/// The hand-written baseline controller for registry id `env`, if its scene has one:
/// the grid warehouses ([`warehouse::scripted::GridScripted`], per robot) and the
/// highways with meta-actions ([`driving::scripted::HighwayScripted`]). `seed` drives
/// the controller's own random choices.
pub fn scripted_policy(env: &str, seed: u64) -> Option<Box<dyn crate::env::Policy>> {
    if let Some(rest) = env.strip_prefix("warehouse-grid-") {
        let size = rest.split('-').next()?;
        let layout = warehouse::Layout::preset(size).ok()?;
        return Some(Box::new(warehouse::scripted::GridScripted::new(&layout, 1, seed)));
    }
    if env == "driving-highway-v0" || env == "driving-highway-2ag-v0" {
        let cfg = driving::DrivingConfig::scene(driving::SceneKind::Highway);
        let straight = cfg.observation == driving::ObservationKind::Kinematics;
        return straight
            .then(|| Box::new(driving::scripted::HighwayScripted::new(cfg.lanes, cfg.vehicles_count)) as Box<dyn crate::env::Policy>);
    }
    None
}
