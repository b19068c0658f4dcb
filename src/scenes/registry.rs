//! The table of built-in environment ids. Adding an environment is one entry here.

use std::sync::{Arc, OnceLock};

use super::cartpole::CartPole;
use super::driving::{DrivingConfig, DrivingEnv};
use super::warehouse::{ActionKind, GridConfig, GridWarehouse, PhysicsConfig, PhysicsWarehouse};
use crate::env::{Env, EnvError, EnvSpec, Joint, ParallelEnv, Registry};

/// Robot counts registered for each warehouse grid size.
const WAREHOUSE_GRID_AGENTS: [usize; 4] = [1, 2, 4, 10];

/// A spec for a multi-agent scene built from `cfg`: its parallel view, and the
/// [`Joint`] view over it as the single-agent env.
fn multi_agent_spec<C: Clone + Send + Sync + 'static, P: ParallelEnv + 'static>(
    id: String,
    summary: String,
    max_episode_steps: Option<u64>,
    cfg: C,
    make: fn(C) -> Result<P, EnvError>,
) -> EnvSpec {
    let other = cfg.clone();
    EnvSpec {
        id,
        summary,
        max_episode_steps,
        reward_threshold: None,
        entry_point: Arc::new(move |_| Ok(Box::new(Joint::new(make(cfg.clone())?)?) as Box<dyn Env>)),
        parallel_entry_point: Some(Arc::new(move |_| Ok(Box::new(make(other.clone())?) as Box<dyn ParallelEnv>))),
    }
}

fn warehouse_grid_spec(size: &str, n_agents: usize) -> EnvSpec {
    let cfg = GridConfig::rware(size, n_agents, 1.0);
    // The warehouse truncates itself at max_steps, as rware does; the registry's time
    // limit at the same step changes nothing and shows the limit in listings.
    multi_agent_spec(
        format!("warehouse-grid-{size}-{n_agents}ag-v0"),
        format!("rware-{size}-{n_agents}ag-v2 rules: {n_agents} robot(s) deliver requested shelves on the {size} grid"),
        cfg.max_steps,
        cfg,
        GridWarehouse::new,
    )
}

/// Physics-mode ids: (size, robots), each with discrete and continuous actions.
const WAREHOUSE_PHYSICS: [(&str, usize); 4] = [("tiny", 1), ("tiny", 2), ("small", 4), ("medium", 8)];

fn warehouse_physics_spec(size: &str, n_agents: usize, actions: ActionKind) -> EnvSpec {
    let cfg = PhysicsConfig::rware(size, n_agents, actions);
    let (suffix, kind) = match actions {
        ActionKind::Discrete => ("", "discrete"),
        ActionKind::Continuous => ("-continuous", "continuous"),
    };
    multi_agent_spec(
        format!("warehouse-physics-{size}-{n_agents}ag{suffix}-v0"),
        format!("{n_agents} rapier robot(s) with lidar deliver shelves on the {size} floor plan ({kind} actions)"),
        cfg.max_steps,
        cfg,
        PhysicsWarehouse::new,
    )
}

fn driving_spec(id: &str, summary: &str, cfg: DrivingConfig) -> EnvSpec {
    let max_episode_steps = Some((cfg.duration * cfg.policy_frequency as f64).round() as u64);
    multi_agent_spec(id.into(), summary.into(), max_episode_steps, cfg, DrivingEnv::new)
}

fn driving_specs() -> Vec<EnvSpec> {
    use super::driving::{ActionKind as DrivingActions, SceneKind};
    let continuous = DrivingConfig { actions: DrivingActions::Continuous, ..DrivingConfig::scene(SceneKind::Highway) };
    let two_agents = DrivingConfig { controlled_vehicles: 2, ..DrivingConfig::scene(SceneKind::Highway) };
    vec![
        driving_spec(
            "driving-highway-v0",
            "highway-env highway-v0: 4 lanes, 50 IDM/MOBIL cars, meta-actions, speed and right-lane rewards",
            DrivingConfig::scene(SceneKind::Highway),
        ),
        driving_spec("driving-highway-continuous-v0", "the highway with continuous acceleration and steering", continuous),
        driving_spec("driving-highway-2ag-v0", "the highway with two controlled cars (multi-agent)", two_agents),
        driving_spec(
            "driving-merge-v0",
            "highway-env merge-v0: an on-ramp merges into a two-lane highway",
            DrivingConfig::scene(SceneKind::Merge),
        ),
        driving_spec(
            "driving-intersection-v0",
            "highway-env intersection-v0: turn left across a four-way intersection with right of way",
            DrivingConfig::scene(SceneKind::Intersection),
        ),
        driving_spec(
            "driving-roundabout-v0",
            "highway-env roundabout-v0: enter a two-lane roundabout and take an exit",
            DrivingConfig::scene(SceneKind::Roundabout),
        ),
        driving_spec(
            "driving-procedural-v0",
            "a random road per seed: straights, curves, 2-4 lanes, an on- or off-ramp, IDM/MOBIL traffic",
            DrivingConfig::scene(SceneKind::Procedural),
        ),
        driving_spec(
            "driving-parking-v0",
            "highway-env parking-v0: goal-conditioned parking among parked cars (continuous)",
            DrivingConfig::scene(SceneKind::Parking),
        ),
    ]
}

fn builtin_specs() -> Vec<EnvSpec> {
    let mut specs = vec![EnvSpec {
        id: "cartpole-v1".into(),
        summary: "Gymnasium's CartPole-v1: balance a pole on a cart (reference env for validating RL)".into(),
        max_episode_steps: Some(500),
        reward_threshold: Some(475.0),
        entry_point: Arc::new(|_| Ok(Box::new(CartPole::new()) as Box<dyn Env>)),
        parallel_entry_point: None,
    }];
    for (size, _, _) in super::warehouse::layout::PRESETS {
        for n in WAREHOUSE_GRID_AGENTS {
            specs.push(warehouse_grid_spec(size, n));
        }
    }
    for (size, n) in WAREHOUSE_PHYSICS {
        for actions in [ActionKind::Discrete, ActionKind::Continuous] {
            specs.push(warehouse_physics_spec(size, n, actions));
        }
    }
    specs.extend(driving_specs());
    specs
}

/// Every built-in environment id, built once.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = Registry::new();
        for spec in builtin_specs() {
            // Built-in ids are distinct by construction; the unit test below pins it.
            let _ = registry.register(spec);
        }
        registry
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_are_unique_and_all_registered() {
        let specs = builtin_specs();
        assert_eq!(registry().specs().len(), specs.len());
        for spec in &specs {
            assert!(registry().get(&spec.id).is_some(), "{} missing", spec.id);
        }
    }
}
