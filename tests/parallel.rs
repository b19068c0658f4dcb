//! The multi-agent parallel API, exercised through a toy env and the checker.

use synthgym::env::check::{CheckConfig, check_parallel_env};
use synthgym::env::{Action, AgentRows, EnvError, ParallelBuffers, ParallelEnv, ResetOptions, Space};

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
    env.reset(Some(4), None, &mut buf.rows())?;
    assert_eq!(buf.active_agents().collect::<Vec<_>>(), [0, 1]);
    // Agent 0 walks to its target; agent 1 stands still.
    let mut finished_at = None;
    for t in 0..50 {
        let a0 = if buf.obs_of(0)[1] > buf.obs_of(0)[0] { 2 } else { 0 };
        env.step(&[Action::Discrete(a0), Action::Discrete(1)], &mut buf.rows())?;
        if buf.terminated[0] {
            finished_at = Some(t);
            assert_eq!(buf.rewards[0], 1.0);
            break;
        }
    }
    assert!(finished_at.is_some(), "agent 0 reaches its target");
    assert!(!buf.active[0] && buf.active[1]);
    env.step(&[Action::Discrete(2), Action::Discrete(1)], &mut buf.rows())?;
    assert_eq!(buf.rewards[0], 0.0, "an inactive agent's reward is not repeated");
    assert!(buf.terminated[0], "its flag stays set");
    Ok(())
}

#[test]
fn buffers_of_the_wrong_shape_are_errors() {
    let mut env = Walkers::new(2, 5);
    let mut buf = ParallelBuffers::for_env(&env);
    buf.obs.push(0.0);
    assert!(matches!(env.reset(None, None, &mut buf.rows()), Err(EnvError::BufferSize { what: "observations", .. })));
    let mut buf = ParallelBuffers::for_env(&env);
    buf.bounds[1] += 1;
    assert!(matches!(env.reset(None, None, &mut buf.rows()), Err(EnvError::BufferSize { what: "agent observation", .. })));
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
    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, out: &mut AgentRows<'_>) -> Result<(), EnvError> {
        self.0.reset(seed, options, out)
    }
    fn step(&mut self, actions: &[Action<'_>], out: &mut AgentRows<'_>) -> Result<(), EnvError> {
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

#[test]
fn the_joint_view_ends_with_the_first_agent_and_sums_rewards() -> anyhow::Result<()> {
    use synthgym::env::{Env, Joint};
    let mut joint = Joint::new(Walkers::new(3, 40))?;
    let mut team = Walkers::new(3, 40);
    assert_eq!(joint.action_space(), &Space::multi_discrete(vec![3, 3, 3])?);
    assert_eq!(joint.observation_space().flat_dim(), 9);
    let mut obs = vec![0.0; 9];
    let mut buf = ParallelBuffers::for_env(&team);
    joint.reset(Some(8), None, &mut obs)?;
    team.reset(Some(8), None, &mut buf.rows())?;
    assert_eq!(obs, buf.obs, "observations side by side, agent 0 first");
    let mut ended = None;
    for t in 0..40 {
        // Agent 0 walks to its target, the others stand still.
        let a0 = if obs[1] > obs[0] { 2 } else { 0 };
        let out = joint.step(Action::MultiDiscrete(&[a0, 1, 1]), &mut obs)?;
        team.step(&[Action::Discrete(a0), Action::Discrete(1), Action::Discrete(1)], &mut buf.rows())?;
        assert_eq!(obs, buf.obs);
        assert_eq!(out.reward, buf.rewards.iter().sum::<f32>());
        if out.done() {
            ended = Some((t, out.terminated, out.truncated));
            break;
        }
    }
    assert_eq!(ended.map(|e| (e.1, e.2)), Some((true, false)), "the joint episode ends when agent 0 terminates: {ended:?}");
    assert!(buf.active[1] && buf.active[2], "while the other agents would have played on");
    assert!(matches!(joint.step(Action::MultiDiscrete(&[1, 1, 1]), &mut obs), Err(EnvError::ResetNeeded)));
    assert!(joint.step(Action::MultiDiscrete(&[1, 1]), &mut obs).is_err(), "a joint action needs every agent's");
    Ok(())
}
