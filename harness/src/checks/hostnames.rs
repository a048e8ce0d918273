//! Hostnames without dots (C3): ansible's inventory and kubeadm's node names are the short
//! hostname; an FQDN breaks the install.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::observation::{CheckName, Findings, Observation, Verdict};
use super::scope::Scope;
use crate::procedure::{commands, PlannedCommand};
use crate::topology::HostName;

pub const DEADLINE: Duration = Duration::from_secs(20);
const COMMAND: Duration = Duration::from_secs(15);

const ADVICE: &str = "the guide: hostnames must not be FQDNs";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostnameFindings {
    /// What `hostname` printed on each node.
    pub nodes: BTreeMap<HostName, String>,
}

/// The procedure's command this check issues on each live node: C3.
pub fn procedure_commands(node: &HostName, _probe_name: &str) -> [PlannedCommand; 1] {
    [PlannedCommand::numbered(3, node, commands::c3())]
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    scope.seen.set("waiting for `hostname` on every node");
    let (outputs, skipped) = scope
        .on_live_nodes(|node| async {
            let [c3] = procedure_commands(&node.name, "");
            match scope.issue(&c3, COMMAND).await {
                Ok(o) if o.success() => Ok(o.stdout),
                Ok(o) => Err(format!("{}: {}", o.status_text(), o.tail(2))),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
    evaluate(outputs, &skipped)
}

pub(crate) fn evaluate(
    outputs: BTreeMap<HostName, Result<String, String>>,
    skipped: &[HostName],
) -> Observation {
    let mut reasons = Vec::new();
    let mut nodes = BTreeMap::new();
    for (node, result) in outputs {
        match result {
            Ok(text) => {
                let hostname = text.trim().to_owned();
                if hostname.is_empty() {
                    reasons.push(format!("{node}: hostname printed nothing"));
                } else if hostname.contains('.') {
                    reasons.push(format!(
                        "{node}: hostname {hostname} contains dots ({ADVICE})"
                    ));
                }
                nodes.insert(node, hostname);
            }
            Err(e) => reasons.push(format!("{node}: hostname: {e}")),
        }
    }
    let notes = skipped
        .iter()
        .map(|n| format!("{n} is down: not asked"))
        .collect();
    Observation::new(
        CheckName::Hostnames,
        Findings::Hostnames(HostnameFindings { nodes }),
        Verdict::from_reasons(reasons).with_notes(notes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::h;

    #[test]
    fn short_hostnames_pass_and_an_fqdn_fails_with_advice() {
        let o = evaluate(
            [
                (h("node-1"), Ok("node-1\n".into())),
                (h("node-2"), Ok("node-2.acura.test\n".into())),
            ]
            .into(),
            &[],
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["node-2: hostname node-2.acura.test contains dots (the guide: hostnames must not be FQDNs)"]
        );
        let Some(Findings::Hostnames(f)) = &o.findings else {
            panic!()
        };
        assert_eq!(f.nodes[&h("node-1")], "node-1");
    }

    #[test]
    fn a_node_that_did_not_answer_fails() {
        let o = evaluate(
            [(h("node-3"), Err("deadline".into()))].into(),
            &[h("node-2")],
        );
        assert_eq!(o.verdict.reasons, vec!["node-3: hostname: deadline"]);
        assert_eq!(o.verdict.notes, vec!["node-2 is down: not asked"]);
    }
}
