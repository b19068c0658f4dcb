//! Vector envs: the serial and threaded backends agree bit for bit, seeds are
//! `seed + i`, and each autoreset mode does what the module docs say.

use synthgym::env::vector::{ActionBuffer, Actions, AutoresetMode, Backend, SerialVecEnv, ThreadedVecEnv, VecBuffers, VecEnv, make_vec};
use synthgym::env::{Action, Env, EnvError, MakeOptions, ParallelBuffers, ParallelEnv, SingleAgent};
use synthgym::scenes::registry;
use synthgym::util::seed::{env_seed, rng_from_seed};

use crate::toy::{Walker, Walkers};

fn walkers(n: usize) -> Vec<Box<dyn Env>> {
    (0..n).map(|_| Walker::boxed(15)).collect()
}

fn build(n: usize, threads: usize, mode: AutoresetMode) -> anyhow::Result<Box<dyn VecEnv>> {
    Ok(if threads == 0 {
        Box::new(SerialVecEnv::new(walkers(n), mode)?)
    } else {
        Box::new(ThreadedVecEnv::new(walkers(n), threads, mode)?)
    })
}

/// Runs `steps` random batch steps and returns every buffer snapshot.
fn trajectory(venv: &mut dyn VecEnv, seed: u64, steps: usize) -> anyhow::Result<Vec<VecBuffers>> {
    let space = venv.single_action_space().clone();
    let mut actions = ActionBuffer::new(&space, venv.num_rows())?;
    let mut rng = rng_from_seed(seed ^ 0xabc);
    let mut out = vec![venv.reset(Some(seed))?.clone()];
    for _ in 0..steps {
        actions.sample(&space, &mut rng);
        out.push(venv.step(actions.as_actions())?.clone());
    }
    Ok(out)
}

#[test]
fn serial_and_threaded_backends_are_bit_identical() -> anyhow::Result<()> {
    for mode in [AutoresetMode::NextStep, AutoresetMode::SameStep, AutoresetMode::Disabled] {
        for n in [1, 5, 8] {
            let reference = trajectory(build(n, 0, mode)?.as_mut(), 11, 60)?;
            for threads in [1, 2, 3, 8] {
                let got = trajectory(build(n, threads, mode)?.as_mut(), 11, 60)?;
                assert!(got == reference, "mode {mode:?}, {n} envs, {threads} threads");
            }
        }
    }
    Ok(())
}

#[test]
fn cartpole_vector_env_matches_across_backends_and_seeds_differ() -> anyhow::Result<()> {
    let opts = MakeOptions::default();
    let mut serial = make_vec(registry(), "cartpole-v1", 16, Backend::Serial, AutoresetMode::NextStep, &opts)?;
    let mut threaded = make_vec(registry(), "cartpole-v1", 16, Backend::Threaded { num_threads: 2 }, AutoresetMode::NextStep, &opts)?;
    let a = trajectory(serial.as_mut(), 0, 300)?;
    assert!(a == trajectory(threaded.as_mut(), 0, 300)?);
    let b = trajectory(threaded.as_mut(), 1, 300)?;
    assert!(a != b, "a different seed gives a different batch trajectory");
    let last = &a[300];
    let space = serial.single_observation_space().clone();
    assert!((0..16).all(|i| space.contains_flat(last.obs_of(i))));
    Ok(())
}

#[test]
fn env_i_is_seeded_with_seed_plus_i() -> anyhow::Result<()> {
    let mut venv = build(4, 2, AutoresetMode::NextStep)?;
    let buf = venv.reset(Some(100))?.clone();
    for i in 0..4 {
        let mut single = Walker::new(15);
        let mut obs = [0.0; 3];
        single.reset(Some(100 + i as u64), None, &mut obs)?;
        assert_eq!(buf.obs_of(i), obs, "env {i}");
    }
    Ok(())
}

/// Steps env 0 of a 2-env batch with "stay" until its episode ends; returns the batch.
fn run_until_done(venv: &mut dyn VecEnv) -> anyhow::Result<VecBuffers> {
    venv.reset(Some(3))?;
    for _ in 0..100 {
        let buf = venv.step(Actions::Discrete(&[1, 1]))?;
        if buf.terminated[0] || buf.truncated[0] {
            return Ok(buf.clone());
        }
    }
    anyhow::bail!("episode never ended")
}

#[test]
fn next_step_autoreset_resets_on_the_following_step() -> anyhow::Result<()> {
    for threads in [0, 2] {
        let mut venv = build(2, threads, AutoresetMode::NextStep)?;
        let done = run_until_done(venv.as_mut())?;
        assert!(done.truncated[0], "standing still only truncates");
        assert_eq!(done.obs_of(0)[2], 15.0, "the final observation is returned on the final step");
        // The next step ignores env 0's action and returns the reset observation.
        let after = venv.step(Actions::Discrete(&[2, 1]))?.clone();
        assert_eq!(after.obs_of(0)[2], 0.0, "a fresh episode starts at step 0");
        assert_eq!((after.rewards[0], after.terminated[0], after.truncated[0]), (0.0, false, false));
        assert_eq!(after.infos[0].values.get("reset"), Some(1.0), "the reset's info is reported");
        // And then it steps normally again.
        let next = venv.step(Actions::Discrete(&[1, 1]))?;
        assert_eq!(next.obs_of(0)[2], 1.0);
    }
    Ok(())
}

#[test]
fn same_step_autoreset_keeps_the_final_observation_aside() -> anyhow::Result<()> {
    for threads in [0, 2] {
        let mut venv = build(2, threads, AutoresetMode::SameStep)?;
        let done = run_until_done(venv.as_mut())?;
        let ended: Vec<bool> = (0..2).map(|i| done.terminated[i] || done.truncated[i]).collect();
        assert_eq!(done.has_final_obs, ended, "exactly the envs that ended have a final observation");
        assert_eq!(done.final_obs[2], 15.0, "final_obs holds the last observation of the episode");
        assert_eq!(done.obs_of(0)[2], 0.0, "obs already holds the next episode's first observation");
        assert!(done.infos[0].values.get("distance").is_some(), "infos keep the final step's info");
        let next = venv.step(Actions::Discrete(&[1, 1]))?;
        assert!(!next.has_final_obs[0]);
        assert_eq!(next.obs_of(0)[2], 1.0);
    }
    Ok(())
}

#[test]
fn disabled_autoreset_waits_for_reset_envs() -> anyhow::Result<()> {
    for threads in [0, 2] {
        let mut venv = build(2, threads, AutoresetMode::Disabled)?;
        let done = run_until_done(venv.as_mut())?;
        assert_eq!(done.obs_of(0)[2], 15.0);
        let other_before = done.obs_of(1).to_vec();
        let buf = venv.reset_envs(&[true, false], Some(50))?;
        assert_eq!(buf.obs_of(0)[2], 0.0, "env 0 was reset");
        assert!(!buf.truncated[0]);
        assert_eq!(buf.obs_of(1), other_before.as_slice(), "env 1 untouched");
        let mut single = Walker::new(15);
        let mut obs = [0.0; 3];
        single.reset(Some(50), None, &mut obs)?;
        assert_eq!(buf.obs_of(0), obs, "masked reset seeds env i with seed + i");
        assert!(matches!(venv.reset_envs(&[true], None), Err(EnvError::BufferSize { .. })));
    }
    Ok(())
}

#[test]
fn bad_actions_and_mismatched_envs_are_errors() -> anyhow::Result<()> {
    let mut venv = build(3, 2, AutoresetMode::NextStep)?;
    venv.reset(Some(0))?;
    assert!(matches!(venv.step(Actions::Discrete(&[0, 1])), Err(EnvError::BufferSize { what: "actions", got: 2, expected: 3 })));
    assert!(matches!(venv.step(Actions::Continuous(&[0.0; 3])), Err(EnvError::InvalidAction { .. })));
    match venv.step(Actions::Discrete(&[0, 1, 7])) {
        Err(EnvError::InVectorEnv { index: 2, source }) => assert!(matches!(*source, EnvError::InvalidAction { .. })),
        other => panic!("expected env 2's invalid action, got {other:?}"),
    }
    // The batch still works after an error.
    venv.reset(Some(0))?;
    venv.step(Actions::Discrete(&[0, 1, 2]))?;

    let mut mixed = walkers(2);
    mixed.push(registry().make("cartpole-v1", &MakeOptions::default())?);
    let Err(err) = SerialVecEnv::new(mixed, AutoresetMode::NextStep) else { panic!("mixed spaces accepted") };
    assert!(matches!(err, EnvError::SpaceMismatch { index: 2, .. }), "{err}");
    assert!(SerialVecEnv::new(Vec::new(), AutoresetMode::NextStep).is_err());
    assert!(ThreadedVecEnv::new(walkers(2), 0, AutoresetMode::NextStep).is_err());
    Ok(())
}

#[test]
fn errors_and_panics_on_worker_threads_are_reported_not_propagated() -> anyhow::Result<()> {
    let mut envs = walkers(4);
    let mut failing = Walker::new(15);
    failing.error_on = Some(0);
    envs[3] = Box::new(failing);
    let mut venv = ThreadedVecEnv::new(envs, 2, AutoresetMode::NextStep)?;
    venv.reset(Some(0))?;
    match venv.step(Actions::Discrete(&[1, 1, 1, 0])) {
        Err(EnvError::InVectorEnv { index: 3, .. }) => {}
        other => panic!("expected env 3's error, got {other:?}"),
    }

    let mut envs = walkers(4);
    let mut panicking = Walker::new(15);
    panicking.panic_on = Some(0);
    envs[3] = Box::new(panicking);
    let mut venv = ThreadedVecEnv::new(envs, 2, AutoresetMode::NextStep)?;
    venv.reset(Some(0))?;
    assert_eq!(venv.step(Actions::Discrete(&[1, 1, 1, 0])).err(), Some(EnvError::WorkerStopped(1)));
    assert_eq!(venv.step(Actions::Discrete(&[1, 1, 1, 1])).err(), Some(EnvError::WorkerStopped(1)), "stays failed");
    Ok(())
}

#[test]
fn continuous_and_multi_discrete_actions_are_split_per_env() -> anyhow::Result<()> {
    let disc = synthgym::env::Space::multi_discrete(vec![3, 4])?;
    let mut buf = ActionBuffer::new(&disc, 5)?;
    buf.sample(&disc, &mut rng_from_seed(0));
    let Actions::MultiDiscrete(flat) = buf.as_actions() else { panic!("kind") };
    assert_eq!(flat.len(), 10);
    for i in 0..5 {
        let Action::MultiDiscrete(a) = buf.as_actions().get(i, 2) else { panic!("kind") };
        assert_eq!(a, &flat[2 * i..2 * i + 2]);
        assert!(disc.contains_action(Action::MultiDiscrete(a)));
    }
    Ok(())
}

#[test]
fn physics_warehouse_batches_are_identical_across_backends() -> anyhow::Result<()> {
    let opts = MakeOptions::default();
    let id = "warehouse-physics-tiny-2ag-continuous-v0";
    let mut serial = make_vec(registry(), id, 3, Backend::Serial, AutoresetMode::SameStep, &opts)?;
    let mut threaded = make_vec(registry(), id, 3, Backend::Threaded { num_threads: 2 }, AutoresetMode::SameStep, &opts)?;
    let a = trajectory(serial.as_mut(), 4, 120)?;
    assert!(a == trajectory(threaded.as_mut(), 4, 120)?, "rapier steps are deterministic across threads");
    Ok(())
}

#[test]
fn backends_stay_identical_after_an_env_error() -> anyhow::Result<()> {
    // Regression: the serial backend used to stop at the first failing env while the
    // threaded one stepped the others, so the batches drifted apart after an error.
    let make = || -> Vec<Box<dyn Env>> {
        let mut envs = walkers(4);
        let mut failing = Walker::new(15);
        failing.error_on = Some(0);
        envs[1] = Box::new(failing);
        envs
    };
    let mut serial = SerialVecEnv::new(make(), AutoresetMode::NextStep)?;
    let mut threaded = ThreadedVecEnv::new(make(), 2, AutoresetMode::NextStep)?;
    serial.reset(Some(8))?;
    threaded.reset(Some(8))?;
    assert!(serial.step(Actions::Discrete(&[2, 0, 2, 2])).is_err());
    assert!(threaded.step(Actions::Discrete(&[2, 0, 2, 2])).is_err());
    for _ in 0..5 {
        let a = serial.step(Actions::Discrete(&[2, 1, 0, 2]))?.clone();
        let b = threaded.step(Actions::Discrete(&[2, 1, 0, 2]))?.clone();
        assert!(a == b);
    }
    Ok(())
}

/// A parallel env that hides whether it is a view of an `Env`: it has no
/// `step_as_env` fast path, so vector envs step it through its rows.
struct Opaque<P>(P);

impl<P: ParallelEnv> ParallelEnv for Opaque<P> {
    fn possible_agents(&self) -> &[String] {
        self.0.possible_agents()
    }
    fn observation_space(&self, agent: usize) -> Option<&synthgym::env::Space> {
        self.0.observation_space(agent)
    }
    fn action_space(&self, agent: usize) -> Option<&synthgym::env::Space> {
        self.0.action_space(agent)
    }
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&synthgym::env::ResetOptions>,
        out: &mut synthgym::env::AgentRows<'_>,
    ) -> Result<(), EnvError> {
        self.0.reset(seed, options, out)
    }
    fn step(&mut self, actions: &[Action<'_>], out: &mut synthgym::env::AgentRows<'_>) -> Result<(), EnvError> {
        self.0.step(actions, out)
    }
}

#[test]
fn the_one_agent_fast_path_matches_stepping_through_rows() -> anyhow::Result<()> {
    // Walkers end episodes often; CartPole (with the registry's wrappers) adds episode infos.
    let sources: [&dyn Fn() -> anyhow::Result<Box<dyn Env>>; 2] =
        [&|| Ok(Walker::boxed(9)), &|| Ok(registry().make("cartpole-v1", &MakeOptions::default())?)];
    for make in sources {
        for mode in [AutoresetMode::NextStep, AutoresetMode::SameStep, AutoresetMode::Disabled] {
            let fast = (0..4).map(|_| Ok(SingleAgent::new(make()?))).collect::<anyhow::Result<Vec<_>>>()?;
            let rows = (0..4).map(|_| Ok(Opaque(SingleAgent::new(make()?)))).collect::<anyhow::Result<Vec<_>>>()?;
            let reference = trajectory(&mut SerialVecEnv::from_agents(rows, mode)?, 7, 120)?;
            assert!(reference.iter().any(|b| b.terminated.iter().chain(&b.truncated).any(|&f| f)), "no episode ended");
            assert!(trajectory(&mut SerialVecEnv::from_agents(fast, mode)?, 7, 120)? == reference, "mode {mode:?}");
        }
    }
    Ok(())
}

/// `n` teams of three walkers (a `ParallelEnv` whose agents finish at different times).
fn teams(n: usize) -> Vec<Box<dyn ParallelEnv>> {
    (0..n).map(|_| Box::new(Walkers::new(3, 12)) as Box<dyn ParallelEnv>).collect()
}

fn build_teams(n: usize, threads: usize, mode: AutoresetMode) -> anyhow::Result<Box<dyn VecEnv>> {
    Ok(if threads == 0 {
        Box::new(SerialVecEnv::from_agents(teams(n), mode)?)
    } else {
        Box::new(ThreadedVecEnv::from_agents(teams(n), threads, mode)?)
    })
}

#[test]
fn agent_rows_are_bit_identical_across_backends() -> anyhow::Result<()> {
    for mode in [AutoresetMode::NextStep, AutoresetMode::SameStep, AutoresetMode::Disabled] {
        for n in [1, 3, 5] {
            let reference = trajectory(build_teams(n, 0, mode)?.as_mut(), 4, 80)?;
            assert_eq!(reference[0].num_rows(), 3 * n);
            for threads in [1, 2, 3] {
                let got = trajectory(build_teams(n, threads, mode)?.as_mut(), 4, 80)?;
                assert!(got == reference, "mode {mode:?}, {n} teams, {threads} threads");
            }
        }
    }
    Ok(())
}

#[test]
fn each_env_writes_its_own_rows_and_finished_agents_sit_out() -> anyhow::Result<()> {
    // Env 1 of a batch against the same team stepped alone with the same seed and actions.
    let mut venv = SerialVecEnv::from_agents(teams(2), AutoresetMode::Disabled)?;
    let mut lone = Walkers::new(3, 12);
    let mut buf = ParallelBuffers::for_env(&lone);
    venv.reset(Some(5))?;
    lone.reset(Some(env_seed(5, 1)), None, &mut buf.rows())?;
    let mut rng = rng_from_seed(9);
    let mut sat_out = 0;
    for _ in 0..12 {
        let acts: Vec<i64> = (0..6).map(|_| rand::Rng::random_range(&mut rng, 0..3)).collect();
        let acted = buf.active.clone();
        let rows = venv.step(Actions::Discrete(&acts))?;
        let per_agent: Vec<Action<'_>> = acts[3..].iter().map(|&a| Action::Discrete(a)).collect();
        lone.step(&per_agent, &mut buf.rows())?;
        assert_eq!(&rows.obs[9..18], buf.obs.as_slice(), "env 1's rows hold its agents' observations");
        assert_eq!(&rows.active[3..], buf.active.as_slice());
        for a in 0..3 {
            let r = 3 + a;
            assert_eq!(rows.rewards[r], buf.rewards[a]);
            if acted[a] {
                assert_eq!((rows.terminated[r], rows.truncated[r]), (buf.terminated[a], buf.truncated[a]));
            } else {
                // A finished agent's flags mark only the step it ended.
                sat_out += 1;
                assert_eq!((rows.rewards[r], rows.terminated[r], rows.truncated[r]), (0.0, false, false));
            }
        }
        assert_eq!(rows.env_done[1], buf.all_done());
        if buf.all_done() {
            break;
        }
    }
    assert!(sat_out > 0, "some agent finished before its team (seed 5, actions seed 9)");
    assert!(venv.buffers().env_done[1], "the team's episode ends by its time limit at the latest");
    // In Disabled mode a finished env sits out whole until reset_envs.
    let rows = venv.step(Actions::Discrete(&[1; 6]))?;
    assert!(rows.env_done[1] && rows.rewards[3..].iter().all(|&r| r == 0.0));
    assert!(!rows.terminated[3..].iter().chain(&rows.truncated[3..]).any(|&f| f));
    assert!(rows.infos[3..].iter().all(|i| i.is_empty()), "and reports no info, so no episode is counted twice");
    Ok(())
}

#[test]
fn same_step_keeps_each_agents_final_row_and_restarts_the_team() -> anyhow::Result<()> {
    let mut venv = SerialVecEnv::from_agents(teams(1), AutoresetMode::SameStep)?;
    venv.reset(Some(2))?;
    let (mut early, mut restarts) = (0, 0);
    for _ in 0..200 {
        let rows = venv.step(Actions::Discrete(&[2, 0, 2]))?.clone();
        for r in 0..3 {
            let ended = rows.terminated[r] || rows.truncated[r];
            assert_eq!(rows.has_final_obs[r], ended, "row {r}: a final observation exactly where its agent ended");
            if rows.terminated[r] {
                assert_eq!(rows.rewards[r], 1.0, "the final step's reward is kept through the reset");
                let last = &rows.final_obs[r * 3..(r + 1) * 3];
                assert_eq!(last[0], last[1], "the final observation is at the target");
            }
        }
        if rows.env_done[0] {
            restarts += 1;
            assert!(rows.active.iter().all(|&a| a), "every agent of the new episode is active");
            assert!((0..3).all(|r| rows.obs_of(r)[2] == 0.0), "obs holds the new episode's first observations");
        } else if rows.active.iter().any(|&a| !a) {
            early += 1;
        }
    }
    assert!(restarts > 3 && early > 0, "{restarts} restarts, {early} steps with an agent sitting out");
    Ok(())
}

#[test]
fn teams_must_agree_on_agents_and_spaces() {
    let mixed: Vec<Box<dyn ParallelEnv>> = vec![Box::new(Walkers::new(3, 12)), Box::new(Walkers::new(2, 12))];
    let err = SerialVecEnv::from_agents(mixed, AutoresetMode::SameStep).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("env 1 has 2 agents, env 0 has 3"), "{err}");
}
