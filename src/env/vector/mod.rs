//! Batched environments: N copies of one env stepped together into preallocated
//! struct-of-arrays buffers.
//!
//! Two backends share the [`VecEnv`] trait and give bit-identical results for the
//! same seed: [`SerialVecEnv`] steps every env on the calling thread, and
//! [`ThreadedVecEnv`] splits the envs into contiguous chunks stepped by crossbeam
//! worker threads (the calling thread steps the first chunk itself).
//!
//! ## Seeding
//! `reset(Some(seed))` resets env `i` with seed `seed + i`; later resets, including
//! automatic ones, continue each env's own RNG stream.
//!
//! ## Autoreset ([`AutoresetMode`], as in Gymnasium 1.x)
//! - `NextStep` (default): the step that ends an episode returns the final
//!   observation with `terminated`/`truncated` set. On the *next* `step` that env
//!   ignores its action, resets, and returns the first observation of the new
//!   episode with reward 0, both flags false and the reset's info.
//! - `SameStep`: the step that ends an episode resets the env at once. `obs` holds
//!   the new episode's first observation; the final observation is in `final_obs`
//!   (flagged by `has_final_obs`), and `infos` keeps the final step's info.
//! - `Disabled`: nothing resets by itself; call [`VecEnv::reset_envs`] with a mask.

mod chunk;
mod serial;
mod threaded;

pub use serial::SerialVecEnv;
pub use threaded::ThreadedVecEnv;

use super::{Action, Env, EnvError, Info, MakeOptions, Registry, Space};

/// When a finished env is reset inside a vector env.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AutoresetMode {
    /// Reset on the step after the episode ended (Gymnasium's default).
    #[default]
    NextStep,
    /// Reset within the step that ended the episode; the final observation goes to `final_obs`.
    SameStep,
    /// Never reset automatically.
    Disabled,
}

/// Actions for a whole batch, flat: `num_envs` entries for `Discrete`, and
/// `num_envs * per_env` row-major entries for `MultiDiscrete` and `Continuous`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Actions<'a> {
    /// One action per env.
    Discrete(&'a [i64]),
    /// `nvec.len()` actions per env.
    MultiDiscrete(&'a [i64]),
    /// `flat_dim` actions per env.
    Continuous(&'a [f32]),
}

impl<'a> Actions<'a> {
    /// Number of entries (not envs).
    pub fn len(&self) -> usize {
        match self {
            Actions::Discrete(a) | Actions::MultiDiscrete(a) => a.len(),
            Actions::Continuous(a) => a.len(),
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The action of env `i`, where each env's action has `per_env` entries
    /// (see [`action_width`]). Panics if `i` is out of range, like slice indexing.
    pub fn get(&self, i: usize, per_env: usize) -> Action<'a> {
        match *self {
            Actions::Discrete(a) => Action::Discrete(a[i]),
            Actions::MultiDiscrete(a) => Action::MultiDiscrete(&a[i * per_env..(i + 1) * per_env]),
            Actions::Continuous(a) => Action::Continuous(&a[i * per_env..(i + 1) * per_env]),
        }
    }

    /// The actions of envs `start..end`.
    fn slice(&self, start: usize, end: usize, per_env: usize) -> Actions<'a> {
        match *self {
            Actions::Discrete(a) => Actions::Discrete(&a[start..end]),
            Actions::MultiDiscrete(a) => Actions::MultiDiscrete(&a[start * per_env..end * per_env]),
            Actions::Continuous(a) => Actions::Continuous(&a[start * per_env..end * per_env]),
        }
    }
}

/// Owned, reusable storage for a batch of actions, shaped for one action space.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionBuffer {
    /// For `Discrete` spaces.
    Discrete(Vec<i64>),
    /// For `MultiDiscrete` spaces.
    MultiDiscrete(Vec<i64>),
    /// For `Box` spaces.
    Continuous(Vec<f32>),
}

impl ActionBuffer {
    /// Zeroed storage for `num_envs` actions of `space` (for `Discrete`, its `start`).
    pub fn new(space: &Space, num_envs: usize) -> Result<Self, EnvError> {
        match space {
            Space::Discrete { start, .. } => Ok(ActionBuffer::Discrete(vec![*start; num_envs])),
            Space::MultiDiscrete { nvec } => Ok(ActionBuffer::MultiDiscrete(vec![0; num_envs * nvec.len()])),
            Space::Box(b) => Ok(ActionBuffer::Continuous(vec![0.0; num_envs * b.numel()])),
            Space::Dict(_) => {
                Err(EnvError::InvalidConfig { what: "action space".into(), reason: format!("{space} is not supported as an action space") })
            }
        }
    }

    /// Borrows the buffer as [`Actions`].
    pub fn as_actions(&self) -> Actions<'_> {
        match self {
            ActionBuffer::Discrete(a) => Actions::Discrete(a),
            ActionBuffer::MultiDiscrete(a) => Actions::MultiDiscrete(a),
            ActionBuffer::Continuous(a) => Actions::Continuous(a),
        }
    }

    /// Copies `actions` into this buffer; both must have the same kind and length.
    fn copy_from(&mut self, actions: Actions<'_>) {
        match (self, actions) {
            (ActionBuffer::Discrete(dst), Actions::Discrete(src)) | (ActionBuffer::MultiDiscrete(dst), Actions::MultiDiscrete(src)) => {
                dst.copy_from_slice(src)
            }
            (ActionBuffer::Continuous(dst), Actions::Continuous(src)) => dst.copy_from_slice(src),
            _ => unreachable!("invariant: actions were validated against the action space"),
        }
    }

    /// Fills the buffer with random actions drawn from `space` (one per env).
    pub fn sample<R: rand::Rng + ?Sized>(&mut self, space: &Space, rng: &mut R) {
        match (self, space) {
            (ActionBuffer::Discrete(a), Space::Discrete { n, start }) => {
                a.iter_mut().for_each(|x| *x = start + rng.random_range(0..*n) as i64)
            }
            (ActionBuffer::MultiDiscrete(a), Space::MultiDiscrete { nvec }) if !nvec.is_empty() => {
                for row in a.chunks_mut(nvec.len()) {
                    row.iter_mut().zip(nvec).for_each(|(x, &n)| *x = rng.random_range(0..n) as i64);
                }
            }
            (ActionBuffer::Continuous(a), Space::Box(b)) if b.numel() > 0 => {
                a.chunks_mut(b.numel()).for_each(|row| b.sample_into(rng, row))
            }
            _ => {}
        }
    }
}

/// The outputs of a batch step, struct-of-arrays, preallocated once.
#[derive(Clone, Debug, PartialEq)]
pub struct VecBuffers {
    /// Number of envs.
    pub num_envs: usize,
    /// Flat observation size of one env.
    pub obs_dim: usize,
    /// `num_envs * obs_dim` observations, env-major.
    pub obs: Vec<f32>,
    /// One reward per env.
    pub rewards: Vec<f32>,
    /// One `terminated` flag per env.
    pub terminated: Vec<bool>,
    /// One `truncated` flag per env.
    pub truncated: Vec<bool>,
    /// `SameStep` mode: the final observation of envs whose episode just ended.
    pub final_obs: Vec<f32>,
    /// `SameStep` mode: which envs have a valid `final_obs` this step.
    pub has_final_obs: Vec<bool>,
    /// One info per env.
    pub infos: Vec<Info>,
    /// Which `infos` differ from the default, so the threaded backend copies only
    /// those between threads (an `Info` is a few hundred bytes; most are empty).
    info_set: Vec<bool>,
}

impl VecBuffers {
    /// Zeroed buffers for `num_envs` observations of `obs_dim` numbers.
    pub fn new(num_envs: usize, obs_dim: usize) -> Self {
        Self {
            num_envs,
            obs_dim,
            obs: vec![0.0; num_envs * obs_dim],
            rewards: vec![0.0; num_envs],
            terminated: vec![false; num_envs],
            truncated: vec![false; num_envs],
            final_obs: vec![0.0; num_envs * obs_dim],
            has_final_obs: vec![false; num_envs],
            infos: vec![Info::default(); num_envs],
            info_set: vec![false; num_envs],
        }
    }

    /// Stores env `i`'s info.
    fn set_info(&mut self, i: usize, info: Info) {
        self.info_set[i] = info.episode.is_some() || !info.values.is_empty();
        self.infos[i] = info;
    }

    /// The observation of env `i`.
    pub fn obs_of(&self, i: usize) -> &[f32] {
        &self.obs[i * self.obs_dim..(i + 1) * self.obs_dim]
    }

    /// Copies `src` (the buffers of envs `start..start + src.num_envs`) into place.
    fn copy_chunk_from(&mut self, start: usize, src: &VecBuffers) {
        let (d, n) = (self.obs_dim, src.num_envs);
        self.obs[start * d..(start + n) * d].copy_from_slice(&src.obs);
        // Final observations are only meaningful where flagged; skip the rest.
        for (i, _) in src.has_final_obs.iter().enumerate().filter(|(_, f)| **f) {
            self.final_obs[(start + i) * d..(start + i + 1) * d].copy_from_slice(&src.final_obs[i * d..(i + 1) * d]);
        }
        self.rewards[start..start + n].copy_from_slice(&src.rewards);
        self.terminated[start..start + n].copy_from_slice(&src.terminated);
        self.truncated[start..start + n].copy_from_slice(&src.truncated);
        self.has_final_obs[start..start + n].copy_from_slice(&src.has_final_obs);
        for (i, &set) in src.info_set.iter().enumerate() {
            if set {
                self.infos[start + i] = src.infos[i];
            } else if self.info_set[start + i] {
                self.infos[start + i] = Info::default();
            }
        }
        self.info_set[start..start + n].copy_from_slice(&src.info_set);
    }
}

/// A batch of envs with one observation and action space, stepped together.
pub trait VecEnv: Send {
    /// Number of envs in the batch.
    fn num_envs(&self) -> usize;

    /// The observation space of one env.
    fn single_observation_space(&self) -> &Space;

    /// The action space of one env.
    fn single_action_space(&self) -> &Space;

    /// The autoreset mode this batch runs in.
    fn autoreset_mode(&self) -> AutoresetMode;

    /// Resets every env (env `i` with `seed + i` when a seed is given).
    fn reset(&mut self, seed: Option<u64>) -> Result<&VecBuffers, EnvError>;

    /// Steps every env with its action; see the module docs for autoreset.
    fn step(&mut self, actions: Actions<'_>) -> Result<&VecBuffers, EnvError>;

    /// Resets the envs whose `mask` entry is true (env `i` with `seed + i` when a
    /// seed is given); the others keep their outputs. For `Disabled` autoreset.
    fn reset_envs(&mut self, mask: &[bool], seed: Option<u64>) -> Result<&VecBuffers, EnvError>;

    /// The outputs of the last `reset` or `step`.
    fn buffers(&self) -> &VecBuffers;
}

/// Which backend [`make_vec`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// All envs on the calling thread.
    Serial,
    /// Envs split over this many threads (the calling thread included).
    Threaded {
        /// Threads to use; at least 1, at most the number of envs is useful.
        num_threads: usize,
    },
}

/// Builds `num_envs` copies of registry id `id` as a vector env.
pub fn make_vec(
    registry: &Registry,
    id: &str,
    num_envs: usize,
    backend: Backend,
    mode: AutoresetMode,
    options: &MakeOptions,
) -> Result<Box<dyn VecEnv>, EnvError> {
    let envs = (0..num_envs).map(|_| registry.make(id, options)).collect::<Result<Vec<_>, _>>()?;
    Ok(match backend {
        Backend::Serial => Box::new(SerialVecEnv::new(envs, mode)?),
        Backend::Threaded { num_threads } => Box::new(ThreadedVecEnv::new(envs, num_threads, mode)?),
    })
}

/// Checks that `envs` is non-empty and every env shares env 0's spaces; returns them.
fn common_spaces(envs: &[Box<dyn Env>]) -> Result<(Space, Space), EnvError> {
    let first = envs
        .first()
        .ok_or_else(|| EnvError::InvalidConfig { what: "num_envs".into(), reason: "a vector env needs at least one env".into() })?;
    let (obs, act) = (first.observation_space().clone(), first.action_space().clone());
    ActionBuffer::new(&act, 0)?;
    for (index, env) in envs.iter().enumerate().skip(1) {
        for (what, got, expected) in [("observation space", env.observation_space(), &obs), ("action space", env.action_space(), &act)] {
            if got != expected {
                return Err(EnvError::SpaceMismatch { index, what, got: got.to_string(), expected: expected.to_string() });
            }
        }
    }
    Ok((obs, act))
}

/// Entries per env of an action in `space`: 1 for `Discrete`, else its flat size.
pub fn action_width(space: &Space) -> usize {
    match space {
        Space::Discrete { .. } => 1,
        s => s.flat_dim(),
    }
}

/// Errors unless `actions` has the kind and length `num_envs` actions of `space` need.
fn check_actions(space: &Space, num_envs: usize, actions: &Actions<'_>) -> Result<(), EnvError> {
    let kind_ok = matches!(
        (space, actions),
        (Space::Discrete { .. }, Actions::Discrete(_))
            | (Space::MultiDiscrete { .. }, Actions::MultiDiscrete(_))
            | (Space::Box(_), Actions::Continuous(_))
    );
    if !kind_ok {
        return Err(EnvError::InvalidAction { action: format!("{actions:?}"), space: space.to_string() });
    }
    let expected = num_envs * action_width(space);
    if actions.len() != expected {
        return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected });
    }
    Ok(())
}

fn check_mask(mask: &[bool], num_envs: usize) -> Result<(), EnvError> {
    if mask.len() == num_envs { Ok(()) } else { Err(EnvError::BufferSize { what: "reset mask", got: mask.len(), expected: num_envs }) }
}
