//! The checks of a checkpoint, one row each: the stage from which it means something, its
//! deadline and how it runs. Adding a check is its own file, its name and findings, and a row.

use std::time::Duration;

use futures::future::BoxFuture;

use super::expectations::{Expectations, Stage};
use super::observation::{CheckName, Observation};
use super::scope::Scope;
use super::{dns, etcd, hostnames, https, log_path, nodes, pods, reachability, resources};
use crate::procedure::PlannedCommand;
use crate::topology::HostName;

pub(crate) struct CheckSpec {
    pub name: CheckName,
    /// Nothing of the cluster can be checked before C15, nothing of the product before C16.
    pub from: Stage,
    /// On a machine at full speed; stretched by the provider's pace.
    pub deadline: Duration,
    pub run: for<'r, 's> fn(&'r Scope<'s>) -> BoxFuture<'r, Observation>,
    /// The procedure's numbered commands the check issues on each live node (given the node
    /// and the probe name): what `plan` lists for a checkpoint, from the function the check
    /// itself issues them with.
    pub procedure: fn(&HostName, &str) -> Vec<PlannedCommand>,
}

/// A check that issues none of the procedure's commands.
fn none(_: &HostName, _: &str) -> Vec<PlannedCommand> {
    Vec::new()
}

/// Every check, in the order reports list them.
pub(crate) fn table() -> [CheckSpec; 9] {
    let row = |name, from, deadline, run| CheckSpec {
        name,
        from,
        deadline,
        run,
        procedure: none,
    };
    [
        CheckSpec {
            procedure: |n, p| dns::procedure_commands(n, p).to_vec(),
            ..row(CheckName::Dns, Stage::Provisioned, dns::DEADLINE, |s| {
                Box::pin(dns::run(s))
            })
        },
        CheckSpec {
            procedure: |n, p| hostnames::procedure_commands(n, p).to_vec(),
            ..row(
                CheckName::Hostnames,
                Stage::Provisioned,
                hostnames::DEADLINE,
                |s| Box::pin(hostnames::run(s)),
            )
        },
        row(
            CheckName::Resources,
            Stage::Provisioned,
            resources::DEADLINE,
            |s| Box::pin(resources::run(s)),
        ),
        row(
            CheckName::Reachability,
            Stage::Provisioned,
            reachability::DEADLINE,
            |s| Box::pin(reachability::run(s)),
        ),
        row(
            CheckName::LogPath,
            Stage::AcuraInstalled,
            log_path::DEADLINE,
            |s| Box::pin(log_path::run(s)),
        ),
        row(
            CheckName::Pods,
            Stage::ClusterInstalled,
            pods::DEADLINE,
            |s| Box::pin(pods::run(s)),
        ),
        row(
            CheckName::Nodes,
            Stage::ClusterInstalled,
            nodes::DEADLINE,
            |s| Box::pin(nodes::run(s)),
        ),
        row(
            CheckName::Etcd,
            Stage::ClusterInstalled,
            etcd::DEADLINE,
            |s| Box::pin(etcd::run(s)),
        ),
        row(
            CheckName::Https,
            Stage::AcuraInstalled,
            https::DEADLINE,
            |s| Box::pin(https::run(s)),
        ),
    ]
}

/// The procedure's commands a checkpoint at `expectations` issues on the live `nodes`, in
/// order: C1 and C2 (dns) and C3 (hostnames) on each node that is up.
pub fn procedure_commands(
    expectations: &Expectations,
    nodes: &[HostName],
    probe_name: &str,
) -> Vec<PlannedCommand> {
    let checks: Vec<CheckSpec> = table()
        .into_iter()
        .filter(|c| expectations.stage >= c.from)
        .collect();
    nodes
        .iter()
        .filter(|n| expectations.is_up(n))
        .flat_map(|n| checks.iter().flat_map(|c| (c.procedure)(n, probe_name)))
        .collect()
}

pub(crate) fn spec(check: CheckName) -> CheckSpec {
    table()
        .into_iter()
        .find(|c| c.name == check)
        .expect("every check has a row")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_follow_the_install() {
        use crate::checks::applicable;
        assert_eq!(applicable(Stage::Provisioned).len(), 4);
        assert!(!applicable(Stage::ClusterInstalled).contains(&CheckName::Https));
        assert_eq!(applicable(Stage::AcuraInstalled), CheckName::ALL.to_vec());
    }

    #[test]
    fn every_check_has_one_row_in_the_order_reports_list_them() {
        let names: Vec<CheckName> = table().iter().map(|c| c.name).collect();
        assert_eq!(names, CheckName::ALL);
    }
}
