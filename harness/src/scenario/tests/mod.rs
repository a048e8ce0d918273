//! Tests of the loader as a scenario author meets it: one test per class of mistake, with the
//! rendered message snapshotted, and properties over arbitrary and mutated files.

mod discovery;
mod errors;
mod never_panics;
mod shipped;
mod validation;

use std::path::Path;

use super::{load_str, parse, Diagnostic, LoadedScenario};
use crate::Error;

/// The name every test gives its text, so that snapshots do not depend on where tests run.
const FILE: &str = "example.yaml";

/// The keys every scenario needs, followed by `steps:`.
const HEADER: &str = "name: example\nproduct:\n  archive: hystax-ha-archive.tar.gz\nsteps:\n";

fn with_steps(steps: &str) -> String {
    format!("{HEADER}{steps}")
}

fn rendered(text: &str) -> String {
    match load_str(FILE, text) {
        Err(Error::Invalid { rendered }) => rendered,
        Err(other) => panic!("expected an invalid-input error, got {other}"),
        Ok(_) => panic!("expected the scenario to be rejected:\n{text}"),
    }
}

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match parse(Path::new(FILE), text) {
        Err(diagnostics) => diagnostics,
        Ok(_) => panic!("expected the scenario to be rejected:\n{text}"),
    }
}

/// The only diagnostic of `text`.
fn diagnostic(text: &str) -> Diagnostic {
    let mut all = diagnostics(text);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}");
    all.remove(0)
}

fn loaded(text: &str) -> LoadedScenario {
    match load_str(FILE, text) {
        Ok(loaded) => loaded,
        Err(e) => panic!("expected the scenario to load:\n{e}"),
    }
}
