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

/// The files of `module`: `src/<module>.rs`, `src/<module>/…`.
fn files_of<'a>(files: &'a BTreeMap<String, String>, module: &'a str) -> impl Iterator<Item = (&'a String, &'a String)> {
    files.iter().filter(move |(node, _)| *node == module || node.starts_with(&format!("{module}/")))
}

/// Where the files of `module` depend on any of `needles`: an external crate (`bevy`,
/// `anyhow`) by a path rooted at its name, or a part of this crate (`crate::scenes`,
/// `crate::scenes::driving`) by any path that resolves into it, however it is written
/// (`use crate::rl;` then `rl::…`, `super::super::rl::…`, a use group). Tests included.
fn violations(module: &str, needles: &[&str]) -> Vec<String> {
    violations_in(&sources(), module, needles)
}

/// [`violations`] over given sources.
fn violations_in(files: &BTreeMap<String, String>, module: &str, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (node, text) in files_of(files, module) {
        let code = without_comments(text);
        for needle in needles {
            if let Some(inner) = needle.strip_prefix("crate::") {
                // `crate::` alone: any path out of the module.
                let want: Vec<&str> = inner.split("::").filter(|w| !w.is_empty()).collect();
                for path in paths_in(&code) {
                    let full = absolute(node, &path);
                    let hit = if want.is_empty() {
                        full.first().is_none_or(|top| top != module)
                    } else {
                        full.len() >= want.len() && full.iter().zip(&want).all(|(a, w)| a == w)
                    };
                    if hit {
                        found.push(format!("src/{node}: `{}` reaches {needle}", path.join("::")));
                    }
                }
            } else {
                for (n, line) in code.lines().enumerate() {
                    if line.contains(&format!("{needle}::")) || line.contains(&format!("extern crate {needle}")) {
                        found.push(format!("src/{node}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
    }
    found
}

/// Lines of the files of `module` whose code contains any of `needles` verbatim.
fn mentions(module: &str, needles: &[&str]) -> Vec<String> {
    let files = sources();
    let mut found = Vec::new();
    for (node, text) in files_of(&files, module) {
        for (n, line) in without_comments(text).lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle)) {
                found.push(format!("src/{node}:{}: {}", n + 1, line.trim()));
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
            "crate::snapshot",
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
        let v = violations(module, &["bevy", "rapier3d", "crate::scenes", "crate::sim", "crate::render", "crate::scenegen"]);
        assert!(v.is_empty(), "{v:#?}");
    }
}

#[test]
fn scenes_never_train_and_util_stays_a_leaf() {
    let v = violations(
        "scenes",
        &["candle_core", "candle_nn", "crate::rl", "crate::nn", "crate::classify", "crate::generative", "crate::scenegen", "crate::cli"],
    );
    assert!(v.is_empty(), "{v:#?}");
    let v = violations("util", &["candle_core", "bevy", "rapier3d", "crate::"]);
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn anyhow_stays_in_the_cli() {
    for module in [
        "env",
        "scenes",
        "util",
        "rl",
        "render",
        "nn",
        "data",
        "classify",
        "generative",
        "replay",
        "sim",
        "dataset",
        "viewer",
        "scenegen",
        "snapshot",
        "lib",
    ] {
        let v = violations(module, &["anyhow"]);
        assert!(v.is_empty(), "{v:#?}");
    }
}

/// What a module that neither simulates nor trains may not reach: the physics engine,
/// the scenes, any network code or learner, and the CLI.
const SIMULATES_OR_TRAINS: [&str; 11] = [
    "rapier3d",
    "candle_core",
    "candle_nn",
    "crate::sim",
    "crate::scenes",
    "crate::nn",
    "crate::rl",
    "crate::classify",
    "crate::generative",
    "crate::scenegen",
    "crate::cli",
];

#[test]
fn bevy_rendering_stays_in_render() {
    let renderer = [
        "bevy::render",
        "bevy::pbr",
        "bevy::camera",
        "bevy::core_pipeline",
        "bevy::light",
        "crate::render",
        "crate::dataset",
        "crate::viewer",
    ];
    for module in ["env", "scenes", "sim", "replay", "rl", "util", "nn", "data", "classify", "generative", "scenegen", "snapshot", "lib"] {
        let v = violations(module, &renderer);
        assert!(v.is_empty(), "{module}/ reaches the renderer (only its consumers, dataset/, viewer/ and cli/, may): {v:#?}");
    }
    let v = violations("dataset", &["bevy"]);
    assert!(v.is_empty(), "dataset/ draws through the renderer's API, not through bevy: {v:#?}");
    let v = violations("render", &SIMULATES_OR_TRAINS);
    assert!(v.is_empty(), "render/ draws snapshots; it neither simulates nor trains: {v:#?}");
}

#[test]
fn the_renderer_knows_none_of_its_consumers() {
    let v = violations("render", &["crate::replay", "crate::dataset", "crate::viewer", "crate::cli"]);
    assert!(
        v.is_empty(),
        "render/ turns snapshots into pixels and labels; recordings, datasets and windows are its consumers' business: {v:#?}"
    );
    let v = violations("dataset", &[&SIMULATES_OR_TRAINS[..], &["crate::replay", "crate::viewer"]].concat());
    assert!(v.is_empty(), "dataset/ writes what the renderer draws of the scenes it is given: {v:#?}");
    let v = violations("viewer", &[&SIMULATES_OR_TRAINS[..], &["crate::dataset"]].concat());
    assert!(v.is_empty(), "viewer/ shows a player's recording; it neither simulates nor trains: {v:#?}");
}

#[test]
fn the_cli_only_wires() {
    // Domain pipelines live in their modules; the CLI parses, wires and prints. It reaches
    // the scenes only through their top level (`make_env`, `registry`, `scripted_policy`,
    // …), never into a family's internals, and never the simulator or a network layer.
    let v = violations(
        "cli",
        &["crate::scenes::driving", "crate::scenes::warehouse", "crate::scenes::cartpole", "crate::sim", "rapier3d", "bevy", "candle_nn"],
    );
    assert!(v.is_empty(), "cli/ holds domain logic (move it to its module): {v:#?}");
    for module in ["scenegen", "dataset"] {
        let mut v = violations(module, &["clap", "anyhow", "crate::cli"]);
        v.extend(mentions(module, &["println!(", "print!(", "eprintln!(", "eprint!(", "stdout()", "stderr()", "dbg!("]));
        assert!(v.is_empty(), "{module}/ is a library module: no argument parsing or printing: {v:#?}");
    }
}

/// `(type, trait)` for every `impl … Env for Type` and `impl … ParallelEnv for Type` in
/// `code` (the trait by its last path segment, the type without generics).
fn env_impls(code: &str) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    for line in code.lines() {
        let Some(rest) = line.trim_start().strip_prefix("impl") else { continue };
        let Some((head, ty)) = rest.split_once(" for ") else { continue };
        // Drop the impl's own generics (`impl<P: ParallelEnv> Env for …`).
        let head = match head.trim_start().strip_prefix('<') {
            Some(g) => g.rsplit_once('>').map_or(g, |(_, t)| t),
            None => head,
        };
        let name = head.trim().rsplit("::").next().unwrap_or("");
        let ty: String = ty.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        for (wanted, label) in [("Env", "Env"), ("ParallelEnv", "ParallelEnv")] {
            if name == wanted {
                found.push((ty.clone(), label));
            }
        }
    }
    found
}

#[test]
fn scenes_are_written_once() {
    // A multi-agent scene implements `ParallelEnv`, per agent, and nothing else: its
    // single-agent view is `env::Joint` over it, never a hand-written `Env` of its family.
    let files = sources();
    let mut families: BTreeMap<String, Vec<(String, String, &str)>> = BTreeMap::new();
    for (node, text) in files_of(&files, "scenes") {
        let family = node.split('/').take(2).collect::<Vec<_>>().join("/");
        for (ty, tr) in env_impls(&without_tests(&without_comments(text))) {
            families.entry(family.clone()).or_default().push((node.clone(), ty, tr));
        }
    }
    for (family, impls) in &families {
        if impls.iter().any(|(_, _, tr)| *tr == "ParallelEnv") {
            let hand_written: Vec<_> = impls.iter().filter(|(_, _, tr)| *tr == "Env").collect();
            assert!(
                hand_written.is_empty(),
                "src/{family} is multi-agent but writes an Env view of its own (use env::Joint): {hand_written:?}"
            );
        }
    }
    // The checker sees both kinds: CartPole is a plain Env, the warehouse a ParallelEnv.
    let kinds = |family: &str| families.get(family).map(|v| v.iter().map(|(_, _, t)| *t).collect::<BTreeSet<_>>()).unwrap_or_default();
    assert_eq!(kinds("scenes/cartpole"), BTreeSet::from(["Env"]));
    assert_eq!(kinds("scenes/warehouse"), BTreeSet::from(["ParallelEnv"]));
    assert_eq!(env_impls("impl<P: ParallelEnv> Env for Joint<P> {"), [("Joint".to_owned(), "Env")]);
    assert_eq!(env_impls("impl crate::env::ParallelEnv for GridWarehouse {"), [("GridWarehouse".to_owned(), "ParallelEnv")]);
}

#[test]
fn replay_and_its_player_need_no_engine() {
    // The viewer's playback state lives here so that it is tested without a window.
    let v = violations("replay", &["bevy", "rapier3d", "candle_core", "candle_nn", "crate::sim", "crate::scenes"]);
    assert!(v.is_empty(), "replay/ (the player included) is plain data over env and snapshot: {v:#?}");
}

#[test]
fn the_checker_finds_a_planted_violation() {
    // Guard against a checker that can never fail: the cli module does use anyhow, and prints.
    assert!(!violations("cli", &["anyhow"]).is_empty());
    assert!(!mentions("cli", &["eprintln!("]).is_empty());
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
    let v: Vec<String> = violations("sim", &["bevy"]).into_iter().filter(|line| !line.starts_with("src/sim/plugin:")).collect();
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

/// `text` without its `//` comments (doc comments included).
fn without_comments(text: &str) -> String {
    text.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// `code` without its `#[cfg(test)]` items (the item ends at the brace that closes its
/// first `{`, or at a `;` before any), keeping what follows them.
fn without_tests(code: &str) -> String {
    let (mut out, mut rest) = (String::new(), code);
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let (open, semi) = (item.find('{'), item.find(';'));
        let end = match (open, semi) {
            (Some(open), semi) if semi.is_none_or(|semi| open < semi) => {
                let mut depth = 0usize;
                let close = item[open..].char_indices().find(|&(_, c)| {
                    depth = if c == '{' {
                        depth + 1
                    } else if c == '}' {
                        depth.saturating_sub(1)
                    } else {
                        depth
                    };
                    c == '}' && depth == 0
                });
                close.map_or(item.len(), |(k, _)| open + k + 1)
            }
            (_, Some(semi)) => semi + 1,
            _ => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// A file's code: comments and `#[cfg(test)]` items removed.
fn code_of(text: &str) -> String {
    without_tests(&without_comments(text))
}

/// One path of a use tree, and the name it brings into scope (its alias, or its last segment).
struct UsePath {
    path: Vec<String>,
    name: String,
}

/// The paths of the use tree (or plain path) at the start of `s`: `a::b::{c, d::{e as f, self}}`
/// gives `a::b::c`, `a::b::d::e` (named `f`) and `a::b::d`. Returns them and the bytes read.
fn use_tree(s: &str, prefix: &[String]) -> (Vec<UsePath>, usize) {
    let named = |path: Vec<String>| UsePath { name: path.last().cloned().unwrap_or_default(), path };
    let bytes = s.as_bytes();
    let mut pos = 0;
    let skip_ws = |pos: &mut usize| {
        while *pos < bytes.len() && bytes[*pos].is_ascii_whitespace() {
            *pos += 1;
        }
    };
    let mut path = prefix.to_vec();
    loop {
        skip_ws(&mut pos);
        if pos < bytes.len() && bytes[pos] == b'{' {
            pos += 1;
            let mut out = Vec::new();
            loop {
                skip_ws(&mut pos);
                if pos >= bytes.len() || bytes[pos] == b'}' {
                    return (out, (pos + 1).min(bytes.len()));
                }
                let (paths, used) = use_tree(&s[pos..], &path);
                out.extend(paths);
                pos += used.max(1);
                skip_ws(&mut pos);
                if pos < bytes.len() && bytes[pos] == b',' {
                    pos += 1;
                }
            }
        }
        let start = pos;
        while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_') {
            pos += 1;
        }
        if pos == start {
            return (if path.len() > prefix.len() { vec![named(path)] } else { Vec::new() }, pos);
        }
        match &s[start..pos] {
            "self" if path.len() > prefix.len() || !prefix.is_empty() => {}
            segment => path.push(segment.to_owned()),
        }
        if s[pos..].starts_with("::") {
            pos += 2;
            continue;
        }
        // `path as alias`: the same item under another name.
        let mut use_path = named(path);
        let mut after = pos;
        skip_ws(&mut after);
        if s[after..].starts_with("as") && s[after + 2..].starts_with(|c: char| c.is_whitespace()) {
            pos = after + 2;
            skip_ws(&mut pos);
            let alias = pos;
            while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_') {
                pos += 1;
            }
            use_path.name = s[alias..pos].to_owned();
        }
        return (vec![use_path], pos);
    }
}

/// Every `crate::…`, `super::…` and `self::…` path (use trees expanded) in `code`.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for root in ["crate::", "super::", "self::"] {
        for (start, _) in code.match_indices(root) {
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '$') {
                continue; // a later segment (`super::super::`), or a macro's `$crate::`
            }
            out.extend(use_tree(&code[start..], &[]).0.into_iter().map(|u| u.path));
        }
    }
    out
}

/// `segments` made absolute from the module `node` (`super` and `self` resolved).
fn absolute(node: &str, segments: &[String]) -> Vec<String> {
    // `super` is the parent of the file's own module (`a/b.rs` and `a/b/mod.rs` are both `a::b`).
    let mut full: Vec<String> = if node == "lib" || node == "main" { Vec::new() } else { node.split('/').map(String::from).collect() };
    let mut rest = segments;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            full.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        _ => {}
    }
    while rest.first().map(String::as_str) == Some("super") {
        full.pop();
        rest = &rest[1..];
    }
    full.extend(rest.iter().cloned());
    full
}

/// What each file re-exports: `pub use model::Classifier;` in `classify` maps
/// (`classify`, `Classifier`) to `classify::model::Classifier` (aliases under their new
/// name; `pub(crate) use` too).
fn reexports(files: &BTreeMap<String, String>) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for (node, text) in files {
        let code = code_of(text);
        for keyword in ["pub use ", "pub(crate) use ", "pub(super) use "] {
            for (start, _) in code.match_indices(keyword) {
                for UsePath { path, name } in use_tree(&code[start + keyword.len()..], &[]).0 {
                    let first = path.first().map(String::as_str).unwrap_or("");
                    if ["crate", "super", "self"].contains(&first) || files.contains_key(&format!("{node}/{first}")) {
                        out.insert((node.clone(), name), absolute(node, &path));
                    }
                }
            }
        }
    }
    out
}

/// The file a path names: the longest prefix that is a file, followed through re-exports.
fn resolve(mut full: Vec<String>, files: &BTreeMap<String, String>, reexports: &BTreeMap<(String, String), Vec<String>>) -> Option<String> {
    for _ in 0..8 {
        let k = (1..=full.len()).rev().find(|&k| files.contains_key(&full[..k].join("/")))?;
        let node = full[..k].join("/");
        match full.get(k).and_then(|name| reexports.get(&(node.clone(), name.clone()))) {
            Some(target) if target != &full[..=k] => full = target.iter().chain(&full[k + 1..]).cloned().collect(),
            _ => return Some(node),
        }
    }
    None
}

/// Which files each file imports: every `crate::…`, `super::…` and `self::…` path outside
/// its tests (use groups expanded, re-exports followed to the file that defines the item).
/// A file's own ancestors and descendants do not count (a `mod.rs` lists its children, and
/// children use its `Result`); an edge between siblings or across modules does.
fn import_graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let reexports = reexports(files);
    let mut graph = BTreeMap::new();
    for (node, text) in files {
        let mut edges = BTreeSet::new();
        for path in paths_in(&code_of(text)) {
            let Some(target) = resolve(absolute(node, &path), files, &reexports) else { continue };
            let related = target == *node || node.starts_with(&format!("{target}/")) || target.starts_with(&format!("{node}/"));
            if !related {
                edges.insert(target);
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
    // Name every cycle, not just the first: drop one edge of each found and look again.
    let (mut rest, mut cycles) = (graph.clone(), Vec::new());
    while let Some(cycle) = find_cycle(&rest) {
        if let (Some(from), Some(to)) = (cycle.get(cycle.len() - 2), cycle.last()) {
            rest.entry(from.clone()).or_default().remove(to);
        }
        cycles.push(cycle.join(" -> "));
    }
    assert!(
        cycles.is_empty(),
        "import cycles (a file that imports one that imports it back, maybe through others):\n{}",
        cycles.join("\n")
    );
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
        ("m", "pub mod a; pub mod b; pub mod c; pub mod d; pub use a::A;\npub use c::{C, D as E};"),
        ("m/a", "use super::b::B; use super::Result;"),
        ("m/b", "use crate::m::{\n    c::C,\n    Result,\n};"),
        ("m/c", "fn f() { super::a::g() }"),
        ("m/d", "use super::{C, Result};"),
        ("n", "use crate::m::A;"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let graph = import_graph(&files);
    assert_eq!(graph["m/a"], BTreeSet::from(["m/b".to_owned()]), "a mod.rs's Result is not an edge");
    assert_eq!(graph["m/b"], BTreeSet::from(["m/c".to_owned()]), "a use group's paths are read");
    assert_eq!(graph["m/d"], BTreeSet::from(["m/c".to_owned()]), "a re-export is followed to its file");
    assert_eq!(graph["n"], BTreeSet::from(["m/a".to_owned()]));
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(4), "a → b → c → a");
    let mut acyclic = files.clone();
    acyclic.insert("m/c".into(), "fn f() {}".into());
    assert!(find_cycle(&import_graph(&acyclic)).is_none());
    let mut hidden = acyclic.clone();
    hidden.insert("m/c".into(), "use super::{A as Renamed, D};".into());
    assert!(find_cycle(&import_graph(&hidden)).is_some(), "c → a (through m's re-export of A) → b → c");
}

#[test]
fn the_rules_see_every_way_of_naming_a_module() {
    let files: BTreeMap<String, String> = [
        ("rl", "pub mod a;"),
        ("rl/a", "pub fn g() {}"),
        ("classify", "pub mod w; pub mod x; pub mod y; pub mod z; pub mod ok;"),
        ("classify/w", "use crate::rl;\nfn f() { rl::a::g() }"),
        ("classify/x", "fn f() { super::super::rl::a::g() }"),
        ("classify/y", "use crate::{\n    data::X,\n    rl::a as other,\n};"),
        ("classify/z", "#[cfg(test)]\nmod tests {}\nfn later() { crate::rl::a::g() }"),
        ("classify/ok", "// crate::rl::a::g() in a comment\nmacro_rules! m { () => { $crate::nn::x() } }\nfn f() { crate::rlx::g() }"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let v = violations_in(&files, "classify", &["crate::rl"]);
    let files_found: BTreeSet<&str> = v.iter().filter_map(|line| line.split(':').next()).collect();
    assert_eq!(files_found, BTreeSet::from(["src/classify/w", "src/classify/x", "src/classify/y", "src/classify/z"]), "{v:#?}");
    // The import graph skips test modules but reads what follows them.
    assert_eq!(import_graph(&files)["classify/z"], BTreeSet::from(["rl/a".to_owned()]));
    assert!(violations_in(&files, "classify", &["crate::nn"]).is_empty(), "`$crate::` in a macro names the caller's crate");
    assert!(violations_in(&files, "rl", &["crate::"]).is_empty(), "rl's own paths stay inside it");
    assert_eq!(violations_in(&files, "classify", &["crate::"]).len(), 6, "every path out of classify/");
}

#[test]
fn imports_name_their_module() {
    // `use crate::{a, b}` would hide its modules from the checks above.
    for (node, text) in sources() {
        assert!(!text.contains("crate::{"), "src/{node}.rs: write one `use crate::module::…` per module");
    }
}
