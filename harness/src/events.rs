//! The one interface between the runner and the reporters: a stream of [`RunEvent`]s.
//! Reporters never call providers or hosts; everything they show comes from here.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::procedure::CommandId;
use crate::provider::Released;
use crate::topology::HostName;

#[derive(Clone, Debug, Serialize)]
pub struct RunEvent {
    pub timestamp: DateTime<Utc>,
    #[serde(with = "crate::remote::millis")]
    pub elapsed: Duration,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
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
    },
    /// Structured data for the run record (availability, durability, accelerator, …).
    Record {
        key: String,
        value: serde_json::Value,
    },
    TeardownStarted,
    ResourceReleased(Released),
    RunFinished {
        outcome: Outcome,
        exit_code: i32,
        message: Option<String>,
    },
}

/// Where the runner sends events. Cheap to clone; sending never blocks the runner.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<RunEvent>,
    started: std::time::Instant,
}

impl EventSink {
    pub fn channel() -> (EventSink, mpsc::UnboundedReceiver<RunEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            EventSink {
                tx,
                started: std::time::Instant::now(),
            },
            rx,
        )
    }

    pub fn send(&self, kind: EventKind) {
        let _ = self.tx.send(RunEvent {
            timestamp: Utc::now(),
            elapsed: self.started.elapsed(),
            kind,
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
