//! What one check works with ([`Scope`]): the run's context and expectations, the topology,
//! the per-host gate that keeps a host from being asked too much at once, and what the check
//! saw last (for a check whose deadline passes). Every check imports it; it imports no check.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;

use super::delivery::Deliveries;
use super::expectations::Expectations;
use super::host_gate::HostGate;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::PlannedCommand;
use crate::remote::Output;
use crate::topology::{Host, HostName, Topology};

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
    pub(super) gate: &'a HostGate,
    /// How fast this checkpoint's records reached the log index so far.
    pub deliveries: Deliveries,
    pub seen: LastSeen,
    /// A misconfiguration is in effect: the procedure's commands the checks issue say nothing
    /// about the procedure then, so they run unnumbered (kept in the artifacts, not tallied).
    pub(super) misconfigured: bool,
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

    /// One of the procedure's commands (see each check's `procedure_commands`). A failure
    /// caused on purpose says nothing about the procedure: then it is issued unnumbered.
    pub async fn issue(&self, planned: &PlannedCommand, deadline: Duration) -> Result<Output> {
        let _permit = self.gate.enter(&planned.host).await;
        if self.misconfigured {
            return self
                .ctx
                .run(&planned.host, &planned.command, deadline)
                .await
                .map_err(shorten);
        }
        self.ctx.issue(planned, deadline).await.map_err(shorten)
    }

    /// Run a cluster-side command on a live member, moving on to the next when one cannot be
    /// reached, the way an operator does. The checks that read the cluster start at different
    /// members (`first`, counted round the live ones), so no one node serves every read at once.
    pub async fn on_cluster(
        &self,
        first: usize,
        command: impl Fn(&Host) -> String,
        deadline: Duration,
    ) -> std::result::Result<(HostName, Output), String> {
        let mut members = self.expect.live_members(self.topology);
        if members.is_empty() {
            return Err("no live cluster member to run kubectl on".into());
        }
        let len = members.len();
        members.rotate_left(first % len);
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
}
