//! Fault and misconfiguration windows: which step opens one, which closes it. The runner
//! sends them as events so reports shade them on a time axis and the record keeps them.

use crate::events::{EventKind, EventSink, WindowKind};
use crate::scenario::{Fault, Step};
use crate::topology::HostName;

/// What is in effect now, oldest first.
#[derive(Default)]
pub struct Windows {
    open: Vec<(String, WindowKind, Option<HostName>)>,
}

impl Windows {
    /// Before a step runs: the window it opens (a fault's or a misconfiguration's begins
    /// with the step that makes it).
    pub fn before(&mut self, events: &EventSink, step: &Step) {
        let (label, kind, host) = match step {
            Step::Fault(f @ (Fault::PowerOff(h) | Fault::Pause(h) | Fault::Partition(h))) => (
                format!("{} {h}", super::fault::verb(f)),
                WindowKind::Fault,
                Some(h.clone()),
            ),
            Step::Misconfigure(m) => (
                super::misconfigure::describe(m),
                WindowKind::Misconfiguration,
                None,
            ),
            _ => return,
        };
        events.send(EventKind::Window {
            label: label.clone(),
            kind,
            host: host.clone(),
            open: true,
        });
        self.open.push((label, kind, host));
    }

    /// After a step ran: the windows it closed. A paused or partitioned host is back once
    /// resumed or healed, a powered-off one once it joined again; `repair` undoes every
    /// misconfiguration.
    pub fn after(&mut self, events: &EventSink, step: &Step) {
        let closes = |kind: WindowKind, host: &Option<HostName>| match step {
            Step::Fault(Fault::Resume(h) | Fault::Heal(h)) | Step::JoinNode(h) => {
                kind == WindowKind::Fault && host.as_ref() == Some(h)
            }
            Step::Repair => kind == WindowKind::Misconfiguration,
            _ => false,
        };
        let (closed, open): (Vec<_>, Vec<_>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|(_, kind, host)| closes(*kind, host));
        self.open = open;
        for (label, kind, host) in closed {
            events.send(EventKind::Window {
                label,
                kind,
                host,
                open: false,
            });
        }
    }
}
