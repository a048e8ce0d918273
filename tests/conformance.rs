//! The conformance suite: each scenario's steps, procedure tally, and every check of every
//! checkpoint (plus its golden comparison) is a trial. One topology per scenario is shared by
//! its trials; `--list` and name filters run nothing that is not selected.

use acura_ha::checks::CheckName;
use acura_ha::scenario::{self, Step};
use acura_ha_conformance::{finished, repo, Finished};
use libtest_mimic::{Arguments, Failed, Trial};

struct Suite {
    file: &'static str,
    /// The scenario must fail (exit 1) with a message containing this.
    expect_failure: Option<&'static str>,
    /// Procedure commands that must all have passed.
    procedure: std::ops::RangeInclusive<u8>,
}

const SUITES: [Suite; 3] = [
    Suite {
        file: "scenarios/lifecycle.yaml",
        expect_failure: None,
        procedure: 1..=28,
    },
    Suite {
        file: "scenarios/migration.yaml",
        expect_failure: None,
        procedure: 1..=18,
    },
    Suite {
        file: "scenarios/negative/second-node-loss.yaml",
        expect_failure: Some("etcd quorum lost"),
        procedure: 1..=18,
    },
];

fn step_trial(f: &Finished, index: usize) -> Result<(), Failed> {
    let step = f.record["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["index"].as_u64() == Some(index as u64)))
        .ok_or_else(|| Failed::from("the step did not run"))?;
    match step["outcome"].as_str() {
        Some("passed") => Ok(()),
        other => Err(format!(
            "{}: {}",
            other.unwrap_or("unfinished"),
            step["message"].as_str().unwrap_or_default()
        )
        .into()),
    }
}

fn check_trial(f: &Finished, checkpoint: &str, check: &str) -> Result<(), Failed> {
    let found = f.record["checks"].as_array().and_then(|c| {
        c.iter().find(|c| {
            c["checkpoint"].as_str() == Some(checkpoint) && c["check"].as_str() == Some(check)
        })
    });
    match found {
        None => Err(format!("check {check} did not run at checkpoint {checkpoint}").into()),
        Some(c) if c["outcome"].as_str() == Some("passed") => Ok(()),
        Some(c) => Err(c["message"].as_str().unwrap_or("failed").to_owned().into()),
    }
}

fn procedure_trial(f: &Finished, range: &std::ops::RangeInclusive<u8>) -> Result<(), Failed> {
    let passed: Vec<String> = f.record["procedure"]["passed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<String> = range
        .clone()
        .map(|n| format!("C{n}"))
        .filter(|c| !passed.contains(c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("procedure commands not passed: {}", missing.join(", ")).into())
    }
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for suite in &SUITES {
        let loaded = match scenario::load(&repo().join(suite.file)) {
            Ok(l) => l,
            Err(e) => {
                let message = e.to_string();
                trials.push(Trial::test(format!("{}::loads", suite.file), move || {
                    Err(message.into())
                }));
                continue;
            }
        };
        let name = loaded.scenario.name.clone();
        let file = suite.file;
        let expect_failure = suite.expect_failure;
        trials.push(Trial::test(format!("{name}::run"), move || {
            let f = finished(file)?;
            let message = f.record["message"].as_str().unwrap_or_default().to_owned();
            let leaked: Vec<String> = f.record["teardown"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| !r["error"].is_null())
                .map(|r| r.to_string())
                .collect();
            if !leaked.is_empty() {
                return Err(format!("teardown failed: {}", leaked.join("; ")).into());
            }
            match expect_failure {
                None if f.exit_code == 0 => Ok(()),
                None => Err(format!("exit {}: {message}", f.exit_code).into()),
                Some(needle) if f.exit_code == 1 && message.contains(needle) => Ok(()),
                Some(needle) => Err(format!(
                    "expected exit 1 naming `{needle}`, got exit {}: {message}",
                    f.exit_code
                )
                .into()),
            }
        }));
        let range = suite.procedure.clone();
        trials.push(Trial::test(format!("{name}::procedure"), move || {
            procedure_trial(&finished(file)?, &range)
        }));
        for (index, step) in loaded.scenario.steps.iter().enumerate() {
            if expect_failure.is_some() && index + 1 == loaded.scenario.steps.len() {
                continue; // the step that must fail is judged by `run`
            }
            let label = acura_ha::steps::describe(step).replace(' ', "-");
            trials.push(Trial::test(
                format!("{name}::step::{:02}-{label}", index + 1),
                move || step_trial(&finished(file)?, index),
            ));
            if let Step::Checkpoint(cp) = step {
                for check in CheckName::ALL.iter().map(|c| c.as_str()).chain(["golden"]) {
                    let cp = cp.clone();
                    trials.push(Trial::test(format!("{name}::{cp}::{check}"), move || {
                        check_trial(&finished(file)?, &cp, check)
                    }));
                }
            }
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
