//! The scenarios of a directory, for `acura-ha list`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::load::load;
use super::model::{ProviderKind, Step};

/// One scenario file as `list` shows it. A file that does not load is listed with its error
/// (and what could be told without loading it), never left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioSummary {
    /// The scenario's `name`, or the file's stem when it does not load.
    pub name: String,
    pub file: PathBuf,
    /// The scenario's provider; the default one when the file does not load.
    pub provider: ProviderKind,
    pub description: Option<String>,
    pub steps: usize,
    pub checkpoints: Vec<String>,
    /// Why the file does not load: the rendered diagnostics.
    pub error: Option<String>,
}

/// Every `*.yaml` / `*.yml` under `dir` (subdirectories included), sorted by path.
pub fn discover(dir: &Path) -> Vec<ScenarioSummary> {
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    collect(dir, &mut files, &mut unreadable);
    files.sort();

    let mut summaries: Vec<ScenarioSummary> = files.iter().map(|f| summarize(f)).collect();
    flag_shared_names(&mut summaries);
    summaries.extend(unreadable);
    summaries
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>, unreadable: &mut Vec<ScenarioSummary>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            unreadable.push(failed(
                dir,
                format!("cannot read directory {}: {e}", dir.display()),
            ));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                unreadable.push(failed(
                    dir,
                    format!("cannot read directory {}: {e}", dir.display()),
                ));
                continue;
            }
        };
        let path = entry.path();
        // Not following symlinked directories keeps a link cycle from recursing forever.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            collect(&path, files, unreadable);
        } else if is_scenario_file(&path) {
            files.push(path);
        }
    }
}

fn is_scenario_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn summarize(file: &Path) -> ScenarioSummary {
    match load(file) {
        Ok(loaded) => {
            let scenario = loaded.scenario;
            ScenarioSummary {
                name: scenario.name,
                file: file.to_owned(),
                provider: scenario.provider,
                description: scenario.description,
                steps: scenario.steps.len(),
                checkpoints: scenario
                    .steps
                    .iter()
                    .filter_map(|step| match step {
                        Step::Checkpoint(name) => Some(name.clone()),
                        _ => None,
                    })
                    .collect(),
                error: None,
            }
        }
        Err(e) => failed(file, e.to_string()),
    }
}

fn failed(file: &Path, error: String) -> ScenarioSummary {
    ScenarioSummary {
        name: file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        file: file.to_owned(),
        provider: ProviderKind::default(),
        description: None,
        steps: 0,
        checkpoints: Vec::new(),
        error: Some(error),
    }
}

/// Golden snapshots live under the scenario's name, so two files with one name would
/// overwrite each other's: every file after the first is listed as an error.
fn flag_shared_names(summaries: &mut [ScenarioSummary]) {
    let mut first: BTreeMap<String, PathBuf> = BTreeMap::new();
    for summary in summaries.iter_mut().filter(|s| s.error.is_none()) {
        match first.get(&summary.name) {
            Some(owner) => {
                summary.error = Some(format!(
                    "error: {}: scenario name `{}` is already used by {}",
                    summary.file.display(),
                    summary.name,
                    owner.display()
                ));
            }
            None => {
                first.insert(summary.name.clone(), summary.file.clone());
            }
        }
    }
}
