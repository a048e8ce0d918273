//! One checkpoint: every applicable check at once, each under its own deadline. A check that
//! runs out of time becomes a failed observation saying what it last saw; none can hold up
//! the others or the run.

use std::time::Instant;

use futures::future::join_all;
use serde::Serialize;

use super::delivery::Deliveries;
use super::expectations::{Expectations, Stage};
use super::facts::Facts;
use super::host_gate::HostGate;
use super::observation::{snapshot_of, CheckName, Observation};
use super::scope::{LastSeen, Scope};
use super::table::{spec, table};
use crate::context::RunContext;
use crate::events::{EventKind, Outcome};
use crate::golden::Normalizer;

#[derive(Clone, Debug, Serialize)]
pub struct CheckpointReport {
    pub checkpoint: String,
    pub observations: Vec<Observation>,
    /// One line per failed check: `etcd: node-2: unhealthy (…)`.
    pub failures: Vec<String>,
    /// What the diagnosis needs beyond the observations (services, listening ports, the LB's
    /// config), gathered alongside them.
    pub facts: Facts,
    pub duration_ms: u64,
}

impl CheckpointReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    pub fn observation(&self, check: CheckName) -> Option<&Observation> {
        self.observations.iter().find(|o| o.check == check)
    }

    /// The normalized observations, as golden snapshots hold them.
    pub fn snapshot(&self, normalizer: &Normalizer) -> serde_json::Value {
        normalizer.normalize(&snapshot_of(&self.observations))
    }
}

/// The checks that mean something at `stage` (see [`table`](super::table)).
pub fn applicable(stage: Stage) -> Vec<CheckName> {
    table()
        .into_iter()
        .filter(|check| stage >= check.from)
        .map(|check| check.name)
        .collect()
}

/// Run every check that applies to `expectations.stage`, concurrently; send
/// [`EventKind::CheckFinished`] for each as it ends.
pub async fn run_checkpoint(
    ctx: &RunContext,
    checkpoint: &str,
    expectations: &Expectations,
) -> CheckpointReport {
    run_checkpoint_expecting(ctx, checkpoint, expectations, &[]).await
}

/// [`run_checkpoint`] to diagnose a failed step (an `expect`): the procedure's commands the
/// checks issue say nothing about the procedure there, so they run unnumbered.
pub async fn run_checkpoint_unnumbered(
    ctx: &RunContext,
    checkpoint: &str,
    expectations: &Expectations,
) -> CheckpointReport {
    let checks = applicable(expectations.stage);
    run_checks(ctx, checkpoint, expectations, &checks, &[], false).await
}

/// [`run_checkpoint`] where `failing` must fail (a misconfiguration is in effect): their
/// events pass when they fail and fail when they pass. The report keeps the plain verdicts.
pub async fn run_checkpoint_expecting(
    ctx: &RunContext,
    checkpoint: &str,
    expectations: &Expectations,
    failing: &[CheckName],
) -> CheckpointReport {
    run_checks(
        ctx,
        checkpoint,
        expectations,
        &applicable(expectations.stage),
        failing,
        failing.is_empty(),
    )
    .await
}

pub(crate) async fn run_checks(
    ctx: &RunContext,
    checkpoint: &str,
    expectations: &Expectations,
    checks: &[CheckName],
    failing: &[CheckName],
    numbered: bool,
) -> CheckpointReport {
    let started = Instant::now();
    let topology = ctx.topology();
    let gate = HostGate::default();
    let deliveries = Deliveries::default();
    // Every check and the facts share the gate: no host is asked too much at once; the checks
    // that send records share what their deliveries measured.
    let scope = || Scope {
        ctx,
        expect: expectations,
        topology: &topology,
        gate: &gate,
        deliveries: deliveries.clone(),
        seen: LastSeen::default(),
        misconfigured: !numbered,
    };
    let runs = checks.iter().map(|&check| {
        let scope = scope();
        async move {
            let began = Instant::now();
            let spec = spec(check);
            let limit = ctx.paced(spec.deadline);
            let mut observation = match tokio::time::timeout(limit, (spec.run)(&scope)).await {
                Ok(observation) => observation,
                Err(_) => Observation::unfinished(
                    check,
                    format!("did not finish within {}s", limit.as_secs()),
                    scope.seen.get(),
                ),
            };
            observation.duration_ms = began.elapsed().as_millis() as u64;
            let summary = observation.summary();
            let (outcome, message) = match (failing.contains(&check), observation.passed()) {
                (false, true) => (Outcome::Passed, summary),
                (false, false) => (Outcome::Failed, summary),
                (true, false) => (
                    Outcome::Passed,
                    Some(format!("fails as it must: {}", summary.unwrap_or_default())),
                ),
                (true, true) => (
                    Outcome::Failed,
                    Some("passed, but the misconfiguration in effect must make it fail".into()),
                ),
            };
            ctx.events().send(EventKind::CheckFinished {
                checkpoint: checkpoint.to_owned(),
                check: check.as_str().to_owned(),
                outcome,
                duration: began.elapsed(),
                message,
                findings: observation.findings_json(),
            });
            observation
        }
    });
    let facts_scope = scope();
    let (observations, facts) = futures::join!(
        join_all(runs),
        super::facts::gather(&facts_scope, expectations)
    );
    let failures = observations
        .iter()
        .filter_map(Observation::summary)
        .collect();
    CheckpointReport {
        checkpoint: checkpoint.to_owned(),
        observations,
        failures,
        facts,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}
