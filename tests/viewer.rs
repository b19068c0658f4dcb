//! The replay viewer in a real window: an X server (Xvfb) per test, keys scripted with
//! `--keys`, screenshots with `--screenshot`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_synthgym");

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgym-viewer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A virtual X server on its own display, killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start(number: u32) -> Xvfb {
        let display = format!(":{number}");
        let child = Command::new("Xvfb")
            .args([display.as_str(), "-screen", "0", "1280x720x24", "-nolisten", "tcp"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Xvfb is needed for the viewer tests (Debian: apt-get install xvfb)");
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(socket.exists(), "Xvfb did not start on {display}");
        Xvfb { child, display }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).env("DISPLAY", &self.display).env_remove("WAYLAND_DISPLAY").output().expect("run synthgym")
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Display numbers unlikely to be taken, distinct per test.
fn display(offset: u32) -> u32 {
    200 + (std::process::id() % 500) * 4 + offset
}

fn record(dir: &Path, env: &str) -> String {
    let path = dir.join("rec.episodes").to_string_lossy().into_owned();
    let out =
        Command::new(BIN).args(["eval", "--baseline", "scripted", "--env", env, "-n", "2", "--record", &path]).output().expect("eval");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_viewer_draws_a_recording_with_overlays_and_saves_a_screenshot() {
    let dir = temp("shot");
    let rec = record(&dir, "warehouse-grid-tiny-2ag-v0");
    let shot = dir.join("shot.png");
    let x = Xvfb::start(display(0));
    let out = x.run(&[
        "replay",
        &rec,
        "--width",
        "480",
        "--height",
        "270",
        "--keys",
        "right,right,l,b,]",
        "--screenshot",
        &shot.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("screenshot saved"), "{}", text(&out));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).expect("screenshot")));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    assert_eq!((info.width, info.height), (480, 270));
    // A scene, the text panel and overlays: many distinct colours, not a blank window.
    let colours: std::collections::HashSet<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    assert!(colours.len() > 50, "{} colours", colours.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keyboard_takeover_branches_a_recording_that_replays_exactly() {
    let dir = temp("takeover");
    let rec = record(&dir, "warehouse-grid-tiny-2ag-v0");
    let x = Xvfb::start(display(1));
    // With keys scripted, playback starts paused: step to 3, take over, drive 3 steps, save.
    let out =
        x.run(&["replay", &rec, "--width", "320", "--height", "180", "--keys", "right,right,right,t,up,left,up,t", "--quit-after-keys"]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("took over agent 0 at step 3"), "{log}");
    assert!(log.contains("saved the branch (6 steps)"), "{log}");
    let branch = dir.join("rec.branch-e0-s3.episodes");
    let original = synthgym::replay::read(Path::new(&rec)).expect("recording");
    let made = synthgym::replay::read(&branch).expect("the branch file");
    assert!(made.policy.starts_with("keyboard"), "{}", made.policy);
    let (a, b) = (&original.episodes[0], &made.episodes[0]);
    assert_eq!(b.seed, a.seed);
    assert_eq!(b.steps[..3], a.steps[..3], "the branch starts with the recorded steps");
    use synthgym::replay::ActionLog;
    // Agent 0's action: its own (multi-agent) or the first of the joint action.
    let first = |a: &ActionLog| match a {
        ActionLog::Discrete(i) => *i,
        ActionLog::MultiDiscrete(v) => v[0],
        other => panic!("unexpected action {other:?}"),
    };
    let mine: Vec<i64> = b.steps[3..].iter().map(|s| first(&s.actions[0])).collect();
    assert_eq!(mine, [1, 2, 1], "FORWARD, LEFT, FORWARD for agent 0");
    assert!(b.cut_short, "the episode goes on after the branch");
    // The branch is an ordinary recording: it re-simulates exactly.
    let out = Command::new(BIN).args(["replay", &branch.to_string_lossy(), "--verify"]).output().expect("verify");
    assert!(out.status.success() && text(&out).contains("reproduce exactly"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_viewer_refuses_bad_input_with_clear_errors() {
    let dir = temp("errors");
    let rec = record(&dir, "warehouse-grid-tiny-2ag-v0");
    let out = Command::new(BIN).args(["replay", &rec]).env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no display") && text(&out).contains("xvfb-run"), "{}", text(&out));
    let out = Command::new(BIN).args(["replay", &rec, "--keys", "q"]).env("DISPLAY", ":9999").output().expect("run");
    assert!(text(&out).contains("unknown key \"q\""), "{}", text(&out));
    let out = Command::new(BIN).args(["replay", &rec]).env("DISPLAY", ":9999").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot reach the X display \":9999\""), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
