//! [`Joint`]: the single-agent view of any [`ParallelEnv`], one controller acting for
//! every agent at once, as multi-agent scenes are used from single-agent libraries
//! (rware's and highway-env's `Tuple` spaces, flattened).
//!
//! - Observation: the agents' observations side by side (one agent: its own space).
//! - Action: `Discrete(n)` agents join into `MultiDiscrete`, `MultiDiscrete` and `Box`
//!   agents concatenate (one agent: its own space, so a one-robot scene is a plain env).
//! - Reward: the `f32` sum of the agents' `f32` rewards (the hand-written driving view
//!   this replaced summed in `f64` before rounding, so two-ego driving returns differ from
//!   it in the last bit). Info: agent 0's (the scenes report shared counters).
//! - The episode ends when the first agent's does: `terminated` if any agent
//!   terminated, else `truncated` if any was cut short. A single controller cannot act
//!   for part of its agents, so it does not play on with the rest.

use super::{Action, AgentRows, Env, EnvError, Info, ParallelEnv, ResetOptions, Space, StepOutcome, check_obs_len};
use crate::env::parallel::{observation_bounds, recycle};
use crate::snapshot::Snapshot;

/// One controller for every agent of a [`ParallelEnv`] (see the module docs).
pub struct Joint<P> {
    inner: P,
    obs_space: Space,
    act_space: Space,
    /// Agent `i`'s observation is `obs[obs_bounds[i]..obs_bounds[i + 1]]` of the joint one.
    obs_bounds: Vec<usize>,
    /// How to cut agent `i`'s action out of a joint action.
    actions: Vec<AgentAction>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    active: Vec<bool>,
    infos: Vec<Info>,
    /// Reused storage for the per-agent actions of a step (emptied between steps).
    scratch: Vec<Action<'static>>,
    /// When every agent is `Discrete`: their actions of the current step, rewritten in
    /// place (they borrow nothing, so the list need not be rebuilt each step).
    discrete: Option<Vec<Action<'static>>>,
    /// The joint episode has ended (the inner env's other agents may play on, but the
    /// joint view does not): `step` needs a `reset` first.
    over: bool,
}

/// Where one agent's action sits in a joint action.
#[derive(Clone, Copy, Debug, PartialEq)]
enum AgentAction {
    /// The joint action is the agent's own (one agent).
    Whole,
    /// Entry `index` of a joint `MultiDiscrete`, as the agent's `Discrete` action.
    Entry { index: usize },
    /// Entries `start..end` of a joint `MultiDiscrete` or `Box`.
    Range { start: usize, end: usize },
}

impl<P: ParallelEnv> Joint<P> {
    /// The joint view of `inner`; errors if it has no agents, or if its agents'
    /// spaces do not join (a mix of discrete and continuous, `Dict`, or `Discrete`
    /// spaces that do not start at 0).
    pub fn new(inner: P) -> Result<Self, EnvError> {
        let n = inner.possible_agents().len();
        let no_space = |i: usize| EnvError::InvalidConfig { what: "joint view".into(), reason: format!("agent {i} has no space") };
        let obs_spaces = (0..n).map(|i| inner.observation_space(i).cloned().ok_or_else(|| no_space(i))).collect::<Result<Vec<_>, _>>()?;
        let act_spaces = (0..n).map(|i| inner.action_space(i).cloned().ok_or_else(|| no_space(i))).collect::<Result<Vec<_>, _>>()?;
        let obs_space = join(&obs_spaces, "observation")?;
        let act_space = join(&act_spaces, "action")?;
        let actions = cuts(&act_spaces);
        Ok(Self {
            obs_bounds: observation_bounds(&inner),
            inner,
            obs_space,
            act_space,
            actions,
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            active: vec![false; n],
            infos: vec![Info::default(); n],
            scratch: Vec::with_capacity(n),
            discrete: act_spaces.iter().all(|s| matches!(s, Space::Discrete { .. })).then(|| vec![Action::Discrete(0); n]),
            over: false,
        })
    }

    /// The multi-agent env inside.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The multi-agent env inside, mutably.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// Whether `action` has the joint action's kind and length. The inner env checks
    /// each agent's part against that agent's space, so the values are not checked twice.
    fn fits(&self, action: Action<'_>) -> bool {
        match (&self.act_space, action) {
            _ if self.actions.first() == Some(&AgentAction::Whole) => true,
            (Space::MultiDiscrete { nvec }, Action::MultiDiscrete(a)) => a.len() == nvec.len(),
            (Space::Box(b), Action::Continuous(a)) => a.len() == b.numel(),
            _ => false,
        }
    }

    fn rows<'a>(&'a mut self, obs: &'a mut [f32]) -> (&'a mut P, AgentRows<'a>) {
        let rows = AgentRows {
            obs,
            bounds: &self.obs_bounds,
            rewards: &mut self.rewards,
            terminated: &mut self.terminated,
            truncated: &mut self.truncated,
            active: &mut self.active,
            infos: &mut self.infos,
        };
        (&mut self.inner, rows)
    }
}

/// Where each agent's action sits in the joint action of agents with `spaces`.
fn cuts(spaces: &[Space]) -> Vec<AgentAction> {
    if spaces.len() == 1 {
        return vec![AgentAction::Whole];
    }
    let mut start = 0;
    spaces
        .iter()
        .map(|space| {
            let width = match space {
                Space::Discrete { .. } => 1,
                s => s.flat_dim(),
            };
            start += width;
            match space {
                // Its position in the joint action, after every earlier agent's entries.
                Space::Discrete { .. } => AgentAction::Entry { index: start - 1 },
                _ => AgentAction::Range { start: start - width, end: start },
            }
        })
        .collect()
}

/// The joint space of `spaces` (see the module docs).
fn join(spaces: &[Space], what: &str) -> Result<Space, EnvError> {
    if let [one] = spaces {
        return Ok(one.clone());
    }
    let cannot = |reason: String| EnvError::InvalidConfig { what: format!("joint {what} space"), reason };
    if spaces.is_empty() {
        return Err(cannot("the env has no agents".into()));
    }
    if spaces.iter().all(|s| matches!(s, Space::Box(_))) {
        let (mut low, mut high) = (Vec::new(), Vec::new());
        for s in spaces {
            if let Space::Box(b) = s {
                low.extend_from_slice(b.low());
                high.extend_from_slice(b.high());
            }
        }
        let len = low.len();
        return Space::boxed(low, high, vec![len]);
    }
    let mut nvec = Vec::new();
    for (i, s) in spaces.iter().enumerate() {
        match s {
            Space::Discrete { n, start: 0 } => nvec.push(*n),
            Space::MultiDiscrete { nvec: v } => nvec.extend_from_slice(v),
            other => return Err(cannot(format!("agent {i}'s {other} does not join with agent 0's {}", spaces[0]))),
        }
    }
    Space::multi_discrete(nvec)
}

impl<P: ParallelEnv> Env for Joint<P> {
    fn observation_space(&self) -> &Space {
        &self.obs_space
    }

    fn action_space(&self) -> &Space {
        &self.act_space
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        check_obs_len(&self.obs_space, obs)?;
        let (inner, mut rows) = self.rows(obs);
        inner.reset(seed, options, &mut rows)?;
        self.over = false;
        Ok(self.infos.first().copied().unwrap_or_default())
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        check_obs_len(&self.obs_space, obs)?;
        if !self.fits(action) {
            return Err(EnvError::InvalidAction { action: action.to_string(), space: self.act_space.to_string() });
        }
        if self.over {
            return Err(EnvError::ResetNeeded);
        }
        if let [AgentAction::Whole] = self.actions[..] {
            let (inner, mut rows) = self.rows(obs);
            inner.step(std::slice::from_ref(&action), &mut rows)?;
        } else if let (Some(_), Action::MultiDiscrete(a)) = (&self.discrete, action) {
            // Every agent is `Discrete`, so agent `i`'s action is entry `i`.
            let mut per_agent = self.discrete.take().unwrap_or_default();
            per_agent.iter_mut().zip(a).for_each(|(slot, &v)| *slot = Action::Discrete(v));
            let (inner, mut rows) = self.rows(obs);
            let stepped = inner.step(&per_agent, &mut rows);
            self.discrete = Some(per_agent);
            stepped?;
        } else {
            let mut per_agent = recycle(std::mem::take(&mut self.scratch));
            per_agent.extend(self.actions.iter().map(|&cut| match (cut, action) {
                (AgentAction::Entry { index }, Action::MultiDiscrete(a)) => Action::Discrete(a[index]),
                (AgentAction::Range { start, end }, Action::MultiDiscrete(a)) => Action::MultiDiscrete(&a[start..end]),
                (AgentAction::Range { start, end }, Action::Continuous(a)) => Action::Continuous(&a[start..end]),
                // Never: `fits` checked the kind.
                _ => action,
            }));
            let (inner, mut rows) = self.rows(obs);
            let stepped = inner.step(&per_agent, &mut rows);
            self.scratch = recycle(per_agent);
            stepped?;
        }
        let reward = self.rewards.iter().sum();
        let terminated = self.terminated.iter().any(|&t| t);
        let truncated = !terminated && self.truncated.iter().any(|&t| t);
        self.over = terminated || truncated;
        // `new` refused an env without agents, so agent 0's info is there.
        let info = match self.infos.first() {
            Some(info) => *info,
            None => Info::default(),
        };
        Ok(StepOutcome { reward, terminated, truncated, info })
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        self.inner.snapshot(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_join_side_by_side() -> Result<(), EnvError> {
        let b = Space::boxed(vec![0.0, -1.0], vec![1.0, 2.0], vec![2])?;
        let joined = join(&[b.clone(), b.clone(), b.clone()], "observation")?;
        assert_eq!(joined, Space::boxed(vec![0.0, -1.0, 0.0, -1.0, 0.0, -1.0], vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0], vec![6])?);
        assert_eq!(join(std::slice::from_ref(&b), "observation")?, b, "one agent keeps its own space");
        let d = Space::discrete(5)?;
        assert_eq!(join(&[d.clone(), d.clone()], "action")?, Space::multi_discrete(vec![5, 5])?);
        assert_eq!(join(&[d.clone(), Space::multi_discrete(vec![2, 3])?], "action")?, Space::multi_discrete(vec![5, 2, 3])?);
        assert!(join(&[d.clone(), b], "action").is_err(), "discrete and continuous agents do not join");
        assert!(join(&[Space::discrete_with_start(3, 1)?, d], "action").is_err(), "MultiDiscrete has no start");
        assert!(join(&[], "action").is_err());
        Ok(())
    }

    #[test]
    fn mixed_agents_read_their_own_entries() -> Result<(), EnvError> {
        let spaces = [Space::multi_discrete(vec![2, 3])?, Space::discrete(5)?, Space::discrete(4)?];
        assert_eq!(
            cuts(&spaces),
            [AgentAction::Range { start: 0, end: 2 }, AgentAction::Entry { index: 2 }, AgentAction::Entry { index: 3 }]
        );
        assert_eq!(cuts(&spaces[1..2]), [AgentAction::Whole]);
        Ok(())
    }

    #[test]
    fn recycling_empties_the_list() {
        // Reusing the allocation is std's in-place collect, an optimisation rather than a
        // promise, so only the emptying is asserted.
        let data = [1.0f32, 2.0];
        let mut borrowed = recycle(Vec::with_capacity(16));
        borrowed.push(Action::Continuous(&data));
        let v: Vec<Action<'static>> = recycle(borrowed);
        assert!(v.is_empty());
    }
}
