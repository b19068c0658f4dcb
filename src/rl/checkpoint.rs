//! Checkpoints: a directory holding
//!
//! - `model.safetensors`: network variables (`actor.0.weight`, …, `q.0.weight`),
//!   observation statistics (`obs_rms.*`) and Adam moments (`adam.m.*`, `adam.v.*`);
//! - `state.toml`: counters (env steps, iterations, optimiser steps) and the RNG state;
//! - `config.toml`: the full training config, so `eval` and `--resume` rebuild the run.
//!
//! A checkpoint is written to a temporary sibling directory and renamed into place, so
//! a crash never leaves a half-written checkpoint under the final name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{Algo, TrainConfig};
use super::normalize::ObsNormalizer;
use super::{Result, RlError};
use crate::nn::{
    ParamStore,
    checkpoint::{read_tensors, write_dir},
};

/// Counters and RNG state saved with the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// The algorithm that wrote the checkpoint.
    pub algo: Algo,
    /// Env steps taken.
    pub global_step: u64,
    /// Iterations completed.
    pub iteration: u64,
    /// Adam steps taken.
    pub optimizer_steps: u64,
    /// The learner RNG: seed (hex), stream and word position (decimal strings, as TOML has no u128).
    pub rng_seed: String,
    /// ChaCha stream number.
    pub rng_stream: u64,
    /// ChaCha word position.
    pub rng_word_pos: String,
    /// DQN: env step of the next target-network update.
    pub next_target_update: Option<u64>,
    /// Env steps at which the evaluation target was first reached, if it was.
    pub solved_at_step: Option<u64>,
    /// Training seconds (evaluation excluded) so far.
    pub train_seconds: f64,
}

/// Encodes `rng`'s full state for [`TrainState`].
pub fn rng_state(rng: &ChaCha8Rng) -> (String, u64, String) {
    let seed: String = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
    (seed, rng.get_stream(), rng.get_word_pos().to_string())
}

/// Rebuilds an RNG from [`rng_state`] output.
pub fn restore_rng(seed_hex: &str, stream: u64, word_pos: &str, path: &Path) -> Result<ChaCha8Rng> {
    let bad = |reason: String| RlError::checkpoint(path, reason);
    let digits = seed_hex.as_bytes();
    if digits.len() != 64 || !seed_hex.is_ascii() {
        return Err(bad(format!("rng_seed must be 64 hex digits, got '{seed_hex}'")));
    }
    let mut seed = [0u8; 32];
    for (byte, pair) in seed.iter_mut().zip(digits.chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|e| bad(format!("rng_seed: {e}")))?;
        *byte = u8::from_str_radix(text, 16).map_err(|e| bad(format!("rng_seed: {e}")))?;
    }
    let pos: u128 = word_pos.parse().map_err(|e| bad(format!("rng_word_pos: {e}")))?;
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(stream);
    rng.set_word_pos(pos);
    Ok(rng)
}

/// Writes a checkpoint to `dir` atomically (temporary directory, then rename).
pub fn save(dir: &Path, tensors: &HashMap<String, Tensor>, state: &TrainState, config: &TrainConfig) -> Result<()> {
    let state_text = toml::to_string(state).map_err(|e| RlError::config("state", e.to_string()))?;
    let config_text = config.to_toml()?;
    Ok(write_dir(dir, tensors, &[("state.toml", &state_text), ("config.toml", &config_text)])?)
}

/// What an agent's checkpoint holds besides the optimiser: its variables and its
/// observation statistics (shared by the PPO and DQN agents).
pub fn agent_tensors(params: &ParamStore, normalizer: &ObsNormalizer) -> Result<HashMap<String, Tensor>> {
    let mut t = params.tensors();
    t.extend(normalizer.tensors()?);
    Ok(t)
}

/// Restores [`agent_tensors`] output.
pub fn load_agent_tensors(
    params: &ParamStore,
    normalizer: &mut ObsNormalizer,
    tensors: &HashMap<String, Tensor>,
) -> std::result::Result<(), String> {
    params.load(tensors, "")?;
    normalizer.load(tensors)
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct Checkpoint {
    /// Where it was read from.
    pub dir: PathBuf,
    /// Its tensors, on `device`.
    pub tensors: HashMap<String, Tensor>,
    /// Its counters.
    pub state: TrainState,
    /// Its training config.
    pub config: TrainConfig,
}

/// Finds the checkpoint for `path`: a checkpoint directory itself, or a run directory
/// holding `checkpoint/`.
pub fn resolve(path: &Path) -> PathBuf {
    crate::nn::checkpoint::resolve(path, crate::nn::checkpoint::MODEL_FILE, "checkpoint")
}

/// Fields a checkpoint's `config.toml` must state (every version wrote them).
const REQUIRED_CONFIG_KEYS: [&str; 5] = ["algo", "env", "seed", "total_steps", "net"];

/// Reads a checkpoint (see [`resolve`]) with its tensors on `device`.
pub fn load(path: &Path, device: &Device) -> Result<Checkpoint> {
    let dir = resolve(path);
    let bad = |reason: String| RlError::checkpoint(&dir, reason);
    if !dir.join("model.safetensors").exists() {
        return Err(bad("no model.safetensors here (pass a run directory or its checkpoint/ directory)".into()));
    }
    let tensors = read_tensors(&dir, device)?;
    let state_path = dir.join("state.toml");
    let state_text = std::fs::read_to_string(&state_path).map_err(RlError::io(&state_path))?;
    let state: TrainState = toml::from_str(&state_text).map_err(|e| bad(format!("state.toml: {}", e.to_string().trim_end())))?;
    let config_path = dir.join("config.toml");
    let config_text = std::fs::read_to_string(&config_path).map_err(RlError::io(&config_path))?;
    // Every field is written; an empty or cut-short file would otherwise load as the
    // defaults (another env, network or algorithm) and evaluate without complaint.
    // (A file that is not TOML at all is left to the parser below, which names the line.)
    let table: Option<toml::Table> = toml::from_str(&config_text).ok();
    let missing: Vec<&str> = REQUIRED_CONFIG_KEYS.iter().copied().filter(|k| table.as_ref().is_some_and(|t| !t.contains_key(*k))).collect();
    if !missing.is_empty() {
        return Err(bad(format!("config.toml lacks {} (a checkpoint's config is written whole; this one is damaged)", missing.join(", "))));
    }
    let config = TrainConfig::from_toml(&config_text, &config_path.display().to_string())?;
    if config.algo != state.algo {
        return Err(bad(format!("state.toml says algo {}, config.toml says {}", state.algo.name(), config.algo.name())));
    }
    Ok(Checkpoint { dir, tensors, state, config })
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;
    use crate::util::seed::rng_from_seed;

    #[test]
    fn rng_state_round_trips_mid_stream() -> Result<()> {
        let mut rng = rng_from_seed(42);
        for _ in 0..37 {
            let _: u32 = rng.random();
        }
        let (seed, stream, pos) = rng_state(&rng);
        let mut restored = restore_rng(&seed, stream, &pos, Path::new("x"))?;
        let a: Vec<u64> = (0..5).map(|_| rng.random()).collect();
        let b: Vec<u64> = (0..5).map(|_| restored.random()).collect();
        assert_eq!(a, b);
        assert!(restore_rng("zz", 0, "0", Path::new("x")).is_err());
        // 64 bytes, but not 64 ASCII hex digits: an error, not a panic on a char boundary.
        assert!(restore_rng(&"é".repeat(32), 0, "0", Path::new("x")).is_err());
        Ok(())
    }
}
