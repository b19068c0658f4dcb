//! Learning: PPO and DQN make progress on CartPole, runs are deterministic,
//! checkpoints round-trip and resume, multi-agent parameter sharing and Gaussian
//! policies train, and the `train`/`eval` commands work end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use synthgym::env::vector::{AutoresetMode, Backend, SerialVecEnv, make_vec};
use synthgym::env::{MakeOptions, RandomPolicy};
use synthgym::rl::checkpoint;
use synthgym::rl::config::AgentsMode;
use synthgym::rl::train::{Learner, load_policy};
use synthgym::rl::{AgentBatch, TrainConfig, TrainRun, TrainSummary, evaluate};
use synthgym::scenes::registry;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgym-rl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn vec_batch(id: &str, n: usize) -> anyhow::Result<AgentBatch> {
    Ok(AgentBatch::new(make_vec(registry(), id, n, Backend::Serial, AutoresetMode::SameStep, &MakeOptions::default())?)?)
}

fn parallel_batch(id: &str, n: usize) -> anyhow::Result<AgentBatch> {
    let envs = (0..n).map(|_| registry().make_parallel(id, &MakeOptions::default())).collect::<Result<Vec<_>, _>>()?;
    Ok(AgentBatch::new(Box::new(SerialVecEnv::from_agents(envs, AutoresetMode::SameStep)?))?)
}

/// A config from `agents/<file>` with `key=value` overrides.
fn agent_config(file: &str, overrides: &[&str]) -> anyhow::Result<TrainConfig> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("agents").join(file);
    let text = std::fs::read_to_string(&path)?;
    let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
    Ok(TrainConfig::from_toml_with_overrides(&text, &path.display().to_string(), &overrides)?)
}

fn train(config: &TrainConfig, batch: &mut AgentBatch, eval: &mut AgentBatch, dir: &Path) -> anyhow::Result<(TrainRun, TrainSummary)> {
    let mut run = TrainRun::new(config.clone(), batch, &Device::Cpu, dir, None)?;
    let summary = run.run(batch, eval, &mut |_| {})?;
    Ok((run, summary))
}

fn random_return(id: &str, episodes: usize) -> anyhow::Result<f64> {
    let mut batch = vec_batch(id, 4)?;
    let mut policy = RandomPolicy::new(batch.action_space().clone(), 0);
    Ok(evaluate(&mut policy, &mut batch, episodes, 0)?.mean())
}

#[test]
fn ppo_learns_cartpole() -> anyhow::Result<()> {
    // agents/ppo-cartpole.toml solves CartPole (500) by about 15k steps on the dev
    // machine; 16k steps must at least be far beyond a random policy (about 22).
    let config = agent_config("ppo-cartpole.toml", &["total_steps=16384", "eval.every_steps=0", "eval.episodes=8"])?;
    let dir = temp_dir("ppo-learns");
    let (mut batch, mut eval) = (vec_batch("cartpole-v1", 8)?, vec_batch("cartpole-v1", 8)?);
    let (_, summary) = train(&config, &mut batch, &mut eval, &dir)?;
    let random = random_return("cartpole-v1", 16)?;
    assert!(random < 40.0, "random policy return {random}");
    assert!(summary.final_eval.mean() >= 200.0, "PPO reached only {:.1} after 16k steps", summary.final_eval.mean());
    assert_eq!(summary.global_step, 16384);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn dqn_learns_cartpole() -> anyhow::Result<()> {
    let config = agent_config("dqn-cartpole.toml", &["total_steps=16384", "eval.every_steps=2048", "eval.episodes=5"])?;
    let dir = temp_dir("dqn-learns");
    let (mut batch, mut eval) = (vec_batch("cartpole-v1", 1)?, vec_batch("cartpole-v1", 5)?);
    let (_, summary) = train(&config, &mut batch, &mut eval, &dir)?;
    let csv = std::fs::read_to_string(dir.join("metrics.csv"))?;
    let header: Vec<&str> = csv.lines().next().unwrap_or_default().split(',').collect();
    let col = header.iter().position(|h| *h == "eval_return_mean").ok_or_else(|| anyhow::anyhow!("no eval column: {header:?}"))?;
    let best = csv.lines().skip(1).filter_map(|l| l.split(',').nth(col)?.parse::<f64>().ok()).fold(0.0, f64::max);
    assert!(best >= 100.0, "DQN's best evaluation in 16k steps was {best:.1} (random is about 22)");
    assert!(summary.final_eval.returns.len() == 5);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn training_is_deterministic_for_a_seed() -> anyhow::Result<()> {
    let run = |seed: u64, name: &str| -> anyhow::Result<Vec<f32>> {
        let config =
            agent_config("ppo-cartpole.toml", &["total_steps=512", "eval.every_steps=0", "eval.episodes=2", &format!("seed={seed}")])?;
        let dir = temp_dir(name);
        let (mut batch, mut eval) = (vec_batch("cartpole-v1", 8)?, vec_batch("cartpole-v1", 2)?);
        train(&config, &mut batch, &mut eval, &dir)?;
        let ckpt = checkpoint::load(&dir, &Device::Cpu)?;
        let w = ckpt.tensors["actor.0.weight"].flatten_all()?.to_vec1::<f32>()?;
        std::fs::remove_dir_all(&dir)?;
        Ok(w)
    };
    let a = run(3, "det-a")?;
    assert_eq!(a, run(3, "det-b")?, "same seed, different weights");
    assert_ne!(a, run(4, "det-c")?, "different seeds, same weights");
    Ok(())
}

#[test]
fn checkpoints_round_trip_and_resume() -> anyhow::Result<()> {
    let config = agent_config("ppo-cartpole.toml", &["total_steps=1024", "eval.every_steps=0", "eval.episodes=4", "normalize_obs=true"])?;
    let dir = temp_dir("resume");
    let (mut batch, mut eval) = (vec_batch("cartpole-v1", 8)?, vec_batch("cartpole-v1", 4)?);
    let (mut run, _) = train(&config, &mut batch, &mut eval, &dir)?;
    // The loaded policy acts exactly as the one in memory.
    let in_memory = evaluate(run.learner.policy(true), &mut eval, 4, 99)?;
    let ckpt = checkpoint::load(&dir, &Device::Cpu)?;
    assert_eq!(ckpt.state.global_step, 1024);
    assert!(ckpt.tensors.contains_key("adam.m.actor.0.weight") && ckpt.tensors.contains_key("obs_rms.mean"));
    let mut loaded = load_policy(&ckpt, &eval, &Device::Cpu)?;
    assert_eq!(evaluate(loaded.policy(true), &mut eval, 4, 99)?, in_memory);
    // Resuming continues the counters and the optimiser.
    let mut resumed_config = ckpt.config.clone();
    resumed_config.total_steps = 2048;
    let mut resumed = TrainRun::new(resumed_config, &batch, &Device::Cpu, &dir, Some(&ckpt))?;
    assert_eq!(resumed.learner.global_step(), 1024);
    let summary = resumed.run(&mut batch, &mut eval, &mut |_| {})?;
    assert_eq!(summary.global_step, 2048);
    let after = checkpoint::load(&dir, &Device::Cpu)?;
    assert!(after.state.optimizer_steps > ckpt.state.optimizer_steps);
    assert_eq!(after.state.iteration, 8);
    // A damaged checkpoint is an error that names what is wrong.
    std::fs::write(dir.join("checkpoint/model.safetensors"), b"not a safetensors file")?;
    let err = checkpoint::load(&dir, &Device::Cpu).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("model.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn dqn_checkpoints_restore_the_target_network() -> anyhow::Result<()> {
    // The target never syncs during this run, so it stays apart from the online network.
    let config = agent_config(
        "dqn-cartpole.toml",
        &["total_steps=2048", "eval.every_steps=0", "eval.episodes=1", "dqn.target_update_interval=100000"],
    )?;
    let dir = temp_dir("dqn-target");
    let (mut batch, mut eval) = (vec_batch("cartpole-v1", 1)?, vec_batch("cartpole-v1", 1)?);
    let (run, _) = train(&config, &mut batch, &mut eval, &dir)?;
    let values = |t: std::collections::HashMap<String, candle_core::Tensor>| -> anyhow::Result<Vec<(String, Vec<f32>)>> {
        let mut v = t
            .into_iter()
            .map(|(k, t)| Ok((k, t.flatten_all()?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    };
    let Learner::Dqn(trained) = &run.learner else { anyhow::bail!("not DQN") };
    let target = values(trained.target_tensors())?;
    let restored = load_policy(&checkpoint::load(&dir, &Device::Cpu)?, &batch, &Device::Cpu)?;
    let Learner::Dqn(restored) = &restored else { anyhow::bail!("not DQN") };
    assert_eq!(values(restored.target_tensors())?, target, "the target network comes back as it was");
    let online: Vec<Vec<f32>> = values(trained.q.tensors()?)?.into_iter().map(|(_, v)| v).collect();
    assert!(target.iter().all(|(_, v)| !online.contains(v)), "the test needs a target apart from the online network");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn parameter_sharing_trains_one_row_per_agent() -> anyhow::Result<()> {
    let config = agent_config(
        "ppo-warehouse-grid.toml",
        &["total_steps=1024", "eval.every_steps=0", "eval.episodes=2", "num_envs=2", "ppo.num_steps=64", "env=warehouse-grid-tiny-2ag-v0"],
    )?;
    let (mut batch, mut eval) = (parallel_batch(&config.env, 2)?, parallel_batch(&config.env, 2)?);
    assert_eq!(batch.num_rows(), 4);
    let dir = temp_dir("shared");
    let (_, summary) = train(&config, &mut batch, &mut eval, &dir)?;
    assert_eq!(summary.global_step, 1024);
    // Warehouse episodes last 500 steps; evaluation finished two of them.
    assert_eq!(summary.final_eval.lengths, vec![500, 500]);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn joint_multi_discrete_and_gaussian_policies_train() -> anyhow::Result<()> {
    for (id, agents) in [("warehouse-grid-tiny-2ag-v0", "joint"), ("warehouse-physics-tiny-1ag-continuous-v0", "shared")] {
        let config = agent_config(
            "ppo-cartpole.toml",
            &[
                &format!("env={id}"),
                &format!("agents={agents}"),
                "total_steps=64",
                "num_envs=2",
                "ppo.num_steps=32",
                "ppo.minibatch_size=16",
                "ppo.update_epochs=2",
                "ppo.clip_vf=0.2",
                "ppo.target_kl=0.05",
                "normalize_obs=true",
                "eval.every_steps=0",
                "eval.episodes=1",
                "net.hidden=[16]",
            ],
        )?;
        let mut batch = if agents == "joint" { vec_batch(id, 2)? } else { parallel_batch(id, 2)? };
        let mut eval = if agents == "joint" { vec_batch(id, 1)? } else { parallel_batch(id, 1)? };
        let dir = temp_dir("heads");
        let (_, summary) = train(&config, &mut batch, &mut eval, &dir)?;
        assert_eq!(summary.global_step, 64, "{id}");
        let ckpt = checkpoint::load(&dir, &Device::Cpu)?;
        assert_eq!(ckpt.tensors.contains_key("log_std"), agents == "shared", "{id}: only the Gaussian head has log_std");
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

#[test]
fn double_dqn_on_shared_multi_agent_rows() -> anyhow::Result<()> {
    let config = agent_config(
        "dqn-cartpole.toml",
        &[
            "env=warehouse-grid-tiny-2ag-v0",
            "num_envs=2",
            "total_steps=1024",
            "dqn.learning_starts=256",
            "dqn.train_freq=128",
            "dqn.gradient_steps=4",
            "dqn.double_q=true",
            "eval.every_steps=0",
            "eval.episodes=2",
            "net.hidden=[32]",
        ],
    )?;
    let (mut batch, mut eval) = (parallel_batch(&config.env, 2)?, parallel_batch(&config.env, 2)?);
    let dir = temp_dir("ddqn");
    let (_, summary) = train(&config, &mut batch, &mut eval, &dir)?;
    assert_eq!(summary.global_step, 1024);
    let csv = std::fs::read_to_string(dir.join("metrics.csv"))?;
    let header: Vec<&str> = csv.lines().next().unwrap_or_default().split(',').collect();
    let col = header.iter().position(|h| *h == "loss").ok_or_else(|| anyhow::anyhow!("no loss column"))?;
    let losses: Vec<f64> = csv.lines().skip(1).filter_map(|l| l.split(',').nth(col)?.parse().ok()).collect();
    assert!(!losses.is_empty() && losses.iter().all(|l| l.is_finite()), "{losses:?}");
    let ckpt = checkpoint::load(&dir, &Device::Cpu)?;
    assert!(ckpt.state.next_target_update.is_some() && ckpt.tensors.contains_key("q.0.weight"));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn dqn_rejects_continuous_actions_by_name() -> anyhow::Result<()> {
    let config = agent_config("dqn-cartpole.toml", &["env=warehouse-physics-tiny-1ag-continuous-v0"])?;
    let batch = parallel_batch(&config.env, 1)?;
    let err = TrainRun::new(config, &batch, &Device::Cpu, &temp_dir("dqn-box"), None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("dqn does not support") && err.contains("Box"), "{err}");
    assert_eq!(AgentsMode::default(), AgentsMode::Shared);
    Ok(())
}

fn synthgym(args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_synthgym")).args(args).output()?;
    Ok((out.status.success(), String::from_utf8(out.stdout)?, String::from_utf8(out.stderr)?))
}

#[test]
fn train_and_eval_commands_end_to_end() -> anyhow::Result<()> {
    let dir = temp_dir("cli");
    let d = dir.to_string_lossy().into_owned();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("agents/ppo-cartpole.toml");
    let cfg = config.to_string_lossy().into_owned();
    let (ok, out, err) = synthgym(&["train", "--config", &cfg, "--total-steps", "512", "--run-dir", &d, "--set", "eval.episodes=2"])?;
    assert!(ok, "{err}");
    assert!(out.contains("cartpole-v1 ppo seed 1: 512 steps") && out.contains("final evaluation:"), "{out}");
    assert!(dir.join("checkpoint/model.safetensors").exists() && dir.join("checkpoint/config.toml").exists());
    let csv = std::fs::read_to_string(dir.join("metrics.csv"))?;
    assert!(csv.starts_with("step,episode_return,episode_length,eval_return_mean"), "{csv}");
    let event_file =
        std::fs::read_dir(&dir)?.filter_map(Result::ok).find(|e| e.file_name().to_string_lossy().starts_with("events.out.tfevents"));
    let scalars = synthgym::util::metrics::read_scalars(&event_file.ok_or_else(|| anyhow::anyhow!("no event file"))?.path())?;
    assert!(scalars.iter().any(|(_, tag, _)| tag == "policy_loss"));

    let (ok, out, err) = synthgym(&["eval", &d, "--episodes", "3"])?;
    assert!(ok, "{err}");
    assert!(out.starts_with("cartpole-v1 ppo") && out.contains("over 3 episodes"), "{out}");
    // Evaluation seeds: by default training seed 1 + 2^32 on; those training started from are refused.
    assert!(out.contains("env seeds 4294967297..=4294967299"), "{out}");
    let (ok, _, err) = synthgym(&["eval", &d, "--episodes", "3", "--seed", "0"])?;
    assert!(!ok && err.contains("--seed") && err.contains("overlap the seeds training started from (1..="), "{err}");
    let (ok, out, err) = synthgym(&["eval", &d, "--episodes", "3", "--seed", "123"])?;
    assert!(ok && out.contains("env seeds 123..=125"), "{err}");
    let (ok, out, _) = synthgym(&["eval", "--baseline", "random", "--env", "cartpole-v1", "--episodes", "4"])?;
    assert!(ok && out.contains("random: return"), "{out}");

    // A second run into the same directory is refused; --resume extends it.
    let (ok, _, err) = synthgym(&["train", "--config", &cfg, "--total-steps", "512", "--run-dir", &d])?;
    assert!(!ok && err.contains("already holds a run") && err.contains("--resume"), "{err}");
    let (ok, out, err) = synthgym(&["train", "--resume", &d, "--total-steps", "1024", "-q"])?;
    assert!(ok, "{err}");
    assert!(out.contains(": 1024 steps"), "{out}");
    // Resuming from the checkpoint directory itself continues the same run directory.
    let ckpt_dir = dir.join("checkpoint").to_string_lossy().into_owned();
    let (ok, _, err) = synthgym(&["train", "--resume", &ckpt_dir, "--total-steps", "1536", "-q"])?;
    assert!(ok, "{err}");
    assert!(!dir.join("checkpoint/checkpoint").exists() && !dir.join("checkpoint/metrics.csv").exists());
    assert_eq!(checkpoint::load(&dir, &Device::Cpu)?.state.global_step, 1536);

    // Bad config values name the file and the field.
    let (ok, _, err) = synthgym(&["train", "--config", &cfg, "--set", "ppo.gamma=2", "--run-dir", &format!("{d}-bad")])?;
    assert!(!ok && err.contains("ppo.gamma"), "{err}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
