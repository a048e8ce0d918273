//! Kubernetes nodes: every live member Ready, every member the run took down NotReady, every
//! removed node gone, nothing else listed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::expectations::Expectations;
use super::observation::{CheckName, Findings, Observation, Verdict};
use super::scope::Scope;
use crate::parse::get_nodes::{self, KubeNode};
use crate::topology::{HostName, Topology};

pub const DEADLINE: Duration = Duration::from_secs(25);
const COMMAND_DEADLINE: Duration = Duration::from_secs(20);
pub const COMMAND: &str = get_nodes::JSON;

/// A node as `kubectl get nodes` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// `Ready` or `NotReady` (kubectl shows an `Unknown` condition as NotReady), with
    /// `,SchedulingDisabled` when cordoned.
    pub status: String,
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodesMeasured {
    pub queried_on: Option<HostName>,
    pub internal_ips: BTreeMap<String, String>,
    pub kubelet_versions: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFindings {
    /// Kubernetes node name → state.
    pub nodes: BTreeMap<String, NodeState>,
    pub measured: NodesMeasured,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    scope.seen.set(format!("running `{COMMAND}`"));
    match scope
        .on_cluster(0, |_| COMMAND.to_owned(), COMMAND_DEADLINE)
        .await
    {
        Ok((on, out)) if out.success() => match get_nodes::parse_json(&out.stdout) {
            Ok(nodes) => {
                let mut o = evaluate(scope.topology, scope.expect, &nodes);
                if let Some(Findings::Nodes(f)) = &mut o.findings {
                    f.measured.queried_on = Some(on);
                }
                o
            }
            Err(e) => Observation::unfinished(CheckName::Nodes, format!("{on}: {e}"), None),
        },
        Ok((on, out)) => Observation::unfinished(
            CheckName::Nodes,
            format!(
                "{on}: {COMMAND} failed ({}): {}",
                out.status_text(),
                out.tail(3)
            ),
            None,
        ),
        Err(e) => Observation::unfinished(CheckName::Nodes, e, None),
    }
}

pub(crate) fn evaluate(
    topology: &Topology,
    expect: &Expectations,
    nodes: &[KubeNode],
) -> Observation {
    let mut f = NodeFindings::default();
    let mut reasons = Vec::new();
    let mut seen: Vec<&HostName> = Vec::new();
    for node in nodes {
        let mut status = if node.ready { "Ready" } else { "NotReady" }.to_owned();
        if node.unschedulable {
            status.push_str(",SchedulingDisabled");
        }
        let host = topology
            .nodes()
            .find(|h| {
                h.name.as_str() == node.name
                    || h.hostname == node.name
                    || Some(h.address) == node.internal_ip
            })
            .map(|h| &h.name);
        match host {
            None => reasons.push(format!("{}: listed, but not a node of this run", node.name)),
            Some(host) => {
                seen.push(host);
                if !expect.in_cluster(host) {
                    reasons.push(format!(
                        "{}: still listed although {host} was removed (C23)",
                        node.name
                    ));
                } else if expect.is_up(host) && !node.ready {
                    reasons.push(format!("{}: {status}, expected Ready", node.name));
                } else if !expect.is_up(host) && node.ready {
                    reasons.push(format!("{}: Ready although {host} is down", node.name));
                }
            }
        }
        if let Some(ip) = node.internal_ip {
            f.measured
                .internal_ips
                .insert(node.name.clone(), ip.to_string());
        }
        if let Some(v) = &node.kubelet_version {
            f.measured
                .kubelet_versions
                .insert(node.name.clone(), v.clone());
        }
        let mut roles = node.roles.clone();
        roles.sort();
        f.nodes
            .insert(node.name.clone(), NodeState { status, roles });
    }
    for member in expect.members(topology) {
        if !seen.contains(&&member.name) {
            reasons.push(format!("{}: not listed by kubectl get nodes", member.name));
        }
    }
    Observation::new(
        CheckName::Nodes,
        Findings::Nodes(f),
        Verdict::from_reasons(reasons),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{h, recorded, topology};

    #[test]
    fn the_recorded_list_parses() {
        let nodes = get_nodes::parse_json(recorded!("nodes-node-2-down.json")).unwrap();
        assert_eq!(nodes.len(), 3);
        assert!(nodes[0].ready && !nodes[1].ready);
        assert_eq!(nodes[1].internal_ip, Some("10.213.7.12".parse().unwrap()));
        assert_eq!(nodes[0].roles, vec!["control-plane"]);
        assert_eq!(nodes[2].kubelet_version.as_deref(), Some("v1.29.3"));
    }

    #[test]
    fn node_2_not_ready_is_right_only_when_the_run_took_it_down() {
        let nodes = get_nodes::parse_json(recorded!("nodes-node-2-down.json")).unwrap();
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        let o = evaluate(&topology(), &e, &nodes);
        assert!(o.passed(), "{:?}", o.verdict);
        let o = evaluate(&topology(), &Expectations::installed(), &nodes);
        assert_eq!(o.verdict.reasons, vec!["node-2: NotReady, expected Ready"]);
    }

    #[test]
    fn a_removed_node_must_be_gone_and_a_member_must_be_listed() {
        let mut nodes = get_nodes::parse_json(recorded!("nodes-node-2-down.json")).unwrap();
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        e.removed.insert(h("node-2"));
        let o = evaluate(&topology(), &e, &nodes);
        assert_eq!(
            o.verdict.reasons,
            vec!["node-2: still listed although node-2 was removed (C23)"]
        );
        nodes.retain(|n| n.name != "node-2" && n.name != "node-3");
        let o = evaluate(&topology(), &e, &nodes);
        assert_eq!(
            o.verdict.reasons,
            vec!["node-3: not listed by kubectl get nodes"]
        );
    }

    #[test]
    fn a_stranger_in_the_list_fails() {
        let mut nodes = get_nodes::parse_json(recorded!("nodes-node-2-down.json")).unwrap();
        nodes[1].ready = true;
        nodes.push(KubeNode {
            name: "k8s-master9".into(),
            ready: true,
            unschedulable: false,
            roles: vec![],
            internal_ip: Some("192.168.5.9".parse().unwrap()),
            kubelet_version: None,
        });
        let o = evaluate(&topology(), &Expectations::installed(), &nodes);
        assert_eq!(
            o.verdict.reasons,
            vec!["k8s-master9: listed, but not a node of this run"]
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(get_nodes::parse_json("NAME STATUS\nnode-1 Ready")
            .unwrap_err()
            .starts_with("kubectl get nodes -o json: not a node list"));
    }
}
