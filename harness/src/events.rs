//! The one interface between the runner and the reporters: a stream of [`RunEvent`]s.
//! Reporters never call providers or hosts; everything they show comes from here.
//!
//! The sink is also where secrets are redacted: every text of every event passes through the
//! run's [`Secrets`] on its way in, so no reporter, artifact, run record or JUnit file can show
//! one, whatever step or check wrote the message.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::finding::{Diagnosis, Finding, Symptom};
use crate::procedure::CommandId;
use crate::secrets::Secrets;
use crate::topology::HostName;

#[derive(Clone, Debug, Serialize)]
pub struct RunEvent {
    pub timestamp: DateTime<Utc>,
    #[serde(with = "crate::remote::millis")]
    pub elapsed: Duration,
    pub kind: EventKind,
}

/// What one resource release at teardown did (a provider's report, in the run's events).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    pub kind: String,
    pub name: String,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowKind {
    Fault,
    Misconfiguration,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    RunStarted {
        run_id: String,
        scenario: String,
        provider: String,
        steps: usize,
    },
    /// Free-form progress inside a phase (image builds, waits).
    Progress {
        message: String,
    },
    Warning {
        message: String,
    },
    ProvisionStarted,
    ProvisionFinished {
        hosts: Vec<(HostName, String)>,
    },
    StepStarted {
        index: usize,
        line: usize,
        name: String,
    },
    StepFinished {
        index: usize,
        name: String,
        outcome: Outcome,
        #[serde(with = "crate::remote::millis")]
        duration: Duration,
        message: Option<String>,
    },
    CommandStarted {
        id: Option<CommandId>,
        host: HostName,
        command: String,
    },
    CommandFinished {
        id: Option<CommandId>,
        host: HostName,
        command: String,
        exit_status: Option<u32>,
        passed: bool,
        #[serde(with = "crate::remote::millis")]
        duration: Duration,
        artifact: PathBuf,
        /// The output's last lines (stderr when there is any), for reports.
        #[serde(skip_serializing_if = "Option::is_none")]
        excerpt: Option<String>,
    },
    /// A command exited 0 but its output shows the procedure's condition is not met
    /// (e.g. C3 printed a hostname with dots): it counts as failed in the tally.
    CommandRejected {
        id: CommandId,
        host: HostName,
        reason: String,
    },
    CheckFinished {
        checkpoint: String,
        check: String,
        outcome: Outcome,
        #[serde(with = "crate::remote::millis")]
        duration: Duration,
        message: Option<String>,
        /// What the check found (its findings as JSON: the matrix's cells, the DNS answers…).
        #[serde(skip_serializing_if = "Option::is_none")]
        findings: Option<serde_json::Value>,
    },
    /// The diagnosis of a checkpoint (or of a failing `expect`, or of `check`) that had
    /// failures: findings, each with the symptoms it explains, and what none explains.
    Diagnosed {
        checkpoint: String,
        diagnosis: Diagnosis,
    },
    /// Structured data for the run record (availability, durability, accelerator, …).
    Record {
        key: String,
        value: serde_json::Value,
    },
    /// A fault or misconfiguration took effect (`open`) or was healed, repaired, or its node
    /// rejoined: the windows reports shade.
    Window {
        label: String,
        kind: WindowKind,
        /// The host it concerns; `None` for what the LB or the whole run has.
        host: Option<HostName>,
        open: bool,
    },
    TeardownStarted,
    ResourceReleased(Released),
    RunFinished {
        outcome: Outcome,
        exit_code: i32,
        message: Option<String>,
    },
}

impl EventKind {
    /// The event with every secret in its texts replaced by its label.
    fn redacted(self, secrets: &Secrets) -> EventKind {
        let r = |s: String| secrets.redact(&s);
        let ro = |s: Option<String>| s.map(|s| secrets.redact(&s));
        match self {
            EventKind::RunStarted {
                run_id,
                scenario,
                provider,
                steps,
            } => EventKind::RunStarted {
                run_id,
                scenario: r(scenario),
                provider,
                steps,
            },
            EventKind::Progress { message } => EventKind::Progress {
                message: r(message),
            },
            EventKind::Warning { message } => EventKind::Warning {
                message: r(message),
            },
            EventKind::StepStarted { index, line, name } => EventKind::StepStarted {
                index,
                line,
                name: r(name),
            },
            EventKind::StepFinished {
                index,
                name,
                outcome,
                duration,
                message,
            } => EventKind::StepFinished {
                index,
                name: r(name),
                outcome,
                duration,
                message: ro(message),
            },
            EventKind::CommandStarted { id, host, command } => EventKind::CommandStarted {
                id,
                host,
                command: r(command),
            },
            EventKind::CommandFinished {
                id,
                host,
                command,
                exit_status,
                passed,
                duration,
                artifact,
                excerpt,
            } => EventKind::CommandFinished {
                id,
                host,
                command: r(command),
                exit_status,
                passed,
                duration,
                artifact,
                excerpt: ro(excerpt),
            },
            EventKind::CommandRejected { id, host, reason } => EventKind::CommandRejected {
                id,
                host,
                reason: r(reason),
            },
            EventKind::CheckFinished {
                checkpoint,
                check,
                outcome,
                duration,
                message,
                findings,
            } => EventKind::CheckFinished {
                checkpoint,
                check,
                outcome,
                duration,
                message: ro(message),
                findings: findings.map(|f| redact_json(f, secrets)),
            },
            EventKind::Diagnosed {
                checkpoint,
                diagnosis,
            } => EventKind::Diagnosed {
                checkpoint,
                diagnosis: redact_diagnosis(diagnosis, secrets),
            },
            EventKind::Record { key, value } => EventKind::Record {
                key,
                value: redact_json(value, secrets),
            },
            EventKind::ResourceReleased(Released { kind, name, error }) => {
                EventKind::ResourceReleased(Released {
                    kind,
                    name,
                    error: ro(error),
                })
            }
            EventKind::RunFinished {
                outcome,
                exit_code,
                message,
            } => EventKind::RunFinished {
                outcome,
                exit_code,
                message: ro(message),
            },
            EventKind::Window {
                label,
                kind,
                host,
                open,
            } => EventKind::Window {
                label: r(label),
                kind,
                host,
                open,
            },
            kind @ (EventKind::ProvisionStarted
            | EventKind::ProvisionFinished { .. }
            | EventKind::TeardownStarted) => kind,
        }
    }
}

fn redact_diagnosis(d: Diagnosis, secrets: &Secrets) -> Diagnosis {
    let symptom = |s: Symptom| Symptom {
        check: s.check,
        text: secrets.redact(&s.text),
    };
    Diagnosis {
        findings: d
            .findings
            .into_iter()
            .map(|f| Finding {
                rule: f.rule,
                cause: secrets.redact(&f.cause),
                evidence: f.evidence.iter().map(|e| secrets.redact(e)).collect(),
                explains: f.explains.into_iter().map(symptom).collect(),
                remedy: secrets.redact(&f.remedy),
            })
            .collect(),
        unexplained: d.unexplained.into_iter().map(symptom).collect(),
    }
}

fn redact_json(value: serde_json::Value, secrets: &Secrets) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(secrets.redact(&s)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redact_json(v, secrets)).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, redact_json(v, secrets)))
                .collect(),
        ),
        other => other,
    }
}

/// Where the runner sends events. Cheap to clone; sending never blocks the runner.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<RunEvent>,
    started: std::time::Instant,
    secrets: Arc<Secrets>,
}

impl EventSink {
    pub fn channel() -> (EventSink, mpsc::UnboundedReceiver<RunEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            EventSink {
                tx,
                started: std::time::Instant::now(),
                secrets: Arc::default(),
            },
            rx,
        )
    }

    /// The run's secrets: what is registered here is redacted from every event sent after.
    pub fn secrets(&self) -> &Arc<Secrets> {
        &self.secrets
    }

    pub fn send(&self, kind: EventKind) {
        let _ = self.tx.send(RunEvent {
            timestamp: Utc::now(),
            elapsed: self.started.elapsed(),
            kind: kind.redacted(&self.secrets),
        });
    }

    pub fn progress(&self, message: impl Into<String>) {
        self.send(EventKind::Progress {
            message: message.into(),
        });
    }

    pub fn warning(&self, message: impl Into<String>) {
        self.send(EventKind::Warning {
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever a step, check or provider writes into an event, a registered secret leaves the
    /// sink as its label: in messages, commands, reasons and the run record's values.
    #[tokio::test]
    async fn every_text_of_every_event_is_redacted_at_the_sink() {
        let (events, mut rx) = EventSink::channel();
        let secret = "canary.0123456789abcdef";
        events.secrets().register(secret, "token");
        let with = |what: &str| format!("{what} {secret}");
        let host = HostName::node(1);
        let kinds = vec![
            EventKind::Progress {
                message: with("progress"),
            },
            EventKind::Warning {
                message: with("warning"),
            },
            EventKind::StepStarted {
                index: 0,
                line: 1,
                name: with("step"),
            },
            EventKind::StepFinished {
                index: 0,
                name: with("step"),
                outcome: Outcome::Failed,
                duration: Duration::ZERO,
                message: Some(with("failed")),
            },
            EventKind::CommandStarted {
                id: None,
                host: host.clone(),
                command: with("echo"),
            },
            EventKind::CommandFinished {
                id: None,
                host: host.clone(),
                command: with("echo"),
                exit_status: Some(1),
                passed: false,
                duration: Duration::ZERO,
                artifact: PathBuf::from("a"),
                excerpt: Some(with("output")),
            },
            EventKind::CommandRejected {
                id: CommandId(26),
                host,
                reason: with("reason"),
            },
            EventKind::CheckFinished {
                checkpoint: "c".into(),
                check: "dns".into(),
                outcome: Outcome::Failed,
                duration: Duration::ZERO,
                message: Some(with("check")),
                findings: Some(serde_json::json!({"cells": [{"detail": with("cell")}]})),
            },
            EventKind::Window {
                label: with("window"),
                kind: WindowKind::Misconfiguration,
                host: None,
                open: true,
            },
            EventKind::Record {
                key: "k".into(),
                value: serde_json::json!({"a": [with("record")], "b": {"c": with("deep")}}),
            },
            EventKind::Diagnosed {
                checkpoint: "c".into(),
                diagnosis: Diagnosis {
                    findings: vec![Finding {
                        rule: "r".into(),
                        cause: with("cause"),
                        evidence: vec![with("evidence")],
                        explains: vec![Symptom {
                            check: "dns".into(),
                            text: with("explained"),
                        }],
                        remedy: with("remedy"),
                    }],
                    unexplained: vec![Symptom {
                        check: "dns".into(),
                        text: with("unexplained"),
                    }],
                },
            },
            EventKind::ResourceReleased(Released {
                kind: "container".into(),
                name: "n".into(),
                error: Some(with("teardown")),
            }),
            EventKind::RunFinished {
                outcome: Outcome::Failed,
                exit_code: 1,
                message: Some(with("run")),
            },
        ];
        let sent = kinds.len();
        for kind in kinds {
            events.send(kind);
        }
        drop(events);
        let mut received = 0;
        while let Some(event) = rx.recv().await {
            received += 1;
            let text = serde_json::to_string(&event).unwrap();
            assert!(!text.contains(secret), "{text}");
            assert!(text.contains("[token]"), "{text}");
        }
        assert_eq!(received, sent);
    }
}
