//! Golden snapshot files, `fixtures/golden/<scenario>/<checkpoint>.snap`, in insta's format: a
//! YAML header (`source`, `expression`) between `---` lines, then the YAML of the normalized
//! observations. The harness reads and writes them itself; `cargo insta review` and insta's
//! `assert_snapshot!` (with `snapshot_path` pointing at the folder) read the same files.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// What the header names as the snapshot's origin and expression.
pub const SOURCE: &str = "harness/src/golden/snapshot.rs";
pub const EXPRESSION: &str = "normalized observations";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an insta snapshot: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path}: snapshot contents are not valid yaml: {reason}")]
    Yaml { path: PathBuf, reason: String },
}

/// One `.snap` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub source: String,
    pub expression: String,
    /// The YAML body, without a trailing newline (insta compares bodies end-trimmed).
    pub contents: String,
}

/// `<root>/<scenario>/<checkpoint>.snap`.
pub fn path(root: &Path, scenario: &str, checkpoint: &str) -> PathBuf {
    root.join(scenario).join(format!("{checkpoint}.snap"))
}

/// Where a snapshot that does not match is written for review (insta's pending file, which
/// `cargo insta review` offers to accept).
pub fn pending_path(snapshot: &Path) -> PathBuf {
    snapshot.with_extension("snap.new")
}

/// The YAML body for a normalized value. Deterministic: the same value always renders the same.
pub fn render(value: &Value) -> String {
    let mut options = serde_saphyr::SerializerOptions::default();
    // Every string on one line (no folded or literal blocks), so a line diff shows the
    // whole reason that changed.
    options.prefer_block_scalars = false;
    let mut out = String::new();
    serde_saphyr::to_fmt_writer_with_options(&mut out, value, options)
        .expect("a JSON value always renders as YAML");
    out.trim_end().to_owned()
}

impl Snapshot {
    pub fn of(value: &Value) -> Snapshot {
        Snapshot {
            source: SOURCE.to_owned(),
            expression: EXPRESSION.to_owned(),
            contents: render(value),
        }
    }

    /// The file's text.
    pub fn to_file_text(&self) -> String {
        format!(
            "---\nsource: {}\nexpression: {}\n---\n{}\n",
            header_scalar(&self.source),
            header_scalar(&self.expression),
            self.contents
        )
    }

    pub fn parse(path: &Path, text: &str) -> Result<Snapshot, SnapshotError> {
        let malformed = |reason: &str| SnapshotError::Malformed {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some("---") {
            return Err(malformed("the first line is not `---`"));
        }
        let mut source = String::new();
        let mut expression = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            if line.trim_end() == "---" {
                closed = true;
                break;
            }
            if let Some((key, value)) = line.split_once(':') {
                let value = unquote(value.trim());
                match key.trim() {
                    "source" => source = value,
                    "expression" => expression = value,
                    _ => {}
                }
            }
        }
        if !closed {
            return Err(malformed("the header has no closing `---`"));
        }
        let contents = lines.collect::<Vec<_>>().join("\n").trim_end().to_owned();
        Ok(Snapshot {
            source,
            expression,
            contents,
        })
    }

    /// `Ok(None)` when there is no snapshot yet.
    pub fn read(path: &Path) -> Result<Option<Snapshot>, SnapshotError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Snapshot::parse(path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SnapshotError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), SnapshotError> {
        let io = |source| SnapshotError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(path, self.to_file_text()).map_err(io)
    }

    /// The body as a value, for a structural comparison.
    pub fn value(&self, path: &Path) -> Result<Value, SnapshotError> {
        if self.contents.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_saphyr::from_str(&self.contents).map_err(|e| SnapshotError::Yaml {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// Header values are plain words and paths; anything else is written double-quoted.
fn header_scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_./".contains(c))
        && !value.starts_with([' ', '-'])
        && !value.ends_with(' ');
    if plain {
        value.to_owned()
    } else {
        serde_json::to_string(value).expect("a string serializes")
    }
}

fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        if let Ok(s) = serde_json::from_str::<String>(value) {
            return s;
        }
    }
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return value[1..value.len() - 1].replace("''", "'");
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn file_text_is_insta_format() {
        let s = Snapshot::of(&json!({"dns": {"verdict": {"passed": true}}}));
        let text = s.to_file_text();
        assert!(
            text.starts_with(
                "---\nsource: harness/src/golden/snapshot.rs\nexpression: normalized observations\n---\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("passed: true\n"), "{text}");
    }

    #[test]
    fn a_snapshot_written_by_insta_is_read() {
        let text = "---\nsource: tests/conformance.rs\nassertion_line: 42\nexpression: \"render(&observations)\"\n---\ndns:\n  verdict:\n    passed: true\n";
        let s = Snapshot::parse(Path::new("x.snap"), text).unwrap();
        assert_eq!(s.source, "tests/conformance.rs");
        assert_eq!(s.expression, "render(&observations)");
        assert_eq!(
            s.value(Path::new("x.snap")).unwrap(),
            json!({"dns": {"verdict": {"passed": true}}})
        );
    }

    #[test]
    fn a_file_without_header_is_rejected() {
        let err = Snapshot::parse(Path::new("g/x.snap"), "dns: 1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "g/x.snap: not an insta snapshot: the first line is not `---`"
        );
    }

    #[test]
    fn write_then_read_gives_the_same_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        let p = path(&dir, "lifecycle", "installed");
        let s = Snapshot::of(&json!({
            "reachability": {"cells": {"deployer → node-2:30081/tcp": "open"}},
            "pods": {"verdict": {"passed": false, "reasons": ["default/restapi-[hash]: not Ready: ok: no"]}},
        }));
        s.write(&p).unwrap();
        assert_eq!(Snapshot::read(&p).unwrap(), Some(s));
        assert_eq!(Snapshot::read(&dir.join("missing.snap")).unwrap(), None);
    }

    /// The conformance suite asserts with insta on the files the harness writes: insta must
    /// find the same body in them.
    #[test]
    fn insta_reads_what_the_harness_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        let value = json!({
            "nodes": {"verdict": {"passed": true, "reasons": [], "notes": []}, "nodes": {"node-1": {"status": "Ready", "roles": ["control-plane"]}}},
            "reachability": {"cells": {"harness → lb:443/tcp": "open", "node-1 → node-2:2379/tcp": "open"}},
        });
        Snapshot::of(&value)
            .write(&path(&dir, "lifecycle", "installed"))
            .unwrap();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(dir.join("lifecycle"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!("installed", render(&value)));
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("lifecycle"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            vec!["installed.snap"],
            "insta wrote no pending file"
        );
    }

    fn yaml_hostile_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z \\-:#'\"\\[\\]{}>|*&!%@`→]{0,24}".prop_map(|s| s),
            Just("yes".to_owned()),
            Just("null".to_owned()),
            Just("~".to_owned()),
            Just("0x1F".to_owned()),
            Just("1e3".to_owned()),
            Just("- item".to_owned()),
            Just("a\nb".to_owned()),
            Just(" leading".to_owned()),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            yaml_hostile_text().prop_map(Value::String),
            any::<u32>().prop_map(|n| json!(n)),
            any::<bool>().prop_map(Value::Bool),
        ];
        leaf.prop_recursive(3, 20, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(yaml_hostile_text(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn rendered_yaml_reads_back_as_the_same_value(v in value()) {
            let p = Path::new("x.snap");
            let s = Snapshot::parse(p, &Snapshot::of(&v).to_file_text()).unwrap();
            prop_assert_eq!(s.value(p).unwrap(), v);
        }
    }
}
