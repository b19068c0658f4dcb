//! Episode recording and re-simulation.
//!
//! - [`format`]: the versioned episode file (compact binary or JSON), written
//!   atomically, with clear errors for unknown versions, truncation and corruption.
//! - [`recorder`]: records a [`Policy`](crate::env::Policy) acting in an env and
//!   re-simulates recordings from seed + actions, reporting the first diverging step.
//!
//!   A [`Branch`] re-simulates an episode to a step and goes on with new actions ("what
//!   if"), recording a new episode.
//! - [`player`]: playback state for the viewer (timeline, speed, episode picker, camera
//!   mode, overlays, keyboard takeover), plain data driven by commands.
//!
//! Depends on `env`, `snapshot` and `util` only: no candle, bevy or rapier. Recorded
//! scenes are drawn to frames and GIFs by `render::export` (`synthgym replay --export`)
//! and shown in the interactive viewer, `viewer` (`synthgym replay FILE`), which is
//! given a [`player::Player`].

pub mod format;
pub mod player;
pub mod recorder;

pub use format::{ActionLog, EpisodeLog, FORMAT_VERSION, Recording, ReplayError, StepLog, read, write};
pub use recorder::{Branch, RecordEnv, record, resimulate};
