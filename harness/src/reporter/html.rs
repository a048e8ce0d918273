//! `--html PATH`: the HTML report, rendered at the end from the run record the events built
//! (the same record `acura-ha report RUN.json --html` renders from).

use std::path::PathBuf;

use super::{write_output, Reporter};
use crate::events::RunEvent;
use crate::run_record::RunRecord;

pub struct HtmlReporter {
    paths: Vec<PathBuf>,
    record: RunRecord,
}

impl HtmlReporter {
    pub fn new(paths: Vec<PathBuf>) -> Self {
        HtmlReporter {
            paths,
            record: RunRecord::new(),
        }
    }
}

impl Reporter for HtmlReporter {
    fn event(&mut self, event: &RunEvent) {
        self.record.apply(event);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let page = crate::report::render(&self.record);
        for path in &self.paths {
            write_output(path, &page)?;
        }
        Ok(())
    }
}
