//! The JSON run record (`--json PATH`): a versioned, stable description of one run, built from
//! the event stream alone. Other tools parse it: fields are only ever added, and a breaking
//! change bumps `format_version`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::Released;
use crate::events::{EventKind, Outcome, RunEvent, WindowKind};
use crate::procedure::CommandId;
use crate::topology::HostName;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub format_version: u32,
    pub run_id: String,
    pub scenario: String,
    pub provider: String,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub duration_ms: u64,
    pub outcome: Option<Outcome>,
    pub exit_code: Option<i32>,
    pub message: Option<String>,
    pub hosts: Vec<(HostName, String)>,
    pub steps: Vec<StepRecord>,
    pub commands: Vec<CommandRecord>,
    pub procedure: ProcedureSummary,
    pub checks: Vec<CheckRecord>,
    /// The diagnosis of every checkpoint, failing `expect` or check that had failures.
    #[serde(default)]
    pub diagnoses: Vec<CheckpointDiagnosis>,
    /// Structured results other than checks: `availability`, `durability`, `accelerator`,
    /// `environment`, ….
    pub records: BTreeMap<String, serde_json::Value>,
    /// When each fault and misconfiguration was in effect.
    #[serde(default)]
    pub windows: Vec<WindowRecord>,
    pub warnings: Vec<String>,
    pub teardown: Vec<Released>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub line: usize,
    pub name: String,
    /// From the run's start.
    #[serde(default)]
    pub started_ms: u64,
    pub outcome: Option<Outcome>,
    pub duration_ms: u64,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CommandRecord {
    pub id: Option<CommandId>,
    pub step: Option<usize>,
    pub host: HostName,
    pub command: String,
    pub exit_status: Option<u32>,
    pub passed: bool,
    pub duration_ms: u64,
    pub artifact: PathBuf,
    /// From the run's start.
    #[serde(default)]
    pub started_ms: u64,
    /// The output's last lines, redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// A fault or misconfiguration in effect from `from_ms` to `to_ms` (from the run's start;
/// `None`: still in effect when the run ended).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRecord {
    pub label: String,
    pub kind: WindowKind,
    pub host: Option<HostName>,
    pub from_ms: u64,
    pub to_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointDiagnosis {
    pub checkpoint: String,
    pub diagnosis: crate::finding::Diagnosis,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckRecord {
    pub checkpoint: String,
    pub check: String,
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub message: Option<String>,
    /// The check's findings as JSON (`Findings::from_value` reads them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<serde_json::Value>,
}

/// How many of C1…C28 ran, and passed (a command counts as passed when every run of it passed
/// or, for commands the procedure runs "until it works" like C6 or C12, when its last run did).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProcedureSummary {
    pub total: usize,
    pub ran: Vec<CommandId>,
    pub passed: Vec<CommandId>,
    pub failed: Vec<CommandId>,
    pub not_run: Vec<CommandId>,
}

impl RunRecord {
    pub fn new() -> Self {
        RunRecord {
            format_version: FORMAT_VERSION,
            ..Default::default()
        }
    }

    pub fn apply(&mut self, event: &RunEvent) {
        match &event.kind {
            EventKind::RunStarted {
                run_id,
                scenario,
                provider,
                ..
            } => {
                self.run_id = run_id.clone();
                self.scenario = scenario.clone();
                self.provider = provider.clone();
                self.started = Some(event.timestamp);
            }
            EventKind::ProvisionFinished { hosts } => self.hosts = hosts.clone(),
            EventKind::StepStarted { index, line, name } => self.steps.push(StepRecord {
                index: *index,
                line: *line,
                name: name.clone(),
                started_ms: millis(event.elapsed),
                outcome: None,
                duration_ms: 0,
                message: None,
            }),
            EventKind::StepFinished {
                index,
                outcome,
                duration,
                message,
                ..
            } => {
                if let Some(step) = self.steps.iter_mut().rev().find(|s| s.index == *index) {
                    step.outcome = Some(outcome.clone());
                    step.duration_ms = duration.as_millis() as u64;
                    step.message = message.clone();
                }
            }
            EventKind::CommandFinished {
                id,
                host,
                command,
                exit_status,
                passed,
                duration,
                artifact,
                excerpt,
            } => self.commands.push(CommandRecord {
                id: *id,
                step: self
                    .steps
                    .last()
                    .filter(|s| s.outcome.is_none())
                    .map(|s| s.index),
                host: host.clone(),
                command: command.clone(),
                exit_status: *exit_status,
                passed: *passed,
                duration_ms: duration.as_millis() as u64,
                artifact: artifact.clone(),
                started_ms: millis(event.elapsed.saturating_sub(*duration)),
                excerpt: excerpt.clone(),
            }),
            EventKind::CommandRejected { id, host, .. } => {
                if let Some(c) = self
                    .commands
                    .iter_mut()
                    .rev()
                    .find(|c| c.id == Some(*id) && &c.host == host)
                {
                    c.passed = false;
                }
            }
            EventKind::CheckFinished {
                checkpoint,
                check,
                outcome,
                duration,
                message,
                findings,
            } => self.checks.push(CheckRecord {
                checkpoint: checkpoint.clone(),
                check: check.clone(),
                outcome: outcome.clone(),
                duration_ms: duration.as_millis() as u64,
                message: message.clone(),
                findings: findings.clone(),
            }),
            EventKind::Window {
                label,
                kind,
                host,
                open: true,
            } => self.windows.push(WindowRecord {
                label: label.clone(),
                kind: *kind,
                host: host.clone(),
                from_ms: millis(event.elapsed),
                to_ms: None,
            }),
            EventKind::Window {
                label, open: false, ..
            } => {
                let at = millis(event.elapsed);
                for w in self
                    .windows
                    .iter_mut()
                    .filter(|w| w.to_ms.is_none() && &w.label == label)
                {
                    w.to_ms = Some(at);
                }
            }
            EventKind::Diagnosed {
                checkpoint,
                diagnosis,
            } => self.diagnoses.push(CheckpointDiagnosis {
                checkpoint: checkpoint.clone(),
                diagnosis: diagnosis.clone(),
            }),
            EventKind::Record { key, value } => {
                self.records.insert(key.clone(), value.clone());
            }
            EventKind::Warning { message } => self.warnings.push(message.clone()),
            EventKind::ResourceReleased(r) => self.teardown.push(r.clone()),
            EventKind::RunFinished {
                outcome,
                exit_code,
                message,
            } => {
                self.finished = Some(event.timestamp);
                self.duration_ms = event.elapsed.as_millis() as u64;
                self.outcome = Some(outcome.clone());
                self.exit_code = Some(*exit_code);
                self.message = message.clone();
                self.procedure = summarize(&self.commands);
            }
            _ => {}
        }
    }
}

/// A record read back from `path`, for `report` and `diff`. A file that is not a record is
/// invalid input named by its line, column and field; a record of a newer format is refused by
/// version rather than half read.
pub fn read(path: &std::path::Path) -> crate::Result<RunRecord> {
    let invalid = |why: String| crate::Error::Invalid {
        rendered: format!("error: {}: {why}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read: {e}")))?;
    let version: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        invalid(format!(
            "line {}, column {}: not JSON: {e}",
            e.line(),
            e.column()
        ))
    })?;
    match version.get("format_version").and_then(serde_json::Value::as_u64) {
        None => return Err(invalid("no `format_version`: not a run record".into())),
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(invalid(format!(
                "a run record of format {v}; this acura-ha reads format {FORMAT_VERSION} and older (upgrade it)"
            )))
        }
        Some(_) => {}
    }
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        invalid(format!(
            "line {}, column {}: field `{}`: {inner}",
            inner.line(),
            inner.column(),
            e.path()
        ))
    })
}

fn millis(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

pub fn summarize(commands: &[CommandRecord]) -> ProcedureSummary {
    let mut by_id: BTreeMap<CommandId, Vec<bool>> = BTreeMap::new();
    for c in commands {
        if let Some(id) = c.id {
            by_id.entry(id).or_default().push(c.passed);
        }
    }
    let mut summary = ProcedureSummary {
        total: CommandId::all().count(),
        ..Default::default()
    };
    for id in CommandId::all() {
        match by_id.get(&id) {
            None => summary.not_run.push(id),
            Some(runs) => {
                summary.ran.push(id);
                let ok = if id.may_retry() {
                    *runs.last().unwrap()
                } else {
                    runs.iter().all(|p| *p)
                };
                if ok {
                    summary.passed.push(id);
                } else {
                    summary.failed.push(id);
                }
            }
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(id: u8, passed: bool) -> CommandRecord {
        CommandRecord {
            id: Some(CommandId(id)),
            step: None,
            host: HostName::from("node-1"),
            command: String::new(),
            exit_status: Some(if passed { 0 } else { 1 }),
            passed,
            duration_ms: 1,
            artifact: PathBuf::new(),
            started_ms: 0,
            excerpt: None,
        }
    }

    #[test]
    fn retried_commands_count_by_their_last_run_others_by_all() {
        let s = summarize(&[
            cmd(5, false),
            cmd(6, true),
            cmd(5, true),
            cmd(22, true),
            cmd(22, false),
        ]);
        assert!(s.passed.contains(&CommandId(5)));
        assert!(s.passed.contains(&CommandId(6)));
        assert!(s.failed.contains(&CommandId(22)));
        assert_eq!(s.ran.len(), 3);
        assert_eq!(s.not_run.len(), 25);
        assert_eq!(s.total, 28);
    }

    /// A record built from a run's events reads back as itself: tools may deserialize it.
    #[tokio::test]
    async fn a_record_built_from_events_round_trips_through_deserialize() {
        let (events, mut rx) = crate::events::EventSink::channel();
        events.send(EventKind::RunStarted {
            run_id: "r1".into(),
            scenario: "lifecycle".into(),
            provider: "docker".into(),
            steps: 1,
        });
        events.send(EventKind::StepStarted {
            index: 0,
            line: 12,
            name: "preflight".into(),
        });
        events.send(EventKind::CommandFinished {
            id: Some(CommandId(3)),
            host: HostName::from("node-1"),
            command: "hostname".into(),
            exit_status: Some(0),
            passed: true,
            duration: std::time::Duration::from_millis(7),
            artifact: "commands/0001-node-1-C3.log".into(),
            excerpt: Some("node-1".into()),
        });
        events.send(EventKind::CheckFinished {
            checkpoint: "installed".into(),
            check: "dns".into(),
            outcome: Outcome::Passed,
            duration: std::time::Duration::from_millis(5),
            message: None,
            findings: Some(serde_json::json!({"nodes": {}})),
        });
        events.send(EventKind::Record {
            key: "availability".into(),
            value: serde_json::json!({"requests": 10}),
        });
        events.send(EventKind::ResourceReleased(Released {
            kind: "container".into(),
            name: "acura-ha-r1-node-1".into(),
            error: None,
        }));
        events.send(EventKind::RunFinished {
            outcome: Outcome::Passed,
            exit_code: 0,
            message: None,
        });
        drop(events);
        let mut record = RunRecord::new();
        while let Some(event) = rx.recv().await {
            record.apply(&event);
        }
        let json = serde_json::to_value(&record).unwrap();
        let back: RunRecord = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        assert_eq!(back.commands.len(), 1);
        assert_eq!(back.procedure.ran, vec![CommandId(3)]);
        assert_eq!(back.teardown[0].kind, "container");
    }
}
