//! Checkpoint directories: `model.safetensors` plus small text files (config, counters,
//! metadata) beside it, built under a temporary name and renamed into place, so a crash
//! never leaves a half-written checkpoint under the final name. The one writer and
//! reader of the RL, classifier and generative checkpoints.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

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

/// Reads the tensors of the checkpoint directory `dir` onto `device`. Refuses (naming
/// the tensor) a tensor that is not floating point, which no synthgym writer produces,
/// or that holds a NaN or an infinity, which would load and evaluate as if it were a
/// model (or resume from poisoned optimiser moments).
pub fn read_tensors(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let tensors =
        candle_core::safetensors::load(dir.join(MODEL_FILE), device).map_err(|e| Error::checkpoint(dir, format!("{MODEL_FILE}: {e}")))?;
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        check_values(&tensors[name]).map_err(|reason| Error::checkpoint(dir, format!("{MODEL_FILE}: tensor '{name}' {reason}")))?;
    }
    Ok(tensors)
}

/// Errors unless `t` is a floating-point tensor of finite numbers.
fn check_values(t: &Tensor) -> std::result::Result<(), String> {
    let dtype = t.dtype();
    if !dtype.is_float() {
        return Err(format!("is {dtype:?}; checkpoints hold floating-point tensors only"));
    }
    let values = t.flatten_all().and_then(|t| t.to_dtype(DType::F64)).and_then(|t| t.to_vec1::<f64>()).map_err(|e| e.to_string())?;
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => {
            Err(format!("holds {} at flat index {i} (of {}); the checkpoint is corrupt or its training diverged", values[i], values.len()))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_that_are_not_finite_floats_are_refused() -> candle_core::Result<()> {
        let dir = std::env::temp_dir().join(format!("synthgym-nn-checkpoint-{}", std::process::id()));
        let cpu = Device::Cpu;
        let write = |name: &str, t: Tensor| {
            let ok = Tensor::new(&[1.0f32, 2.0], &cpu)?;
            let tensors = HashMap::from([("a.weight".to_owned(), ok), (name.to_owned(), t)]);
            write_dir(&dir, &tensors, &[]).map_err(candle_core::Error::wrap)
        };
        write("b.moments", Tensor::new(&[0.5f64, -3.0], &cpu)?)?;
        assert_eq!(read_tensors(&dir, &cpu).map(|t| t.len()).ok(), Some(2), "finite f32 and f64 tensors load");
        for (bad, expect) in [
            (Tensor::new(&[0.0f32, f32::NAN], &cpu)?, "holds NaN at flat index 1"),
            (Tensor::new(&[f64::INFINITY], &cpu)?, "holds inf at flat index 0"),
            (Tensor::new(&[1u32, 2], &cpu)?, "is U32"),
        ] {
            write("b.bias", bad)?;
            let err = read_tensors(&dir, &cpu).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("tensor 'b.bias'") && err.contains(expect), "{err}");
        }
        std::fs::remove_dir_all(&dir).map_err(candle_core::Error::wrap)
    }
}
