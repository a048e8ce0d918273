//! The library's top-level modules form layers: no module reaches, through `crate::…` paths,
//! a module that reaches it back. The runner sits above the steps and checks, which sit above
//! the context they reach hosts through; a cycle would make that a habit instead of a fact.
//!
//! Read from the sources: every `crate::<module>` path outside test code (`#[cfg(test)]`
//! sections, `tests.rs`, `tests/` folders) is an edge from the file's top-level module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where each edge was seen first: `(from, to) -> file:line`.
type Edges = BTreeMap<(String, String), String>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("tests.rs")
            && !path.ends_with("testing.rs")
        {
            out.push(path);
        }
    }
}

/// The edges of the library's sources under `src` (the binary's `main.rs` and `cli/` are
/// the top, above every module, and are left out).
fn edges(src: &Path) -> Edges {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut edges = Edges::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_owned();
        if ["lib", "main", "cli"].contains(&module.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                let target: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !target.is_empty() && target != module {
                    edges
                        .entry((module.clone(), target))
                        .or_insert_with(|| format!("{}:{}", relative.display(), n + 1));
                }
            }
        }
    }
    edges
}

/// A cycle among the modules, as the list of edges that close it, or `None`.
fn cycle(edges: &Edges) -> Option<Vec<(String, String)>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().insert(to);
    }
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = path.iter().position(|n| *n == node) {
            let mut found = path[i..].to_vec();
            found.push(node);
            return Some(found);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        if let Some(found) = visit(start, &graph, &mut Vec::new(), &mut done) {
            return Some(
                found
                    .windows(2)
                    .map(|w| (w[0].to_owned(), w[1].to_owned()))
                    .collect(),
            );
        }
    }
    None
}

fn describe(cycle: &[(String, String)], edges: &Edges) -> String {
    cycle
        .iter()
        .map(|edge| format!("  {} -> {} ({})", edge.0, edge.1, edges[edge]))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    assert!(
        edges.len() > 20 && edges.contains_key(&("runner".into(), "steps".into())),
        "the sources were not read: {edges:?}"
    );
    if let Some(found) = cycle(&edges) {
        panic!(
            "the modules import each other in a circle:\n{}",
            describe(&found, &edges)
        );
    }
}

#[test]
fn a_cycle_is_found_and_named_by_the_lines_that_close_it() {
    let mut edges = Edges::new();
    for (from, to, at) in [
        ("runner", "steps", "runner/run.rs:20"),
        ("steps", "context", "steps/mod.rs:41"),
        ("context", "provider", "context.rs:11"),
        ("provider", "topology", "provider/mod.rs:15"),
    ] {
        edges.insert((from.into(), to.into()), at.into());
    }
    assert_eq!(cycle(&edges), None);
    edges.insert(("context".into(), "runner".into()), "context.rs:12".into());
    let found = cycle(&edges).expect("runner -> steps -> context -> runner");
    assert_eq!(
        describe(&found, &edges),
        "  context -> runner (context.rs:12)\n  runner -> steps (runner/run.rs:20)\n  steps -> context (steps/mod.rs:41)"
    );
}
