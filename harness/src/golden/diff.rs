//! The difference between a golden snapshot and what a checkpoint observed, as a list of
//! changes that each name the check and the cell: `reachability: cells: deployer →
//! node-2:30081/tcp: open → timed out`.

use std::fmt;

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// The value at this path changed.
    Changed { expected: String, actual: String },
    /// Observed now, absent from the snapshot.
    Added(String),
    /// In the snapshot, not observed now.
    Removed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The check (the snapshot's top-level key).
    pub check: String,
    /// Keys below the check, outermost first.
    pub path: Vec<String>,
    pub kind: ChangeKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldenDiff {
    pub changes: Vec<Change>,
}

impl GoldenDiff {
    /// The checks with at least one change, each once, in snapshot order.
    pub fn checks(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for c in &self.changes {
            if !names.contains(&c.check.as_str()) {
                names.push(&c.check);
            }
        }
        names
    }
}

/// `None` when `actual` matches `expected` (both normalized snapshot values).
pub fn compare(expected: &Value, actual: &Value) -> Option<GoldenDiff> {
    let mut changes = Vec::new();
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut checks: Vec<&String> = e.keys().chain(a.keys()).collect();
            checks.sort();
            checks.dedup();
            for check in checks {
                match (e.get(check), a.get(check)) {
                    (Some(ev), Some(av)) => walk(check, &mut Vec::new(), ev, av, &mut changes),
                    (Some(ev), None) => changes.push(Change {
                        check: check.clone(),
                        path: Vec::new(),
                        kind: ChangeKind::Removed(inline(ev)),
                    }),
                    (None, Some(av)) => changes.push(Change {
                        check: check.clone(),
                        path: Vec::new(),
                        kind: ChangeKind::Added(inline(av)),
                    }),
                    (None, None) => {}
                }
            }
        }
        (e, a) if e != a => changes.push(Change {
            check: "(snapshot)".into(),
            path: Vec::new(),
            kind: ChangeKind::Changed {
                expected: inline(e),
                actual: inline(a),
            },
        }),
        _ => {}
    }
    (!changes.is_empty()).then_some(GoldenDiff { changes })
}

fn walk(
    check: &str,
    path: &mut Vec<String>,
    expected: &Value,
    actual: &Value,
    out: &mut Vec<Change>,
) {
    let change = |path: &[String], kind| Change {
        check: check.to_owned(),
        path: path.to_vec(),
        kind,
    };
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut keys: Vec<&String> = e.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                path.push(key.clone());
                match (e.get(key), a.get(key)) {
                    (Some(ev), Some(av)) => walk(check, path, ev, av, out),
                    (Some(ev), None) => out.push(change(path, ChangeKind::Removed(inline(ev)))),
                    (None, Some(av)) => out.push(change(path, ChangeKind::Added(inline(av)))),
                    (None, None) => {}
                }
                path.pop();
            }
        }
        // Lists are sets: report what left and what arrived, not positions.
        (Value::Array(e), Value::Array(a)) => {
            let mut remaining: Vec<&Value> = a.iter().collect();
            for ev in e {
                match remaining.iter().position(|av| *av == ev) {
                    Some(i) => {
                        remaining.remove(i);
                    }
                    None => out.push(change(path, ChangeKind::Removed(inline(ev)))),
                }
            }
            for av in remaining {
                out.push(change(path, ChangeKind::Added(inline(av))));
            }
        }
        (e, a) if e != a => out.push(change(
            path,
            ChangeKind::Changed {
                expected: inline(e),
                actual: inline(a),
            },
        )),
        _ => {}
    }
}

/// A value on one line: scalars bare, collections in YAML flow style.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}: {}", inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = self.check.clone();
        for key in &self.path {
            place.push_str(": ");
            place.push_str(key);
        }
        match &self.kind {
            ChangeKind::Changed { expected, actual } => write!(f, "{place}: {expected} → {actual}"),
            ChangeKind::Added(v) => write!(f, "{place}: + {v}"),
            ChangeKind::Removed(v) => write!(f, "{place}: - {v}"),
        }
    }
}

impl fmt::Display for GoldenDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.changes.len();
        writeln!(
            f,
            "{n} change{} in {}:",
            if n == 1 { "" } else { "s" },
            self.checks().join(", ")
        )?;
        for c in &self.changes {
            writeln!(f, "  {c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn installed() -> Value {
        json!({
            "reachability": {
                "verdict": {"passed": true, "reasons": [], "notes": []},
                "cells": {
                    "deployer → node-2:30081/tcp": "open",
                    "deployer → node-2:22/tcp": "open",
                    "node-1 → node-2:2379/tcp": "open",
                },
            },
            "etcd": {
                "verdict": {"passed": true, "reasons": [], "notes": []},
                "members": {"node-1": {"healthy": true}, "node-2": {"healthy": true}, "node-3": {"healthy": true}},
                "leaders": 1,
            },
            "dns": {"verdict": {"passed": true, "reasons": [], "notes": []}},
        })
    }

    #[test]
    fn equal_values_have_no_diff() {
        assert_eq!(compare(&installed(), &installed()), None);
    }

    #[test]
    fn a_diff_names_every_check_and_cell_that_changed() {
        let mut after = installed();
        after["reachability"]["cells"]["deployer → node-2:30081/tcp"] = json!("timed out");
        after["reachability"]["verdict"] = json!({
            "passed": false,
            "reasons": ["deployer → node-2:30081/tcp: timed out, expected open"],
            "notes": [],
        });
        after["etcd"]["members"]
            .as_object_mut()
            .unwrap()
            .remove("node-2");
        after["etcd"]["members"]["node-4"] = json!({"healthy": true});
        after.as_object_mut().unwrap().remove("dns");
        after["https"] = json!({"verdict": {"passed": true}});
        let diff = compare(&installed(), &after).expect("a diff");
        assert_eq!(diff.checks(), vec!["dns", "etcd", "https", "reachability"]);
        insta::assert_snapshot!("diff_rendering", diff.to_string());
    }
}
