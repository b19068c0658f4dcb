//! Errors raised by environments, wrappers, vector envs and the registry.

use thiserror::Error;

/// Everything that can go wrong when making, resetting or stepping an environment.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EnvError {
    // === Usage errors ===
    /// `step` was called before the first `reset`, or after the episode ended.
    #[error("cannot call step before reset (the env was never reset, or its episode has ended)")]
    ResetNeeded,
    /// The action is not an element of the action space.
    #[error("invalid action {action}: not in action space {space}")]
    InvalidAction {
        /// The offending action, formatted.
        action: String,
        /// The action space, formatted.
        space: String,
    },
    /// A caller-provided buffer has the wrong length.
    #[error("{what} buffer has length {got}, expected {expected}")]
    BufferSize {
        /// Which buffer (observation, actions, mask, …).
        what: &'static str,
        /// Its actual length.
        got: usize,
        /// The length the space requires.
        expected: usize,
    },
    /// A reset option the environment does not know, or with a bad value.
    #[error("invalid reset option '{key}': {reason}")]
    InvalidOption {
        /// The option key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    // === Construction errors ===
    /// No environment is registered under this id.
    #[error("no environment named '{id}'{}", did_you_mean(.suggestion))]
    UnknownEnv {
        /// The id that was asked for.
        id: String,
        /// The closest registered id, if any is close.
        suggestion: Option<String>,
    },
    /// An id was registered twice.
    #[error("environment id '{0}' is already registered")]
    DuplicateId(String),
    /// A space or configuration is inconsistent.
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// Which space, field or argument.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    // === Vector env errors ===
    /// The envs (and agents) given to a vector env do not share spaces.
    #[error("agent {agent} of env {index} of the vector env has {what} {got}, agent 0 of env 0 has {expected}")]
    SpaceMismatch {
        /// The index of the env that differs.
        index: usize,
        /// The agent of that env that differs (0 for single-agent envs).
        agent: usize,
        /// `observation space` or `action space`.
        what: &'static str,
        /// Its space, formatted.
        got: String,
        /// Env 0's space, formatted.
        expected: String,
    },
    /// An env inside a vector env failed; `index` is its position in the batch.
    #[error("env {index} of the vector env: {source}")]
    InVectorEnv {
        /// The index of the env that failed.
        index: usize,
        /// What it reported.
        source: Box<EnvError>,
    },
    /// A policy failed to choose actions (for a learned policy, a tensor error).
    #[error("policy failed: {0}")]
    Policy(String),
    /// A worker thread of a threaded vector env stopped (it panicked).
    #[error("vector env worker {0} stopped unexpectedly (an env panicked)")]
    WorkerStopped(usize),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}
