//! `--events PATH` (`-` for stdout): every event as it happens, one JSON object per line, for
//! tools that follow a run live (like nextest's `--message-format`). Each line carries
//! `format_version`; fields are only ever added, a breaking change bumps it. The events went
//! through the redacting sink like every other output.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::Reporter;
use crate::events::{EventKind, RunEvent};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Line<'a> {
    format_version: u32,
    timestamp: chrono::DateTime<chrono::Utc>,
    elapsed_ms: u64,
    #[serde(flatten)]
    kind: &'a EventKind,
}

pub struct EventStream {
    out: Box<dyn Write + Send>,
}

impl EventStream {
    pub fn new(path: &Path) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            Box::new(std::io::BufWriter::new(std::fs::File::create(path)?))
        };
        Ok(EventStream { out })
    }

    /// One event as its line (what the stream writes, and what its schema describes).
    pub fn line(event: &RunEvent) -> String {
        serde_json::to_string(&Line {
            format_version: FORMAT_VERSION,
            timestamp: event.timestamp,
            elapsed_ms: event.elapsed.as_millis() as u64,
            kind: &event.kind,
        })
        .expect("events serialize")
    }
}

impl Reporter for EventStream {
    fn event(&mut self, event: &RunEvent) {
        // A reader that went away (a closed pipe) stops getting lines; the run goes on.
        let _ = writeln!(self.out, "{}", Self::line(event)).and_then(|()| self.out.flush());
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self.out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}
