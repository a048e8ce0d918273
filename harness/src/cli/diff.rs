//! `acura-ha diff A.json B.json`: what changed from one run to the next, in text (stdout),
//! JSON (`--json`) and HTML (`--html`). Exit 0 when the result is the same (only durations
//! may have moved), 1 when a verdict, check, cell, finding, golden or command changed.

use std::path::PathBuf;

use acura_ha::run_diff::{self, Threshold};
use acura_ha::{run_record, Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// The earlier run's record (`run.json`).
    a: PathBuf,
    /// The later run's record.
    b: PathBuf,
    /// Write the diff as JSON here (`-`: stdout, instead of the text).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the diff as an HTML page here.
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// A step's duration has moved when it changed by more than this percentage…
    #[arg(long, default_value_t = Threshold::default().pct, value_name = "PCT")]
    threshold_pct: f64,
    /// …and by more than this many milliseconds.
    #[arg(long, default_value_t = Threshold::default().min_ms, value_name = "MS")]
    threshold_ms: u64,
}

pub fn run(args: Args) -> Result<i32> {
    let a = run_record::read(&args.a)?;
    let b = run_record::read(&args.b)?;
    let d = run_diff::diff(
        &a,
        &b,
        Threshold {
            pct: args.threshold_pct,
            min_ms: args.threshold_ms,
        },
    );
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&d).expect("a diff serializes");
        acura_ha::reporter::write_output(path, &format!("{text}\n"))
            .map_err(|e| Error::io(path, e))?;
    }
    if let Some(path) = &args.html {
        acura_ha::reporter::write_output(path, &acura_ha::report::diff::render(&d))
            .map_err(|e| Error::io(path, e))?;
    }
    if !json_to_stdout {
        for line in run_diff::render_text(&d).lines() {
            outln!("{line}");
        }
    }
    Ok(if d.is_same_result() {
        acura_ha::exit_code::PASSED
    } else {
        acura_ha::exit_code::CHECK_FAILED
    })
}
