//! `--junit PATH`: one test suite per run; a test case per step and per check of every
//! checkpoint. Written once, at the end of the run.

use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Reporter;
use crate::events::{EventKind, Outcome, RunEvent};

pub struct JunitReporter {
    path: PathBuf,
    scenario: String,
    cases: Vec<TestCase>,
    elapsed: Duration,
}

impl JunitReporter {
    pub fn new(path: PathBuf) -> Self {
        JunitReporter {
            path,
            scenario: "acura-ha".into(),
            cases: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    fn case(
        name: String,
        class: &str,
        outcome: &Outcome,
        duration: Duration,
        message: &Option<String>,
    ) -> TestCase {
        let mut status = match outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Outcome::Skipped => TestCaseStatus::skipped(),
        };
        if let (Some(m), false) = (message, *outcome == Outcome::Passed) {
            status.set_message(m.lines().next().unwrap_or_default().to_owned());
            status.set_description(m.clone());
        }
        let mut case = TestCase::new(name, status);
        case.set_classname(class.to_owned());
        case.set_time(duration);
        case
    }
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &RunEvent) {
        self.elapsed = event.elapsed;
        match &event.kind {
            EventKind::RunStarted { scenario, .. } => self.scenario = scenario.clone(),
            EventKind::StepFinished {
                index,
                name,
                outcome,
                duration,
                message,
            } => {
                let class = format!("{}.steps", self.scenario);
                self.cases.push(Self::case(
                    format!("{:02}-{name}", index + 1),
                    &class,
                    outcome,
                    *duration,
                    message,
                ));
            }
            EventKind::CheckFinished {
                checkpoint,
                check,
                outcome,
                duration,
                message,
                ..
            } => {
                let class = format!("{}.{checkpoint}", self.scenario);
                self.cases.push(Self::case(
                    check.clone(),
                    &class,
                    outcome,
                    *duration,
                    message,
                ));
            }
            // One case per diagnosis, failing: its findings lead the failure's text.
            EventKind::Diagnosed {
                checkpoint,
                diagnosis,
            } => {
                let class = format!("{}.{checkpoint}", self.scenario);
                let text = crate::diagnosis::render(diagnosis, 100);
                self.cases.push(Self::case(
                    "diagnosis".into(),
                    &class,
                    &Outcome::Failed,
                    Duration::ZERO,
                    &Some(text),
                ));
            }
            _ => {}
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let mut suite = TestSuite::new(self.scenario.clone());
        suite.add_test_cases(self.cases.drain(..));
        suite.set_time(self.elapsed);
        let mut report = Report::new("acura-ha");
        report.add_test_suite(suite);
        report.set_time(self.elapsed);
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::File::create(&self.path)?;
        report
            .serialize(file)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}
