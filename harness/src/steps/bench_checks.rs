//! Step `bench-checks`: the full parallel check set and, in the same run, the guide's
//! sequential shell approach doing the same checks, against the topology as the run left it
//! (healthy, or with the hosts the scenario took down). Prints both times and their ratio and
//! keeps the report as `bench/<label>.json` in the artifacts.

use super::RunState;
use crate::checks::{bench, Expectations};
use crate::context::RunContext;
use crate::error::{Error, Result};

pub async fn run(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let expectations = state.expectations();
    let label = label(&expectations);
    let (mut report, checkpoint) = bench::run(ctx, &expectations, &label).await;
    report.diagnosis = crate::diagnosis::report(ctx, &checkpoint, &expectations)
        .findings
        .iter()
        .map(|f| format!("{}: {}", f.rule, f.cause))
        .collect();
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::infra(e.to_string()))?;
    ctx.artifacts()
        .write(format!("bench/{}.json", label.replace(' ', "-")), &json)?;
    ctx.events().progress(report.to_string());
    match &report.sequential_error {
        // Without the sequential side there is no ratio to report.
        Some(e) => Err(Error::CheckFailed(format!(
            "the guide's sequential checks could not run: {e}"
        ))),
        None => Ok(()),
    }
}

/// `healthy`, `node-2 down`, `node-2 node-3 down`.
fn label(expectations: &Expectations) -> String {
    if expectations.down.is_empty() {
        "healthy".into()
    } else {
        let down: Vec<&str> = expectations.down.iter().map(|h| h.as_str()).collect();
        format!("{} down", down.join(" "))
    }
}
