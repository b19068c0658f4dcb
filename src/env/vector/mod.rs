//! Batched environments: N copies of one env stepped together into preallocated
//! struct-of-arrays buffers, one row per agent.
//!
//! A vector env holds [`ParallelEnv`]s, so a multi-agent scene contributes a row per
//! agent (parameter sharing) and a single-agent [`Env`] one row (through
//! [`SingleAgent`](crate::env::SingleAgent)); rows are env-major (`env * num_agents +
//! agent`). Every env writes straight into its rows of the shared buffers, and the
//! trainer and Python binding read those rows: neither branches on
//! single- vs multi-agent or keeps its own copy.
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
//! ## Rows that sit out
//! An agent that has left its env's episode early (a multi-agent env whose other
//! agents play on) is inactive (`active` false): its action is ignored, its reward is
//! 0 and both its flags are false on the steps it sits out, so every flag marks the
//! one step an agent's episode ended. An env's episode is over when none of its
//! agents is active (`env_done`); that is when autoreset applies.
//!
//! ## Autoreset ([`AutoresetMode`], as in Gymnasium 1.x)
//! - `NextStep` (default): the step that ends an episode returns the final
//!   observation with `terminated`/`truncated` set. On the *next* `step` that env
//!   ignores its actions, resets, and returns the first observation of the new
//!   episode with reward 0, both flags false and the reset's info.
//! - `SameStep`: the step that ends an episode resets the env at once. `obs` holds
//!   the new episode's first observation; the final observation is in `final_obs`
//!   (flagged by `has_final_obs`, for every row whose agent ended on this step), and
//!   rewards, flags and `infos` keep the final step's.
//! - `Disabled`: nothing resets by itself; a finished env sits out (reward 0, flags
//!   false, `env_done` still set) until [`VecEnv::reset_envs`] resets it.

mod chunk;
mod serial;
mod threaded;

pub use serial::SerialVecEnv;
pub use threaded::ThreadedVecEnv;

use super::{Action, Env, EnvError, Info, MakeOptions, ParallelEnv, Registry, SingleAgent, Space};

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

/// Actions for a whole batch, flat: one entry per row for `Discrete`, and
/// `num_rows * per_row` row-major entries for `MultiDiscrete` and `Continuous`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Actions<'a> {
    /// One action per row.
    Discrete(&'a [i64]),
    /// `nvec.len()` actions per row.
    MultiDiscrete(&'a [i64]),
    /// `flat_dim` actions per row.
    Continuous(&'a [f32]),
}

impl<'a> Actions<'a> {
    /// Number of entries (not rows).
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

    /// The action of row `i`, where each row's action has `per_env` entries
    /// (see [`action_width`]). Panics if `i` is out of range, like slice indexing.
    pub fn get(&self, i: usize, per_env: usize) -> Action<'a> {
        match *self {
            Actions::Discrete(a) => Action::Discrete(a[i]),
            Actions::MultiDiscrete(a) => Action::MultiDiscrete(&a[i * per_env..(i + 1) * per_env]),
            Actions::Continuous(a) => Action::Continuous(&a[i * per_env..(i + 1) * per_env]),
        }
    }

    /// The actions of rows `start..end`.
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
    /// Zeroed storage for `num_envs` actions (one per row) of `space` (for `Discrete`, its `start`).
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

    /// Fills the buffer with random actions drawn from `space` (one per row).
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

/// The outputs of a batch step, struct-of-arrays, preallocated once: one row per
/// agent, env-major (row `env * num_agents + agent`).
#[derive(Clone, Debug, PartialEq)]
pub struct VecBuffers {
    /// Number of envs.
    pub num_envs: usize,
    /// Rows per env: its agents (1 for a single-agent env).
    pub num_agents: usize,
    /// Flat observation size of one row.
    pub obs_dim: usize,
    /// `num_rows * obs_dim` observations, row-major.
    pub obs: Vec<f32>,
    /// One reward per row.
    pub rewards: Vec<f32>,
    /// One `terminated` flag per row.
    pub terminated: Vec<bool>,
    /// One `truncated` flag per row.
    pub truncated: Vec<bool>,
    /// `SameStep` mode: the final observation of rows whose agent's episode just ended.
    pub final_obs: Vec<f32>,
    /// `SameStep` mode: which rows have a valid `final_obs` this step.
    pub has_final_obs: Vec<bool>,
    /// Rows whose agent acts on the next step.
    pub active: Vec<bool>,
    /// One flag per env: its episode ended on the last step (no agent left active);
    /// in `Disabled` mode it stays set until the env is reset.
    pub env_done: Vec<bool>,
    /// One info per row.
    pub infos: Vec<Info>,
    /// Which `infos` differ from the default, so the threaded backend copies only
    /// those between threads (an `Info` is a few hundred bytes; most are empty).
    info_set: Vec<bool>,
}

impl VecBuffers {
    /// Zeroed buffers for `num_envs` envs of `num_agents` rows of `obs_dim` numbers.
    pub fn new(num_envs: usize, num_agents: usize, obs_dim: usize) -> Self {
        let rows = num_envs * num_agents;
        Self {
            num_envs,
            num_agents,
            obs_dim,
            obs: vec![0.0; rows * obs_dim],
            rewards: vec![0.0; rows],
            terminated: vec![false; rows],
            truncated: vec![false; rows],
            final_obs: vec![0.0; rows * obs_dim],
            has_final_obs: vec![false; rows],
            active: vec![false; rows],
            env_done: vec![false; num_envs],
            infos: vec![Info::default(); rows],
            info_set: vec![false; rows],
        }
    }

    /// Number of rows (`num_envs * num_agents`).
    pub fn num_rows(&self) -> usize {
        self.rewards.len()
    }

    /// The observation of row `i`.
    pub fn obs_of(&self, i: usize) -> &[f32] {
        &self.obs[i * self.obs_dim..(i + 1) * self.obs_dim]
    }

    /// Notes whether row `i`'s info (written by its env) differs from the default.
    fn note_info(&mut self, i: usize) {
        let info = &self.infos[i];
        self.info_set[i] = info.episode.is_some() || !info.values.is_empty();
    }

    /// Copies `src` (the buffers of envs `start..start + src.num_envs`) into place.
    fn copy_chunk_from(&mut self, start: usize, src: &VecBuffers) {
        let (d, first, n) = (self.obs_dim, start * self.num_agents, src.num_rows());
        self.obs[first * d..(first + n) * d].copy_from_slice(&src.obs);
        // Final observations are only meaningful where flagged; skip the rest.
        for (i, _) in src.has_final_obs.iter().enumerate().filter(|(_, f)| **f) {
            self.final_obs[(first + i) * d..(first + i + 1) * d].copy_from_slice(&src.final_obs[i * d..(i + 1) * d]);
        }
        self.rewards[first..first + n].copy_from_slice(&src.rewards);
        self.terminated[first..first + n].copy_from_slice(&src.terminated);
        self.truncated[first..first + n].copy_from_slice(&src.truncated);
        self.has_final_obs[first..first + n].copy_from_slice(&src.has_final_obs);
        self.active[first..first + n].copy_from_slice(&src.active);
        self.env_done[start..start + src.num_envs].copy_from_slice(&src.env_done);
        for (i, &set) in src.info_set.iter().enumerate() {
            if set {
                self.infos[first + i] = src.infos[i];
            } else if self.info_set[first + i] {
                self.infos[first + i] = Info::default();
            }
        }
        self.info_set[first..first + n].copy_from_slice(&src.info_set);
    }
}

/// A batch of envs with one observation and action space, stepped together.
pub trait VecEnv: Send {
    /// Number of envs in the batch.
    fn num_envs(&self) -> usize;

    /// Rows per env: its agents (1 for a single-agent env).
    fn num_agents(&self) -> usize;

    /// Number of rows: `num_envs() * num_agents()`.
    fn num_rows(&self) -> usize {
        self.num_envs() * self.num_agents()
    }

    /// The observation space of one row (an env's, or one agent's).
    fn single_observation_space(&self) -> &Space;

    /// The action space of one row.
    fn single_action_space(&self) -> &Space;

    /// The autoreset mode this batch runs in.
    fn autoreset_mode(&self) -> AutoresetMode;

    /// Resets every env (env `i` with `seed + i` when a seed is given).
    fn reset(&mut self, seed: Option<u64>) -> Result<&VecBuffers, EnvError>;

    /// Steps every env with one action per row (ignored for inactive rows); see the
    /// module docs for autoreset.
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

/// The most envs one vector env holds: far past where more envs step faster on two to
/// sixteen cores, and small enough that a typo (`num_envs = 1000000000`) is an error
/// instead of an allocation that aborts.
pub const MAX_ENVS: usize = 65_536;

/// Builds `num_envs` copies of registry id `id` as a vector env.
pub fn make_vec(
    registry: &Registry,
    id: &str,
    num_envs: usize,
    backend: Backend,
    mode: AutoresetMode,
    options: &MakeOptions,
) -> Result<Box<dyn VecEnv>, EnvError> {
    if num_envs > MAX_ENVS {
        return Err(EnvError::InvalidConfig { what: "vector env".into(), reason: format!("{num_envs} envs is more than {MAX_ENVS}") });
    }
    let envs = (0..num_envs).map(|_| registry.make(id, options)).collect::<Result<Vec<_>, _>>()?;
    Ok(match backend {
        Backend::Serial => Box::new(SerialVecEnv::new(envs, mode)?),
        Backend::Threaded { num_threads } => Box::new(ThreadedVecEnv::new(envs, num_threads, mode)?),
    })
}

/// One row per env: each single-agent env as a one-agent parallel env (held by value,
/// so that a batch of single-agent envs pays no second dynamic call per step).
fn one_agent_each(envs: Vec<Box<dyn Env>>) -> Vec<SingleAgent<Box<dyn Env>>> {
    envs.into_iter().map(SingleAgent::new).collect()
}

/// Checks that `envs` is non-empty, that every env has env 0's number of agents and
/// every agent env 0's agent 0's spaces (one policy drives every row); returns the
/// agents per env and the row spaces.
fn common_spaces<P: ParallelEnv>(envs: &[P]) -> Result<(usize, Space, Space), EnvError> {
    let invalid = |reason: String| EnvError::InvalidConfig { what: "vector env".into(), reason };
    let first = envs.first().ok_or_else(|| invalid("a vector env needs at least one env".into()))?;
    let agents = first.possible_agents().len();
    let (Some(obs), Some(act)) = (first.observation_space(0).cloned(), first.action_space(0).cloned()) else {
        return Err(invalid("env 0 has no agents".into()));
    };
    ActionBuffer::new(&act, 0)?;
    for (index, env) in envs.iter().enumerate() {
        if env.possible_agents().len() != agents {
            return Err(invalid(format!("env {index} has {} agents, env 0 has {agents}", env.possible_agents().len())));
        }
        for agent in 0..agents {
            for (what, got, expected) in
                [("observation space", env.observation_space(agent), &obs), ("action space", env.action_space(agent), &act)]
            {
                if got != Some(expected) {
                    let got = got.map_or_else(|| "none".to_owned(), Space::to_string);
                    return Err(EnvError::SpaceMismatch { index, agent, what, got, expected: expected.to_string() });
                }
            }
        }
    }
    Ok((agents, obs, act))
}

/// Entries per row of an action in `space`: 1 for `Discrete`, else its flat size.
pub fn action_width(space: &Space) -> usize {
    match space {
        Space::Discrete { .. } => 1,
        s => s.flat_dim(),
    }
}

/// Errors unless `actions` has the kind and length `num_rows` actions of `space` need.
fn check_actions(space: &Space, num_rows: usize, actions: &Actions<'_>) -> Result<(), EnvError> {
    let kind_ok = matches!(
        (space, actions),
        (Space::Discrete { .. }, Actions::Discrete(_))
            | (Space::MultiDiscrete { .. }, Actions::MultiDiscrete(_))
            | (Space::Box(_), Actions::Continuous(_))
    );
    if !kind_ok {
        return Err(EnvError::InvalidAction { action: format!("{actions:?}"), space: space.to_string() });
    }
    let expected = num_rows * action_width(space);
    if actions.len() != expected {
        return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected });
    }
    Ok(())
}

fn check_mask(mask: &[bool], num_envs: usize) -> Result<(), EnvError> {
    if mask.len() == num_envs { Ok(()) } else { Err(EnvError::BufferSize { what: "reset mask", got: mask.len(), expected: num_envs }) }
}
