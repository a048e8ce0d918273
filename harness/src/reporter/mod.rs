//! Reporters turn the event stream into what people and tools read: live progress, JUnit XML,
//! the JSON run record, the HTML report, the live event stream. All are fed from the same
//! [`RunEvent`]s; none talks to a host.

mod human;
mod junit;
mod record;
mod stream;

pub use human::HumanReporter;
pub use junit::JunitReporter;
pub use record::{Format, RecordReporter};
pub use stream::{EventStream, FORMAT_VERSION as EVENTS_FORMAT_VERSION};

/// Write a finished output to `path`, `-` meaning stdout; parent folders are created.
pub fn write_output(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        };
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

use tokio::sync::mpsc::UnboundedReceiver;

use crate::events::{EventKind, RunEvent};

pub trait Reporter: Send {
    fn event(&mut self, event: &RunEvent);
    /// Called once, after the last event. Files (JUnit, JSON) are written here.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Feed every event to every reporter until the run finishes (or every sender is gone), then
/// finish them. Returns the reporters' write errors, if any.
pub async fn dispatch(
    mut rx: UnboundedReceiver<RunEvent>,
    mut reporters: Vec<Box<dyn Reporter>>,
) -> Vec<std::io::Error> {
    while let Some(event) = rx.recv().await {
        let last = matches!(event.kind, EventKind::RunFinished { .. });
        for r in reporters.iter_mut() {
            r.event(&event);
        }
        if last {
            break;
        }
    }
    reporters
        .iter_mut()
        .filter_map(|r| r.finish().err())
        .collect()
}
