//! The table of built-in environment ids. Adding an environment is one entry here.

use std::sync::OnceLock;

use super::cartpole::CartPole;
use crate::env::{Env, EnvError, EnvSpec, MakeOptions, Registry};

fn make_cartpole(_: &MakeOptions) -> Result<Box<dyn Env>, EnvError> {
    Ok(Box::new(CartPole::new()))
}

fn builtin_specs() -> Vec<EnvSpec> {
    vec![EnvSpec {
        id: "cartpole-v1".into(),
        summary: "Gymnasium's CartPole-v1: balance a pole on a cart (reference env for validating RL)".into(),
        max_episode_steps: Some(500),
        reward_threshold: Some(475.0),
        entry_point: make_cartpole,
        parallel_entry_point: None,
    }]
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
