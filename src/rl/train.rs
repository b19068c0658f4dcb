//! A training run: the learner, periodic evaluation, metrics files and checkpoints.
//!
//! [`TrainRun`] owns everything that outlives one iteration. The caller (the CLI)
//! builds the env batches and shows progress; nothing here prints.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;

use super::batch::{AgentBatch, Episode};
use super::checkpoint::{self, Checkpoint, TrainState};
use super::config::{Algo, TrainConfig};
use super::distributions::PolicyHead;
use super::dqn::{Dqn, QNetwork};
use super::eval::{EvalReport, evaluate};
use super::ppo::{ActorCritic, Ppo};
use super::{Result, RlError};
use crate::env::Policy;
use crate::util::metrics::MetricsWriter;
use crate::util::seed::rng_from_seed;

/// The algorithm-specific learner.
pub enum Learner {
    /// PPO.
    Ppo(Box<Ppo>),
    /// DQN.
    Dqn(Box<Dqn>),
}

impl Learner {
    /// Builds fresh networks for `batch`'s spaces from the run's seed.
    pub fn new(config: &TrainConfig, batch: &AgentBatch, device: &Device) -> Result<Self> {
        // One stream initialises the networks, another drives sampling, so changing the
        // network size does not change the exploration noise of an otherwise equal run.
        let mut init_rng = rng_from_seed(config.seed);
        let learn_rng = rng_from_seed(config.seed.wrapping_add(0x5EED));
        let (obs, act) = (batch.observation_space(), batch.action_space());
        // The policy head's own widths (a space it cannot drive fails below, by name).
        let (out_dim, act_dim) = PolicyHead::for_space(act).map_or((act.flat_dim(), act.flat_dim()), |h| (h.out_dim(), h.action_width()));
        let parts = config.memory_parts(obs.flat_dim(), act_dim, out_dim, batch.num_rows());
        crate::util::memory::check(parts, crate::util::memory::available_bytes())
            .map_err(|e| RlError::config(e.parts[0].field, format!("this run {e}")))?;
        Ok(match config.algo {
            Algo::Ppo => {
                let agent = ActorCritic::new(obs, act, &config.net, config.ppo.init_log_std, config.normalize_obs, device, &mut init_rng)?;
                Learner::Ppo(Box::new(Ppo::new(config.ppo.clone(), agent, batch, config.total_steps, learn_rng)?))
            }
            Algo::Dqn => {
                let q = QNetwork::new(obs, act, &config.net, config.normalize_obs, device, &mut init_rng)?;
                let target = QNetwork::new(obs, act, &config.net, config.normalize_obs, device, &mut init_rng)?;
                Learner::Dqn(Box::new(Dqn::new(config.dqn.clone(), q, target, batch, config.total_steps, learn_rng)?))
            }
        })
    }

    /// Env steps taken.
    pub fn global_step(&self) -> u64 {
        match self {
            Learner::Ppo(p) => p.global_step,
            Learner::Dqn(d) => d.global_step,
        }
    }

    /// The current policy, for evaluation (greedy when `deterministic`).
    pub fn policy(&mut self, deterministic: bool) -> &mut dyn Policy {
        match self {
            Learner::Ppo(p) => {
                p.agent.deterministic = deterministic;
                &mut p.agent
            }
            Learner::Dqn(d) => {
                d.q.epsilon = if deterministic { 0.0 } else { d.config.exploration_final_eps };
                &mut d.q
            }
        }
    }

    /// Metric columns this learner logs (besides the shared ones).
    fn columns(algo: Algo) -> &'static [&'static str] {
        match algo {
            Algo::Ppo => {
                &["policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "explained_variance", "learning_rate", "clip_coef"]
            }
            Algo::Dqn => &["loss", "q_mean", "epsilon"],
        }
    }

    /// One iteration; returns the scalars to log.
    fn iterate(&mut self, batch: &mut AgentBatch, episodes: &mut Vec<Episode>) -> Result<Vec<(&'static str, f64)>> {
        Ok(match self {
            Learner::Ppo(p) => {
                let s = p.iterate(batch, episodes)?;
                vec![
                    ("policy_loss", s.policy_loss),
                    ("value_loss", s.value_loss),
                    ("entropy", s.entropy),
                    ("approx_kl", s.approx_kl),
                    ("clip_fraction", s.clip_fraction),
                    ("explained_variance", s.explained_variance),
                    ("learning_rate", s.learning_rate),
                    ("clip_coef", s.clip_coef),
                ]
            }
            Learner::Dqn(d) => {
                let s = d.iterate(batch, episodes)?;
                let mut v = vec![("epsilon", s.epsilon)];
                if s.gradient_steps > 0 {
                    v.extend([("loss", s.loss), ("q_mean", s.q_mean)]);
                }
                v
            }
        })
    }

    /// Counters and tensors for a checkpoint.
    fn snapshot(
        &self,
        config: &TrainConfig,
        solved_at_step: Option<u64>,
        train_seconds: f64,
    ) -> Result<(std::collections::HashMap<String, candle_core::Tensor>, TrainState)> {
        let (mut tensors, rng, iteration, steps, adam, next_target_update) = match self {
            Learner::Ppo(p) => (p.agent.tensors()?, &p.rng, p.iteration, p.global_step, p.adam(), None),
            Learner::Dqn(d) => {
                let mut tensors = d.q.tensors()?;
                tensors.extend(d.target_tensors());
                (tensors, &d.rng, d.iteration, d.global_step, d.adam(), Some(d.next_target_update()))
            }
        };
        tensors.extend(adam.tensors());
        let (rng_seed, rng_stream, rng_word_pos) = checkpoint::rng_state(rng);
        let state = TrainState {
            algo: config.algo,
            global_step: steps,
            iteration,
            optimizer_steps: adam.step_count(),
            rng_seed,
            rng_stream,
            rng_word_pos,
            next_target_update,
            solved_at_step,
            train_seconds,
        };
        Ok((tensors, state))
    }

    /// Restores networks, optimiser, counters and RNG from `ckpt`.
    fn restore(&mut self, ckpt: &Checkpoint) -> Result<()> {
        let bad = |reason: String| RlError::checkpoint(&ckpt.dir, reason);
        let st = &ckpt.state;
        let rng = checkpoint::restore_rng(&st.rng_seed, st.rng_stream, &st.rng_word_pos, &ckpt.dir)?;
        match self {
            Learner::Ppo(p) => {
                p.agent.load(&ckpt.tensors).map_err(bad)?;
                p.adam_mut().load(&ckpt.tensors, st.optimizer_steps).map_err(bad)?;
                p.global_step = st.global_step;
                p.iteration = st.iteration;
                p.rng = rng;
            }
            Learner::Dqn(d) => {
                d.q.load(&ckpt.tensors).map_err(bad)?;
                d.load_target(&ckpt.tensors).map_err(bad)?;
                d.adam_mut().load(&ckpt.tensors, st.optimizer_steps).map_err(bad)?;
                d.global_step = st.global_step;
                d.iteration = st.iteration;
                d.rng = rng;
                if let Some(next) = st.next_target_update {
                    d.set_next_target_update(next);
                }
                d.refill_before_training();
            }
        }
        Ok(())
    }
}

/// What the progress display shows after each iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Env steps taken.
    pub global_step: u64,
    /// Env steps the run will take.
    pub total_steps: u64,
    /// Env steps per second of training (evaluation excluded) in this session.
    pub steps_per_second: f64,
    /// Mean return of the last (up to) 100 training episodes.
    pub recent_return: Option<f64>,
    /// Mean and standard deviation of the latest evaluation.
    pub last_eval: Option<(f64, f64)>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    /// Env steps taken.
    pub global_step: u64,
    /// Training seconds, evaluation excluded (summed over resumed sessions).
    pub train_seconds: f64,
    /// Wall-clock seconds of this session, evaluation included.
    pub wall_seconds: f64,
    /// The final evaluation.
    pub final_eval: EvalReport,
    /// Env steps and training seconds at which the evaluation target was first reached.
    pub solved_at: Option<(u64, f64)>,
    /// Where the checkpoint was written.
    pub checkpoint: PathBuf,
}

/// Called after each evaluation with the evaluated policy and the env step (the CLI
/// records episodes with it); an error stops the run.
pub type EvalHook = Box<dyn FnMut(&mut dyn Policy, u64) -> std::result::Result<(), String>>;

/// The logged scalars that are losses (or feed them): training stops when one is not finite.
const LOSSES: [&str; 6] = ["policy_loss", "value_loss", "entropy", "approx_kl", "loss", "q_mean"];

/// A training run in a run directory (`metrics.csv`, event files, `checkpoint/`).
pub struct TrainRun {
    /// Runs after every evaluation, if set.
    pub after_eval: Option<EvalHook>,
    /// The config (saved with every checkpoint).
    pub config: TrainConfig,
    /// The learner.
    pub learner: Learner,
    run_dir: PathBuf,
    metrics: MetricsWriter,
    recent: VecDeque<f64>,
    solved_at: Option<(u64, f64)>,
    train_seconds: f64,
    eval_count: u64,
}

impl TrainRun {
    /// Starts a run in `run_dir`, or continues the checkpoint there when `resume` is given.
    pub fn new(config: TrainConfig, batch: &AgentBatch, device: &Device, run_dir: &Path, resume: Option<&Checkpoint>) -> Result<Self> {
        let mut learner = Learner::new(&config, batch, device)?;
        let (mut solved_at, mut train_seconds) = (None, 0.0);
        if let Some(ckpt) = resume {
            learner.restore(ckpt)?;
            train_seconds = ckpt.state.train_seconds;
            solved_at = ckpt.state.solved_at_step.map(|s| (s, f64::NAN));
        }
        let mut columns = vec!["episode_return", "episode_length", "eval_return_mean", "eval_return_std", "steps_per_second"];
        columns.extend_from_slice(Learner::columns(config.algo));
        let metrics = MetricsWriter::create(run_dir, &columns, resume.map(|c| c.state.global_step)).map_err(RlError::io(run_dir))?;
        Ok(Self {
            after_eval: None,
            config,
            learner,
            run_dir: run_dir.to_owned(),
            metrics,
            recent: VecDeque::new(),
            solved_at,
            train_seconds,
            eval_count: 0,
        })
    }

    /// The checkpoint directory of this run.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.run_dir.join("checkpoint")
    }

    /// Trains until `total_steps` (or the evaluation target, if configured to stop
    /// there), evaluating in `eval_batch`, logging metrics and writing checkpoints.
    /// `on_progress` is called after every iteration.
    pub fn run(
        &mut self,
        batch: &mut AgentBatch,
        eval_batch: &mut AgentBatch,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<TrainSummary> {
        let started = Instant::now();
        let start_step = self.learner.global_step();
        // A resumed run starts new episodes from seeds that depend on where it resumed.
        batch.reset(self.config.seed.wrapping_add(start_step.wrapping_mul(1_000_003)))?;
        let (every_eval, every_ckpt) = (self.config.eval.every_steps, self.config.checkpoint.every_steps);
        let next_multiple = |step: u64, every: u64| step.checked_div(every).map_or(u64::MAX, |k| (k + 1) * every);
        let (mut next_eval, mut next_ckpt) = (next_multiple(start_step, every_eval), next_multiple(start_step, every_ckpt));
        let mut episodes = Vec::new();
        let mut session_train = 0.0;
        let mut last_eval = None;
        while self.learner.global_step() < self.config.total_steps {
            let t0 = Instant::now();
            let mut values = self.learner.iterate(batch, &mut episodes)?;
            let dt = t0.elapsed().as_secs_f64();
            session_train += dt;
            self.train_seconds += dt;
            let step = self.learner.global_step();
            if let Some(&(name, value)) = values.iter().find(|(name, v)| LOSSES.contains(name) && !v.is_finite()) {
                self.metrics.flush().map_err(RlError::io(self.metrics.csv_path()))?;
                return Err(RlError::Diverged { step, name, value });
            }
            let sps = (step - start_step) as f64 / session_train.max(1e-9);
            values.push(("steps_per_second", sps));
            for ep in episodes.drain(..) {
                self.recent.push_back(ep.episode_return);
                if self.recent.len() > 100 {
                    self.recent.pop_front();
                }
                self.metrics
                    .log(step, &[("episode_return", ep.episode_return), ("episode_length", ep.length as f64)])
                    .map_err(RlError::io(self.metrics.csv_path()))?;
            }
            if step >= next_eval {
                next_eval = next_multiple(step, every_eval);
                let report = self.evaluate(eval_batch)?;
                values.extend([("eval_return_mean", report.mean()), ("eval_return_std", report.std())]);
                last_eval = Some((report.mean(), report.std()));
                if let Some(target) = self.config.eval.target_return
                    && report.mean() >= target
                    && self.solved_at.is_none()
                {
                    self.solved_at = Some((step, self.train_seconds));
                }
            }
            self.metrics.log(step, &values).map_err(RlError::io(self.metrics.csv_path()))?;
            if step >= next_ckpt {
                next_ckpt = next_multiple(step, every_ckpt);
                self.save()?;
            }
            let recent_return = (!self.recent.is_empty()).then(|| self.recent.iter().sum::<f64>() / self.recent.len() as f64);
            on_progress(&Progress {
                global_step: step,
                total_steps: self.config.total_steps,
                steps_per_second: sps,
                recent_return,
                last_eval,
            });
            if self.config.eval.stop_at_target && self.solved_at.is_some() {
                break;
            }
        }
        let final_eval = self.evaluate(eval_batch)?;
        let step = self.learner.global_step();
        self.metrics
            .log(step, &[("eval_return_mean", final_eval.mean()), ("eval_return_std", final_eval.std())])
            .map_err(RlError::io(self.metrics.csv_path()))?;
        self.metrics.flush().map_err(RlError::io(self.metrics.csv_path()))?;
        self.save()?;
        Ok(TrainSummary {
            global_step: step,
            train_seconds: self.train_seconds,
            wall_seconds: started.elapsed().as_secs_f64(),
            final_eval,
            solved_at: self.solved_at,
            checkpoint: self.checkpoint_dir(),
        })
    }

    /// Evaluates the current policy for `eval.episodes` episodes on fresh seeds.
    pub fn evaluate(&mut self, eval_batch: &mut AgentBatch) -> Result<EvalReport> {
        // Evaluation seeds never coincide with training seeds (env i trains on seed + i).
        let seed = self
            .config
            .seed
            .wrapping_add(super::eval::EVAL_SEED_OFFSET)
            .wrapping_add(self.eval_count.wrapping_mul(self.config.eval.episodes as u64 + 1_000));
        self.eval_count += 1;
        let episodes = self.config.eval.episodes;
        let deterministic = self.config.eval.deterministic;
        let report = evaluate(self.learner.policy(deterministic), eval_batch, episodes, seed)?;
        if let Some(hook) = &mut self.after_eval {
            let step = self.learner.global_step();
            hook(self.learner.policy(deterministic), step).map_err(|reason| RlError::config("eval.record_episodes", reason))?;
        }
        Ok(report)
    }

    /// Writes the checkpoint now.
    pub fn save(&mut self) -> Result<()> {
        self.metrics.flush().map_err(RlError::io(self.metrics.csv_path()))?;
        let (tensors, state) = self.learner.snapshot(&self.config, self.solved_at.map(|s| s.0), self.train_seconds)?;
        checkpoint::save(&self.checkpoint_dir(), &tensors, &state, &self.config)
    }
}

/// Loads the policy stored in a checkpoint, for evaluation: the networks are rebuilt
/// from the checkpoint's config for `batch`'s spaces, then its tensors are loaded.
pub fn load_policy(ckpt: &Checkpoint, batch: &AgentBatch, device: &Device) -> Result<Learner> {
    let mut learner = Learner::new(&ckpt.config, batch, device)?;
    learner.restore(ckpt)?;
    Ok(learner)
}
