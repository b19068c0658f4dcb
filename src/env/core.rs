//! The [`Env`] trait and the types that travel through it.

use super::{Action, EnvError, Space};
use crate::snapshot::Snapshot;

/// Options for one `reset`, like Gymnasium's `options` dict: named numbers that the
/// environment documents (CartPole reads `low` and `high`). An environment rejects
/// keys it does not know with [`EnvError::InvalidOption`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResetOptions {
    entries: Vec<(String, f64)>,
}

impl ResetOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) option `key`.
    pub fn with(mut self, key: &str, value: f64) -> Self {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
        self
    }

    /// The value of option `key`, if set.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// All options, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// For environments that take no reset options: errors if any are given.
    pub fn reject_any(options: Option<&ResetOptions>) -> Result<(), EnvError> {
        options.map_or(Ok(()), |o| o.expect_only(&[]))
    }

    /// Errors on the first key that is not in `known`, naming the keys that are.
    pub fn expect_only(&self, known: &[&str]) -> Result<(), EnvError> {
        match self.entries.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((key, _)) => {
                Err(EnvError::InvalidOption { key: key.clone(), reason: format!("unknown option; this environment accepts {known:?}") })
            }
            None => Ok(()),
        }
    }
}

/// Statistics of a finished episode, reported in [`Info::episode`] by the
/// [`EpisodeStatistics`](super::wrappers::EpisodeStatistics) wrapper
/// (Gymnasium's `info["episode"]` with `r`, `l` and `t`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeStats {
    /// Sum of rewards over the episode (`r`).
    pub episode_return: f64,
    /// Number of steps (`l`).
    pub length: u64,
    /// Wall-clock seconds from reset to the last step (`t`); not deterministic.
    pub elapsed_s: f64,
}

/// How many named values an [`Info`] carries without allocating.
pub const INFO_CAPACITY: usize = 8;

/// Named numbers an environment reports alongside a step (deliveries, collisions, …).
/// Fixed capacity, so filling it never allocates.
#[derive(Clone, Copy, Debug, Default)]
pub struct InfoValues {
    entries: [(&'static str, f64); INFO_CAPACITY],
    len: usize,
}

/// Equal when they hold the same entries in the same order (slots past `len`, left
/// over from before a [`InfoValues::clear`], are not compared).
impl PartialEq for InfoValues {
    fn eq(&self, other: &Self) -> bool {
        self.entries[..self.len] == other.entries[..other.len]
    }
}

impl InfoValues {
    /// Sets `key` to `value`; returns `false` (and stores nothing) when full.
    #[inline]
    pub fn set(&mut self, key: &'static str, value: f64) -> bool {
        if let Some(entry) = self.entries[..self.len].iter_mut().find(|(k, _)| *k == key) {
            entry.1 = value;
            return true;
        }
        if self.len == INFO_CAPACITY {
            return false;
        }
        self.entries[self.len] = (key, value);
        self.len += 1;
        true
    }

    /// Removes every entry (without touching the storage, so it is cheap).
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.entries[..self.len].iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// All entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.entries[..self.len].iter().copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What `reset` and `step` report besides the observation: Gymnasium's `info` dict,
/// as a typed, allocation-free struct.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Info {
    /// Set on the last step of an episode by the episode statistics wrapper.
    pub episode: Option<EpisodeStats>,
    /// Environment-specific named values.
    pub values: InfoValues,
}

impl Info {
    /// Whether it carries nothing (no episode statistics, no values).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.episode.is_none() && self.values.is_empty()
    }

    /// Empties it in place: envs that report an info per agent refill each slot this
    /// way rather than copying a whole `Info` (a few hundred bytes) into every one.
    #[inline]
    pub fn clear(&mut self) {
        self.episode = None;
        self.values.clear();
    }
}

/// The result of one [`Env::step`]; the observation went into the caller's buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepOutcome {
    /// The reward for this transition.
    pub reward: f32,
    /// The episode reached a terminal state of the MDP: do not bootstrap.
    pub terminated: bool,
    /// The episode was cut short (time limit, out of bounds): bootstrap from the observation.
    pub truncated: bool,
    /// Extra information.
    pub info: Info,
}

impl StepOutcome {
    /// Whether the episode is over, for either reason.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A single-agent environment with Gymnasium semantics.
///
/// Observations are written into `obs`, a buffer of
/// `observation_space().flat_dim()` numbers laid out as the space's flat form.
/// `reset(Some(seed))` reseeds the environment's RNG; `reset(None)` continues the
/// current stream, so a run is reproducible from its first seed. An environment that
/// was never seeded behaves as if seeded with [`DEFAULT_SEED`](crate::util::seed::DEFAULT_SEED).
///
/// `terminated` and `truncated` are kept apart: a learner bootstraps through
/// truncation but not through termination.
pub trait Env: Send {
    /// The space every observation lies in.
    fn observation_space(&self) -> &Space;

    /// The space every action must lie in.
    fn action_space(&self) -> &Space;

    /// Starts a new episode and writes its first observation into `obs`.
    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError>;

    /// Advances one step with `action` and writes the next observation into `obs`.
    /// An action outside the action space is an [`EnvError::InvalidAction`].
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError>;

    /// Writes the pose, shape and class of every object into `out`, for recorders and
    /// renderers; returns `false` (leaving `out` alone) for envs without a scene.
    fn snapshot(&self, out: &mut Snapshot) -> bool {
        let _ = out;
        false
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn observation_space(&self) -> &Space {
        (**self).observation_space()
    }

    fn action_space(&self) -> &Space {
        (**self).action_space()
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        (**self).reset(seed, options, obs)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        (**self).step(action, obs)
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        (**self).snapshot(out)
    }
}

/// Gymnasium-shaped conveniences that return owned observations. They allocate, so
/// hot loops use [`Env::reset`] and [`Env::step`] with a reused buffer instead.
pub trait EnvExt: Env {
    /// `reset(seed) -> (obs, info)`.
    fn reset_owned(&mut self, seed: Option<u64>) -> Result<(Vec<f32>, Info), EnvError> {
        let mut obs = vec![0.0; self.observation_space().flat_dim()];
        let info = self.reset(seed, None, &mut obs)?;
        Ok((obs, info))
    }

    /// `step(action) -> (obs, reward, terminated, truncated, info)`.
    fn step_owned(&mut self, action: Action<'_>) -> Result<(Vec<f32>, f32, bool, bool, Info), EnvError> {
        let mut obs = vec![0.0; self.observation_space().flat_dim()];
        let out = self.step(action, &mut obs)?;
        Ok((obs, out.reward, out.terminated, out.truncated, out.info))
    }
}

impl<E: Env + ?Sized> EnvExt for E {}

/// Errors unless `obs` has room for exactly one observation of `space`; env
/// implementations call it first in `reset` and `step`.
#[inline]
pub fn check_obs_len(space: &Space, obs: &[f32]) -> Result<(), EnvError> {
    let expected = space.flat_dim();
    if obs.len() == expected { Ok(()) } else { Err(EnvError::BufferSize { what: "observation", got: obs.len(), expected }) }
}

/// Errors unless `action` lies in `space`; env implementations call it in `step`.
#[inline]
pub fn check_action(space: &Space, action: Action<'_>) -> Result<(), EnvError> {
    if space.contains_action(action) { Ok(()) } else { Err(invalid_action(space, action)) }
}

/// The error of [`check_action`], kept out of line so that the check itself inlines
/// (and called directly by envs that find the action invalid while decoding it).
#[cold]
pub(crate) fn invalid_action(space: &Space, action: Action<'_>) -> EnvError {
    EnvError::InvalidAction { action: action.to_string(), space: space.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_values_are_bounded_and_overwrite() {
        let mut v = InfoValues::default();
        assert!(v.is_empty());
        for (i, key) in ["a", "b", "c", "d", "e", "f", "g", "h"].into_iter().enumerate() {
            assert!(v.set(key, i as f64));
        }
        assert!(!v.set("overflow", 1.0), "a full InfoValues refuses new keys");
        assert!(v.set("c", 42.0), "existing keys can still be updated");
        assert_eq!(v.get("c"), Some(42.0));
        assert_eq!(v.get("overflow"), None);
        assert_eq!(v.len(), INFO_CAPACITY);
    }

    #[test]
    fn reset_options_reject_unknown_keys() {
        let opts = ResetOptions::new().with("low", -0.1).with("hihg", 0.1);
        assert_eq!(opts.get("low"), Some(-0.1));
        let Err(err) = opts.expect_only(&["low", "high"]) else { panic!("typo accepted") };
        assert!(err.to_string().contains("'hihg'"), "{err}");
        assert!(ResetOptions::new().with("low", 0.0).with("low", 1.0).iter().count() == 1);
    }
}
