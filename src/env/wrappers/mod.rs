//! Wrappers add behaviour around any [`Env`](super::Env) without inheritance: each is a
//! generic struct holding the inner env, and itself an `Env` (Gymnasium's `wrappers/`).

mod episode_statistics;
mod normalize_observation;
mod order_enforcing;
mod time_limit;

pub use episode_statistics::EpisodeStatistics;
pub use normalize_observation::{NormalizeObservation, RunningMeanStd};
pub use order_enforcing::OrderEnforcing;
pub use time_limit::TimeLimit;
