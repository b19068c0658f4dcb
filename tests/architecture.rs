//! The dependency rules of `ARCHITECTURE.md` (its "Dependency rules" section, one test
//! per rule), checked by reading the `crate::` and `super::` paths in the sources:
//! `env/` imports no engine, the learning modules import neither bevy nor rapier nor
//! one another, `nn/` is candle alone, `anyhow` stays in `cli/`, and no two files
//! import each other, directly or round a longer loop.

use std::collections::{BTreeMap, BTreeSet};
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
fn learning_modules_never_import_one_another() {
    let learning = ["rl", "generative", "classify"];
    for module in learning {
        let others: Vec<String> = learning.iter().filter(|&&m| m != module).map(|m| format!("crate::{m}")).collect();
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        let v = violations(module, &others);
        assert!(v.is_empty(), "{module}/ imports another learning module (share through nn/ or data/): {v:#?}");
    }
}

#[test]
fn nn_is_candle_alone() {
    let v = violations(
        "nn",
        &[
            "bevy",
            "rapier3d",
            "anyhow",
            "crate::env",
            "crate::scenes",
            "crate::sim",
            "crate::render",
            "crate::replay",
            "crate::data",
            "crate::rl",
            "crate::classify",
            "crate::generative",
            "crate::cli",
        ],
    );
    assert!(v.is_empty(), "nn/ is the toolkit the learning modules share; it knows none of them: {v:#?}");
}

#[test]
fn data_knows_no_network() {
    let v = violations("data", &["bevy", "rapier3d", "candle_nn", "crate::nn", "crate::rl", "crate::classify", "crate::generative"]);
    assert!(v.is_empty(), "data/ reads and batches images; it builds no network: {v:#?}");
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
    for module in ["env", "scenes", "util", "rl", "render", "nn", "data", "classify", "generative", "replay", "sim"] {
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

/// The module path of every source file (`classify/train`, `nn`, `lib`), with its text.
fn sources() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    rust_files(&src)
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(&src).unwrap_or(&file).with_extension("");
            let mut node = rel.to_string_lossy().replace('\\', "/");
            if let Some(parent) = node.strip_suffix("/mod") {
                node = parent.to_owned();
            }
            (node, fs::read_to_string(&file).unwrap_or_default())
        })
        .collect()
}

/// Which files each file imports: every `crate::a::b…` or `super::…` path outside its
/// tests, resolved to the longest module path that is a file. A file's own ancestors
/// and descendants do not count (a `mod.rs` lists its children, and children use its
/// `Result`); an edge between siblings or across modules does.
fn import_graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (node, text) in files {
        let is_dir_module = files.keys().any(|k| k.starts_with(&format!("{node}/")));
        let base: Vec<&str> = if node == "lib" {
            Vec::new()
        } else if is_dir_module {
            node.split('/').collect()
        } else {
            node.split('/').rev().skip(1).collect::<Vec<_>>().into_iter().rev().collect()
        };
        let mut edges = BTreeSet::new();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            for (start, _) in line.match_indices("crate::").chain(line.match_indices("super::")) {
                if start > 0 && line[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue; // `synthgym::crate…` never occurs; `super::super::` is read from its first `super`
                }
                let path: String = line[start..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
                let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
                let mut full: Vec<&str> = if segments.first() == Some(&"crate") {
                    segments.remove(0);
                    Vec::new()
                } else {
                    base.clone()
                };
                while segments.first() == Some(&"super") {
                    segments.remove(0);
                    full.pop();
                }
                full.extend(segments);
                let target = (1..=full.len()).rev().map(|k| full[..k].join("/")).find(|cand| files.contains_key(cand));
                if let Some(target) = target {
                    let related = target == *node || node.starts_with(&format!("{target}/")) || target.starts_with(&format!("{node}/"));
                    if !related {
                        edges.insert(target);
                    }
                }
            }
        }
        graph.insert(node.clone(), edges);
    }
    graph
}

/// One cycle of the graph, if it has any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_between_files_or_modules() {
    let files = sources();
    assert!(files.len() > 50, "found only {} source files", files.len());
    let graph = import_graph(&files);
    assert!(find_cycle(&graph).is_none(), "import cycle: {}", find_cycle(&graph).unwrap_or_default().join(" -> "));
    // Whole modules too: collapse files into their top-level module.
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (node, edges) in &graph {
        let top = |n: &str| n.split('/').next().unwrap_or(n).to_owned();
        let entry = modules.entry(top(node)).or_default();
        entry.extend(edges.iter().map(|e| top(e)).filter(|e| *e != top(node) && e != "lib"));
    }
    assert!(find_cycle(&modules).is_none(), "module cycle: {}", find_cycle(&modules).unwrap_or_default().join(" -> "));
}

#[test]
fn the_cycle_finder_finds_planted_cycles() {
    let files: BTreeMap<String, String> = [
        ("m", "pub mod a; pub mod b; pub mod c; pub use a::A;"),
        ("m/a", "use super::b::B; use super::Result;"),
        ("m/b", "use crate::m::c::C;"),
        ("m/c", "fn f() { super::a::g() }"),
        ("n", "use crate::m::A;"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let graph = import_graph(&files);
    assert_eq!(graph["m/a"], BTreeSet::from(["m/b".to_owned()]), "a mod.rs's Result is not an edge");
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(4), "a → b → c → a");
    let mut acyclic = files.clone();
    acyclic.insert("m/c".into(), "fn f() {}".into());
    assert!(find_cycle(&import_graph(&acyclic)).is_none());
}

#[test]
fn imports_name_their_module() {
    // `use crate::{a, b}` would hide its modules from the checks above.
    for (node, text) in sources() {
        assert!(!text.contains("crate::{"), "src/{node}.rs: write one `use crate::module::…` per module");
    }
}
