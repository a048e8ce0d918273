//! Step `diagnose`: every check, then the diagnosis, which must name each of the given causes.
//! What a reproduction of a site ends with: "reproduced 2 of 2 causes". Causes found besides
//! them are said, not failed: the lab may show more than the site's bundle did.

use std::collections::BTreeSet;

use serde_json::json;

use super::RunState;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::scenario::DiagnoseStep;

/// The key of the run record's entry this step writes.
pub const RECORD: &str = "reproduction";

pub async fn run(ctx: &RunContext, state: &mut RunState, step: &DiagnoseStep) -> Result<()> {
    let expectations = state.expectations();
    let report = crate::checks::run_checkpoint_unnumbered(ctx, "diagnose", &expectations).await;
    let diagnosis = crate::diagnosis::report(ctx, &report, &expectations);
    let found: BTreeSet<&str> = diagnosis.findings.iter().map(|f| f.rule.as_str()).collect();
    let expected: BTreeSet<&str> = step.causes.iter().map(String::as_str).collect();
    let reproduced: Vec<&str> = expected.intersection(&found).copied().collect();
    let missing: Vec<&str> = expected.difference(&found).copied().collect();
    let extra: Vec<&str> = found.difference(&expected).copied().collect();
    let summary = verdict(reproduced.len(), expected.len(), &missing, &extra);
    ctx.events().send(EventKind::Record {
        key: RECORD.into(),
        value: json!({
            "summary": summary,
            "expected": expected,
            "reproduced": reproduced,
            "missing": missing,
            "extra": extra,
        }),
    });
    if missing.is_empty() {
        ctx.events().progress(summary);
        Ok(())
    } else {
        Err(Error::CheckFailed(format!(
            "{summary}\n{}",
            crate::diagnosis::render(&diagnosis, 100).trim_end()
        )))
    }
}

/// `reproduced 2 of 2 causes`, with what is missing and what came besides.
pub fn verdict(reproduced: usize, expected: usize, missing: &[&str], extra: &[&str]) -> String {
    let mut text = format!(
        "reproduced {reproduced} of {expected} cause{}",
        if expected == 1 { "" } else { "s" }
    );
    if !missing.is_empty() {
        text.push_str(&format!("; not shown: {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        text.push_str(&format!("; found besides: {}", extra.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_counts_and_names_what_differs() {
        assert_eq!(verdict(2, 2, &[], &[]), "reproduced 2 of 2 causes");
        assert_eq!(
            verdict(1, 2, &["lb-config"], &["host-down"]),
            "reproduced 1 of 2 causes; not shown: lb-config; found besides: host-down"
        );
    }
}
