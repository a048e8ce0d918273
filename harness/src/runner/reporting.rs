//! Where a run's or a check's events go: the terminal, `run.log`, the JSON record (the
//! artifacts' `run.json` and `--json`), JUnit (the artifacts' `junit.xml` or `--junit`), the
//! HTML report (the artifacts' `report.html` and `--html`) and the live event stream
//! (`--events`). `run`, `check` and `analyze` start the same reporters here, so all write the
//! same outputs.

use std::path::{Path, PathBuf};

use crate::events::EventSink;
use crate::reporter::{
    self, EventStream, Format, HumanReporter, JunitReporter, RecordReporter, Reporter,
};

/// What the user asked for besides the artifacts' own copies.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    /// Every command on the terminal, not only the procedure's.
    pub verbose: bool,
    /// Only warnings, failures, diagnoses and the verdict on the terminal.
    pub quiet: bool,
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub events: Option<PathBuf>,
}

pub struct Reporting {
    events: EventSink,
    dispatcher: tokio::task::JoinHandle<Vec<std::io::Error>>,
}

impl Reporting {
    /// Every reporter, writing into `artifacts_dir` (created by the first file written).
    pub fn start(artifacts_dir: &Path, outputs: &Outputs) -> Reporting {
        let (events, rx) = EventSink::channel();
        let mut reporters: Vec<Box<dyn Reporter>> =
            vec![Box::new(HumanReporter::new(outputs.verbose, outputs.quiet))];
        if let Ok(log) = HumanReporter::to_file(&artifacts_dir.join("run.log")) {
            reporters.push(Box::new(log));
        }
        let mut records = vec![
            (artifacts_dir.join("run.json"), Format::Json),
            (artifacts_dir.join("report.html"), Format::Html),
        ];
        records.extend(outputs.json.clone().map(|p| (p, Format::Json)));
        records.extend(outputs.html.clone().map(|p| (p, Format::Html)));
        reporters.push(Box::new(RecordReporter::new(records)));
        reporters.push(Box::new(JunitReporter::new(
            outputs
                .junit
                .clone()
                .unwrap_or_else(|| artifacts_dir.join("junit.xml")),
        )));
        if let Some(path) = &outputs.events {
            match EventStream::new(path) {
                Ok(stream) => reporters.push(Box::new(stream)),
                Err(e) => eprintln!("error: the event stream {}: {e}", path.display()),
            }
        }
        Reporting {
            events,
            dispatcher: tokio::spawn(reporter::dispatch(rx, reporters)),
        }
    }

    pub fn events(&self) -> &EventSink {
        &self.events
    }

    /// The end of a run that stopped on an error (it is its last event), then [`Self::finish`].
    pub async fn end(self, result: &crate::error::Result<i32>) {
        if let Err(e) = result {
            self.events.send(crate::events::EventKind::RunFinished {
                outcome: crate::events::Outcome::Failed,
                exit_code: e.exit_code(),
                message: Some(e.to_string()),
            });
        }
        self.finish().await;
    }

    /// Close the sink and wait until every reporter has written its last event.
    pub async fn finish(self) {
        drop(self.events);
        if let Ok(errors) = self.dispatcher.await {
            for e in errors {
                eprintln!("error: writing a report: {e}");
            }
        }
    }
}
