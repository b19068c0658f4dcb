//! The registry maps environment ids (`cartpole-v1`, `warehouse-grid-tiny-2ag`, …) to
//! constructors, like `gymnasium.make`. Ids carry a version suffix that is bumped
//! whenever dynamics or rewards change, so results stay comparable.

use std::fmt;
use std::sync::Arc;

use super::wrappers::{OrderEnforcing, TimeLimit};
use super::{Env, EnvError, ParallelEnv};

/// Builds a single-agent env.
pub type EnvCtor = Arc<dyn Fn(&MakeOptions) -> Result<Box<dyn Env>, EnvError> + Send + Sync>;

/// Builds a multi-agent parallel env.
pub type ParallelCtor = Arc<dyn Fn(&MakeOptions) -> Result<Box<dyn ParallelEnv>, EnvError> + Send + Sync>;

/// How an id is built and what wraps it by default.
#[derive(Clone)]
pub struct EnvSpec {
    /// The id, e.g. `cartpole-v1`.
    pub id: String,
    /// One line saying what the env is.
    pub summary: String,
    /// Default time limit applied by [`Registry::make`]; `None` for none.
    pub max_episode_steps: Option<u64>,
    /// Average return at which the task counts as solved, if known.
    pub reward_threshold: Option<f64>,
    /// Single-agent constructor.
    pub entry_point: EnvCtor,
    /// Multi-agent constructor, for envs that also offer the parallel API.
    pub parallel_entry_point: Option<ParallelCtor>,
}

impl fmt::Debug for EnvSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSpec")
            .field("id", &self.id)
            .field("summary", &self.summary)
            .field("max_episode_steps", &self.max_episode_steps)
            .field("reward_threshold", &self.reward_threshold)
            .field("parallel", &self.parallel_entry_point.is_some())
            .finish()
    }
}

/// Per-call options of [`Registry::make`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MakeOptions {
    /// Overrides the spec's time limit.
    pub max_episode_steps: Option<u64>,
    /// Leaves the time limit off entirely, whatever the spec says.
    pub disable_time_limit: bool,
}

/// A table of env ids, in registration order.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    specs: Vec<EnvSpec>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `spec`; ids must be unique.
    pub fn register(&mut self, spec: EnvSpec) -> Result<(), EnvError> {
        if self.get(&spec.id).is_some() {
            return Err(EnvError::DuplicateId(spec.id));
        }
        self.specs.push(spec);
        Ok(())
    }

    /// The spec registered under `id`.
    pub fn get(&self, id: &str) -> Option<&EnvSpec> {
        self.specs.iter().find(|s| s.id == id)
    }

    /// All specs, in registration order.
    pub fn specs(&self) -> &[EnvSpec] {
        &self.specs
    }

    /// The spec for `id`, or an error that suggests the closest registered id.
    pub fn spec(&self, id: &str) -> Result<&EnvSpec, EnvError> {
        self.get(id).ok_or_else(|| EnvError::UnknownEnv { id: id.to_owned(), suggestion: self.closest(id) })
    }

    /// Builds `id` wrapped in [`TimeLimit`] (unless disabled or the spec has none) and
    /// [`OrderEnforcing`], as `gymnasium.make` does.
    pub fn make(&self, id: &str, options: &MakeOptions) -> Result<Box<dyn Env>, EnvError> {
        let spec = self.spec(id)?;
        let env = (spec.entry_point)(options)?;
        let limit = options.max_episode_steps.or(spec.max_episode_steps).filter(|_| !options.disable_time_limit);
        Ok(match limit {
            Some(steps) => Box::new(OrderEnforcing::new(TimeLimit::new(env, steps)?)),
            None => Box::new(OrderEnforcing::new(env)),
        })
    }

    /// Builds the multi-agent version of `id`.
    pub fn make_parallel(&self, id: &str, options: &MakeOptions) -> Result<Box<dyn ParallelEnv>, EnvError> {
        let spec = self.spec(id)?;
        let ctor = spec.parallel_entry_point.as_ref().ok_or_else(|| EnvError::InvalidConfig {
            what: format!("environment '{id}'"),
            reason: "it is single-agent; it has no parallel (multi-agent) version".into(),
        })?;
        ctor(options)
    }

    fn closest(&self, id: &str) -> Option<String> {
        let (best, distance) =
            self.specs.iter().map(|s| (&s.id, edit_distance(&s.id.to_lowercase(), &id.to_lowercase()))).min_by_key(|(_, d)| *d)?;
        (distance <= (id.len() / 3).max(2)).then(|| best.clone())
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("cartpole-v1", "cartpole-v1"), 0);
        assert_eq!(edit_distance("cartpole-v1", "cartpole-v0"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
