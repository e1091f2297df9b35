//! The crate's layers, checked: imports point down. Each top-level module has a place in
//! [`LAYERS`]; a module may name modules of lower layers and, within its own layer, only those
//! listed before it — so no two folders import each other. Files may not import each other in
//! a cycle either (a folder's `mod.rs` declaring its files and re-exporting them with
//! `pub use` is the folder's interface, not an import). ARCHITECTURE.md explains the layers; change both together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first; within a layer, a module may import only those before it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "vocabulary",
        &["chunks", "config", "catalog", "query", "scoring", "health"],
    ),
    (
        "edges",
        &[
            "upstream",
            "usage",
            "limits",
            "protocol",
            "stats",
            "shared_state",
            "history",
            "discovery",
            "budget",
            "metrics",
            "import",
        ],
    ),
    ("shared state", &["state"]),
    (
        "the call and the background",
        &["explain", "proxy", "runtime"],
    ),
    ("serving", &["server", "ui"]),
    ("process", &["app", "cli"]),
];

fn rank_of(module: &str) -> Option<(usize, usize)> {
    LAYERS.iter().enumerate().find_map(|(layer, (_, modules))| {
        modules
            .iter()
            .position(|m| *m == module)
            .map(|place| (layer, place))
    })
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `["a", "b"]`.
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// Code without comments and string literals' contents (good enough for paths).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module paths a file names: `crate::a::b::...` and `super::x`, resolved; `pub use` lines and
/// `#[cfg(test)]` modules (tests may reach anywhere) excluded.
fn imports(file: &Path, text: &str) -> Vec<Vec<String>> {
    let code = code_of(text);
    let code = match code.find("#[cfg(test)]") {
        Some(at) => &code[..at],
        None => &code,
    };
    let own = module_path(file);
    // `super` is the module that contains this file's module.
    let parent: Vec<String> = own[..own.len().saturating_sub(1)].to_vec();
    let path_re = regex::Regex::new(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)").expect("regex");
    let braces_re =
        regex::Regex::new(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)*)::\{([^}]*)\}").expect("regex");
    let mut found = Vec::new();
    let mut statement = String::new();
    for line in code.lines() {
        statement.push_str(line);
        statement.push('\n');
        if !line.trim_end().ends_with(';') && !line.trim_end().ends_with('}') {
            continue;
        }
        let is_reexport = statement.trim_start().starts_with("pub use");
        if !is_reexport {
            for caps in path_re.captures_iter(&statement) {
                let tail: Vec<String> = caps[2]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let mut path = if &caps[1] == "crate" {
                    Vec::new()
                } else {
                    parent.clone()
                };
                path.extend(tail);
                found.push(path);
            }
            // `use super::{a, b}` and `use crate::x::{a, b}`: the braces name files too.
            for caps in braces_re.captures_iter(&statement) {
                let base: Vec<String> = caps[2]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                for item in caps[3].split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    {
                        continue;
                    }
                    let mut path = if &caps[1] == "crate" {
                        Vec::new()
                    } else {
                        parent.clone()
                    };
                    path.extend(base.iter().cloned());
                    path.push(name.to_string());
                    found.push(path);
                }
            }
        }
        statement.clear();
    }
    found
}

/// The file a module path lands in (the longest prefix that is a file).
fn file_of(path: &[String], files: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| files.contains(prefix))
}

#[test]
fn imports_point_down_through_the_layers() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let own = module_path(file);
        let Some(top) = own.first() else { continue };
        let Some(own_rank) = rank_of(top) else {
            violations.push(format!("{}: module `{top}` has no layer", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable");
        for path in imports(file, &text) {
            let Some(target) = path.first() else { continue };
            if target == top {
                continue;
            }
            match rank_of(target) {
                Some(rank) if rank < own_rank => {}
                _ => violations.push(format!(
                    "{} names `{}` ({}), which is not below `{top}`",
                    file.strip_prefix(src()).unwrap_or(file).display(),
                    path.join("::"),
                    rank_of(target).map_or("no layer", |(l, _)| LAYERS[l].0),
                )),
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "imports pointing up or sideways:\n{}",
        violations.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other_in_a_cycle() {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    let modules: BTreeSet<Vec<String>> = paths.iter().map(|p| module_path(p)).collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &paths {
        let own = module_path(file);
        let text = std::fs::read_to_string(file).expect("readable");
        let targets = graph.entry(own.clone()).or_default();
        for path in imports(file, &text) {
            if let Some(target) = file_of(&path, &modules) {
                if target != own && !target.is_empty() {
                    targets.insert(target);
                }
            }
        }
    }
    let cycles = strongly_connected(&graph);
    let described: Vec<String> = cycles
        .iter()
        .map(|c| {
            c.iter()
                .map(|m| m.join("/"))
                .collect::<Vec<_>>()
                .join(" ↔ ")
        })
        .collect();
    assert!(
        described.is_empty(),
        "file cycles:\n{}",
        described.join("\n")
    );
}

/// Tarjan's algorithm; only components of two or more files.
fn strongly_connected(
    graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
) -> Vec<Vec<Vec<String>>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        next: usize,
        found: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, node: &'a Vec<String>) {
        w.index.insert(node, w.next);
        w.low.insert(node, w.next);
        w.next += 1;
        w.stack.push(node);
        w.on_stack.insert(node);
        let graph = w.graph;
        for next in graph.get(node).into_iter().flatten() {
            let Some((key, _)) = graph.get_key_value(next) else {
                continue;
            };
            if !w.index.contains_key(key) {
                visit(w, key);
                let low = w.low[key].min(w.low[node]);
                w.low.insert(node, low);
            } else if w.on_stack.contains(key) {
                let low = w.index[key].min(w.low[node]);
                w.low.insert(node, low);
            }
        }
        if w.low[node] == w.index[node] {
            let mut component = Vec::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(top);
                component.push(top.clone());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node) {
            visit(&mut walk, node);
        }
    }
    walk.found
}
