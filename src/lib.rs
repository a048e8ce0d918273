//! Support for the conformance suite (`tests/conformance.rs`): run a scenario once and share
//! its run record between every trial that asks about it.
//!
//! Under `cargo test` the trials are threads of one process and share the record in memory.
//! Under `cargo nextest run` every trial is its own process, so the first one to need a
//! scenario runs it while holding a file lock, and writes the record where the others of the
//! same nextest run (`NEXTEST_RUN_ID`) read it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use acura_ha::run_record::RunRecord;
use acura_ha::runner::run::{self, RunOptions};
use acura_ha::scenario;

/// What a finished run left for the trials.
#[derive(Clone, Debug)]
pub struct Finished {
    pub exit_code: i32,
    pub record: RunRecord,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn session_dir() -> PathBuf {
    let session =
        std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| format!("pid-{}", std::process::id()));
    repo().join("target/conformance").join(session)
}

type Shared = Mutex<HashMap<String, Arc<OnceLock<Result<Finished, String>>>>>;
static RUNS: OnceLock<Shared> = OnceLock::new();

/// The record of `scenario` (a path under the repository), running it first if no trial of this
/// suite run has.
pub fn finished(scenario: &str) -> Result<Finished, String> {
    let slot = {
        let mut runs = RUNS.get_or_init(Default::default).lock().unwrap();
        runs.entry(scenario.to_owned()).or_default().clone()
    };
    slot.get_or_init(|| run_shared(scenario)).clone()
}

fn run_shared(scenario: &str) -> Result<Finished, String> {
    let dir = session_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stem = scenario.replace(['/', '.'], "_");
    let lock_path = dir.join(format!("{stem}.lock"));
    let result_path = dir.join(format!("{stem}.json"));
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
    if let Some(done) = read_result(&result_path) {
        return Ok(done);
    }
    let done = run_now(scenario)?;
    let text = serde_json::json!({ "exit_code": done.exit_code, "record": done.record });
    std::fs::write(&result_path, text.to_string())
        .map_err(|e| format!("{}: {e}", result_path.display()))?;
    Ok(done)
}

fn read_result(path: &Path) -> Option<Finished> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(Finished {
        exit_code: v["exit_code"].as_i64()? as i32,
        record: serde_json::from_value(v["record"].clone()).ok()?,
    })
}

fn run_now(scenario: &str) -> Result<Finished, String> {
    let loaded = scenario::load(&repo().join(scenario)).map_err(|e| e.to_string())?;
    let options = RunOptions {
        provider: None,
        keep: false,
        update_golden: std::env::var_os("ACURA_HA_UPDATE_GOLDEN").is_some(),
        artifacts_root: repo().join("target/conformance-artifacts"),
        outputs: Default::default(),
        vms_dir: repo().join("vms"),
        golden_dir: repo().join("fixtures/golden"),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let summary = runtime.block_on(run::run(loaded, options));
    let path = summary.artifacts.join("run.json");
    let record = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display())))?;
    Ok(Finished {
        exit_code: summary.exit_code,
        record,
    })
}
