//! Wrappers behave like their Gymnasium namesakes.

use synthgym::env::wrappers::{EpisodeStatistics, NormalizeObservation, OrderEnforcing, TimeLimit};
use synthgym::env::{Action, Env, EnvError};

use crate::toy::Walker;

#[test]
fn time_limit_truncates_and_resets_its_count() -> anyhow::Result<()> {
    let mut env = TimeLimit::new(Walker::new(u64::MAX), 4)?;
    let mut obs = [0.0; 3];
    env.reset(Some(1), None, &mut obs)?;
    let mut ends = Vec::new();
    for _ in 0..4 {
        let out = env.step(Action::Discrete(1), &mut obs)?; // "stay" never reaches the target
        ends.push((out.terminated, out.truncated));
    }
    assert_eq!(ends, [(false, false), (false, false), (false, false), (false, true)]);
    env.reset(None, None, &mut obs)?;
    assert_eq!(env.elapsed_steps(), 0);
    assert!(TimeLimit::new(Walker::new(1), 0).is_err());
    Ok(())
}

#[test]
fn episode_statistics_report_return_and_length_on_the_last_step() -> anyhow::Result<()> {
    let mut env = EpisodeStatistics::new(TimeLimit::new(Walker::new(u64::MAX), 1000)?, 2);
    let mut obs = [0.0; 3];
    for episode in 0..3 {
        env.reset(Some(episode), None, &mut obs)?;
        let (mut total, mut len) = (0.0f64, 0u64);
        loop {
            // Walk towards the target.
            let a = if obs[1] > obs[0] { 2 } else { 0 };
            let out = env.step(Action::Discrete(a), &mut obs)?;
            total += out.reward as f64;
            len += 1;
            if out.done() {
                let stats = out.info.episode.ok_or_else(|| anyhow::anyhow!("no stats on the last step"))?;
                assert_eq!(stats.length, len);
                assert!((stats.episode_return - total).abs() < 1e-12);
                assert!(stats.elapsed_s >= 0.0);
                break;
            }
            assert!(out.info.episode.is_none(), "stats only on the last step");
        }
    }
    assert_eq!(env.episode_count(), 3);
    assert_eq!(env.recent().len(), 2, "keeps only the last buffer_length episodes");
    Ok(())
}

#[test]
fn normalize_observation_standardises_with_running_statistics() -> anyhow::Result<()> {
    let mut env = NormalizeObservation::new(Walker::new(u64::MAX))?;
    let mut raw_env = Walker::new(u64::MAX);
    let (mut obs, mut raw) = ([0.0f32; 3], [0.0f32; 3]);
    env.reset(Some(2), None, &mut obs)?;
    raw_env.reset(Some(2), None, &mut raw)?;
    let mut seen = vec![raw.to_vec()];
    for t in 0..200 {
        let a = Action::Discrete(t % 3);
        env.step(a, &mut obs)?;
        raw_env.step(a, &mut raw)?;
        seen.push(raw.to_vec());
    }
    // Gymnasium's estimate: count starts at 1e-4 with mean 0 and variance 1.
    let n = seen.len() as f64;
    for d in 0..3 {
        let mean = seen.iter().map(|x| x[d] as f64).sum::<f64>() / n;
        let var = seen.iter().map(|x| (x[d] as f64 - mean).powi(2)).sum::<f64>() / n;
        let (m, v) = (env.stats().mean[d], env.stats().var[d]);
        assert!((m - mean).abs() < 1e-3 * (1.0 + mean.abs()), "dim {d}: mean {m} vs {mean}");
        assert!((v - var).abs() < 1e-2 * (1.0 + var), "dim {d}: var {v} vs {var}");
        let expected = ((raw[d] as f64 - m) / (v + 1e-8).sqrt()) as f32;
        assert!((obs[d] - expected).abs() < 1e-5, "dim {d}: {} vs {expected}", obs[d]);
    }
    // Frozen statistics stop changing.
    env.set_update(false);
    let before = env.stats().clone();
    env.step(Action::Discrete(2), &mut obs)?;
    assert_eq!(env.stats(), &before);
    assert!(env.observation_space().contains_flat(&obs));
    Ok(())
}

#[test]
fn order_enforcing_requires_a_reset_first() -> anyhow::Result<()> {
    let mut env = OrderEnforcing::new(Walker::new(10));
    let mut obs = [0.0; 3];
    assert_eq!(env.step(Action::Discrete(1), &mut obs), Err(EnvError::ResetNeeded));
    env.reset(None, None, &mut obs)?;
    assert!(env.has_reset());
    env.step(Action::Discrete(1), &mut obs)?;
    Ok(())
}
