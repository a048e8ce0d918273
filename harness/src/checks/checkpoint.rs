//! One checkpoint: every applicable check at once, each under its own deadline. A check that
//! runs out of time becomes a failed observation saying what it last saw; none can hold up
//! the others or the run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde::Serialize;

use super::expectations::{Expectations, Stage};
use super::host_gate::HostGate;
use super::observation::{snapshot_of, CheckName, Observation};
use super::{dns, etcd, hostnames, https, log_path, nodes, pods, reachability, resources};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::events::{EventKind, Outcome};
use crate::golden::Normalizer;
use crate::procedure::CommandId;
use crate::remote::Output;
use crate::topology::{Host, HostName, Topology};

#[derive(Clone, Debug, Serialize)]
pub struct CheckpointReport {
    pub checkpoint: String,
    pub observations: Vec<Observation>,
    /// One line per failed check: `etcd: node-2: unhealthy (…)`.
    pub failures: Vec<String>,
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

/// The checks that mean something at `stage`: nothing of the cluster can be checked before
/// C15, nothing of the product's services before C16.
pub fn applicable(stage: Stage) -> Vec<CheckName> {
    CheckName::ALL
        .into_iter()
        .filter(|check| match check {
            CheckName::Dns
            | CheckName::Hostnames
            | CheckName::Resources
            | CheckName::Reachability => true,
            CheckName::Pods | CheckName::Nodes | CheckName::Etcd => {
                stage >= Stage::ClusterInstalled
            }
            CheckName::LogPath | CheckName::Https => stage >= Stage::AcuraInstalled,
        })
        .collect()
}

fn deadline(check: CheckName) -> Duration {
    match check {
        CheckName::Dns => dns::DEADLINE,
        CheckName::Hostnames => hostnames::DEADLINE,
        CheckName::Resources => resources::DEADLINE,
        CheckName::Reachability => reachability::DEADLINE,
        CheckName::LogPath => log_path::DEADLINE,
        CheckName::Pods => pods::DEADLINE,
        CheckName::Nodes => nodes::DEADLINE,
        CheckName::Etcd => etcd::DEADLINE,
        CheckName::Https => https::DEADLINE,
    }
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
    )
    .await
}

pub(crate) async fn run_checks(
    ctx: &RunContext,
    checkpoint: &str,
    expectations: &Expectations,
    checks: &[CheckName],
    failing: &[CheckName],
) -> CheckpointReport {
    let started = Instant::now();
    let topology = ctx.topology();
    let gate = HostGate::default();
    let runs = checks.iter().map(|&check| {
        let scope = Scope {
            ctx,
            expect: expectations,
            topology: &topology,
            gate: &gate,
            seen: LastSeen::default(),
            misconfigured: !failing.is_empty(),
        };
        async move {
            let began = Instant::now();
            let limit = ctx.paced(deadline(check));
            let mut observation = match tokio::time::timeout(limit, run_one(check, &scope)).await {
                Ok(observation) => observation,
                Err(_) => Observation::unfinished(
                    check,
                    format!("did not finish within {}s", limit.as_secs()),
                    scope.seen.get(),
                ),
            };
            observation.duration_ms = began.elapsed().as_millis() as u64;
            let summary = observation.summary().map(|s| ctx.secrets.redact(&s));
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
            ctx.events.send(EventKind::CheckFinished {
                checkpoint: checkpoint.to_owned(),
                check: check.as_str().to_owned(),
                outcome,
                duration: began.elapsed(),
                message,
            });
            observation
        }
    });
    let observations = join_all(runs).await;
    let failures = observations
        .iter()
        .filter_map(Observation::summary)
        .collect();
    CheckpointReport {
        checkpoint: checkpoint.to_owned(),
        observations,
        failures,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

async fn run_one(check: CheckName, scope: &Scope<'_>) -> Observation {
    match check {
        CheckName::Dns => dns::run(scope).await,
        CheckName::Hostnames => hostnames::run(scope).await,
        CheckName::Resources => resources::run(scope).await,
        CheckName::Reachability => reachability::run(scope).await,
        CheckName::LogPath => log_path::run(scope).await,
        CheckName::Pods => pods::run(scope).await,
        CheckName::Nodes => nodes::run(scope).await,
        CheckName::Etcd => etcd::run(scope).await,
        CheckName::Https => https::run(scope).await,
    }
}

/// What a check saw last, for the observation of a check whose deadline passed.
#[derive(Clone, Default)]
pub(crate) struct LastSeen(Arc<Mutex<Option<String>>>);

impl LastSeen {
    pub fn set(&self, seen: impl Into<String>) {
        *self.0.lock().unwrap() = Some(seen.into());
    }
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap().clone()
    }
}

/// What one check works with.
pub(crate) struct Scope<'a> {
    pub ctx: &'a RunContext,
    pub expect: &'a Expectations,
    pub topology: &'a Topology,
    gate: &'a HostGate,
    pub seen: LastSeen,
    /// A misconfiguration is in effect: the procedure's commands the checks issue say nothing
    /// about the procedure then, so they run unnumbered (kept in the artifacts, not tallied).
    misconfigured: bool,
}

impl<'a> Scope<'a> {
    /// `per_node` on every node the run expects up, all at once, keyed by node; beside them the
    /// nodes passed over (powered off or removed), whose findings a check must not invent.
    pub async fn on_live_nodes<T, F, Fut>(
        &self,
        per_node: F,
    ) -> (BTreeMap<HostName, T>, Vec<HostName>)
    where
        F: Fn(&'a Host) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let (live, skipped): (Vec<&'a Host>, Vec<&'a Host>) = self
            .topology
            .nodes()
            .partition(|n| self.expect.is_up(&n.name));
        let work = live.into_iter().map(|node| {
            let output = per_node(node);
            async move { (node.name.clone(), output.await) }
        });
        let outputs = join_all(work).await.into_iter().collect();
        (
            outputs,
            skipped.into_iter().map(|n| n.name.clone()).collect(),
        )
    }

    pub async fn run(&self, host: &HostName, command: &str, deadline: Duration) -> Result<Output> {
        let _permit = self.gate.enter(host).await;
        self.ctx.run(host, command, deadline).await.map_err(shorten)
    }

    pub async fn procedure(
        &self,
        id: CommandId,
        host: &HostName,
        command: &str,
        deadline: Duration,
    ) -> Result<Output> {
        let _permit = self.gate.enter(host).await;
        if self.misconfigured {
            return self.ctx.run(host, command, deadline).await.map_err(shorten);
        }
        self.ctx
            .procedure(id, host, command, deadline)
            .await
            .map_err(shorten)
    }

    /// Run a cluster-side command on the first live member that can be reached, the way an
    /// operator moves on to the next node when one does not answer.
    pub async fn on_cluster(
        &self,
        command: impl Fn(&Host) -> String,
        deadline: Duration,
    ) -> std::result::Result<(HostName, Output), String> {
        let members = self.expect.live_members(self.topology);
        if members.is_empty() {
            return Err("no live cluster member to run kubectl on".into());
        }
        let mut errors = Vec::new();
        for host in members {
            let cmd = command(host);
            self.seen.set(format!("running `{cmd}` on {}", host.name));
            match self.run(&host.name, &cmd, deadline).await {
                Ok(out) => return Ok((host.name.clone(), out)),
                Err(Error::Interrupted) => return Err("interrupted".into()),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(errors.join("; "))
    }
}

/// Errors from hosts quote the command; a probe script quoted whole would bury the reason.
fn shorten(e: Error) -> Error {
    match e {
        Error::Infrastructure(m) => Error::Infrastructure(shorten_quoted(&m)),
        other => other,
    }
}

/// Every `` `quoted` `` span longer than 60 characters cut to its first 40.
fn shorten_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let Some(len) = rest[start + 1..].find('`') else {
            break;
        };
        let quoted = &rest[start + 1..start + 1 + len];
        out.push_str(&rest[..start]);
        out.push('`');
        if quoted.chars().count() > 60 {
            out.extend(quoted.chars().take(40));
            out.push('…');
        } else {
            out.push_str(quoted);
        }
        out.push('`');
        rest = &rest[start + 2 + len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_commands_are_cut_and_short_ones_kept() {
        let long = format!(
            "node-2: `python3 - '{}' <<'EOF'` did not finish within 20s",
            "x".repeat(500)
        );
        assert_eq!(
            shorten_quoted(&long),
            "node-2: `python3 - 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…` did not finish within 20s"
        );
        assert_eq!(
            shorten_quoted("node-1: `hostname` did not finish"),
            "node-1: `hostname` did not finish"
        );
        assert_eq!(shorten_quoted("an odd ` backtick"), "an odd ` backtick");
    }

    #[test]
    fn checks_follow_the_install() {
        assert_eq!(applicable(Stage::Provisioned).len(), 4);
        assert!(!applicable(Stage::ClusterInstalled).contains(&CheckName::Https));
        assert_eq!(applicable(Stage::AcuraInstalled), CheckName::ALL.to_vec());
    }
}
