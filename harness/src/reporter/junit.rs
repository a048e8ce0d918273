//! `--junit PATH`: one test suite per run, written at the end from the run's record. Stable
//! names a CI system keeps history by: `<scenario>::step::NN-<step>`,
//! `<scenario>::<checkpoint>::<check>`, `<scenario>::<checkpoint>::diagnosis` and
//! `<scenario>::command::Cnn`. A failing check's text carries its failing cells and its
//! checkpoint's diagnosis; a command's case carries its output (redacted, as the artifacts
//! hold it) in `system-out`.

use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Reporter;
use crate::events::{Outcome, RunEvent};
use crate::procedure::CommandId;
use crate::run_record::RunRecord;

/// The most of one command's output a case carries (the artifact has all of it).
const OUTPUT_LIMIT: usize = 64 * 1024;

pub struct JunitReporter {
    path: PathBuf,
    record: RunRecord,
}

impl JunitReporter {
    pub fn new(path: PathBuf) -> Self {
        JunitReporter {
            path,
            record: RunRecord::new(),
        }
    }
}

fn case(name: String, class: &str, outcome: &Outcome, ms: u64, message: Option<&str>) -> TestCase {
    let mut status = match outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
        Outcome::Skipped => TestCaseStatus::skipped(),
    };
    if let (Some(m), false) = (message, *outcome == Outcome::Passed) {
        status.set_message(m.lines().next().unwrap_or_default().to_owned());
        status.set_description(m.to_owned());
    }
    let mut case = TestCase::new(name, status);
    case.set_classname(class.to_owned());
    case.set_time(Duration::from_millis(ms));
    case
}

/// The artifact's text, cut to [`OUTPUT_LIMIT`] from its end.
fn output_of(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    if text.len() <= OUTPUT_LIMIT {
        return Some(text);
    }
    let mut start = text.len() - OUTPUT_LIMIT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    Some(format!(
        "[…first {start} bytes in {}]\n{}",
        path.display(),
        &text[start..]
    ))
}

/// Every case of the run, in the order a reader meets them.
pub fn cases(r: &RunRecord) -> Vec<TestCase> {
    let s = &r.scenario;
    let mut cases = Vec::new();
    for step in &r.steps {
        cases.push(case(
            format!("{s}::step::{:02}-{}", step.index + 1, step.name),
            &format!("{s}.steps"),
            step.outcome.as_ref().unwrap_or(&Outcome::Skipped),
            step.duration_ms,
            step.message.as_deref(),
        ));
    }
    for c in &r.checks {
        let diagnosis = r
            .diagnoses
            .iter()
            .find(|d| d.checkpoint == c.checkpoint && !d.diagnosis.is_empty());
        let message = match (c.outcome == Outcome::Failed, diagnosis) {
            (true, Some(d)) => Some(format!(
                "{}\n\ndiagnosis of {}:\n{}",
                c.message.as_deref().unwrap_or(""),
                c.checkpoint,
                crate::diagnosis::render(&d.diagnosis, 100)
            )),
            _ => c.message.clone(),
        };
        cases.push(case(
            format!("{s}::{}::{}", c.checkpoint, c.check),
            &format!("{s}.{}", c.checkpoint),
            &c.outcome,
            c.duration_ms,
            message.as_deref(),
        ));
    }
    // One case per diagnosis, failing: its findings lead the failure's text.
    for d in r.diagnoses.iter().filter(|d| !d.diagnosis.is_empty()) {
        cases.push(case(
            format!("{s}::{}::diagnosis", d.checkpoint),
            &format!("{s}.{}", d.checkpoint),
            &Outcome::Failed,
            0,
            Some(&crate::diagnosis::render(&d.diagnosis, 100)),
        ));
    }
    let summary = crate::run_record::summarize(&r.commands);
    for id in CommandId::all().filter(|id| summary.ran.contains(id)) {
        let runs: Vec<_> = r.commands.iter().filter(|c| c.id == Some(id)).collect();
        let failed = summary.failed.contains(&id);
        let why = failed.then(|| {
            runs.iter()
                .filter(|c| !c.passed)
                .map(|c| {
                    format!(
                        "{} on {}: exit {}{}",
                        id,
                        c.host,
                        c.exit_status.map_or("none".into(), |e| e.to_string()),
                        c.excerpt
                            .as_deref()
                            .map(|e| format!("\n{e}"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        let mut tc = case(
            format!("{s}::command::C{:02}", id.0),
            &format!("{s}.commands"),
            if failed {
                &Outcome::Failed
            } else {
                &Outcome::Passed
            },
            runs.iter().map(|c| c.duration_ms).sum(),
            why.as_deref(),
        );
        let output: Vec<String> = runs
            .iter()
            .filter_map(|c| output_of(&c.artifact).or_else(|| c.excerpt.clone()))
            .collect();
        if !output.is_empty() {
            tc.set_system_out(output.join("\n"));
        }
        cases.push(tc);
    }
    cases
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &RunEvent) {
        self.record.apply(event);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let name = if self.record.scenario.is_empty() {
            "acura-ha".to_owned()
        } else {
            self.record.scenario.clone()
        };
        let elapsed = Duration::from_millis(self.record.duration_ms);
        let mut suite = TestSuite::new(name);
        suite.add_test_cases(cases(&self.record));
        suite.set_time(elapsed);
        let mut report = Report::new("acura-ha");
        report.add_test_suite(suite);
        report.set_time(elapsed);
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::File::create(&self.path)?;
        report
            .serialize(file)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}
