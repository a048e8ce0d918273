//! `acura-ha validate FILE…` and `acura-ha list [DIR]`.

use std::path::{Path, PathBuf};

use acura_ha::{exit_code, scenario, Result};
use serde::Serialize;

/// One file's verdict, as `validate --json` writes it.
#[derive(Serialize)]
struct Validated {
    file: PathBuf,
    valid: bool,
    name: Option<String>,
    steps: Option<usize>,
    /// The rendered diagnostics (file, line, column, field) when it is not valid.
    error: Option<String>,
    exit_code: i32,
}

pub fn validate(files: &[PathBuf], json: Option<PathBuf>) -> Result<i32> {
    let quiet = super::json_to_stdout(&json);
    let mut code = exit_code::PASSED;
    let mut results = Vec::new();
    for file in files {
        match scenario::load(file) {
            Ok(loaded) => {
                if !quiet {
                    outln!(
                        "{}: ok ({}, {} steps)",
                        file.display(),
                        loaded.scenario.name,
                        loaded.scenario.steps.len()
                    );
                }
                results.push(Validated {
                    file: file.clone(),
                    valid: true,
                    name: Some(loaded.scenario.name.clone()),
                    steps: Some(loaded.scenario.steps.len()),
                    error: None,
                    exit_code: exit_code::PASSED,
                });
            }
            Err(e) => {
                eprintln!("{}", super::paint_errors(&e.to_string()));
                // The worst of them: an infrastructure error over invalid input.
                code = code.max(e.exit_code());
                results.push(Validated {
                    file: file.clone(),
                    valid: false,
                    name: None,
                    steps: None,
                    error: Some(e.to_string()),
                    exit_code: e.exit_code(),
                });
            }
        }
    }
    if let Some(path) = &json {
        #[derive(Serialize)]
        struct Doc {
            exit_code: i32,
            files: Vec<Validated>,
        }
        super::write_json(
            path,
            "validate",
            &Doc {
                exit_code: code,
                files: results,
            },
        )?;
    }
    Ok(code)
}

pub fn list(dir: &Path, json: Option<PathBuf>) -> Result<i32> {
    let found = scenario::discover(dir);
    if found.is_empty() {
        eprintln!("no scenarios under {}", dir.display());
        return Ok(exit_code::INVALID_INPUT);
    }
    let quiet = super::json_to_stdout(&json);
    let mut code = exit_code::PASSED;
    for s in &found {
        if s.error.is_some() {
            code = exit_code::INVALID_INPUT;
        }
        if quiet {
            continue;
        }
        match &s.error {
            None => outln!(
                "{:<28} {:<8} {:>3} steps  {}",
                s.file.display(),
                s.provider.as_str(),
                s.steps,
                s.description.as_deref().unwrap_or("")
            ),
            Some(e) => {
                outln!(
                    "{:<28} INVALID  {}",
                    s.file.display(),
                    e.lines().next().unwrap_or("")
                );
            }
        }
    }
    if let Some(path) = &json {
        #[derive(Serialize)]
        struct Doc<'a> {
            dir: &'a Path,
            scenarios: &'a [scenario::ScenarioSummary],
        }
        super::write_json(
            path,
            "list",
            &Doc {
                dir,
                scenarios: &found,
            },
        )?;
    }
    Ok(code)
}
