//! The `acura-ha` binary as a user runs it, for what needs no topology.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `--provider` may hand a scenario to a provider that cannot do its steps: the run refuses
/// it before making anything, as invalid input naming the step's line.
#[test]
fn a_provider_override_that_cannot_do_a_step_is_invalid_input() {
    let artifacts = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(["run", "scenarios/node-failure.yaml", "--provider", "static"])
        .arg("--artifacts")
        .arg(artifacts.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let line = std::fs::read_to_string(repo().join("scenarios/node-failure.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.trim_start().starts_with("- fault"))
        .unwrap()
        + 1;
    assert!(
        text.contains(&format!(
            "scenarios/node-failure.yaml:{line}: step `fault`: provider `static`: this provider cannot power off hosts"
        )),
        "{text}"
    );
}
