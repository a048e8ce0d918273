//! Reporters turn the event stream into what people and tools read: live progress, JUnit XML,
//! the JSON run record. All are fed from the same [`RunEvent`]s; none talks to a host.

mod human;
mod json;
mod junit;

pub use human::HumanReporter;
pub use json::JsonReporter;
pub use junit::JunitReporter;

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
