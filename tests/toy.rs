//! Toy environments for tests: small, seeded, with faults that can be switched on.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use synthgym::env::{
    Action, AgentRows, BoxSpace, Env, EnvError, Info, ParallelEnv, ResetOptions, Space, StepOutcome, check_action, check_obs_len,
};
use synthgym::util::seed::rng_from_seed;

/// A walker on the integers `0..=10` looking for a random target.
///
/// Observation `[position, target, steps]`; actions Discrete(3): left, stay, right.
/// Reward 1 on reaching the target (terminated), -0.01 otherwise; truncated after
/// `limit` steps. Rewards carry a little seeded noise, so seeds matter.
pub struct Walker {
    pub pos: i64,
    pub target: i64,
    pub steps: u64,
    pub limit: u64,
    pub rng: ChaCha8Rng,
    pub obs_space: Space,
    pub act_space: Space,
    /// Returns an error when stepped with this action.
    pub error_on: Option<i64>,
    /// Panics when stepped with this action.
    pub panic_on: Option<i64>,
    pub has_reset: bool,
}

impl Walker {
    pub fn new(limit: u64) -> Self {
        let obs_space = match BoxSpace::new(vec![0.0, 0.0, 0.0], vec![10.0, 10.0, f32::INFINITY], vec![3]) {
            Ok(b) => Space::Box(b),
            Err(e) => panic!("{e}"),
        };
        Self {
            pos: 0,
            target: 0,
            steps: 0,
            limit,
            rng: rng_from_seed(0),
            obs_space,
            act_space: Space::Discrete { n: 3, start: 0 },
            error_on: None,
            panic_on: None,
            has_reset: false,
        }
    }

    pub fn boxed(limit: u64) -> Box<dyn Env> {
        Box::new(Self::new(limit))
    }

    fn write(&self, obs: &mut [f32]) {
        obs.copy_from_slice(&[self.pos as f32, self.target as f32, self.steps as f32]);
    }
}

impl Env for Walker {
    fn observation_space(&self) -> &Space {
        &self.obs_space
    }

    fn action_space(&self) -> &Space {
        &self.act_space
    }

    fn reset(&mut self, seed: Option<u64>, _: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        check_obs_len(&self.obs_space, obs)?;
        if let Some(s) = seed {
            self.rng = rng_from_seed(s);
        }
        self.pos = self.rng.random_range(0..=10);
        self.target = self.rng.random_range(0..=10);
        while self.target == self.pos {
            self.target = self.rng.random_range(0..=10);
        }
        self.steps = 0;
        self.has_reset = true;
        self.write(obs);
        let mut info = Info::default();
        info.values.set("reset", 1.0);
        Ok(info)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        check_obs_len(&self.obs_space, obs)?;
        check_action(&self.act_space, action)?;
        let Action::Discrete(a) = action else { unreachable!() };
        if Some(a) == self.error_on {
            return Err(EnvError::InvalidOption { key: "toy".into(), reason: "injected error".into() });
        }
        if Some(a) == self.panic_on {
            panic!("injected panic");
        }
        self.pos = (self.pos + a - 1).clamp(0, 10);
        self.steps += 1;
        self.write(obs);
        let terminated = self.pos == self.target;
        let noise = self.rng.random_range(0.0..0.001f32);
        let reward = if terminated { 1.0 } else { -0.01 + noise };
        let mut info = Info::default();
        info.values.set("distance", (self.target - self.pos).abs() as f64);
        Ok(StepOutcome { reward, terminated, truncated: self.steps >= self.limit, info })
    }
}

/// A multi-agent version: `n` walkers on one line, each with its own target; an
/// agent terminates (and leaves) on reaching its target; all truncate at `limit`.
pub struct Walkers {
    pub names: Vec<String>,
    pub walkers: Vec<Walker>,
    pub limit: u64,
    pub steps: u64,
    pub rng: ChaCha8Rng,
}

impl Walkers {
    pub fn new(n: usize, limit: u64) -> Self {
        Self {
            names: (0..n).map(|i| format!("walker_{i}")).collect(),
            walkers: (0..n).map(|_| Walker::new(u64::MAX)).collect(),
            limit,
            steps: 0,
            rng: rng_from_seed(0),
        }
    }
}

impl ParallelEnv for Walkers {
    fn possible_agents(&self) -> &[String] {
        &self.names
    }

    fn observation_space(&self, agent: usize) -> Option<&Space> {
        self.walkers.get(agent).map(|w| &w.obs_space)
    }

    fn action_space(&self, agent: usize) -> Option<&Space> {
        self.walkers.get(agent).map(|w| &w.act_space)
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_shape(self)?;
        if let Some(s) = seed {
            self.rng = rng_from_seed(s);
        }
        self.steps = 0;
        for (i, w) in self.walkers.iter_mut().enumerate() {
            let s = self.rng.random::<u64>();
            out.infos[i] = w.reset(Some(s), options, out.obs_mut(i))?;
            out.rewards[i] = 0.0;
            out.terminated[i] = false;
            out.truncated[i] = false;
            out.active[i] = true;
        }
        Ok(())
    }

    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        out.check_shape(self)?;
        if actions.len() != self.walkers.len() {
            return Err(EnvError::BufferSize { what: "actions", got: actions.len(), expected: self.walkers.len() });
        }
        for (i, w) in self.walkers.iter().enumerate() {
            if out.active[i] {
                check_action(&w.act_space, actions[i])?;
            }
        }
        self.steps += 1;
        for (i, w) in self.walkers.iter_mut().enumerate() {
            if !out.active[i] {
                out.rewards[i] = 0.0;
                continue;
            }
            let o = w.step(actions[i], out.obs_mut(i))?;
            out.rewards[i] = o.reward;
            out.terminated[i] = o.terminated;
            out.truncated[i] = !o.terminated && self.steps >= self.limit;
            out.infos[i] = o.info;
            out.active[i] = !(out.terminated[i] || out.truncated[i]);
        }
        Ok(())
    }
}
