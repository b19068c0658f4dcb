//! The compute device by name, as the command line gives it.

use candle_core::Device;

use super::{Error, Result};

/// The compute device for `name`: `cpu`, `cuda` or `cuda:N`. CUDA needs the crate's
/// `cuda` feature; without it the error says how to build with it.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        n if n == "cuda" || n.starts_with("cuda:") => {
            let ordinal = n
                .strip_prefix("cuda:")
                .map_or(Ok(0), str::parse::<usize>)
                .map_err(|_| Error::config("device", format!("'{n}' is not cuda:N")))?;
            if !candle_core::utils::cuda_is_available() {
                return Err(Error::config(
                    "device",
                    "this binary was built without CUDA; rebuild with `cargo build --release --features cuda`",
                ));
            }
            Ok(Device::new_cuda(ordinal)?)
        }
        other => Err(Error::config("device", format!("unknown device '{other}'; use cpu, cuda or cuda:N"))),
    }
}
