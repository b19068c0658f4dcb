//! Recording episodes of a [`Policy`] and re-simulating them from seed + actions.
//!
//! [`RecordEnv`] drives any [`ParallelEnv`] (a single-agent [`Env`] is one agent), so
//! one code path records both kinds. Episode `k` of a recording is reset with its own seed, so any
//! episode replays on its own: [`resimulate`] resets with the recorded seed, applies the
//! recorded actions, and checks rewards, flags, observations (by hash) and snapshots
//! step by step, reporting the first step that differs.

use super::format::{ActionLog, EpisodeLog, ReplayError, StepLog, hash_f32};
use crate::env::vector::ActionBuffer;
use crate::env::{Action, Env, EnvError, Info, ParallelBuffers, ParallelEnv, Policy, SingleAgent, Space};
use crate::snapshot::Snapshot;

/// An environment the recorder can drive: any [`ParallelEnv`], one row per agent
/// (a single-agent [`Env`] is one row through [`SingleAgent`]).
pub struct RecordEnv {
    env: Box<dyn ParallelEnv>,
    /// Its per-agent outputs; `bufs.obs` holds every agent's observation, concatenated.
    bufs: ParallelBuffers,
    /// A valid action per agent, sent for inactive agents (whose actions are ignored).
    idle: Vec<ActionLog>,
    /// Whether `env` is a multi-agent scene's own parallel view (saved in recordings).
    multi: bool,
}

impl RecordEnv {
    /// Drives `env`, one row per agent; `per_agent` says whether it is a multi-agent
    /// scene's own parallel view (saved in recordings, so that a replay rebuilds it).
    pub fn new(env: Box<dyn ParallelEnv>, per_agent: bool) -> Self {
        let bufs = ParallelBuffers::for_env(env.as_ref());
        let idle = (0..env.possible_agents().len()).map(|i| env.action_space(i).map_or(ActionLog::None, idle_action)).collect();
        RecordEnv { env, bufs, idle, multi: per_agent }
    }

    /// Wraps a single-agent env (one row, `agent_0`).
    pub fn single(env: Box<dyn Env>) -> Self {
        Self::new(Box::new(SingleAgent::new(env)), false)
    }

    /// Wraps a multi-agent scene's parallel view (one row per agent).
    pub fn multi(env: Box<dyn ParallelEnv>) -> Self {
        Self::new(env, true)
    }

    /// Whether this is a multi-agent scene's parallel view (rather than a single-agent env).
    pub fn is_multi(&self) -> bool {
        self.multi
    }

    /// Agent names (`agent_0` for a single-agent env).
    pub fn agents(&self) -> Vec<String> {
        self.env.possible_agents().to_vec()
    }

    /// The action space of agent 0 (the policy's action space).
    pub fn action_space(&self) -> Option<&Space> {
        self.env.action_space(0)
    }

    fn num_rows(&self) -> usize {
        self.bufs.num_agents()
    }

    fn reset(&mut self, seed: u64) -> Result<(), ReplayError> {
        self.env.reset(Some(seed), None, &mut self.bufs.rows())?;
        Ok(())
    }

    fn obs_rows(&self) -> &[f32] {
        &self.bufs.obs
    }

    fn step(&mut self, actions: &[ActionLog]) -> Result<(), ReplayError> {
        let n = self.num_rows();
        if actions.len() != n {
            return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected: n }.into());
        }
        if let Some(agent) = (0..n).find(|&i| self.bufs.active[i] && as_action(&actions[i]).is_none()) {
            let space = self.env.action_space(agent).map_or_else(String::new, Space::to_string);
            return Err(EnvError::InvalidAction { action: format!("none for active agent {agent}"), space }.into());
        }
        // The recorder logs `None` for agents that are not acting; an action there was
        // not taken by anyone, so a file that has one was not written by this recorder.
        if let Some(agent) = (0..n).find(|&i| !self.bufs.active[i] && actions[i] != ActionLog::None) {
            let space = self.env.action_space(agent).map_or_else(String::new, Space::to_string);
            let action = format!("{:?} for agent {agent}, which is not acting at this step (recordings hold None there)", actions[agent]);
            return Err(EnvError::InvalidAction { action, space }.into());
        }
        let acts: Vec<Action<'_>> = actions.iter().zip(&self.idle).filter_map(|(a, i)| as_action(a).or_else(|| as_action(i))).collect();
        self.env.step(&acts, &mut self.bufs.rows())?;
        Ok(())
    }

    /// Rewards, terminated and truncated flags, and events of the last step, per agent.
    fn outcome(&self) -> Outcome {
        let events = |agent: u32, info: &Info| info.values.iter().map(|(k, v)| (agent, k.to_owned(), v)).collect::<Vec<_>>();
        let b = &self.bufs;
        (
            b.rewards.clone(),
            b.terminated.clone(),
            b.truncated.clone(),
            b.infos.iter().enumerate().flat_map(|(i, info)| events(i as u32, info)).collect(),
        )
    }

    /// The log of the step just taken with `actions`.
    fn step_log(&self, actions: Vec<ActionLog>) -> StepLog {
        let (rewards, terminated, truncated, events) = self.outcome();
        StepLog { actions, rewards, terminated, truncated, events, snapshot: self.snapshot(), obs_hash: hash_f32(self.obs_rows(), 0) }
    }

    fn episode_over(&self) -> bool {
        self.bufs.all_done()
    }

    fn snapshot(&self) -> Snapshot {
        self.try_snapshot().unwrap_or_default()
    }

    /// The scene now, or `None` if the env has nothing to show.
    fn try_snapshot(&self) -> Option<Snapshot> {
        let mut s = Snapshot::default();
        self.env.snapshot(&mut s).then_some(s)
    }
}

/// A valid action of `space` (its first discrete value, or zeros clamped into a box).
pub fn idle_action(space: &Space) -> ActionLog {
    match space {
        Space::Discrete { start, .. } => ActionLog::Discrete(*start),
        Space::MultiDiscrete { nvec } => ActionLog::MultiDiscrete(vec![0; nvec.len()]),
        Space::Box(b) => ActionLog::Continuous(b.low().iter().zip(b.high()).map(|(l, h)| 0f32.clamp(*l, *h)).collect()),
        Space::Dict(_) => ActionLog::None,
    }
}

/// Per-agent rewards, terminated flags, truncated flags and `(agent, name, value)` events.
type Outcome = (Vec<f32>, Vec<bool>, Vec<bool>, Vec<(u32, String, f64)>);

fn as_action(a: &ActionLog) -> Option<Action<'_>> {
    match a {
        ActionLog::None => None,
        ActionLog::Discrete(x) => Some(Action::Discrete(*x)),
        ActionLog::MultiDiscrete(v) => Some(Action::MultiDiscrete(v)),
        ActionLog::Continuous(v) => Some(Action::Continuous(v)),
    }
}

/// The action of row `row` in `buf` as an owned log entry.
fn row_action(buf: &ActionBuffer, row: usize, rows: usize) -> ActionLog {
    match buf {
        ActionBuffer::Discrete(a) => ActionLog::Discrete(a[row]),
        ActionBuffer::MultiDiscrete(a) => {
            let w = a.len() / rows.max(1);
            ActionLog::MultiDiscrete(a[row * w..(row + 1) * w].to_vec())
        }
        ActionBuffer::Continuous(a) => {
            let w = a.len() / rows.max(1);
            ActionLog::Continuous(a[row * w..(row + 1) * w].to_vec())
        }
    }
}

/// Lets `policy` act for the active rows of `env` and steps it; returns the actions taken
/// (`None` for inactive rows). The one step loop of recording and driving.
fn act_and_step(env: &mut RecordEnv, policy: &mut dyn Policy, actions: &mut ActionBuffer) -> Result<Vec<ActionLog>, ReplayError> {
    let rows = env.num_rows();
    let active = env.bufs.active.clone();
    policy.act(env.obs_rows(), &active, actions)?;
    let step_actions: Vec<ActionLog> = (0..rows).map(|r| if active[r] { row_action(actions, r, rows) } else { ActionLog::None }).collect();
    env.step(&step_actions)?;
    Ok(step_actions)
}

/// An env driven by a policy one control step at a time, with the policy re-made from the
/// seed at every reset (so an episode depends on its seed alone). Dataset generation uses
/// it to move scenes between pictures.
pub struct Driven {
    env: RecordEnv,
    make_policy: Box<dyn Fn(u64) -> Box<dyn Policy>>,
    policy: Box<dyn Policy>,
    actions: ActionBuffer,
}

impl Driven {
    /// Drives `env` with policies from `make_policy(seed)`.
    pub fn new(env: RecordEnv, make_policy: Box<dyn Fn(u64) -> Box<dyn Policy>>) -> Result<Self, ReplayError> {
        let space =
            env.action_space().cloned().ok_or_else(|| EnvError::InvalidConfig { what: "env".into(), reason: "it has no agents".into() })?;
        let actions = ActionBuffer::new(&space, env.num_rows())?;
        let policy = make_policy(0);
        Ok(Driven { env, make_policy, policy, actions })
    }

    /// Resets the env and re-makes the policy, both from `seed`.
    pub fn reset(&mut self, seed: u64) -> Result<(), ReplayError> {
        self.policy = (self.make_policy)(seed);
        self.env.reset(seed)
    }

    /// One control step; returns whether the episode is over.
    pub fn step(&mut self) -> Result<bool, ReplayError> {
        act_and_step(&mut self.env, self.policy.as_mut(), &mut self.actions)?;
        Ok(self.env.episode_over())
    }

    /// The scene now, or `None` if the env has nothing to show.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.env.try_snapshot()
    }
}

/// A "what if" branch of a recorded episode: the env re-simulated from the episode's seed
/// and actions up to a step, then driven by new actions, all recorded as a new episode
/// (which re-simulates like any other).
pub struct Branch {
    env: RecordEnv,
    log: EpisodeLog,
    from_step: usize,
}

impl Branch {
    /// Re-simulates `episode` in `env` up to `at` steps (0: right after the reset), checking
    /// each scene against the recording.
    pub fn start(mut env: RecordEnv, episode: &EpisodeLog, at: usize) -> Result<Branch, ReplayError> {
        if at > episode.steps.len() {
            return Err(ReplayError::Diverged {
                episode: 0,
                step: at,
                what: format!("cannot branch at step {at} of an episode of {} steps", episode.steps.len()),
            });
        }
        env.reset(episode.seed)?;
        let log = EpisodeLog {
            seed: episode.seed,
            initial: env.snapshot(),
            initial_obs_hash: hash_f32(env.obs_rows(), 0),
            steps: Vec::with_capacity(at),
            cut_short: false,
        };
        let diverged =
            |step: usize| ReplayError::Diverged { episode: 0, step, what: "the re-simulated scene differs from the recording".into() };
        if log.initial != episode.initial {
            return Err(diverged(0));
        }
        let mut branch = Branch { env, log, from_step: at };
        for (t, recorded) in episode.steps[..at].iter().enumerate() {
            if branch.step(&recorded.actions)?.snapshot != recorded.snapshot {
                return Err(diverged(t + 1));
            }
        }
        Ok(branch)
    }

    /// Steps with one action per agent (`ActionLog::None` for an agent that sits out;
    /// an action given for an agent that is not acting is dropped, and logged as `None`).
    pub fn step(&mut self, actions: &[ActionLog]) -> Result<&StepLog, ReplayError> {
        if self.is_over() {
            return Err(EnvError::ResetNeeded.into());
        }
        // Agents that are not acting take no action: logged as `None`, as the recorder does.
        let active = &self.env.bufs.active;
        let actions: Vec<ActionLog> = actions
            .iter()
            .enumerate()
            .map(|(i, a)| if active.get(i).copied().unwrap_or(true) { a.clone() } else { ActionLog::None })
            .collect();
        self.env.step(&actions)?;
        let log = self.env.step_log(actions);
        self.log.steps.push(log);
        Ok(&self.log.steps[self.log.steps.len() - 1])
    }

    /// Whether the episode has ended.
    pub fn is_over(&self) -> bool {
        self.env.episode_over()
    }

    /// The step of the original episode this branch leaves it at.
    pub fn from_step(&self) -> usize {
        self.from_step
    }

    /// The action space of agent 0 (the agent a person drives).
    pub fn action_space(&self) -> Option<&Space> {
        self.env.action_space()
    }

    /// The episode so far.
    pub fn log(&self) -> &EpisodeLog {
        &self.log
    }

    /// The finished episode (marked cut short if the env has not ended it).
    pub fn into_log(self) -> EpisodeLog {
        let mut log = self.log;
        log.cut_short = !self.env.episode_over();
        log
    }
}

/// Runs `policy` for one episode per seed in `seeds`, recording every step.
/// Episodes stop after `max_steps` steps at the latest (a guard for envs without a time limit).
pub fn record(env: &mut RecordEnv, policy: &mut dyn Policy, seeds: &[u64], max_steps: usize) -> Result<Vec<EpisodeLog>, ReplayError> {
    let space =
        env.action_space().cloned().ok_or_else(|| EnvError::InvalidConfig { what: "env".into(), reason: "it has no agents".into() })?;
    let rows = env.num_rows();
    let mut actions = ActionBuffer::new(&space, rows)?;
    let mut episodes = Vec::with_capacity(seeds.len());
    for &seed in seeds {
        env.reset(seed)?;
        let mut log = EpisodeLog {
            seed,
            initial: env.snapshot(),
            initial_obs_hash: hash_f32(env.obs_rows(), 0),
            steps: Vec::new(),
            cut_short: false,
        };
        while !env.episode_over() && log.steps.len() < max_steps {
            let step_actions = act_and_step(env, policy, &mut actions)?;
            log.steps.push(env.step_log(step_actions));
        }
        log.cut_short = !env.episode_over();
        episodes.push(log);
    }
    Ok(episodes)
}

/// Replays every episode from its seed and actions, checking that rewards, flags,
/// observations and snapshots come out exactly as recorded.
pub fn resimulate(env: &mut RecordEnv, episodes: &[EpisodeLog]) -> Result<(), ReplayError> {
    if episodes.is_empty() {
        return Err(ReplayError::NoEpisodes);
    }
    for (e, ep) in episodes.iter().enumerate() {
        let diverged = |step: usize, what: String| ReplayError::Diverged { episode: e, step, what };
        env.reset(ep.seed)?;
        if env.snapshot() != ep.initial {
            return Err(diverged(0, "the scene after the reset differs".into()));
        }
        if hash_f32(env.obs_rows(), 0) != ep.initial_obs_hash {
            return Err(diverged(0, "the first observation differs".into()));
        }
        for (t, step) in ep.steps.iter().enumerate() {
            if env.episode_over() {
                return Err(diverged(t, format!("the episode ended here, but the recording has {} more step(s)", ep.steps.len() - t)));
            }
            env.step(&step.actions).map_err(|err| diverged(t + 1, format!("the env rejected the recorded actions: {err}")))?;
            let (rewards, terminated, truncated, events) = env.outcome();
            if rewards != step.rewards {
                return Err(diverged(t + 1, format!("rewards {rewards:?}, recorded {:?}", step.rewards)));
            }
            if terminated != step.terminated || truncated != step.truncated {
                return Err(diverged(t + 1, "termination or truncation differs".into()));
            }
            if events != step.events {
                return Err(diverged(t + 1, format!("events {events:?}, recorded {:?}", step.events)));
            }
            if hash_f32(env.obs_rows(), 0) != step.obs_hash {
                return Err(diverged(t + 1, "the observation differs".into()));
            }
            let snap = env.snapshot();
            if snap != step.snapshot {
                let first = snap.objects.iter().zip(&step.snapshot.objects).position(|(a, b)| a != b);
                return Err(diverged(
                    t + 1,
                    match first {
                        Some(i) => format!("object {} differs: {:?}, recorded {:?}", i, snap.objects[i], step.snapshot.objects[i]),
                        None => format!("{} objects, recorded {}", snap.objects.len(), step.snapshot.objects.len()),
                    },
                ));
            }
        }
        if !ep.cut_short && !env.episode_over() {
            return Err(diverged(ep.steps.len(), "the recording ends but the episode goes on (a truncated recording?)".into()));
        }
    }
    Ok(())
}
