//! Fuzzing every input through the binary, as a user's typo, a truncated copy or a
//! script's bad value would: seeded mutations of every shipped scene file and agent
//! config, `--set` extremes, and damaged checkpoints and episode files. Every run must
//! exit 0, or exit 2 with an `error:` line, within a time bound: never a panic, an
//! allocation abort, a signal or a hang. The corpus is regenerated from fixed seeds, so
//! a failure names a case that reproduces. `SYNTHGYM_FUZZ_SCALE=10` runs ten times as many
//! mutations of each file (the `--set` grid stays as it is).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Values a script or a typo puts where a number belongs.
const EXTREMES: [&str; 16] = [
    "0",
    "-1",
    "nan",
    "inf",
    "-inf",
    "1e9",
    "1e308",
    "-1e308",
    "1000000000",
    "4294967297",
    "18446744073709551615",
    "0.0000001",
    "\"\"",
    "[]",
    "true",
    "\"x\"",
];

/// Longest a case may run: far past what a refused or tiny run takes in a debug build.
const TIME_BOUND: Duration = Duration::from_secs(120);

/// Mutations per file are multiplied by `SYNTHGYM_FUZZ_SCALE` (default 1) for deeper
/// local runs; CI runs the default corpus.
fn scale() -> usize {
    std::env::var("SYNTHGYM_FUZZ_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgym-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs the binary on `args`; `Err` describes how the case broke the rules.
fn run_case(label: &str, args: &[OsString]) -> Result<(i32, String), String> {
    run_program(env!("CARGO_BIN_EXE_synthgym"), label, args, TIME_BOUND)
}

/// [`run_case`] for any program and time bound.
fn run_program(program: &str, label: &str, args: &[OsString], bound: Duration) -> Result<(i32, String), String> {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{label}: cannot start: {e}"))?;
    // stderr is read on a thread so that a chatty child cannot block on a full pipe.
    let mut pipe = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut pipe, &mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("{label}: {e}"))? {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{label}: still running after {bound:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = reader.join().unwrap_or_default();
    let tail = || stderr.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n    ");
    if stderr.contains("panicked at") || stderr.contains("memory allocation of") {
        return Err(format!("{label}: crashed:\n    {}", tail()));
    }
    match status.code() {
        Some(0) => Ok((0, stderr)),
        Some(2) if stderr.lines().any(|l| l.starts_with("error: ")) => Ok((2, stderr)),
        Some(code) => Err(format!("{label}: exit {code} without a clean error:\n    {}", tail())),
        None => Err(format!("{label}: killed by a signal ({status}):\n    {}", tail())),
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The byte spans of the number literals in `text`.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit() && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if starts {
            let start = if i > 0 && bytes[i - 1] == b'-' { i - 1 } else { i };
            let mut end = i;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || b".eE_".contains(&bytes[end])) {
                end += 1;
            }
            spans.push((start, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// One seeded mutation of a text file: mostly a number replaced by an extreme, else a
/// line deleted or duplicated, the file cut short, or a stray (possibly non-UTF-8) byte.
fn mutate_text(text: &str, rng: &mut ChaCha8Rng) -> (String, Vec<u8>) {
    let spans = numbers(text);
    let choice = rng.random_range(0..10);
    if choice < 6 && !spans.is_empty() {
        let (a, b) = spans[rng.random_range(0..spans.len())];
        let value = EXTREMES[rng.random_range(0..EXTREMES.len())];
        let line = text[..a].matches('\n').count() + 1;
        return (format!("line {line}: {} -> {value}", &text[a..b]), [&text[..a], value, &text[b..]].concat().into_bytes());
    }
    let lines: Vec<&str> = text.lines().collect();
    match choice {
        6 if !lines.is_empty() => {
            let k = rng.random_range(0..lines.len());
            let kept: Vec<&str> = lines.iter().enumerate().filter(|&(i, _)| i != k).map(|(_, l)| *l).collect();
            (format!("line {} deleted", k + 1), kept.join("\n").into_bytes())
        }
        7 if !lines.is_empty() => {
            let k = rng.random_range(0..lines.len());
            let mut copy = lines.clone();
            copy.insert(k, lines[k]);
            (format!("line {} duplicated", k + 1), copy.join("\n").into_bytes())
        }
        8 => {
            let cut = rng.random_range(0..=text.len());
            (format!("cut at byte {cut}"), text.as_bytes()[..cut].to_vec())
        }
        _ => {
            let at = rng.random_range(0..=text.len());
            let byte = [0xff, 0x00, b'"', b'[', b'=', b'\n'][rng.random_range(0..6)];
            let mut bytes = text.as_bytes().to_vec();
            bytes.insert(at, byte);
            (format!("byte {byte:#04x} inserted at {at}"), bytes)
        }
    }
}

/// Damages a binary file: bytes flipped, the file cut short, or its length field changed.
fn mutate_bytes(bytes: &[u8], rng: &mut ChaCha8Rng) -> (String, Vec<u8>) {
    let mut out = bytes.to_vec();
    match rng.random_range(0..4) {
        0 | 1 => {
            let flips = rng.random_range(1..=4);
            for _ in 0..flips {
                let i = rng.random_range(0..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
            (format!("{flips} bit(s) flipped"), out)
        }
        2 => {
            let cut = rng.random_range(0..out.len());
            out.truncate(cut);
            (format!("cut at byte {cut}"), out)
        }
        _ => {
            let value: u64 = [0, 1, 7, u64::MAX, 1 << 40][rng.random_range(0..5)];
            let at = rng.random_range(0..out.len().saturating_sub(8).max(1));
            out.splice(at..(at + 8).min(bytes.len()), value.to_le_bytes());
            (format!("u64 {value} written at {at}"), out)
        }
    }
}

fn shipped(dir: &str, prefix: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("shipped dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.ends_with(".toml") && prefix.iter().any(|x| name.starts_with(x))
        })
        .collect();
    files.sort();
    files
}

fn report(failures: &[String], cases: usize, refused: usize) {
    eprintln!(
        "{cases} cases: {refused} refused with an error, {} ran, {} broke the rules",
        cases - refused - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {cases} fuzz cases broke the rules:\n{}", failures.len(), failures.join("\n"));
    // The corpus must reach validation, not only the parser's first line.
    assert!(refused > 0 && refused < cases, "{refused} of {cases} cases refused: the mutations do not exercise both paths");
}

#[test]
fn the_harness_tells_clean_errors_from_crashes() {
    let case = |script: &str| run_program("sh", script, &os(&["-c", script]), Duration::from_secs(2));
    assert_eq!(case("exit 0").map(|r| r.0), Ok(0));
    assert_eq!(case("echo 'error: bad field' >&2; exit 2").map(|r| r.0), Ok(2));
    for crash in [
        "kill -SEGV $$",
        "kill -ABRT $$",
        "echo \"thread 'main' panicked at src/x.rs:1:1\" >&2; exit 101",
        "echo 'memory allocation of 8 bytes failed' >&2; exit 2",
        "exit 2",
        "exit 1",
        "sleep 5",
    ] {
        assert!(case(crash).is_err(), "{crash} passed as clean");
    }
}

#[test]
fn mutated_scene_files_run_or_are_refused_cleanly() {
    let dir = temp("scenes");
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let (mut failures, mut cases, mut refused) = (Vec::new(), 0, 0);
    for file in shipped("scenes", &[""]) {
        let text = std::fs::read_to_string(&file).expect("scene");
        for k in 0..16 * scale() {
            let (what, bytes) = mutate_text(&text, &mut rng);
            let path = dir.join(format!("{k}-{}", file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
            std::fs::write(&path, &bytes).expect("write");
            let label = format!("bench {} ({what})", file.display());
            cases += 1;
            match run_case(&label, &os(&["bench", &path.to_string_lossy(), "--seconds", "0.02", "--num-envs", "2"])) {
                Ok((code, _)) => refused += usize::from(code == 2),
                Err(e) => failures.push(e),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    report(&failures, cases, refused);
}

/// A `train` command line on `config` that stays small whatever the config says.
fn small_train(config: &Path, run_dir: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args = os(&["train", "--config"]);
    args.push(config.into());
    args.extend(os(&["--total-steps", "64", "-q", "--set", "eval.episodes=1", "--set", "eval.every_steps=0", "--run-dir"]));
    args.push(run_dir.into());
    args.extend(extra.iter().map(OsString::from));
    args
}

#[test]
fn mutated_agent_configs_train_or_are_refused_cleanly() {
    let dir = temp("agents");
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let (mut failures, mut cases, mut refused) = (Vec::new(), 0, 0);
    for file in shipped("agents", &["ppo-", "dqn-"]) {
        let text = std::fs::read_to_string(&file).expect("config");
        for k in 0..10 * scale() {
            let (what, bytes) = mutate_text(&text, &mut rng);
            let path = dir.join(format!("{k}.toml"));
            std::fs::write(&path, &bytes).expect("write");
            cases += 1;
            let run_dir = dir.join(format!("run-{k}"));
            let _ = std::fs::remove_dir_all(&run_dir);
            match run_case(&format!("train --config {} ({what})", file.display()), &small_train(&path, &run_dir, &[])) {
                Ok((code, _)) => refused += usize::from(code == 2),
                Err(e) => failures.push(e),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    report(&failures, cases, refused);
}

#[test]
fn set_extremes_train_or_are_refused_cleanly() {
    let dir = temp("set");
    let config = root().join("agents/ppo-cartpole.toml");
    let keys = [
        "num_envs",
        "env_threads",
        "seed",
        "net.hidden",
        "ppo.num_steps",
        "ppo.minibatch_size",
        "ppo.update_epochs",
        "ppo.learning_rate",
        "ppo.ent_coef",
        "ppo.init_log_std",
        "eval.record_episodes",
        "algo=dqn --set dqn.buffer_size",
        "algo=dqn --set dqn.batch_size",
        "algo=dqn --set dqn.train_freq",
        "algo=dqn --set dqn.gradient_steps",
        "algo=dqn --set dqn.learning_rate",
    ];
    // Sizes too big for any machine, so that the outcome does not depend on this one's memory.
    let values = ["0", "-1", "nan", "inf", "1e9", "1e308", "1000000000000", "[10000000, 10000000]", "", "x"];
    let (mut failures, mut cases, mut refused) = (Vec::new(), 0, 0);
    for key in keys {
        for value in values {
            let run_dir = dir.join(format!("run-{cases}"));
            let mut extra: Vec<String> = Vec::new();
            let (first, last) = key.split_once(" --set ").map_or((None, key), |(a, b)| (Some(a), b));
            if let Some(first) = first {
                extra.extend(["--set".into(), first.into()]);
            }
            extra.extend(["--set".into(), format!("{last}={value}")]);
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            cases += 1;
            match run_case(&format!("train --set {key}={value}"), &small_train(&config, &run_dir, &extra)) {
                Ok((code, _)) => refused += usize::from(code == 2),
                Err(e) => failures.push(e),
            }
        }
    }
    // Arguments that are not UTF-8 at all.
    let mut args = small_train(&config, &dir.join("run-bytes"), &["--set"]);
    args.push(OsString::from_vec(b"ppo.num_steps=\xff\xfe".to_vec()));
    cases += 1;
    match run_case("train --set <non-UTF-8>", &args) {
        Ok((code, _)) => refused += usize::from(code == 2),
        Err(e) => failures.push(e),
    }
    let _ = std::fs::remove_dir_all(&dir);
    report(&failures, cases, refused);
}

/// Copies the directory `from` to `to` (flat: checkpoint directories have no subdirectories).
fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("copy dir");
    for entry in std::fs::read_dir(from).expect("read dir").filter_map(Result::ok) {
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn damaged_checkpoints_and_episode_files_are_refused_cleanly() {
    let dir = temp("files");
    let run_dir = dir.join("run");
    let config = root().join("agents/ppo-cartpole.toml");
    run_case("base run", &small_train(&config, &run_dir, &[])).expect("the base run trains");
    let ckpt = run_dir.join("checkpoint");
    let mut rng = ChaCha8Rng::seed_from_u64(26);
    let (mut failures, mut cases, mut refused) = (Vec::new(), 0, 0);
    for file in ["model.safetensors", "state.toml", "config.toml"] {
        let original = std::fs::read(ckpt.join(file)).expect("checkpoint file");
        for k in 0..8 * scale() {
            let (what, bytes) = if file.ends_with(".toml") {
                mutate_text(&String::from_utf8_lossy(&original), &mut rng)
            } else {
                mutate_bytes(&original, &mut rng)
            };
            let damaged = dir.join(format!("ckpt-{file}-{k}"));
            copy_dir(&ckpt, &damaged);
            std::fs::write(damaged.join(file), &bytes).expect("write");
            cases += 1;
            let label = format!("eval with {file} damaged ({what})");
            match run_case(&label, &os(&["eval", &damaged.to_string_lossy(), "--episodes", "1"])) {
                Ok((code, _)) => refused += usize::from(code == 2),
                Err(e) => failures.push(e),
            }
        }
    }
    for ext in ["episodes", "json"] {
        let file = dir.join(format!("base.{ext}"));
        run_case("record", &os(&["eval", &ckpt.to_string_lossy(), "--episodes", "2", "--record", &file.to_string_lossy()]))
            .expect("recording works");
        let original = std::fs::read(&file).expect("episode file");
        for k in 0..16 * scale() {
            let (what, bytes) = match (ext, k % 2) {
                ("json", _) => mutate_text(&String::from_utf8_lossy(&original), &mut rng),
                (_, 0) => mutate_bytes(&original, &mut rng),
                // Damage past the checksum: a payload byte changed and the checksum redone,
                // so that the decoder and the re-simulation see it.
                _ => {
                    let mut bytes = original.clone();
                    let end = bytes.len() - 4;
                    let i = rng.random_range(20..end);
                    bytes[i] = rng.random();
                    let crc = synthgym::util::metrics::crc32c(&bytes[20..end]);
                    bytes[end..].copy_from_slice(&crc.to_le_bytes());
                    (format!("payload byte {i} set, checksum redone"), bytes)
                }
            };
            let damaged = dir.join(format!("damaged-{k}.{ext}"));
            std::fs::write(&damaged, &bytes).expect("write");
            cases += 1;
            match run_case(&format!("replay --verify {ext} ({what})"), &os(&["replay", &damaged.to_string_lossy(), "--verify"])) {
                Ok((code, _)) => refused += usize::from(code == 2),
                Err(e) => failures.push(e),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    report(&failures, cases, refused);
}
