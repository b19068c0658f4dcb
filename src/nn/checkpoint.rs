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

/// Writes a checkpoint directory: `tensors` (copied to the CPU; every value finite) as [`MODEL_FILE`] and
/// each `(file name, text)` beside it, every file synced, the whole directory built
/// under a temporary name and renamed into place.
pub fn write_dir(dir: &Path, tensors: &HashMap<String, Tensor>, files: &[(&str, &str)]) -> Result<()> {
    // A NaN or infinity (a diverged update) is refused before anything is replaced, so
    // the previous checkpoint stays, as loadable as it was.
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        check_values(&tensors[name])
            .map_err(|reason| Error::checkpoint(dir, format!("not saved: tensor '{name}' {reason}; the previous checkpoint is kept")))?;
    }
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

/// The checkpoint directory for `path`: `path` itself when it holds `marker` (the file
/// every checkpoint of its kind has), else its `default` subdirectory. A checkpoint
/// whose replacement was killed between its two renames is recovered first (see
/// [`crate::util::fs::recover_dir`]).
pub fn resolve(path: &Path, marker: &str, default: &str) -> std::path::PathBuf {
    let _ = crate::util::fs::recover_dir(path);
    if path.join(marker).exists() {
        return path.to_owned();
    }
    let dir = path.join(default);
    let _ = crate::util::fs::recover_dir(&dir);
    dir
}

/// Reads the tensors of the checkpoint directory `dir` onto `device`. Refuses (naming
/// the tensor) a tensor that is not floating point, which no synthgym writer produces,
/// or that holds a NaN or an infinity, which would load and evaluate as if it were a
/// model (or resume from poisoned optimiser moments).
pub fn read_tensors(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let path = dir.join(MODEL_FILE);
    let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
    check_layout(&bytes).map_err(|reason| Error::checkpoint(dir, format!("{MODEL_FILE}: {reason}")))?;
    let tensors =
        candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| Error::checkpoint(dir, format!("{MODEL_FILE}: {e}")))?;
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        check_values(&tensors[name]).map_err(|reason| Error::checkpoint(dir, format!("{MODEL_FILE}: tensor '{name}' {reason}")))?;
    }
    Ok(tensors)
}

/// Errors unless the safetensors header lays the tensors out back to back over the
/// whole data section, as every writer does: overlapping, gapped or out-of-range
/// offsets mean a damaged or hand-made file whose tensors would alias one another.
fn check_layout(bytes: &[u8]) -> std::result::Result<(), String> {
    let header_len =
        bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())).ok_or("shorter than its 8-byte header size")?;
    let data_start = usize::try_from(header_len).ok().and_then(|n| n.checked_add(8)).filter(|&end| end <= bytes.len());
    let data_start = data_start.ok_or_else(|| format!("its header claims {header_len} bytes but the file has {}", bytes.len()))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..data_start]).map_err(|e| format!("header is not a JSON object: {e}"))?;
    let mut spans = Vec::with_capacity(header.len());
    for (name, entry) in header.iter().filter(|(name, _)| *name != "__metadata__") {
        let offsets =
            entry.get("data_offsets").and_then(|o| o.as_array()).map(|o| o.iter().map(serde_json::Value::as_u64).collect::<Vec<_>>());
        match offsets.as_deref() {
            Some(&[Some(start), Some(end)]) if start <= end => spans.push((start, end, name.as_str())),
            _ => return Err(format!("tensor '{name}' has no valid data_offsets [start, end]")),
        }
    }
    spans.sort_unstable();
    let mut at = 0;
    let mut previous = None;
    for &(start, end, name) in &spans {
        if start != at {
            return Err(match previous {
                Some(p) if start < at => format!("tensors '{p}' and '{name}' overlap (bytes {start}..{at})"),
                _ => format!("a gap of bytes {at}..{start} before tensor '{name}'"),
            });
        }
        (at, previous) = (end, Some(name));
    }
    let data_len = (bytes.len() - data_start) as u64;
    if at != data_len {
        return Err(format!("the tensors cover {at} bytes of a {data_len}-byte data section"));
    }
    Ok(())
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
            // Never written: the checkpoint that was there stays.
            let err = write("b.bias", bad.clone()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("not saved") && err.contains("tensor 'b.bias'") && err.contains(expect), "{err}");
            assert!(read_tensors(&dir, &cpu).is_ok(), "the previous checkpoint is intact");
            // A file written by something else is refused on reading.
            let tensors = HashMap::from([("a.weight".to_owned(), Tensor::new(&[1.0f32], &cpu)?), ("b.bias".to_owned(), bad)]);
            candle_core::safetensors::save(&tensors, dir.join(MODEL_FILE))?;
            let err = read_tensors(&dir, &cpu).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("tensor 'b.bias'") && err.contains(expect), "{err}");
            write("b.moments", Tensor::new(&[0.5f64, -3.0], &cpu)?)?;
        }
        std::fs::remove_dir_all(&dir).map_err(candle_core::Error::wrap)
    }

    /// A safetensors file with `header` and `data` bytes.
    fn safetensors(header: &str, data: usize) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.resize(bytes.len() + data, 0);
        bytes
    }

    #[test]
    fn tensor_offsets_must_tile_the_data_section() {
        let two = |a: [u64; 2], b: [u64; 2]| {
            format!(
                r#"{{"__metadata__":{{}},"a":{{"dtype":"F32","shape":[2],"data_offsets":[{},{}]}},"b":{{"dtype":"F32","shape":[2],"data_offsets":[{},{}]}}}}"#,
                a[0], a[1], b[0], b[1]
            )
        };
        assert_eq!(check_layout(&safetensors(&two([0, 8], [8, 16]), 16)), Ok(()));
        let err = |bytes: Vec<u8>| check_layout(&bytes).err().unwrap_or_default();
        assert!(err(safetensors(&two([0, 8], [4, 12]), 12)).contains("'a' and 'b' overlap (bytes 4..8)"));
        assert!(err(safetensors(&two([0, 8], [12, 20]), 20)).contains("gap of bytes 8..12 before tensor 'b'"));
        assert!(err(safetensors(&two([0, 8], [8, 16]), 24)).contains("cover 16 bytes of a 24-byte"));
        assert!(err(safetensors(&two([8, 0], [8, 16]), 16)).contains("'a' has no valid data_offsets"));
        assert!(err(safetensors("[1]", 0)).contains("not a JSON object"));
        assert!(err(vec![1, 2, 3]).contains("shorter than"));
        assert!(err(u64::MAX.to_le_bytes().to_vec()).contains("claims"));
    }
}
