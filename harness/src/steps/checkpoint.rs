//! Step `checkpoint NAME`: every check, in parallel, then the normalized observations compared
//! with `fixtures/golden/<scenario>/<NAME>.snap`.

use super::RunState;
use crate::checks;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::golden::Normalizer;

pub async fn run(ctx: &RunContext, state: &mut RunState, name: &str) -> Result<()> {
    let expectations = state.expectations();
    let report = checks::run_checkpoint(ctx, name, &expectations).await;
    let diagnosis = crate::diagnosis::report(ctx, &report, &expectations);
    let normalized = report.snapshot(&Normalizer::new(&ctx.topology()).with_secrets(ctx.secrets()));
    let outcome = ctx
        .goldens()?
        .verify(name, &normalized)
        .map_err(|e| Error::infra(e.to_string()))?;
    let failed: Vec<String> = report
        .observations
        .iter()
        .filter(|o| !o.passed())
        // `summary` starts with the check's name already.
        .map(|o| {
            o.summary()
                .unwrap_or_else(|| format!("{}: failed", o.check))
        })
        .collect();
    // The cause first, then every symptom: a diagnosis explains failures, it never hides one.
    let mut problems: Vec<String> = diagnosis.headline().into_iter().collect();
    problems.extend(failed);
    super::send_golden_outcome(ctx, name, outcome.accepted(), outcome.to_string());
    if !outcome.accepted() {
        problems.push(outcome.to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::CheckFailed(problems.join("\n")))
    }
}
