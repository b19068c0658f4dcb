//! A conformance checker for environments, after Gymnasium's `check_env`: every
//! environment's tests call [`check_env`] (or [`check_parallel_env`]) on it.
//!
//! It checks that observations lie in the observation space, that rewards are finite,
//! that the same seed and actions give bit-identical trajectories (across instances
//! and across resets of one instance), that different seeds give different ones, that
//! episodes end and reset cleanly, and that bad input is an error rather than a panic.

use std::fmt;

use super::{Env, EnvError, ParallelBuffers, ParallelEnv, Space, StepOutcome, Value};
use crate::util::seed::rng_from_seed;

/// What [`check_env`] runs.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// The seed of the reference trajectory.
    pub seed: u64,
    /// A second seed whose trajectory must differ from the reference.
    pub other_seed: u64,
    /// Seed of the random actions.
    pub action_seed: u64,
    /// Steps in each trajectory (episodes are reset as they end).
    pub steps: usize,
    /// Whether different seeds must give different trajectories.
    pub expect_seed_dependence: bool,
    /// Whether at least one episode must end within `steps` random steps.
    pub require_episode_end: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self { seed: 123, other_seed: 456, action_seed: 7, steps: 1000, expect_seed_dependence: true, require_episode_end: true }
    }
}

/// What a successful check saw.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// Steps taken in the reference trajectory.
    pub steps: usize,
    /// Episodes that ended in it.
    pub episodes_ended: usize,
}

/// A failed check: which one and what was seen.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckError {
    /// The name of the check that failed.
    pub check: &'static str,
    /// What went wrong.
    pub detail: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "env check '{}' failed: {}", self.check, self.detail)
    }
}

impl std::error::Error for CheckError {}

fn fail(check: &'static str, detail: impl Into<String>) -> CheckError {
    CheckError { check, detail: detail.into() }
}

fn env_err(check: &'static str) -> impl Fn(EnvError) -> CheckError {
    move |e| fail(check, format!("unexpected error: {e}"))
}

/// An action that is not in `space`, to check that it is rejected.
fn invalid_action_for(space: &Space) -> Option<Value> {
    match space {
        Space::Discrete { n, start } => Some(Value::Discrete(start + *n as i64)),
        Space::MultiDiscrete { nvec } if !nvec.is_empty() => Some(Value::MultiDiscrete(nvec.iter().map(|&n| n as i64).collect())),
        Space::MultiDiscrete { .. } => None,
        Space::Box(b) => {
            let mut v = b.low().to_vec();
            let first = v.first_mut()?;
            *first = if b.high()[0].is_finite() { f32::INFINITY } else { f32::NAN };
            Some(Value::Box(v))
        }
        Space::Dict(_) => None,
    }
}

/// One step's outputs, for comparing trajectories bit for bit.
#[derive(PartialEq, Debug)]
struct Record {
    obs: Vec<u32>,
    reward: u32,
    terminated: bool,
    truncated: bool,
}

fn record(obs: &[f32], out: &StepOutcome) -> Record {
    Record {
        obs: obs.iter().map(|x| x.to_bits()).collect(),
        reward: out.reward.to_bits(),
        terminated: out.terminated,
        truncated: out.truncated,
    }
}

/// Runs `steps` steps from `reset(seed)` with the given actions, checking every
/// observation and reward; returns the records and the number of episodes ended.
fn rollout(env: &mut dyn Env, seed: u64, actions: &[Value]) -> Result<(Vec<Record>, usize), CheckError> {
    let space = env.observation_space().clone();
    let mut obs = vec![0.0; space.flat_dim()];
    env.reset(Some(seed), None, &mut obs).map_err(env_err("reset"))?;
    let mut records = vec![record(&obs, &StepOutcome::default())];
    let mut ended = 0;
    for (t, action) in actions.iter().enumerate() {
        let action = action.as_action().ok_or_else(|| fail("action space", "Dict action spaces are not supported"))?;
        let out = env.step(action, &mut obs).map_err(env_err("step"))?;
        if !space.contains_flat(&obs) {
            return Err(fail("observation in space", format!("step {t}: {obs:?} is not in {space}")));
        }
        if !out.reward.is_finite() {
            return Err(fail("finite reward", format!("step {t}: reward {}", out.reward)));
        }
        records.push(record(&obs, &out));
        if out.done() {
            ended += 1;
            env.reset(None, None, &mut obs).map_err(env_err("reset after episode end"))?;
            if !space.contains_flat(&obs) {
                return Err(fail("reset after episode end", format!("step {t}: {obs:?} is not in {space}")));
            }
            records.push(record(&obs, &StepOutcome::default()));
        }
    }
    Ok((records, ended))
}

/// Checks a single-agent env built by `make` (called three times, for three instances).
pub fn check_env(make: &dyn Fn() -> Result<Box<dyn Env>, EnvError>, cfg: &CheckConfig) -> Result<CheckReport, CheckError> {
    let mut a = make().map_err(env_err("make"))?;
    let obs_space = a.observation_space().clone();
    let act_space = a.action_space().clone();
    if obs_space.flat_dim() == 0 {
        return Err(fail("observation space", format!("{obs_space} has no elements")));
    }
    if matches!(act_space, Space::Dict(_)) {
        return Err(fail("action space", format!("{act_space}: Dict action spaces are not supported")));
    }

    // Bad buffers and actions are errors, not panics.
    let mut wrong = vec![0.0; obs_space.flat_dim() + 1];
    if a.reset(Some(cfg.seed), None, &mut wrong).is_ok() {
        return Err(fail("buffer size", "reset accepted an observation buffer of the wrong length"));
    }
    let mut obs = vec![0.0; obs_space.flat_dim()];
    a.reset(Some(cfg.seed), None, &mut obs).map_err(env_err("reset"))?;
    if !obs_space.contains_flat(&obs) {
        return Err(fail("reset observation in space", format!("{obs:?} is not in {obs_space}")));
    }
    if let Some(bad) = invalid_action_for(&act_space) {
        let bad = bad.as_action().ok_or_else(|| fail("action space", "no invalid action"))?;
        if a.step(bad, &mut obs).is_ok() {
            return Err(fail("invalid action", format!("step accepted {bad}, which is not in {act_space}")));
        }
    }

    // Seeding: the same seed gives the same first observation, on a new instance and on reseeding.
    let first = obs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut b = make().map_err(env_err("make"))?;
    let mut obs_b = vec![0.0; obs_space.flat_dim()];
    b.reset(Some(cfg.seed), None, &mut obs_b).map_err(env_err("reset"))?;
    if obs_b.iter().map(|x| x.to_bits()).collect::<Vec<_>>() != first {
        return Err(fail("reset seed determinism", format!("two instances reset with seed {}: {obs:?} vs {obs_b:?}", cfg.seed)));
    }

    // Trajectories: same seed and actions → identical, across instances.
    let mut rng = rng_from_seed(cfg.action_seed);
    let actions: Vec<Value> = (0..cfg.steps).map(|_| act_space.sample(&mut rng)).collect();
    let (ra, ended) = rollout(a.as_mut(), cfg.seed, &actions)?;
    let (rb, _) = rollout(b.as_mut(), cfg.seed, &actions)?;
    if let Some(i) = ra.iter().zip(&rb).position(|(x, y)| x != y) {
        return Err(fail(
            "step determinism",
            format!("instances with seed {} diverge at record {i}: {:?} vs {:?}", cfg.seed, ra[i], rb[i]),
        ));
    }
    // Reseeding an instance that has already run reproduces the trajectory.
    let (ra2, _) = rollout(a.as_mut(), cfg.seed, &actions)?;
    if ra2 != ra {
        return Err(fail("reseed determinism", "resetting with the same seed again gave a different trajectory"));
    }
    if cfg.expect_seed_dependence {
        let mut c = make().map_err(env_err("make"))?;
        let (rc, _) = rollout(c.as_mut(), cfg.other_seed, &actions)?;
        if rc == ra {
            return Err(fail("seed dependence", format!("seeds {} and {} gave identical trajectories", cfg.seed, cfg.other_seed)));
        }
    }
    if cfg.require_episode_end && ended == 0 {
        return Err(fail("episode end", format!("no episode ended in {} random steps", cfg.steps)));
    }
    Ok(CheckReport { steps: cfg.steps, episodes_ended: ended })
}

/// One parallel step's outputs, for comparing trajectories bit for bit.
#[derive(PartialEq, Debug)]
struct ParallelRecord {
    obs: Vec<Vec<u32>>,
    rewards: Vec<u32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    active: Vec<bool>,
}

fn parallel_record(b: &ParallelBuffers) -> ParallelRecord {
    ParallelRecord {
        obs: (0..b.num_agents()).map(|i| b.obs_of(i).iter().map(|x| x.to_bits()).collect()).collect(),
        rewards: b.rewards.iter().map(|x| x.to_bits()).collect(),
        terminated: b.terminated.clone(),
        truncated: b.truncated.clone(),
        active: b.active.clone(),
    }
}

fn check_active_obs(env: &dyn ParallelEnv, buf: &ParallelBuffers, when: &str) -> Result<(), CheckError> {
    for i in buf.active_agents() {
        let space = env.observation_space(i).ok_or_else(|| fail("agent spaces", format!("agent {i} has no observation space")))?;
        if !space.contains_flat(buf.obs_of(i)) {
            return Err(fail("observation in space", format!("{when}: agent {i} observation {:?} is not in {space}", buf.obs_of(i))));
        }
    }
    Ok(())
}

fn parallel_rollout(env: &mut dyn ParallelEnv, seed: u64, cfg: &CheckConfig) -> Result<(Vec<ParallelRecord>, usize), CheckError> {
    let mut buf = ParallelBuffers::for_env(env);
    let mut rng = rng_from_seed(cfg.action_seed);
    env.reset(Some(seed), None, &mut buf.rows()).map_err(env_err("reset"))?;
    if buf.all_done() {
        return Err(fail("reset", "no agent is active after reset"));
    }
    check_active_obs(env, &buf, "reset")?;
    let spaces: Vec<Space> = (0..buf.num_agents()).filter_map(|i| env.action_space(i).cloned()).collect();
    let mut records = vec![parallel_record(&buf)];
    let mut ended = 0;
    for t in 0..cfg.steps {
        let values: Vec<Value> = spaces.iter().map(|s| s.sample(&mut rng)).collect();
        let actions = values
            .iter()
            .map(|v| v.as_action())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| fail("action space", "Dict action spaces are not supported"))?;
        env.step(&actions, &mut buf.rows()).map_err(env_err("step"))?;
        check_active_obs(env, &buf, &format!("step {t}"))?;
        if let Some(r) = buf.rewards.iter().find(|r| !r.is_finite()) {
            return Err(fail("finite reward", format!("step {t}: reward {r}")));
        }
        records.push(parallel_record(&buf));
        if buf.all_done() {
            ended += 1;
            env.reset(None, None, &mut buf.rows()).map_err(env_err("reset after episode end"))?;
            check_active_obs(env, &buf, "reset after episode end")?;
            records.push(parallel_record(&buf));
        }
    }
    Ok((records, ended))
}

/// Checks a multi-agent parallel env built by `make`, like [`check_env`]: spaces for
/// every agent, observations in space, determinism, seed dependence, episode ends,
/// and errors for bad actions and buffers.
pub fn check_parallel_env(make: &dyn Fn() -> Result<Box<dyn ParallelEnv>, EnvError>, cfg: &CheckConfig) -> Result<CheckReport, CheckError> {
    let mut a = make().map_err(env_err("make"))?;
    let agents = a.possible_agents().to_vec();
    if agents.is_empty() {
        return Err(fail("agents", "possible_agents is empty"));
    }
    for (i, name) in agents.iter().enumerate() {
        if agents[..i].contains(name) {
            return Err(fail("agents", format!("agent name '{name}' appears twice")));
        }
        if a.observation_space(i).is_none() || a.action_space(i).is_none() {
            return Err(fail("agent spaces", format!("agent {i} ('{name}') lacks a space")));
        }
    }
    if a.observation_space(agents.len()).is_some() {
        return Err(fail("agent spaces", "an out-of-range agent index has a space"));
    }
    let mut wrong = ParallelBuffers::for_env(a.as_ref());
    wrong.rewards.pop();
    if a.reset(Some(cfg.seed), None, &mut wrong.rows()).is_ok() {
        return Err(fail("buffer size", "reset accepted buffers of the wrong shape"));
    }
    let mut buf = ParallelBuffers::for_env(a.as_ref());
    a.reset(Some(cfg.seed), None, &mut buf.rows()).map_err(env_err("reset"))?;
    let mut rng = rng_from_seed(cfg.action_seed);
    let mut values: Vec<Value> = (0..agents.len()).filter_map(|i| a.action_space(i).map(|s| s.sample(&mut rng))).collect();
    let first_active = buf.active_agents().next();
    if let Some((i, bad)) = first_active.and_then(|i| a.action_space(i).and_then(invalid_action_for).map(|bad| (i, bad))) {
        values[i] = bad;
        let actions = values.iter().filter_map(Value::as_action).collect::<Vec<_>>();
        if actions.len() == agents.len() && a.step(&actions, &mut buf.rows()).is_ok() {
            return Err(fail("invalid action", format!("step accepted an invalid action for agent {i}")));
        }
    }

    let (ra, ended) = parallel_rollout(a.as_mut(), cfg.seed, cfg)?;
    let mut b = make().map_err(env_err("make"))?;
    let (rb, _) = parallel_rollout(b.as_mut(), cfg.seed, cfg)?;
    if let Some(i) = ra.iter().zip(&rb).position(|(x, y)| x != y) {
        return Err(fail("step determinism", format!("instances with seed {} diverge at record {i}", cfg.seed)));
    }
    // Reseeding an instance that has already run reproduces the trajectory.
    let (ra2, _) = parallel_rollout(a.as_mut(), cfg.seed, cfg)?;
    if ra2 != ra {
        return Err(fail("reseed determinism", "resetting with the same seed again gave a different trajectory"));
    }
    if cfg.expect_seed_dependence {
        let (rc, _) = parallel_rollout(b.as_mut(), cfg.other_seed, cfg)?;
        if rc == ra {
            return Err(fail("seed dependence", format!("seeds {} and {} gave identical trajectories", cfg.seed, cfg.other_seed)));
        }
    }
    if cfg.require_episode_end && ended == 0 {
        return Err(fail("episode end", format!("no episode ended in {} random steps", cfg.steps)));
    }
    Ok(CheckReport { steps: cfg.steps, episodes_ended: ended })
}
