//! Golden snapshots: what each checkpoint of a scenario is expected to observe, normalized so
//! that it holds on every provider and every run, stored under
//! `fixtures/golden/<scenario>/<checkpoint>.snap` in insta's format.
//!
//! A checkpoint's observations are normalized ([`Normalizer`]), compared structurally with the
//! stored snapshot ([`compare`]), and on a mismatch the new state is written next to it as
//! insta's pending `.snap.new`, so either `--update-golden` or `cargo insta review` accepts it.

mod diff;
mod normalize;
mod snapshot;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use diff::{compare, Change, ChangeKind, GoldenDiff};
pub use normalize::Normalizer;
pub use snapshot::{path, pending_path, render, Snapshot, SnapshotError, EXPRESSION, SOURCE};

/// How a checkpoint's observations compared with its golden snapshot.
#[derive(Debug)]
pub enum GoldenOutcome {
    Matched,
    /// `--update-golden`: the snapshot now holds the observed state.
    Updated {
        path: PathBuf,
    },
    /// No snapshot yet: the observed state waits in `pending` for review.
    Missing {
        path: PathBuf,
        pending: PathBuf,
    },
    Mismatch {
        path: PathBuf,
        pending: PathBuf,
        diff: GoldenDiff,
    },
}

impl GoldenOutcome {
    /// Whether the checkpoint passes its golden comparison.
    pub fn accepted(&self) -> bool {
        matches!(self, GoldenOutcome::Matched | GoldenOutcome::Updated { .. })
    }
}

impl std::fmt::Display for GoldenOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoldenOutcome::Matched => f.write_str("matches the golden snapshot"),
            GoldenOutcome::Updated { path } => {
                write!(f, "golden snapshot {} updated", path.display())
            }
            GoldenOutcome::Missing { path, pending } => write!(
                f,
                "no golden snapshot {}; the observed state is in {} \
                 (accept with --update-golden or cargo insta review)",
                path.display(),
                pending.display()
            ),
            GoldenOutcome::Mismatch {
                path,
                pending,
                diff,
            } => write!(
                f,
                "differs from the golden snapshot {}: {diff}new state in {} \
                 (accept with --update-golden or cargo insta review)",
                path.display(),
                pending.display()
            ),
        }
    }
}

/// Where a run's checkpoints keep their snapshots, and whether it writes them anew.
#[derive(Clone, Debug)]
pub struct Goldens {
    /// `fixtures/golden/`.
    pub root: std::path::PathBuf,
    pub scenario: String,
    /// `--update-golden`: write what was observed instead of comparing.
    pub update: bool,
}

impl Goldens {
    /// `<root>/<scenario>/<checkpoint>.snap`.
    pub fn path(&self, checkpoint: &str) -> std::path::PathBuf {
        path(&self.root, &self.scenario, checkpoint)
    }

    /// [`verify`] the checkpoint's snapshot.
    pub fn verify(
        &self,
        checkpoint: &str,
        normalized: &Value,
    ) -> Result<GoldenOutcome, SnapshotError> {
        verify(&self.path(checkpoint), normalized, self.update)
    }
}

/// Compare `normalized` with the snapshot at `path`; with `update`, write it there instead.
/// A stale pending file is removed once the snapshot matches.
pub fn verify(
    path: &Path,
    normalized: &Value,
    update: bool,
) -> Result<GoldenOutcome, SnapshotError> {
    let observed = Snapshot::of(normalized);
    let pending = pending_path(path);
    let stored = Snapshot::read(path)?;
    if update {
        // An identical body keeps its file (and whatever header insta gave it).
        if stored
            .as_ref()
            .map(|s| s.contents != observed.contents)
            .unwrap_or(true)
        {
            observed.write(path)?;
        }
        remove_pending(&pending)?;
        return Ok(GoldenOutcome::Updated {
            path: path.to_owned(),
        });
    }
    let Some(stored) = stored else {
        observed.write(&pending)?;
        return Ok(GoldenOutcome::Missing {
            path: path.to_owned(),
            pending,
        });
    };
    match compare(&stored.value(path)?, normalized) {
        None => {
            remove_pending(&pending)?;
            Ok(GoldenOutcome::Matched)
        }
        Some(diff) => {
            observed.write(&pending)?;
            Ok(GoldenOutcome::Mismatch {
                path: path.to_owned(),
                pending,
                diff,
            })
        }
    }
}

fn remove_pending(pending: &Path) -> Result<(), SnapshotError> {
    match std::fs::remove_file(pending) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SnapshotError::Io {
            path: pending.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_then_updated_then_matched_then_mismatched() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        let p = path(&dir, "lifecycle", "installed");
        let healthy = json!({"nodes": {"nodes": {"node-1": "Ready", "node-2": "Ready"}}});

        let outcome = verify(&p, &healthy, false).unwrap();
        assert!(
            matches!(outcome, GoldenOutcome::Missing { .. }),
            "{outcome}"
        );
        assert!(pending_path(&p).exists());

        assert!(verify(&p, &healthy, true).unwrap().accepted());
        assert!(
            !pending_path(&p).exists(),
            "update removes the pending file"
        );
        assert!(matches!(
            verify(&p, &healthy, false).unwrap(),
            GoldenOutcome::Matched
        ));

        let degraded = json!({"nodes": {"nodes": {"node-1": "Ready", "node-2": "NotReady"}}});
        match verify(&p, &degraded, false).unwrap() {
            GoldenOutcome::Mismatch { diff, pending, .. } => {
                assert_eq!(
                    diff.to_string(),
                    "1 change in nodes:\n  nodes: nodes: node-2: Ready → NotReady\n"
                );
                let new = Snapshot::read(&pending).unwrap().unwrap();
                assert_eq!(new.value(&pending).unwrap(), degraded);
            }
            other => panic!("expected a mismatch, got {other}"),
        }
    }
}
