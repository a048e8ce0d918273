//! The reports rendered from the whole run record at its end: the versioned JSON record
//! (`run.json`, `--json`) and the HTML report (`report.html`, `--html`, the same page
//! `acura-ha report RUN.json` renders). One record is built from the events for both.

use std::path::PathBuf;

use super::{write_output, Reporter};
use crate::events::RunEvent;
use crate::run_record::RunRecord;

/// What a record is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

pub struct RecordReporter {
    outputs: Vec<(PathBuf, Format)>,
    record: RunRecord,
}

impl RecordReporter {
    /// Writes the record to every path in its format (the user's and the artifacts' copies).
    pub fn new(outputs: Vec<(PathBuf, Format)>) -> Self {
        RecordReporter {
            outputs,
            record: RunRecord::new(),
        }
    }
}

impl Reporter for RecordReporter {
    fn event(&mut self, event: &RunEvent) {
        self.record.apply(event);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let json = format!("{}\n", serde_json::to_string_pretty(&self.record)?);
        let html = crate::report::render(&self.record);
        for (path, format) in &self.outputs {
            let text = match format {
                Format::Json => &json,
                Format::Html => &html,
            };
            write_output(path, text)?;
        }
        Ok(())
    }
}
