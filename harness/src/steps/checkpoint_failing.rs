//! Step `checkpoint-failing`: every check while a misconfiguration is in effect. It passes when
//! exactly the named checks fail, and what changed against the baseline checkpoint's golden
//! snapshot touches only those checks and equals this checkpoint's own golden snapshot: the
//! list of changed cells, under `fixtures/golden/<scenario>/<name>.snap`.

use serde_json::Value;

use super::RunState;
use crate::checks::{self, CheckName};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::golden::{self, GoldenDiff, Normalizer, Snapshot};
use crate::scenario::FailingCheckpoint;

pub async fn run(ctx: &RunContext, state: &mut RunState, spec: &FailingCheckpoint) -> Result<()> {
    let expectations = state.expectations();
    let report =
        checks::run_checkpoint_expecting(ctx, &spec.name, &expectations, &spec.failing).await;
    let normalizer = Normalizer::new(&ctx.topology()).with_secrets(ctx.secrets());
    let normalized = report.snapshot(&normalizer);
    let diagnosis = crate::diagnosis::report(ctx, &report, &expectations);

    let goldens = ctx.goldens()?;
    let baseline_path = goldens.path(&spec.baseline);
    let baseline = Snapshot::read(&baseline_path)
        .and_then(|s| s.map(|s| s.value(&baseline_path)).transpose())
        .map_err(|e| Error::infra(e.to_string()))?
        .ok_or_else(|| {
            Error::CheckFailed(format!(
                "the baseline checkpoint `{}` has no golden snapshot {} to compare with",
                spec.baseline,
                baseline_path.display()
            ))
        })?;
    let diff = golden::compare(&baseline, &normalized);

    let failed: Vec<CheckName> = report
        .observations
        .iter()
        .filter(|o| !o.passed())
        .map(|o| o.check)
        .collect();
    let mut problems = verdict_problems(&spec.failing, &failed, diff.as_ref());
    problems.extend(cause_problems(&spec.causes, &diagnosis));

    let mut changes = changes_value(diff.as_ref());
    changes["diagnosis"] = normalizer.normalize(&diagnosis_value(&diagnosis));
    let outcome = goldens
        .verify(&spec.name, &changes)
        .map_err(|e| Error::infra(e.to_string()))?;
    let message = match &diff {
        Some(d) => format!("against {}: {d}{outcome}", spec.baseline),
        None => outcome.to_string(),
    };
    super::send_golden_outcome(ctx, &spec.name, outcome.accepted(), message);
    if !outcome.accepted() {
        problems.push(format!("the changes against `{}` {outcome}", spec.baseline));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::CheckFailed(problems.join("\n")))
    }
}

/// What is wrong with the outcome: a check that should fail passed, one that should pass
/// failed, or the state changed in a check that should not have changed at all.
pub fn verdict_problems(
    expected: &[CheckName],
    failed: &[CheckName],
    diff: Option<&GoldenDiff>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for check in expected.iter().filter(|c| !failed.contains(c)) {
        problems.push(format!(
            "{check}: passed, but the misconfiguration must make it fail"
        ));
    }
    for check in failed.iter().filter(|c| !expected.contains(c)) {
        problems.push(format!("{check}: failed, but only {} may", names(expected)));
    }
    match diff {
        None => problems.push("nothing changed against the baseline".into()),
        Some(d) => {
            let outside: Vec<&str> = d
                .checks()
                .into_iter()
                .filter(|c| !expected.iter().any(|e| e.as_str() == *c))
                .collect();
            if !outside.is_empty() {
                problems.push(format!(
                    "changes outside {}: {}",
                    names(expected),
                    outside.join(", ")
                ));
            }
        }
    }
    problems
}

fn names(checks: &[CheckName]) -> String {
    checks
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// What is wrong with the diagnosis against the causes the scenario names: other rules, in
/// another order, or a symptom left unexplained.
pub fn cause_problems(causes: &[String], diagnosis: &crate::finding::Diagnosis) -> Vec<String> {
    if causes.is_empty() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let known = crate::diagnosis::rule_ids();
    for c in causes.iter().filter(|c| !known.contains(&c.as_str())) {
        problems.push(format!(
            "no rule is named `{c}` (the rules: {})",
            known.join(", ")
        ));
    }
    let found: Vec<&str> = diagnosis.findings.iter().map(|f| f.rule.as_str()).collect();
    if found != causes.iter().map(String::as_str).collect::<Vec<_>>() {
        problems.push(format!(
            "the diagnosis names {}, the scenario expects {}",
            if found.is_empty() {
                "no cause".to_owned()
            } else {
                found.join(", ")
            },
            causes.join(", ")
        ));
    }
    if !diagnosis.unexplained.is_empty() {
        problems.push(format!(
            "the diagnosis leaves {} failure{} unexplained: {}",
            diagnosis.unexplained.len(),
            if diagnosis.unexplained.len() == 1 {
                ""
            } else {
                "s"
            },
            diagnosis
                .unexplained
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    problems
}

/// The diagnosis as the golden snapshot holds it: each finding's rule and cause, and the
/// number of symptoms it explains (the symptoms themselves are the changes above).
pub fn diagnosis_value(diagnosis: &crate::finding::Diagnosis) -> Value {
    let findings: Vec<Value> = diagnosis
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "rule": f.rule,
                "cause": f.cause,
                "explains": f.explains.len(),
            })
        })
        .collect();
    let unexplained: Vec<String> = diagnosis
        .unexplained
        .iter()
        .map(|s| s.to_string())
        .collect();
    serde_json::json!({ "findings": findings, "unexplained": unexplained })
}

/// The changed cells as the golden snapshot holds them: one line per change.
pub fn changes_value(diff: Option<&GoldenDiff>) -> Value {
    let lines: Vec<Value> = diff
        .map(|d| {
            d.to_string()
                .lines()
                .skip(1)
                .map(|l| Value::String(l.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({ "changes": lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_named_check_may_fail_and_change() {
        let before = json!({
            "reachability": {"cells": {"deployer → node-2:30082/tcp": "open"}},
            "dns": {"nodes": {"node-2": "resolves"}},
        });
        let blocked = json!({
            "reachability": {"cells": {"deployer → node-2:30082/tcp": "timed out"}},
            "dns": {"nodes": {"node-2": "resolves"}},
        });
        let diff = golden::compare(&before, &blocked);
        let r = [CheckName::Reachability];
        assert_eq!(
            verdict_problems(&r, &[CheckName::Reachability], diff.as_ref()),
            Vec::<String>::new()
        );
        assert_eq!(
            changes_value(diff.as_ref()),
            json!({"changes": ["reachability: cells: deployer → node-2:30082/tcp: open → timed out"]})
        );

        let also_dns = json!({
            "reachability": {"cells": {"deployer → node-2:30082/tcp": "timed out"}},
            "dns": {"nodes": {"node-2": "timed out"}},
        });
        let diff = golden::compare(&before, &also_dns);
        assert_eq!(
            verdict_problems(
                &r,
                &[CheckName::Reachability, CheckName::Dns],
                diff.as_ref()
            ),
            vec![
                "dns: failed, but only reachability may".to_owned(),
                "changes outside reachability: dns".to_owned()
            ]
        );
        assert_eq!(
            verdict_problems(&r, &[], None),
            vec![
                "reachability: passed, but the misconfiguration must make it fail".to_owned(),
                "nothing changed against the baseline".to_owned()
            ]
        );
    }
}
