//! The multi-agent parallel API, exercised through a toy env and the checker.

use synthgym::env::check::{CheckConfig, check_parallel_env};
use synthgym::env::{Action, EnvError, ParallelBuffers, ParallelEnv, ResetOptions, Space};

use crate::toy::Walkers;

#[test]
fn a_correct_parallel_env_passes_the_checker() -> anyhow::Result<()> {
    let make = || -> Result<Box<dyn ParallelEnv>, EnvError> { Ok(Box::new(Walkers::new(3, 20))) };
    let report = check_parallel_env(&make, &CheckConfig::default())?;
    assert!(report.episodes_ended > 10);
    Ok(())
}

#[test]
fn agents_leave_when_done_and_sit_out_with_zero_reward() -> anyhow::Result<()> {
    let mut env = Walkers::new(2, 50);
    let mut buf = ParallelBuffers::for_env(&env);
    env.reset(Some(4), None, &mut buf)?;
    assert_eq!(buf.active_agents().collect::<Vec<_>>(), [0, 1]);
    // Agent 0 walks to its target; agent 1 stands still.
    let mut finished_at = None;
    for t in 0..50 {
        let a0 = if buf.obs[0][1] > buf.obs[0][0] { 2 } else { 0 };
        env.step(&[Action::Discrete(a0), Action::Discrete(1)], &mut buf)?;
        if buf.terminated[0] {
            finished_at = Some(t);
            assert_eq!(buf.rewards[0], 1.0);
            break;
        }
    }
    assert!(finished_at.is_some(), "agent 0 reaches its target");
    assert!(!buf.active[0] && buf.active[1]);
    env.step(&[Action::Discrete(2), Action::Discrete(1)], &mut buf)?;
    assert_eq!(buf.rewards[0], 0.0, "an inactive agent's reward is not repeated");
    assert!(buf.terminated[0], "its flag stays set");
    Ok(())
}

#[test]
fn buffers_of_the_wrong_shape_are_errors() {
    let mut env = Walkers::new(2, 5);
    let mut buf = ParallelBuffers::for_env(&env);
    buf.obs[1].push(0.0);
    assert!(matches!(env.reset(None, None, &mut buf), Err(EnvError::BufferSize { what: "agent observation", .. })));
}

/// A parallel env whose agent 1 acts randomly without a seed: nondeterministic.
struct Nondeterministic(Walkers, u64);

impl ParallelEnv for Nondeterministic {
    fn possible_agents(&self) -> &[String] {
        self.0.possible_agents()
    }
    fn observation_space(&self, agent: usize) -> Option<&Space> {
        self.0.observation_space(agent)
    }
    fn action_space(&self, agent: usize) -> Option<&Space> {
        self.0.action_space(agent)
    }
    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut ParallelBuffers) -> Result<(), EnvError> {
        self.0.reset(seed, options, out)
    }
    fn step(&mut self, actions: &[Action<'_>], out: &mut ParallelBuffers) -> Result<(), EnvError> {
        self.1 += 1;
        let time_based =
            (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()) as u64 ^ self.1) % 3;
        let mut acts = actions.to_vec();
        acts[1] = Action::Discrete(time_based as i64);
        self.0.step(&acts, out)
    }
}

#[test]
fn the_parallel_checker_catches_nondeterminism() {
    let make = || -> Result<Box<dyn ParallelEnv>, EnvError> { Ok(Box::new(Nondeterministic(Walkers::new(2, 30), 0))) };
    let err = check_parallel_env(&make, &CheckConfig { steps: 500, ..Default::default() }).err();
    assert_eq!(err.map(|e| e.check), Some("step determinism"));
}
