//! Episode files: round trips, version and damage errors, exact re-simulation of every
//! env family, divergence reports, and the `eval --record` / `replay` commands.

use std::path::PathBuf;
use std::process::Command;

use synthgym::env::{MakeOptions, RandomPolicy};
use synthgym::replay::{ActionLog, Branch, FORMAT_VERSION, RecordEnv, Recording, ReplayError, read, record, resimulate, write};
use synthgym::scenes::registry;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("synthgym-replay-{}-{name}", std::process::id()))
}

fn env_for(id: &str, multi: bool) -> anyhow::Result<RecordEnv> {
    Ok(if multi {
        RecordEnv::multi(registry().make_parallel(id, &MakeOptions::default())?)
    } else {
        RecordEnv::single(registry().make(id, &MakeOptions::default())?)
    })
}

fn recording(id: &str, multi: bool, episodes: u64, max_steps: usize) -> anyhow::Result<Recording> {
    let mut env = env_for(id, multi)?;
    let space = env.action_space().cloned().ok_or_else(|| anyhow::anyhow!("no agents"))?;
    let mut policy = RandomPolicy::new(space, 7);
    let seeds: Vec<u64> = (0..episodes).map(|k| 100 + k).collect();
    let logs = record(&mut env, &mut policy, &seeds, max_steps)?;
    Ok(Recording {
        format_version: FORMAT_VERSION,
        synthgym_version: "test".into(),
        env: id.into(),
        scene: None,
        policy: "random".into(),
        agents: env.agents(),
        multi_agent: multi,
        episodes: logs,
    })
}

#[test]
fn every_env_family_resimulates_exactly() -> anyhow::Result<()> {
    for (id, multi) in [
        ("cartpole-v1", false),
        ("warehouse-grid-tiny-2ag-v0", true),
        ("warehouse-grid-tiny-2ag-v0", false),
        ("warehouse-physics-tiny-2ag-v0", true),
        ("warehouse-physics-tiny-1ag-continuous-v0", true),
        ("driving-highway-v0", true),
        ("driving-intersection-v0", false),
        ("driving-parking-v0", true),
    ] {
        let rec = recording(id, multi, 2, 40)?;
        assert_eq!(rec.episodes.len(), 2);
        assert!(rec.episodes.iter().all(|e| !e.steps.is_empty() && !e.initial.objects.is_empty()), "{id}: empty episode or scene");
        resimulate(&mut env_for(id, multi)?, &rec.episodes).map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
    }
    Ok(())
}

#[test]
fn a_changed_action_is_reported_at_its_step() -> anyhow::Result<()> {
    let mut rec = recording("warehouse-grid-tiny-2ag-v0", true, 1, 60)?;
    // Find a step where changing robot 0's action changes what happens, and check that
    // re-simulation names that step (steps count from 1; 0 is the reset).
    let original = rec.episodes[0].steps.clone();
    for t in 0..original.len() {
        rec.episodes[0].steps = original.clone();
        if let ActionLog::Discrete(a) = &mut rec.episodes[0].steps[t].actions[0] {
            *a = (*a + 1) % 5;
        }
        match resimulate(&mut env_for("warehouse-grid-tiny-2ag-v0", true)?, &rec.episodes) {
            Err(ReplayError::Diverged { episode: 0, step, .. }) => {
                assert_eq!(step, t + 1);
                return Ok(());
            }
            Ok(()) => {}
            Err(other) => anyhow::bail!("unexpected error {other}"),
        }
    }
    anyhow::bail!("no single changed action made the episode diverge")
}

#[test]
fn a_branch_replays_the_recording_to_its_step_then_takes_new_actions() -> anyhow::Result<()> {
    let id = "driving-highway-2ag-v0";
    let rec = recording(id, true, 1, 30)?;
    let episode = &rec.episodes[0];
    // Branching at the end with the recorded actions gives the recording back.
    let whole = Branch::start(env_for(id, true)?, episode, episode.steps.len())?;
    assert_eq!(whole.log().steps, episode.steps);
    // A branch at step 10 that keeps agent 1's recorded actions and idles agent 0 (IDLE = 1).
    let mut branch = Branch::start(env_for(id, true)?, episode, 10)?;
    assert_eq!(branch.from_step(), 10);
    for t in 10..20 {
        let mut actions = episode.steps[t].actions.clone();
        actions[0] = ActionLog::Discrete(1);
        if branch.is_over() {
            break;
        }
        branch.step(&actions)?;
    }
    let log = branch.into_log();
    assert_eq!(log.steps[..10], episode.steps[..10]);
    assert!(log.steps.len() > 10);
    // The branch is an ordinary episode: it re-simulates exactly.
    resimulate(&mut env_for(id, true)?, std::slice::from_ref(&log))?;
    // A recording that does not match the env is refused at the first differing scene.
    let mut wrong = episode.clone();
    wrong.steps[4].snapshot.objects[0].position[0] += 1.0;
    match Branch::start(env_for(id, true)?, &wrong, 8) {
        Err(ReplayError::Diverged { step: 5, .. }) => {}
        Err(other) => anyhow::bail!("unexpected error {other}"),
        Ok(_) => anyhow::bail!("a differing scene was not noticed"),
    }
    assert!(Branch::start(env_for(id, true)?, episode, episode.steps.len() + 1).is_err(), "past the end");
    Ok(())
}

#[cfg(not(feature = "viewer"))]
#[test]
fn replay_in_a_build_without_the_viewer_says_how_to_get_it() -> anyhow::Result<()> {
    let path = temp("noviewer.episodes");
    let p = path.to_string_lossy().into_owned();
    let bin = env!("CARGO_BIN_EXE_synthgym");
    let out = Command::new(bin)
        .args(["eval", "--baseline", "scripted", "--env", "warehouse-grid-tiny-2ag-v0", "-n", "1", "--record", &p])
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin).args(["replay", &p]).output()?;
    let err = String::from_utf8(out.stderr)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("--features viewer") && err.contains("--verify"), "{err}");
    std::fs::remove_file(&path)?;
    Ok(())
}

#[test]
fn files_round_trip_in_binary_and_json() -> anyhow::Result<()> {
    let rec = recording("driving-highway-v0", true, 1, 10)?;
    for name in ["a.episodes", "a.json"] {
        let path = temp(name);
        write(&path, &rec)?;
        assert_eq!(read(&path)?, rec, "{name}");
        std::fs::remove_file(&path)?;
    }
    // No temporary files are left next to the output.
    let leftovers = std::fs::read_dir(std::env::temp_dir())?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(&format!("replay-{}-a.episodes.tmp", std::process::id())))
        .count();
    assert_eq!(leftovers, 0);
    Ok(())
}

#[test]
fn damaged_or_foreign_files_give_clear_errors() -> anyhow::Result<()> {
    let rec = recording("cartpole-v1", false, 1, 20)?;
    let path = temp("damaged.episodes");
    write(&path, &rec)?;
    let bytes = std::fs::read(&path)?;
    let err_of = |data: &[u8]| -> anyhow::Result<String> {
        std::fs::write(&path, data)?;
        Ok(read(&path).err().map(|e| e.to_string()).unwrap_or_default())
    };
    // Another version.
    let mut other = bytes.clone();
    other[8..12].copy_from_slice(&99u32.to_le_bytes());
    let err = err_of(&other)?;
    assert!(err.contains("episode format version 99") && err.contains("reads version 1") && err.contains("damaged.episodes"), "{err}");
    // Truncated.
    let err = err_of(&bytes[..bytes.len() - 10])?;
    assert!(err.contains("truncated") && err.contains("10 bytes missing"), "{err}");
    // A flipped payload byte.
    let mut flipped = bytes.clone();
    flipped[30] ^= 0xff;
    assert!(err_of(&flipped)?.contains("checksum mismatch"));
    // A crafted length must not overflow or slice out of range; trailing bytes are corruption.
    let mut crafted = bytes[..20].to_vec();
    crafted[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    crafted.extend_from_slice(&[0; 8]);
    assert!(err_of(&crafted)?.contains("impossible payload length"));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(err_of(&trailing)?.contains("1 unexpected bytes after the checksum"));
    assert!(err_of(&bytes[..15])?.contains("truncated"));
    // Not an episode file at all, and JSON from another version.
    assert!(err_of(b"hello")?.contains("not a synthgym episode file"));
    assert!(err_of(br#"{"format_version": 2, "episodes": []}"#)?.contains("episode format version 2"));
    std::fs::remove_file(&path)?;
    Ok(())
}

#[test]
fn eval_records_and_replay_verifies() -> anyhow::Result<()> {
    let path = temp("cli.episodes");
    let p = path.to_string_lossy().into_owned();
    let bin = env!("CARGO_BIN_EXE_synthgym");
    let out = Command::new(bin)
        .args(["eval", "--baseline", "scripted", "--env", "warehouse-grid-tiny-2ag-v0", "-n", "2", "--record", &p])
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin).args(["replay", &p, "--verify"]).output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(out.status.success() && text.contains("scripted on warehouse-grid-tiny-2ag-v0 (2 agent(s)), 2 episode(s)"), "{text}");
    assert!(text.contains("all 2 episode(s) reproduce exactly"), "{text}");
    // A recording cut short (its last step removed) no longer passes.
    let full = read(&path)?;
    let mut cut = full.clone();
    cut.episodes[0].steps.pop();
    let steps = cut.episodes[0].steps.len();
    let err = resimulate(&mut env_for("warehouse-grid-tiny-2ag-v0", true)?, &cut.episodes).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains(&format!("episode 0 diverges at step {steps}")) && err.contains("goes on"), "{err}");
    // A recording whose rewards were tampered with fails verification with exit code 2.
    let mut rec = read(&path)?;
    rec.episodes[1].steps[3].rewards[0] += 1.0;
    write(&path, &rec)?;
    let out = Command::new(bin).args(["replay", &p, "--verify"]).output()?;
    let err = String::from_utf8(out.stderr)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("episode 1 diverges at step 4"), "{err}");
    std::fs::remove_file(&path)?;
    Ok(())
}
