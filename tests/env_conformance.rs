//! Every registered env passes the checker; the registry behaves like `gymnasium.make`;
//! and the checker really fails on broken envs.

use std::sync::atomic::{AtomicU64, Ordering};

use synthgym::env::check::{CheckConfig, check_env};
use synthgym::env::{Action, Env, EnvError, EnvExt, EnvSpec, Info, MakeOptions, Registry, ResetOptions, Space, StepOutcome};
use synthgym::scenes::registry;

use crate::toy::Walker;

#[test]
fn every_registered_env_passes_the_checker() -> anyhow::Result<()> {
    for spec in registry().specs() {
        let make = || registry().make(&spec.id, &MakeOptions::default());
        let report = check_env(&make, &CheckConfig::default()).map_err(|e| anyhow::anyhow!("{}: {e}", spec.id))?;
        assert!(report.episodes_ended > 0, "{}", spec.id);
    }
    Ok(())
}

#[test]
fn make_applies_the_time_limit_and_order_enforcing() -> anyhow::Result<()> {
    let mut env = registry().make("cartpole-v1", &MakeOptions::default())?;
    let mut obs = vec![0.0; 4];
    assert_eq!(env.step(Action::Discrete(0), &mut obs), Err(EnvError::ResetNeeded));

    // A PD controller on the pole angle balances CartPole for the whole episode
    // (checked against Gymnasium for 50 seeds), so the 500-step limit ends it.
    let opts = ResetOptions::new().with("low", 0.0).with("high", 0.0);
    env.reset(Some(0), Some(&opts), &mut obs)?;
    let mut steps = 0;
    loop {
        steps += 1;
        let push_right = obs[2] + 0.5 * obs[3] > 0.0;
        let out = env.step(Action::Discrete(i64::from(push_right)), &mut obs)?;
        if out.done() {
            assert!(out.truncated && !out.terminated, "step {steps}: {out:?}");
            break;
        }
    }
    assert_eq!(steps, 500);

    let mut short = registry().make("cartpole-v1", &MakeOptions { max_episode_steps: Some(3), ..Default::default() })?;
    short.reset(Some(0), Some(&opts), &mut obs)?;
    let flags: Vec<bool> = (0..3).map(|_| short.step(Action::Discrete(0), &mut obs).map(|o| o.truncated)).collect::<Result<_, _>>()?;
    assert_eq!(flags, [false, false, true]);
    Ok(())
}

#[test]
fn unknown_ids_are_errors_that_suggest_the_closest_id() {
    let Err(err) = registry().make("cartpole-v0", &MakeOptions::default()) else { panic!("unknown id accepted") };
    assert_eq!(err.to_string(), "no environment named 'cartpole-v0' (did you mean 'cartpole-v1'?)");
    let Err(err) = registry().make("zzz", &MakeOptions::default()) else { panic!("unknown id accepted") };
    assert_eq!(err.to_string(), "no environment named 'zzz'");
}

fn make_walker(_: &MakeOptions) -> Result<Box<dyn Env>, EnvError> {
    Ok(Walker::boxed(u64::MAX))
}

#[test]
fn registries_reject_duplicates_and_single_agent_ids_have_no_parallel_version() {
    let spec = EnvSpec {
        id: "walker-v0".into(),
        summary: "toy".into(),
        max_episode_steps: Some(20),
        reward_threshold: None,
        entry_point: std::sync::Arc::new(make_walker),
        parallel_entry_point: None,
    };
    let mut reg = Registry::new();
    assert!(reg.register(spec.clone()).is_ok());
    assert_eq!(reg.register(spec), Err(EnvError::DuplicateId("walker-v0".into())));
    let Err(err) = reg.make_parallel("walker-v0", &MakeOptions::default()) else { panic!("no parallel ctor") };
    assert!(err.to_string().contains("single-agent"), "{err}");
    let no_limit = MakeOptions { disable_time_limit: true, ..Default::default() };
    assert!(reg.make("walker-v0", &no_limit).is_ok());
}

#[test]
fn the_checker_passes_a_correct_toy_env() -> anyhow::Result<()> {
    let make = || Ok(Walker::boxed(50));
    check_env(&make, &CheckConfig::default())?;
    Ok(())
}

/// Wraps a [`Walker`] and breaks it in one chosen way.
struct Broken {
    inner: Walker,
    fault: Fault,
    wide: Space,
}

#[derive(Clone, Copy)]
enum Fault {
    ObsOutOfSpace,
    IgnoresSeed,
    SharedStateAcrossInstances,
    AcceptsInvalidActions,
    NeverEnds,
    NanReward,
}

static GLOBAL_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Env for Broken {
    fn observation_space(&self) -> &Space {
        self.inner.observation_space()
    }

    fn action_space(&self) -> &Space {
        match self.fault {
            Fault::AcceptsInvalidActions => &self.wide,
            _ => self.inner.action_space(),
        }
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        let seed = match self.fault {
            Fault::IgnoresSeed => Some(99),
            Fault::SharedStateAcrossInstances => Some(GLOBAL_COUNTER.fetch_add(1, Ordering::Relaxed)),
            _ => seed,
        };
        self.inner.reset(seed, options, obs)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        let action = match (self.fault, action) {
            (Fault::AcceptsInvalidActions, Action::Discrete(a)) => Action::Discrete(a.clamp(0, 2)),
            _ => action,
        };
        let mut out = self.inner.step(action, obs)?;
        match self.fault {
            Fault::ObsOutOfSpace if self.inner.steps == 5 => obs[0] = -1.0,
            Fault::NeverEnds => (out.terminated, out.truncated) = (false, false),
            Fault::NanReward if self.inner.steps == 3 => out.reward = f32::NAN,
            _ => {}
        }
        Ok(out)
    }
}

#[test]
fn the_checker_catches_each_kind_of_broken_env() {
    let cases = [
        (Fault::ObsOutOfSpace, "observation in space"),
        (Fault::IgnoresSeed, "seed dependence"),
        (Fault::SharedStateAcrossInstances, "reset seed determinism"),
        (Fault::AcceptsInvalidActions, "invalid action"),
        (Fault::NeverEnds, "episode end"),
        (Fault::NanReward, "finite reward"),
    ];
    for (fault, expected_check) in cases {
        let make = || -> Result<Box<dyn Env>, EnvError> {
            Ok(Box::new(Broken { inner: Walker::new(50), fault, wide: Space::Discrete { n: 10, start: 0 } }))
        };
        match check_env(&make, &CheckConfig { steps: 300, ..Default::default() }) {
            Ok(_) => panic!("the checker passed an env broken with '{expected_check}'"),
            Err(e) => assert_eq!(e.check, expected_check, "{e}"),
        }
    }
}

#[test]
fn owned_conveniences_return_gymnasium_tuples() -> anyhow::Result<()> {
    let mut env = registry().make("cartpole-v1", &MakeOptions::default())?;
    let (obs, info) = env.reset_owned(Some(3))?;
    assert_eq!(obs.len(), 4);
    assert_eq!(info, Info::default());
    let (obs2, reward, terminated, truncated, _) = env.step_owned(Action::Discrete(1))?;
    assert_ne!(obs, obs2);
    assert_eq!((reward, terminated, truncated), (1.0, false, false));
    Ok(())
}
