//! [`EpisodeStatistics`]: reports return, length and time of each finished episode.

use std::collections::VecDeque;
use std::time::Instant;

use crate::env::{Action, Env, EnvError, EpisodeStats, Info, ResetOptions, Space, StepOutcome};

/// Fills [`Info::episode`] on the last step of every episode and keeps the most
/// recent episodes' returns and lengths (Gymnasium's `RecordEpisodeStatistics`).
#[derive(Debug, Clone)]
pub struct EpisodeStatistics<E> {
    env: E,
    episode_return: f64,
    episode_length: u64,
    episode_start: Instant,
    buffer_length: usize,
    recent: VecDeque<EpisodeStats>,
    episode_count: u64,
}

impl<E: Env> EpisodeStatistics<E> {
    /// Wraps `env`, remembering the last `buffer_length` episodes (Gymnasium uses 100).
    pub fn new(env: E, buffer_length: usize) -> Self {
        Self {
            env,
            episode_return: 0.0,
            episode_length: 0,
            episode_start: Instant::now(),
            buffer_length,
            recent: VecDeque::with_capacity(buffer_length),
            episode_count: 0,
        }
    }

    /// Statistics of the most recent finished episodes, oldest first.
    pub fn recent(&self) -> &VecDeque<EpisodeStats> {
        &self.recent
    }

    /// How many episodes have finished since the wrapper was made.
    pub fn episode_count(&self) -> u64 {
        self.episode_count
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.env
    }
}

impl<E: Env> Env for EpisodeStatistics<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }

    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        let info = self.env.reset(seed, options, obs)?;
        self.episode_return = 0.0;
        self.episode_length = 0;
        self.episode_start = Instant::now();
        Ok(info)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        let mut out = self.env.step(action, obs)?;
        self.episode_return += out.reward as f64;
        self.episode_length += 1;
        if out.done() {
            let stats = EpisodeStats {
                episode_return: self.episode_return,
                length: self.episode_length,
                elapsed_s: self.episode_start.elapsed().as_secs_f64(),
            };
            out.info.episode = Some(stats);
            self.episode_count += 1;
            if self.buffer_length > 0 {
                if self.recent.len() == self.buffer_length {
                    self.recent.pop_front();
                }
                self.recent.push_back(stats);
            }
        }
        Ok(out)
    }

    fn snapshot(&self, out: &mut crate::snapshot::Snapshot) -> bool {
        self.env.snapshot(out)
    }
}
