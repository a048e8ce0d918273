//! The conformance suite: each scenario's steps, procedure tally, and every check of every
//! checkpoint (plus its golden comparison) is a trial. One topology per scenario is shared by
//! its trials; `--list` and name filters run nothing that is not selected.

use acura_ha::checks::Stage;
use acura_ha::events::Outcome;
use acura_ha::procedure::CommandId;
use acura_ha::scenario::{self, Step};
use acura_ha_conformance::{finished, repo, Finished};
use libtest_mimic::{Arguments, Failed, Trial};

struct Suite {
    file: &'static str,
    /// The scenario must fail (exit 1) with a message containing this.
    expect_failure: Option<&'static str>,
    /// Procedure commands that must all have passed.
    procedure: std::ops::RangeInclusive<u8>,
    /// Runs nightly, not on every commit: its trials are ignored unless asked for
    /// (`cargo test --test conformance -- --ignored qemu-smoke`).
    nightly: bool,
}

const SUITES: [Suite; 8] = [
    Suite {
        file: "scenarios/lifecycle.yaml",
        expect_failure: None,
        procedure: 1..=28,
        nightly: false,
    },
    // The same topology as VMs under QEMU: boot, preflight, the LB, the checks before install.
    // Nightly: six VMs under TCG take 5 to 15 minutes to boot on two cores, depending on the
    // machine; every commit boots two VMs instead (`provider::qemu::tests`).
    Suite {
        file: "scenarios/qemu-smoke.yaml",
        expect_failure: None,
        procedure: 1..=6,
        nightly: true,
    },
    // The lifecycle on five and seven nodes: nightly, each as long as two three-node ones.
    Suite {
        file: "scenarios/lifecycle-5.yaml",
        expect_failure: None,
        procedure: 1..=28,
        nightly: true,
    },
    Suite {
        file: "scenarios/lifecycle-7.yaml",
        expect_failure: None,
        procedure: 1..=28,
        nightly: true,
    },
    Suite {
        file: "scenarios/migration.yaml",
        expect_failure: None,
        procedure: 1..=18,
        nightly: false,
    },
    Suite {
        file: "scenarios/node-failure.yaml",
        expect_failure: None,
        procedure: 1..=18,
        nightly: false,
    },
    Suite {
        file: "scenarios/negative/misconfigurations.yaml",
        expect_failure: None,
        procedure: 1..=18,
        nightly: false,
    },
    Suite {
        file: "scenarios/negative/second-node-loss.yaml",
        expect_failure: Some("etcd lost its quorum"),
        procedure: 1..=18,
        nightly: false,
    },
];

/// Shipped scenarios the conformance suite does not run itself, with where they run instead.
/// The `shipped` trial fails on a scenario in neither list.
const ELSEWHERE: [(&str, &str); 5] = [
    ("scenarios/preflight.yaml", "harness/tests/docker_topology.rs runs it (preflight on a healthy topology) and compares it with its plan"),
    ("scenarios/negative/preflight-fqdn.yaml", "harness/tests/docker_topology.rs runs it (preflight refuses the FQDN) and compares it with its plan"),
    ("scenarios/negative/preflight-dns-broken.yaml", "harness/tests/docker_topology.rs runs it (preflight refuses the dead resolver) and compares it with its plan"),
    ("scenarios/bench-checks.yaml", "`acura-ha bench checks` runs it: a benchmark, never a timed test"),
    (
        "scenarios/install.yaml",
        "its steps are the first six of lifecycle.yaml and its golden is lifecycle's `installed`; the suite runs them there",
    ),
];

/// Every shipped scenario runs somewhere, and every checkpoint it has has its golden file:
/// a scenario that cannot pass as shipped, or that nothing runs, fails here.
fn shipped_trial() -> Result<(), Failed> {
    let mut problems = Vec::new();
    for summary in scenario::discover(&repo().join("scenarios")) {
        let file = summary
            .file
            .strip_prefix(repo())
            .unwrap_or(&summary.file)
            .to_string_lossy()
            .into_owned();
        if let Some(e) = &summary.error {
            problems.push(format!("{file} does not load: {e}"));
            continue;
        }
        let in_suite = SUITES.iter().any(|s| s.file == file);
        let elsewhere = ELSEWHERE.iter().any(|(f, _)| *f == file);
        if !in_suite && !elsewhere {
            problems.push(format!("{file}: neither the suite nor ELSEWHERE runs it"));
        }
        for checkpoint in &summary.checkpoints {
            let golden = repo()
                .join("fixtures/golden")
                .join(&summary.name)
                .join(format!("{checkpoint}.snap"));
            if !golden.is_file() {
                problems.push(format!(
                    "{file}: checkpoint `{checkpoint}` has no golden snapshot ({})",
                    golden.strip_prefix(repo()).unwrap_or(&golden).display()
                ));
            }
        }
    }
    // install.yaml is run as lifecycle's first six steps: that must stay true.
    let steps = |f: &str| scenario::load(&repo().join(f)).map(|l| l.scenario.steps);
    match (
        steps("scenarios/install.yaml"),
        steps("scenarios/lifecycle.yaml"),
    ) {
        (Ok(install), Ok(lifecycle)) if lifecycle.starts_with(&install) => {
            let snap = |s: &str| {
                std::fs::read(
                    repo()
                        .join("fixtures/golden")
                        .join(s)
                        .join("installed.snap"),
                )
                .ok()
            };
            if snap("install") != snap("lifecycle") {
                problems
                    .push("install/installed.snap differs from lifecycle/installed.snap".into());
            }
        }
        _ => problems.push("install.yaml's steps are no longer lifecycle.yaml's first ones".into()),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// `acura-ha plan` against the run (see `steps::plan_compare`).
fn plan_trial(f: &Finished, file: &str) -> Result<(), Failed> {
    let loaded = scenario::load(&repo().join(file)).map_err(|e| e.to_string())?;
    let problems = acura_ha::steps::plan_differences(&loaded, &f.record);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn step_trial(f: &Finished, index: usize) -> Result<(), Failed> {
    let step = f
        .record
        .steps
        .iter()
        .find(|s| s.index == index)
        .ok_or_else(|| Failed::from("the step did not run"))?;
    match &step.outcome {
        Some(Outcome::Passed) => Ok(()),
        other => Err(format!(
            "{}: {}",
            other
                .as_ref()
                .map(|o| format!("{o:?}").to_lowercase())
                .unwrap_or_else(|| "unfinished".into()),
            step.message.as_deref().unwrap_or_default()
        )
        .into()),
    }
}

fn check_trial(f: &Finished, checkpoint: &str, check: &str) -> Result<(), Failed> {
    let found = f
        .record
        .checks
        .iter()
        .find(|c| c.checkpoint == checkpoint && c.check == check);
    match found {
        None => Err(format!("check {check} did not run at checkpoint {checkpoint}").into()),
        Some(c) if c.outcome == Outcome::Passed => Ok(()),
        Some(c) => Err(c.message.clone().unwrap_or_else(|| "failed".into()).into()),
    }
}

fn procedure_trial(f: &Finished, range: &std::ops::RangeInclusive<u8>) -> Result<(), Failed> {
    let missing: Vec<String> = range
        .clone()
        .map(CommandId)
        .filter(|c| !f.record.procedure.passed.contains(c))
        .map(|c| c.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("procedure commands not passed: {}", missing.join(", ")).into())
    }
}

/// One procedure command: it ran, and every run of it passed (exit status and the output shape
/// the guide shows, which the steps' parsers check). The message names the failed runs.
fn command_trial(f: &Finished, id: CommandId) -> Result<(), Failed> {
    if f.record.procedure.passed.contains(&id) {
        return Ok(());
    }
    if !f.record.procedure.ran.contains(&id) {
        return Err(format!("{id} did not run").into());
    }
    let failed: Vec<String> = f
        .record
        .commands
        .iter()
        .filter(|c| c.id == Some(id) && !c.passed)
        .map(|c| {
            format!(
                "on {} exit {} ({})",
                c.host,
                c.exit_status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".into()),
                c.artifact.display()
            )
        })
        .collect();
    Err(format!("{id} failed: {}", failed.join("; ")).into())
}

/// The procedure's commands first ran in the guide's order (C5 before C7, …, C26 before C28);
/// later reruns (C5 when the LB is reconfigured) do not count, nor do C1–C4, the preflight
/// checks that run on every host at once.
fn order_trial(f: &Finished) -> Result<(), Failed> {
    let mut first: Vec<u8> = Vec::new();
    for c in &f.record.commands {
        let Some(CommandId(n)) = c.id else {
            continue;
        };
        if n > 4 && !first.contains(&n) {
            first.push(n);
        }
    }
    if first.is_empty() {
        return Err("no procedure command ran".into());
    }
    match first.windows(2).find(|w| w[0] > w[1]) {
        None => Ok(()),
        Some(w) => Err(format!(
            "C{} first ran after C{}: the order was {}",
            w[1],
            w[0],
            first
                .iter()
                .map(|n| format!("C{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
        .into()),
    }
}

/// A diagnosis only where something failed: none for a checkpoint that passed (a healthy
/// checkpoint has no findings), and every failure of a `checkpoint-failing` explained.
fn diagnosis_trial(f: &Finished, loaded: &scenario::LoadedScenario) -> Result<(), Failed> {
    let mut problems = Vec::new();
    for step in &loaded.scenario.steps {
        let (name, must_fail) = match step {
            Step::Checkpoint(name) => (name.as_str(), false),
            Step::CheckpointFailing(c) => (c.name.as_str(), true),
            _ => continue,
        };
        let found = f.record.diagnoses.iter().find(|d| d.checkpoint == name);
        let failed = f
            .record
            .checks
            .iter()
            .any(|c| c.checkpoint == name && c.outcome == Outcome::Failed);
        match found {
            Some(d) if !must_fail && !failed => problems.push(format!(
                "checkpoint {name} passed, yet its diagnosis says: {}",
                d.diagnosis.headline().unwrap_or_default()
            )),
            Some(d) if must_fail && !d.diagnosis.unexplained.is_empty() => problems.push(format!(
                "checkpoint-failing {name}: unexplained {:?}",
                d.diagnosis.unexplained
            )),
            None if must_fail => {
                problems.push(format!("checkpoint-failing {name} has no diagnosis"))
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// Every file under `dir`, recursively.
/// The run's artifacts folder (where its command outputs went).
fn run_dir(f: &Finished) -> Result<std::path::PathBuf, Failed> {
    let artifact = &f
        .record
        .commands
        .first()
        .ok_or("the run recorded no command")?
        .artifact;
    Ok(artifact
        .parent()
        .and_then(|p| p.parent())
        .ok_or("no artifacts folder")?
        .to_path_buf())
}

/// The run's HTML report: the artifacts' `report.html` is what the run record renders to
/// (so `acura-ha report run.json` gives the same page), and headless Chromium sees every
/// section with what the record holds (the verdict, each finding, a shaded window per fault
/// and misconfiguration, a row per procedure command run, the matrix, the availability plot)
/// without one network request or console error. Its screenshot goes next to it.
fn report_trial(f: &Finished) -> Result<(), Failed> {
    let dir = run_dir(f)?;
    let page = dir.join("report.html");
    let written = std::fs::read_to_string(&page).map_err(|e| format!("{}: {e}", page.display()))?;
    if written != acura_ha::report::render(&f.record) {
        return Err("report.html differs from what the run record renders to".into());
    }
    let seen = acura_ha::report::browser::open(&page, std::time::Duration::from_secs(90))?;
    std::fs::write(dir.join("report.png"), &seen.screenshot_png)
        .map_err(|e| format!("report.png: {e}"))?;
    let mut wrong = Vec::new();
    if !seen.requests.is_empty() {
        wrong.push(format!("network requests: {:?}", seen.requests));
    }
    if !seen.console_errors.is_empty() {
        wrong.push(format!("console errors: {:?}", seen.console_errors));
    }
    let facts = &seen.facts;
    if facts.sections != acura_ha::report::SECTIONS {
        wrong.push(format!("sections {:?}", facts.sections));
    }
    let verdict = if f.exit_code == 0 { "passed" } else { "failed" };
    if facts.verdict != verdict {
        wrong.push(format!("verdict {:?}, the run {verdict}", facts.verdict));
    }
    let rules: Vec<&str> = f
        .record
        .diagnoses
        .iter()
        .flat_map(|d| d.diagnosis.findings.iter().map(|x| x.rule.as_str()))
        .collect();
    if facts.findings != rules {
        wrong.push(format!(
            "findings {:?}, the record's {rules:?}",
            facts.findings
        ));
    }
    if facts.timeline_windows != f.record.windows.len() {
        wrong.push(format!(
            "{} shaded windows for the record's {}",
            facts.timeline_windows,
            f.record.windows.len()
        ));
    }
    if facts.command_rows != f.record.procedure.ran.len() {
        wrong.push(format!(
            "{} command rows for {} commands run",
            facts.command_rows,
            f.record.procedure.ran.len()
        ));
    }
    let has_matrix = f
        .record
        .checks
        .iter()
        .any(|c| c.check == "reachability" && c.findings.is_some());
    if has_matrix != (facts.matrix_cells > 0) {
        wrong.push(format!("{} matrix cells", facts.matrix_cells));
    }
    let probed = f.record.records.contains_key("availability");
    if probed != (facts.availability_bars > 0) {
        wrong.push(format!("{} availability bars", facts.availability_bars));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n").into())
    }
}

/// The run's `run.json` as written: it follows `schemas/run-record.schema.json`, and reads back
/// through `Deserialize` to the same document.
fn record_trial(f: &Finished) -> Result<(), Failed> {
    let path = run_dir(f)?.join("run.json");
    let raw: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let schema_path = repo().join("schemas/run-record.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string())?;
    let errors: Vec<String> = validator
        .iter_errors(&raw)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "run.json does not follow its schema:\n{}",
            errors.join("\n")
        )
        .into());
    }
    let back: acura_ha::run_record::RunRecord =
        serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
    if serde_json::to_value(&back).map_err(|e| e.to_string())? != raw {
        return Err("run.json does not read back to the same document".into());
    }
    Ok(())
}

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The join token (`abcdef.0123456789abcdef`) and the certificate key (64 hex digits) must
/// appear in no log, report, artifact or snapshot. The CA hash is public and the only 64-hex
/// value allowed, where kubeadm prints it.
fn secrets_trial(f: &Finished) -> Result<(), Failed> {
    let run_dir = run_dir(f)?;
    let mut all = Vec::new();
    files(&run_dir, &mut all);
    files(&repo().join("fixtures/golden"), &mut all);
    let token = regex::Regex::new(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b").unwrap();
    let hex64 = regex::Regex::new(r"\b[0-9a-f]{64}\b").unwrap();
    let public_hash =
        regex::Regex::new(r"(sha256:|master_discovery_token=)([0-9a-f]{64})").unwrap();
    let mut leaks = Vec::new();
    let mut redacted = 0;
    for path in &all {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        redacted += text.matches("[token]").count() + text.matches("[certificate-key]").count();
        let allowed: Vec<&str> = public_hash
            .captures_iter(&text)
            .map(|c| c.get(2).unwrap().as_str())
            .collect();
        for m in token.find_iter(&text) {
            leaks.push(format!("{}: token-shaped `{}`", path.display(), m.as_str()));
        }
        for m in hex64
            .find_iter(&text)
            .filter(|m| !allowed.contains(&m.as_str()))
        {
            leaks.push(format!(
                "{}: key-shaped `{}…`",
                path.display(),
                &m.as_str()[..8]
            ));
        }
    }
    if !leaks.is_empty() {
        return Err(format!("secrets leaked:\n{}", leaks.join("\n")).into());
    }
    if redacted == 0 {
        return Err("no redacted secret found at all: the search looked in the wrong place".into());
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let mut trials = vec![Trial::test(
        "shipped::every-scenario-runs-and-has-its-goldens",
        shipped_trial,
    )];
    for suite in &SUITES {
        let first = trials.len();
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
            let message = f.record.message.clone().unwrap_or_default();
            let leaked: Vec<String> = f
                .record
                .teardown
                .iter()
                .filter_map(|r| {
                    let error = r.error.as_ref()?;
                    Some(format!("{} {}: {error}", r.kind, r.name))
                })
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
        if suite.procedure.contains(&28) {
            trials.push(Trial::test(format!("{name}::secrets"), move || {
                secrets_trial(&finished(file)?)
            }));
        }
        trials.push(Trial::test(format!("{name}::report"), move || {
            report_trial(&finished(file)?)
        }));
        trials.push(Trial::test(format!("{name}::record"), move || {
            record_trial(&finished(file)?)
        }));
        let range = suite.procedure.clone();
        trials.push(Trial::test(format!("{name}::procedure"), move || {
            procedure_trial(&finished(file)?, &range)
        }));
        trials.push(Trial::test(format!("{name}::order"), move || {
            order_trial(&finished(file)?)
        }));
        trials.push(Trial::test(format!("{name}::plan"), move || {
            plan_trial(&finished(file)?, file)
        }));
        let diagnosed = loaded.clone();
        trials.push(Trial::test(format!("{name}::diagnosis"), move || {
            diagnosis_trial(&finished(file)?, &diagnosed)
        }));
        for n in suite.procedure.clone() {
            trials.push(Trial::test(
                format!("{name}::command::C{n:02}"),
                move || command_trial(&finished(file)?, CommandId(n)),
            ));
        }
        let mut stage = Stage::Provisioned;
        for (index, step) in loaded.scenario.steps.iter().enumerate() {
            // Checks that do not apply yet (pods before the install) are no trials there.
            let applicable = acura_ha::checks::applicable(stage);
            stage = stage.after(step);
            if expect_failure.is_some() && index + 1 == loaded.scenario.steps.len() {
                continue; // the step that must fail is judged by `run`
            }
            let label = acura_ha::steps::describe(step).replace(' ', "-");
            trials.push(Trial::test(
                format!("{name}::step::{:02}-{label}", index + 1),
                move || step_trial(&finished(file)?, index),
            ));
            let checkpoint = match step {
                Step::Checkpoint(cp) => Some(cp.clone()),
                // Its check trials pass when the named checks fail (and only those).
                Step::CheckpointFailing(f) => Some(f.name.clone()),
                _ => None,
            };
            if let Some(cp) = checkpoint {
                let checks = applicable.iter().map(|c| c.as_str());
                for check in checks.chain(["golden"]) {
                    let cp = cp.clone();
                    trials.push(Trial::test(format!("{name}::{cp}::{check}"), move || {
                        check_trial(&finished(file)?, &cp, check)
                    }));
                }
            }
        }
        if suite.nightly {
            let suite_trials = trials.split_off(first);
            trials.extend(suite_trials.into_iter().map(|t| t.with_ignored_flag(true)));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
