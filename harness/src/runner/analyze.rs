//! `acura-ha analyze BUNDLE`: the diagnosis from a bundle alone, offline, reported as `check`
//! reports (the terminal, run.json, JUnit): each check's verdict as the site gave it, then the
//! diagnosis the rules of this acura-ha make of the bundled observations and facts.

use std::path::PathBuf;
use std::time::Duration;

use crate::bundle::Bundle;
use crate::diagnosis::{self, Evidence};
use crate::error::Result;
use crate::events::{EventKind, Outcome};
use crate::runner::reporting::{Outputs, Reporting};

pub struct Analyze {
    pub bundle: PathBuf,
    pub artifacts_root: PathBuf,
    pub outputs: Outputs,
}

/// Exit 0 when the bundled checks passed, 1 when they did not, 2 for what is not a bundle.
pub async fn analyze(options: Analyze) -> Result<i32> {
    let bundle = Bundle::read(&options.bundle)?;
    let evidence = bundle.evidence(&options.bundle)?;
    let name = options
        .bundle
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".tar.gz").to_owned())
        .unwrap_or_else(|| "bundle".into());
    let reporting = Reporting::start(
        &options.artifacts_root.join(format!("{name}-analysis")),
        &options.outputs,
    );
    let events = reporting.events().clone();
    events.send(EventKind::RunStarted {
        run_id: format!("{name}-analysis"),
        scenario: "bundle".into(),
        provider: "bundle".into(),
        steps: 0,
    });
    let m = &bundle.manifest;
    events.progress(format!(
        "analyzing a bundle of {} collected {} by acura-ha {}{}; {} of {} files could not be collected",
        m.target,
        m.created.format("%Y-%m-%d %H:%M UTC"),
        m.acura_ha,
        if m.masked { ", addresses masked" } else { "" },
        m.failed().count(),
        m.entries.len()
    ));
    for o in &evidence.observations {
        events.send(EventKind::CheckFinished {
            checkpoint: "check".into(),
            check: o.check.as_str().to_owned(),
            outcome: if o.passed() {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            duration: Duration::from_millis(o.duration_ms),
            message: o.summary(),
            findings: o.findings_json(),
        });
    }
    let diagnosis = diagnosis::from_evidence(&Evidence::new(
        &evidence.observations,
        &evidence.facts,
        &evidence.topology,
        &evidence.expectations,
    ));
    if !diagnosis.is_empty() {
        events.send(EventKind::Diagnosed {
            checkpoint: "check".into(),
            diagnosis: diagnosis.clone(),
        });
    }
    let passed = evidence.observations.iter().all(|o| o.passed());
    let code = crate::runner::check::conclude(&events, passed, diagnosis.headline());
    drop(events);
    reporting.finish().await;
    Ok(code)
}
