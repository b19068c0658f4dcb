//! Checkpoint directories: `model.safetensors` plus small text files (config, counters,
//! metadata) beside it, built under a temporary name and renamed into place, so a crash
//! never leaves a half-written checkpoint under the final name. The one writer and
//! reader of the RL, classifier and generative checkpoints.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use super::{Error, Result};

/// The tensor file of a checkpoint directory.
pub const MODEL_FILE: &str = "model.safetensors";

/// Writes a checkpoint directory: `tensors` (copied to the CPU) as [`MODEL_FILE`] and
/// each `(file name, text)` beside it, every file synced, the whole directory built
/// under a temporary name and renamed into place.
pub fn write_dir(dir: &Path, tensors: &HashMap<String, Tensor>, files: &[(&str, &str)]) -> Result<()> {
    let cpu = tensors
        .iter()
        .map(|(k, t)| Ok((k.clone(), t.to_device(&Device::Cpu)?)))
        .collect::<candle_core::Result<HashMap<String, Tensor>>>()
        .map_err(|e| Error::io(dir)(std::io::Error::other(e)))?;
    crate::util::fs::replace_dir_atomic(dir, |tmp| {
        let model = tmp.join(MODEL_FILE);
        candle_core::safetensors::save(&cpu, &model).map_err(std::io::Error::other)?;
        std::fs::File::open(&model)?.sync_all()?;
        for (name, text) in files {
            let mut file = std::fs::File::create(tmp.join(name))?;
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()?;
        }
        Ok(())
    })
    .map_err(Error::io(dir))
}

/// Reads the tensors of the checkpoint directory `dir` onto `device`.
pub fn read_tensors(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load(dir.join(MODEL_FILE), device).map_err(|e| Error::checkpoint(dir, format!("{MODEL_FILE}: {e}")))
}
