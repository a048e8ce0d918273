//! Every `--json` the CLI writes follows its schema in `schemas/`, taken from the real binary
//! on the repository's own scenarios (and, for `gc` and `images`, the docker daemon).

mod support;

use std::process::Command;

use support::{assert_follows_schema, repo};

fn json_of(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON document ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), value)
}

#[test]
fn list_validate_and_plan_write_json_that_follows_their_schemas() {
    let (code, list) = json_of(&["list", "scenarios", "--json", "-"]);
    assert_eq!(code, Some(0));
    assert_follows_schema("list", &list);
    assert!(list["scenarios"].as_array().unwrap().len() >= 5);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: bad\nsteps: [nonsense]\n").unwrap();
    let (code, validated) = json_of(&[
        "validate",
        "scenarios/lifecycle.yaml",
        bad.to_str().unwrap(),
        "--json",
        "-",
    ]);
    assert_eq!(code, Some(2), "the worst of the files");
    assert_follows_schema("validate", &validated);
    assert_eq!(validated["files"][0]["valid"], true);
    assert_eq!(validated["files"][1]["valid"], false);
    assert!(validated["files"][1]["error"]
        .as_str()
        .unwrap()
        .contains("bad.yaml:2"));

    let (code, plan) = json_of(&["plan", "scenarios/lifecycle.yaml", "--json", "-"]);
    assert_eq!(code, Some(0));
    assert_follows_schema("plan", &plan);
    assert_eq!(plan["scenario"], "lifecycle");
}

/// Both read the docker daemon only: nothing is built or removed (`gc --dry-run`).
#[test]
fn gc_dry_run_and_images_list_write_json_that_follows_their_schemas() {
    let (code, gc) = json_of(&["gc", "--dry-run", "--json", "-"]);
    assert_eq!(code, Some(0));
    assert_follows_schema("gc", &gc);
    assert_eq!(gc["dry_run"], true);
    let (code, images) = json_of(&["images", "list", "--json", "-"]);
    assert_eq!(code, Some(0));
    assert_follows_schema("images", &images);
    assert_eq!(images["images"].as_array().unwrap().len(), 4);
}

/// The schemas are strict enough to fail: a field renamed or a version bumped is caught.
#[test]
fn a_document_that_drifted_from_its_schema_is_refused() {
    let (_, mut list) = json_of(&["list", "scenarios", "--json", "-"]);
    list["scenarios"][0]["steps_count"] = list["scenarios"][0]["steps"].take();
    let refused = std::panic::catch_unwind(|| assert_follows_schema("list", &list));
    assert!(refused.is_err(), "a renamed field passes the list schema");
    let refused = std::panic::catch_unwind(|| {
        assert_follows_schema("run-record", &serde_json::json!({"format_version": 2}))
    });
    assert!(refused.is_err(), "a newer run record passes its schema");
}
