//! Crash safety: commands killed (SIGKILL or SIGTERM of the process the user started) at
//! seeded random points leave the previous checkpoint or recording intact and loadable,
//! `--resume` continues, the metrics log never repeats or goes back, and no worker
//! process outlives the process the user started.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgym-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Starts the binary without the kernel-thread variables set, so that `train` and
/// `eval` restart themselves as a worker child, the case that must not leave orphans.
fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_synthgym"))
        .args(args)
        .env_remove("RAYON_NUM_THREADS")
        .env_remove("CANDLE_NUM_THREADS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start synthgym")
}

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_synthgym")).args(args).output().expect("run synthgym");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The processes whose parent is `pid` (from /proc: the kernel's own view).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| stat(*p).is_some_and(|(_, ppid)| ppid == pid))
        .collect()
}

/// (state, parent pid) of `pid`, or `None` once it is gone.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; the fields after it are plain.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// Whether `pid` has exited (gone, or a zombie nobody has reaped yet).
fn exited(pid: u32) -> bool {
    stat(pid).is_none_or(|(state, _)| state == 'Z' || state == 'X')
}

fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ok()
}

/// Kills `child` (SIGKILL, or SIGTERM through kill(1)) and checks its workers follow it.
fn kill_and_check_workers(child: &mut Child, term: bool) -> Result<(), String> {
    let workers = children_of(child.id());
    if term {
        // The shell's own kill, so that no procps binary is needed.
        Command::new("sh").args(["-c", "kill -TERM \"$0\"", &child.id().to_string()]).status().map_err(|e| e.to_string())?;
    } else {
        child.kill().map_err(|e| e.to_string())?;
    }
    child.wait().map_err(|e| e.to_string())?;
    for w in workers {
        if !wait_until(Duration::from_secs(5), || exited(w)) {
            // Don't leave it running past the test either.
            let _ = Command::new("sh").args(["-c", "kill -KILL \"$0\"", &w.to_string()]).status();
            return Err(format!("worker {w} outlived its parent {} by 5 s", child.id()));
        }
    }
    Ok(())
}

/// The step column of metrics.csv.
fn steps(run_dir: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap_or_default();
    text.lines().skip(1).filter_map(|l| l.split(',').next()?.parse().ok()).collect()
}

fn checkpoint_step(run_dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(run_dir.join("checkpoint/state.toml")).ok()?;
    let line = text.lines().find(|l| l.starts_with("global_step"))?;
    line.split('=').nth(1)?.trim().parse().ok()
}

#[test]
fn killed_training_keeps_its_checkpoint_resumes_and_leaves_no_worker() {
    let dir = temp("train");
    let run_dir = dir.join("run");
    let rd = run_dir.to_string_lossy().into_owned();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // A checkpoint every 1024 steps (four PPO iterations of ppo-cartpole), several a second.
    let common = ["--total-steps", "400000", "-q", "--set", "checkpoint.every_steps=1024", "--set", "eval.every_steps=0"];
    let mut first: Vec<&str> = vec!["train", "cartpole-v1", "--run-dir", &rd];
    first.extend_from_slice(&common);
    for round in 0..4 {
        let resume: Vec<&str> = ["train", "--resume", rd.as_str()].into_iter().chain(common).collect();
        let mut child = start(if round == 0 { &first } else { &resume });
        let before = checkpoint_step(&run_dir).unwrap_or(0);
        assert!(
            wait_until(Duration::from_secs(120), || checkpoint_step(&run_dir).is_some_and(|s| s > before)),
            "round {round}: no new checkpoint past step {before}"
        );
        // A random point after a checkpoint: during training, writing metrics or checkpointing.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..400)));
        kill_and_check_workers(&mut child, round % 2 == 1).unwrap_or_else(|e| panic!("round {round}: {e}"));
        // Loading first: it also undoes a swap the kill cut between its two renames.
        let (ok, err) = run(&["eval", &rd, "--episodes", "1"]);
        assert!(ok, "round {round}: the checkpoint does not load after the kill: {err}");
        assert!(checkpoint_step(&run_dir).is_some(), "round {round}: checkpoint/state.toml is gone");
        // Only the run's own files are visible; a half-written checkpoint may only be left
        // under a hidden temporary name.
        let unexpected: Vec<String> = std::fs::read_dir(&run_dir)
            .expect("run dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                !(n == "checkpoint" || n == "metrics.csv" || n.starts_with("events.out.tfevents.") || n.starts_with(".checkpoint."))
            })
            .collect();
        assert!(unexpected.is_empty(), "round {round}: unexpected files in the run directory: {unexpected:?}");
    }
    // A final resume runs to its end, and the log's steps never repeat or go back.
    let step = checkpoint_step(&run_dir).expect("checkpoint");
    let total = (step + 2048).to_string();
    let (ok, err) = run(&["train", "--resume", &rd, "--total-steps", &total, "-q", "--set", "eval.episodes=1"]);
    assert!(ok, "{err}");
    let logged = steps(&run_dir);
    assert!(logged.windows(2).all(|w| w[0] <= w[1]), "metrics.csv steps go back after a resume: {logged:?}");
    assert_eq!(logged.last().copied(), Some(step + 2048));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_recording_leaves_the_previous_file_intact() {
    let dir = temp("record");
    let file = dir.join("eval.episodes");
    let f = file.to_string_lossy().into_owned();
    // Random actions on the highway: slow enough per episode that the kill lands mid-run.
    let record = |episodes: &str| {
        ["eval", "--env", "driving-highway-v0", "--baseline", "random", "--episodes", episodes, "--record", &f].map(str::to_owned)
    };
    let (ok, err) = run(&record("1").each_ref().map(String::as_str));
    assert!(ok, "{err}");
    let original = std::fs::read(&file).expect("recording");
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for round in 0..3 {
        let mut child = start(&record("2000").each_ref().map(String::as_str));
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
        let finished = child.try_wait().ok().flatten().is_some();
        kill_and_check_workers(&mut child, round == 1).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(!finished, "round {round}: the recording finished before the kill; the test needs a longer one");
        assert!(std::fs::read(&file).expect("recording") == original, "round {round}: the previous recording changed");
        let (ok, err) = run(&["replay", &f, "--verify"]);
        assert!(ok, "round {round}: {err}");
        let names: Vec<String> =
            std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| n == "eval.episodes" || n.starts_with('.')), "round {round}: a visible partial file: {names:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
