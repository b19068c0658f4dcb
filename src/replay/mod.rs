//! Episode recording and re-simulation.
//!
//! - [`format`]: the versioned episode file (compact binary or JSON), written
//!   atomically, with clear errors for unknown versions, truncation and corruption.
//! - [`recorder`]: records a [`Policy`](crate::env::Policy) acting in an env and
//!   re-simulates recordings from seed + actions, reporting the first diverging step.
//!
//! Depends on `env`, `snapshot` and `util` only: no candle, bevy or rapier. Recorded
//! scenes are drawn to frames and GIFs by `render::export` (`synthgym replay --export`);
//! the interactive viewer is not built yet.

pub mod format;
pub mod recorder;

pub use format::{ActionLog, EpisodeLog, FORMAT_VERSION, Recording, ReplayError, StepLog, read, write};
pub use recorder::{RecordEnv, record, resimulate};
