//! The `synthgym` binary, run as a user would.

use std::process::{Command, Output};

fn synthgym(args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_synthgym")).args(args).output()?)
}

#[test]
fn envs_lists_every_id_with_its_spaces() -> anyhow::Result<()> {
    let out = synthgym(&["envs"])?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    let row = text.lines().find(|l| l.starts_with("cartpole-v1")).ok_or_else(|| anyhow::anyhow!("no cartpole row:\n{text}"))?;
    assert!(row.contains("Discrete(2)") && row.contains("Box(") && row.contains("500"), "{row}");
    let csv = String::from_utf8(synthgym(&["envs", "--format", "csv"])?.stdout)?;
    assert!(csv.starts_with("id,observation space,action space,max steps,multi-agent,summary\n"), "{csv}");
    Ok(())
}

#[test]
fn bench_prints_a_row_per_configuration() -> anyhow::Result<()> {
    let out = synthgym(&["bench", "cartpole-v1", "--seconds", "0.05", "--num-envs", "4", "--threads", "2", "--format", "csv"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let modes: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1], r[2], r[3])).collect();
    assert_eq!(modes, [("single", "1", "1"), ("serial", "4", "1"), ("threaded", "4", "2")], "{text}");
    for r in &rows {
        let rate: f64 = r[6].parse()?;
        assert!(rate > 1000.0, "{r:?}");
    }
    Ok(())
}

#[test]
fn errors_name_the_problem_and_exit_2() -> anyhow::Result<()> {
    let out = synthgym(&["bench", "cartpole-v0", "--seconds", "0.01"])?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr)?;
    assert!(err.contains("error: no environment named 'cartpole-v0' (did you mean 'cartpole-v1'?)"), "{err}");
    let out = synthgym(&["bench", "--seconds", "0"])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)?.contains("--seconds must be a positive number"));
    Ok(())
}

#[test]
fn help_lists_only_working_subcommands() -> anyhow::Result<()> {
    let help = String::from_utf8(synthgym(&["--help"])?.stdout)?;
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(commands, ["envs", "train", "eval", "generate", "classify", "gen", "replay", "bench", "help"], "{help}");
    Ok(())
}

#[cfg(not(feature = "render"))]
#[test]
fn generate_without_the_renderer_says_how_to_get_it() -> anyhow::Result<()> {
    let out = synthgym(&["generate", "--count", "1", "--out", "/nonexistent/never-written"])?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr)?;
    assert!(err.contains("--features render") && err.contains("mesa-vulkan-drivers"), "{err}");
    Ok(())
}
