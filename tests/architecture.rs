//! The module rules of STYLE.md, checked by reading `use` paths in the sources:
//! `env/` imports no engine, the learning modules import neither bevy nor rapier,
//! and `anyhow` stays in `cli/`.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// Lines of files under `src/<module>` that mention any of `crates` as a path root.
fn violations(module: &str, crates: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(module);
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let text = fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for krate in crates {
                if code.contains(&format!("{krate}::")) || code.contains(&format!("extern crate {krate}")) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn env_depends_on_no_engine() {
    let v = violations("env", &["bevy", "rapier3d", "candle_core", "candle_nn", "crate::scenes", "crate::cli"]);
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn learning_modules_depend_on_neither_bevy_nor_rapier() {
    for module in ["rl", "generative", "classify"] {
        let v = violations(module, &["bevy", "rapier3d", "crate::scenes", "crate::sim", "crate::render"]);
        assert!(v.is_empty(), "{v:#?}");
    }
}

#[test]
fn scenes_never_train_and_util_stays_a_leaf() {
    let v = violations("scenes", &["candle_core", "candle_nn", "crate::rl", "crate::cli"]);
    assert!(v.is_empty(), "{v:#?}");
    let v = violations("util", &["candle_core", "bevy", "rapier3d", "crate::"]);
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn anyhow_stays_in_the_cli() {
    for module in ["env", "scenes", "util", "rl", "render"] {
        let v = violations(module, &["anyhow"]);
        assert!(v.is_empty(), "{v:#?}");
    }
}

#[test]
fn bevy_rendering_stays_in_render() {
    let renderer = ["bevy::render", "bevy::pbr", "bevy::camera", "bevy::core_pipeline", "bevy::light", "crate::render"];
    for module in ["env", "scenes", "sim", "replay", "rl", "util"] {
        let v = violations(module, &renderer);
        assert!(v.is_empty(), "{module}/ reaches the renderer (only render/ and cli/ may): {v:#?}");
    }
    let v = violations("render", &["rapier3d", "candle_core", "candle_nn", "crate::rl", "crate::cli", "crate::scenes"]);
    assert!(v.is_empty(), "render/ draws snapshots; it neither simulates nor trains: {v:#?}");
}

#[test]
fn the_checker_finds_a_planted_violation() {
    // Guard against a checker that can never fail: the cli module does use anyhow.
    assert!(!violations("cli", &["anyhow"]).is_empty());
}

#[test]
fn rapier_stays_inside_sim() {
    for module in ["env", "scenes", "cli", "util"] {
        let v = violations(module, &["rapier3d"]);
        assert!(v.is_empty(), "{v:#?}");
    }
}

#[test]
fn sim_touches_bevy_only_in_its_plugin() {
    let v: Vec<String> = violations("sim", &["bevy"]).into_iter().filter(|line| !line.contains("plugin.rs")).collect();
    assert!(v.is_empty(), "{v:#?}");
}
