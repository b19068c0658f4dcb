//! The episode file: a versioned, self-checking record of what happened.
//!
//! ## Binary layout (`*.episodes`, the default)
//! `b"SYNTHGYM"` · format version (`u32`, little endian) · payload length (`u64`) ·
//! payload ([`Recording`] encoded with postcard) · CRC-32C of the payload (`u32`).
//!
//! ## JSON (`*.json`)
//! The same [`Recording`] as a JSON object whose `format_version` field comes first.
//!
//! Reading checks the magic, the version (a file from another version is an error that
//! names both versions), the length (a truncated file says how many bytes are missing)
//! and the CRC. Writing goes to a temporary file that is renamed into place, so a
//! crash never leaves a partial file under the final name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::snapshot::Snapshot;
use crate::util::metrics::crc32c;

/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// First bytes of a binary episode file.
pub const MAGIC: [u8; 8] = *b"SYNTHGYM";

/// Errors reading or writing episode files.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not an episode file.
    #[error("{}: not a synthgym episode file ({reason})", path.display())]
    NotAnEpisodeFile {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// The file was written by a format version this build does not read.
    #[error("{}: episode format version {found}; this synthgym reads version {FORMAT_VERSION}", path.display())]
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// The file ends early.
    #[error("{}: truncated: {missing} bytes missing (the header announces a {expected}-byte payload)", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes missing.
        missing: u64,
        /// Payload length the header announced (the header's own 20 bytes if it is cut).
        expected: u64,
    },
    /// The payload does not match its checksum or does not decode.
    #[error("{}: corrupt: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A recording without episodes was given to re-simulate.
    #[error("the recording has no episodes, so there is nothing to re-simulate")]
    NoEpisodes,
    /// A recorded episode does not replay: the first step where re-simulation differs.
    #[error("episode {episode} diverges at step {step}: {what}")]
    Diverged {
        /// Episode index in the recording.
        episode: usize,
        /// Step index (0 = the reset).
        step: usize,
        /// What differed.
        what: String,
    },
    /// The environment failed while recording or re-simulating.
    #[error(transparent)]
    Env(#[from] crate::env::EnvError),
}

/// A recording: where it came from and its episodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// The version of the format (always [`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// The synthgym version that wrote it.
    pub synthgym_version: String,
    /// Registry id, or the path of the scene file.
    pub env: String,
    /// The scene file's text when `env` is a file, so the recording is self-contained.
    pub scene: Option<String>,
    /// Who acted (`ppo`, `random`, `scripted`, …).
    pub policy: String,
    /// Agent names, in index order.
    pub agents: Vec<String>,
    /// Whether the env was driven through its multi-agent (parallel) view.
    pub multi_agent: bool,
    /// The episodes.
    pub episodes: Vec<EpisodeLog>,
}

/// One episode: its reset seed and every step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeLog {
    /// The seed the env was reset with.
    pub seed: u64,
    /// The scene right after the reset (empty for envs without a scene).
    pub initial: Snapshot,
    /// FNV-1a hash of the first observations (all agents).
    pub initial_obs_hash: u64,
    /// The steps.
    pub steps: Vec<StepLog>,
    /// The recorder stopped the episode at its step limit before the env ended it.
    pub cut_short: bool,
}

impl EpisodeLog {
    /// Sum of all agents' rewards.
    pub fn episode_return(&self) -> f64 {
        self.steps.iter().flat_map(|s| &s.rewards).map(|&r| f64::from(r)).sum()
    }
}

/// One step: the actions taken, what they earned, and the scene afterwards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// Each agent's action (empty for agents that were not active).
    pub actions: Vec<ActionLog>,
    /// Each agent's reward.
    pub rewards: Vec<f32>,
    /// Each agent's terminated flag.
    pub terminated: Vec<bool>,
    /// Each agent's truncated flag.
    pub truncated: Vec<bool>,
    /// Named values the env reported for each agent (deliveries, collisions, …): `(agent, name, value)`.
    pub events: Vec<(u32, String, f64)>,
    /// The scene after the step (empty for envs without a scene).
    pub snapshot: Snapshot,
    /// FNV-1a hash of the observations after the step (all agents).
    pub obs_hash: u64,
}

/// One agent's action, owned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ActionLog {
    /// The agent was inactive.
    None,
    /// A `Discrete` action.
    Discrete(i64),
    /// A `MultiDiscrete` action.
    MultiDiscrete(Vec<i64>),
    /// A `Box` action.
    Continuous(Vec<f32>),
}

/// FNV-1a over the bytes of `values`: a compact fingerprint for re-simulation checks.
pub fn hash_f32(values: &[f32], seed: u64) -> u64 {
    values.iter().flat_map(|v| v.to_le_bytes()).fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Writes `recording` to `path` (JSON if it ends in `.json`, else binary), atomically.
pub fn write(path: &Path, recording: &Recording) -> Result<(), ReplayError> {
    let io = |source| ReplayError::Io { path: path.to_owned(), source };
    let bytes = if is_json(path) {
        serde_json::to_vec_pretty(recording).map_err(|e| ReplayError::Corrupt { path: path.to_owned(), reason: e.to_string() })?
    } else {
        let payload = postcard::to_stdvec(recording).map_err(|e| ReplayError::Corrupt { path: path.to_owned(), reason: e.to_string() })?;
        let mut out = Vec::with_capacity(payload.len() + 24);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&crc32c(&payload).to_le_bytes());
        out
    };
    crate::util::fs::write_atomic(path, &bytes, true).map_err(io)
}

/// Reads an episode file written by [`write`], checking version, length and checksum.
pub fn read(path: &Path) -> Result<Recording, ReplayError> {
    let bytes = std::fs::read(path).map_err(|source| ReplayError::Io { path: path.to_owned(), source })?;
    let p = || path.to_owned();
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        #[derive(Deserialize)]
        struct VersionOnly {
            format_version: u32,
        }
        let version: VersionOnly = serde_json::from_slice(&bytes)
            .map_err(|e| ReplayError::NotAnEpisodeFile { path: p(), reason: format!("JSON without format_version: {e}") })?;
        if version.format_version != FORMAT_VERSION {
            return Err(ReplayError::UnknownVersion { path: p(), found: version.format_version });
        }
        return serde_json::from_slice(&bytes).map_err(|e| ReplayError::Corrupt { path: p(), reason: e.to_string() });
    }
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        return Err(ReplayError::NotAnEpisodeFile { path: p(), reason: "it does not start with SYNTHGYM or {".into() });
    }
    let header = bytes.get(8..20).ok_or_else(|| ReplayError::Truncated { path: p(), missing: 20 - bytes.len() as u64, expected: 20 })?;
    let version = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if version != FORMAT_VERSION {
        return Err(ReplayError::UnknownVersion { path: p(), found: version });
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&header[4..12]);
    let len = u64::from_le_bytes(len_bytes);
    let available = bytes.len() as u64 - 20;
    // The length comes from the file: a crafted one must not overflow or slice out of range.
    let needed =
        len.checked_add(4).ok_or_else(|| ReplayError::Corrupt { path: p(), reason: format!("impossible payload length {len}") })?;
    if available < needed {
        return Err(ReplayError::Truncated { path: p(), missing: needed - available, expected: len });
    }
    if available > needed {
        return Err(ReplayError::Corrupt { path: p(), reason: format!("{} unexpected bytes after the checksum", available - needed) });
    }
    let (payload, crc) = bytes[20..].split_at(bytes.len() - 24);
    if crc32c(payload).to_le_bytes() != crc {
        return Err(ReplayError::Corrupt { path: p(), reason: "checksum mismatch".into() });
    }
    postcard::from_bytes(payload).map_err(|e| ReplayError::Corrupt { path: p(), reason: e.to_string() })
}
