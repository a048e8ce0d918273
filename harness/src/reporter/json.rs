//! `--json PATH`: the versioned run record, written once at the end.

use std::path::PathBuf;

use super::Reporter;
use crate::events::RunEvent;
use crate::run_record::RunRecord;

pub struct JsonReporter {
    paths: Vec<PathBuf>,
    record: RunRecord,
}

impl JsonReporter {
    /// Writes the record to every path (the user's `--json` and the artifacts folder's copy).
    pub fn new(paths: Vec<PathBuf>) -> Self {
        JsonReporter {
            paths,
            record: RunRecord::new(),
        }
    }
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &RunEvent) {
        self.record.apply(event);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.record)?;
        for path in &self.paths {
            super::write_output(path, &format!("{text}\n"))?;
        }
        Ok(())
    }
}
