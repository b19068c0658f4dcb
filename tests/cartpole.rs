//! CartPole-v1 against Gymnasium 1.4: the transitions in `tests/data/cartpole_gymnasium.csv`
//! were recorded by `tests/data/gen_cartpole_golden.py`.

use synthgym::env::{Action, Env, EnvError, ResetOptions};
use synthgym::scenes::cartpole::CartPole;

struct Row {
    traj: u32,
    state: [f64; 4],
    action: i64,
    obs: [f32; 4],
    reward: f32,
    terminated: bool,
}

fn golden() -> anyhow::Result<Vec<Row>> {
    let text = include_str!("data/cartpole_gymnasium.csv");
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        anyhow::ensure!(f.len() == 12, "line {}: {} fields", n + 1, f.len());
        let num = |i: usize| -> anyhow::Result<f64> { Ok(f[i].parse::<f64>()?) };
        rows.push(Row {
            traj: f[0].parse()?,
            state: [num(1)?, num(2)?, num(3)?, num(4)?],
            action: f[5].parse()?,
            obs: [num(6)? as f32, num(7)? as f32, num(8)? as f32, num(9)? as f32],
            reward: num(10)? as f32,
            terminated: f[11] == "1",
        });
    }
    Ok(rows)
}

#[test]
fn single_transitions_match_gymnasium_bit_for_bit() -> anyhow::Result<()> {
    let rows = golden()?;
    assert!(rows.len() > 800);
    let mut env = CartPole::new();
    let mut obs = [0.0f32; 4];
    env.reset(Some(0), None, &mut obs)?;
    for (i, row) in rows.iter().enumerate() {
        let first_of_traj = i == 0 || rows[i - 1].traj != row.traj;
        // Gymnasium continues from its own state; set ours to it before every step, and
        // only reset the post-termination counter at the start of each trajectory.
        if first_of_traj {
            env.set_state(row.state);
        }
        assert_eq!(env.state(), Some(row.state), "row {i}: trajectories diverged in f64");
        let out = env.step(Action::Discrete(row.action), &mut obs)?;
        assert_eq!(obs, row.obs, "row {i}");
        assert_eq!((out.reward, out.terminated, out.truncated), (row.reward, row.terminated, false), "row {i}");
    }
    let terminal_rows = rows.iter().filter(|r| r.terminated).count();
    let zero_reward_rows = rows.iter().filter(|r| r.reward == 0.0).count();
    assert!(terminal_rows > 40 && zero_reward_rows > 40, "the data covers termination and steps after it");
    Ok(())
}

#[test]
fn reset_draws_the_initial_state_from_the_seed_within_bounds() -> anyhow::Result<()> {
    let mut env = CartPole::new();
    let mut a = [0.0f32; 4];
    let mut b = [0.0f32; 4];
    env.reset(Some(5), None, &mut a)?;
    assert!(a.iter().all(|x| x.abs() <= 0.05), "{a:?}");
    env.reset(Some(5), None, &mut b)?;
    assert_eq!(a, b);
    env.reset(None, None, &mut b)?;
    assert_ne!(a, b, "an unseeded reset continues the stream");
    env.reset(Some(6), None, &mut b)?;
    assert_ne!(a, b);

    let wide = ResetOptions::new().with("low", 0.1).with("high", 0.2);
    for _ in 0..20 {
        env.reset(None, Some(&wide), &mut a)?;
        assert!(a.iter().all(|&x| (0.1..=0.2).contains(&x)), "{a:?}");
    }
    Ok(())
}

#[test]
fn bad_reset_options_and_actions_are_errors() {
    let mut env = CartPole::new();
    let mut obs = [0.0f32; 4];
    let typo = ResetOptions::new().with("lo", 0.1);
    assert!(matches!(env.reset(None, Some(&typo), &mut obs), Err(EnvError::InvalidOption { key, .. }) if key == "lo"));
    let inverted = ResetOptions::new().with("low", 0.3).with("high", 0.2);
    assert!(matches!(env.reset(None, Some(&inverted), &mut obs), Err(EnvError::InvalidOption { .. })));
    assert_eq!(env.step(Action::Discrete(0), &mut obs), Err(EnvError::ResetNeeded));
    assert!(env.reset(Some(0), None, &mut obs).is_ok());
    assert!(matches!(env.step(Action::Discrete(2), &mut obs), Err(EnvError::InvalidAction { .. })));
    assert!(matches!(env.step(Action::Continuous(&[1.0]), &mut obs), Err(EnvError::InvalidAction { .. })));
    let mut short = [0.0f32; 3];
    assert!(matches!(env.step(Action::Discrete(1), &mut short), Err(EnvError::BufferSize { .. })));
}
