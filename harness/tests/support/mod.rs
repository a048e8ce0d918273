//! What several test files share: a JSON output checked against its schema in `schemas/`.

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Panics with every violation when `value` does not follow `schemas/<name>.schema.json`.
#[allow(dead_code)] // not every test file checks outputs
pub fn assert_follows_schema(name: &str, value: &serde_json::Value) {
    let path = repo().join(format!("schemas/{name}.schema.json"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{}: not a schema: {e}", path.display()));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not follow {}:\n{}",
        path.display(),
        errors.join("\n")
    );
}
