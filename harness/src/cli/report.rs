//! `acura-ha report RUN.json --html PATH [--screenshot PNG]`: the HTML report of any earlier
//! run, check or analysis, rendered from its run record alone; with `--screenshot`, also
//! looked at in headless Chromium (a PNG for a CI summary, and proof that the page loads
//! nothing from anywhere and logs no error).

use std::path::PathBuf;
use std::time::Duration;

use acura_ha::report::browser;
use acura_ha::{run_record, Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// A run record (`run.json` in a run's artifacts, or what `--json` wrote).
    record: PathBuf,
    /// Where the HTML report goes (`-`: stdout).
    #[arg(long, value_name = "PATH")]
    html: PathBuf,
    /// Also render the report in headless Chromium (ACURA_HA_CHROMIUM, or `chromium`) and
    /// write a PNG of the whole page here.
    #[arg(long, value_name = "PNG")]
    screenshot: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<i32> {
    let record = run_record::read(&args.record)?;
    let page = acura_ha::report::render(&record);
    acura_ha::reporter::write_output(&args.html, &page).map_err(|e| Error::io(&args.html, e))?;
    if args.html.as_os_str() != "-" {
        eprintln!("report: {}", args.html.display());
    }
    let Some(png) = args.screenshot else {
        return Ok(acura_ha::exit_code::PASSED);
    };
    // The browser opens a file: stdout's page is written beside the screenshot.
    let file = if args.html.as_os_str() == "-" {
        let f = png.with_extension("html");
        std::fs::write(&f, &page).map_err(|e| Error::io(&f, e))?;
        f
    } else {
        args.html.clone()
    };
    let seen = browser::open(&file, Duration::from_secs(60)).map_err(Error::Infrastructure)?;
    std::fs::write(&png, &seen.screenshot_png).map_err(|e| Error::io(&png, e))?;
    eprintln!(
        "screenshot: {} ({} sections, {:.0} px high)",
        png.display(),
        seen.facts.sections.len(),
        seen.facts.height
    );
    let mut problems = Vec::new();
    problems.extend(
        seen.requests
            .iter()
            .map(|r| format!("the page requested {r}")),
    );
    problems.extend(
        seen.console_errors
            .iter()
            .map(|e| format!("console error: {e}")),
    );
    if problems.is_empty() {
        Ok(acura_ha::exit_code::PASSED)
    } else {
        for p in &problems {
            eprintln!("error: {p}");
        }
        Ok(acura_ha::exit_code::CHECK_FAILED)
    }
}
