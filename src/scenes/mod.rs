//! Concrete environments and the registry of their ids.
//!
//! Each environment implements [`Env`](crate::env::Env) (and, for multi-agent
//! scenes, [`ParallelEnv`](crate::env::ParallelEnv)) and is listed in [`registry`].
//! Scene docs follow Gymnasium's template (Description, Action Space, Observation
//! Space, Rewards, Starting State, Episode End, Arguments, Version History).

pub mod cartpole;
mod registry;

pub use registry::registry;
