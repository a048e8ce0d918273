//! `acura-ha validate FILE…` and `acura-ha list [DIR]`.

use std::path::{Path, PathBuf};

use acura_ha::{exit_code, scenario, Result};

pub fn validate(files: &[PathBuf]) -> Result<i32> {
    let mut code = exit_code::PASSED;
    for file in files {
        match scenario::load(file) {
            Ok(loaded) => outln!(
                "{}: ok ({}, {} steps)",
                file.display(),
                loaded.scenario.name,
                loaded.scenario.steps.len()
            ),
            Err(e) => {
                eprintln!("{e}");
                // The worst of them: an infrastructure error over invalid input.
                code = code.max(e.exit_code());
            }
        }
    }
    Ok(code)
}

pub fn list(dir: &Path) -> Result<i32> {
    let found = scenario::discover(dir);
    if found.is_empty() {
        eprintln!("no scenarios under {}", dir.display());
        return Ok(exit_code::INVALID_INPUT);
    }
    let mut code = exit_code::PASSED;
    for s in found {
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
                code = exit_code::INVALID_INPUT;
            }
        }
    }
    Ok(code)
}
