//! Pod readiness by the `Ready` condition (phase `Running` alone is not enough): counts per
//! namespace and per workload, the control-plane pods of every member node, and every pod on a
//! live node Ready.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::expectations::Expectations;
use super::observation::{CheckName, Findings, Observation, Verdict};
use super::scope::Scope;
use crate::parse::get_pods::{self, PodRow};
use crate::topology::{HostName, Topology};

pub const DEADLINE: Duration = Duration::from_secs(30);
const COMMAND_DEADLINE: Duration = Duration::from_secs(20);
pub const COMMAND: &str = crate::parse::get_pods::JSON;

/// The static pods kubeadm runs on every control-plane node, `<component>-<node>`.
pub const CONTROL_PLANE: [&str; 4] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

/// A ReplicaSet's pod-template hash and the pod's own suffix, or only the latter (DaemonSet),
/// from the alphabet Kubernetes generates names with.
static GENERATED: LazyLock<Regex> = LazyLock::new(|| {
    let c = "[bcdfghjklmnpqrstvwxz2456789]";
    Regex::new(&format!(r"^(.+?)-(?:{c}{{6,10}}-)?{c}{{5}}$")).unwrap()
});

/// The workload a pod belongs to: its name without the generated suffix (`restapi` for
/// `restapi-6b8f7c9d5-x2k4p`, `kube-proxy` for `kube-proxy-7fxzk`; `mariadb-0` and
/// `etcd-node-1` are their own).
pub fn workload_of(pod: &str) -> &str {
    GENERATED
        .captures(pod)
        .and_then(|c| c.get(1))
        .map_or(pod, |m| m.as_str())
}

/// A StatefulSet's pod: `<set>-<ordinal>`, no generated suffix, and not a static pod
/// (`<component>-<node>`, where a node's name may end in a number too).
fn is_stateful(pod: &str, node: &str) -> bool {
    workload_of(pod) == pod
        && !pod.ends_with(&format!("-{node}"))
        && pod.rsplit_once('-').is_some_and(|(set, n)| {
            !set.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub pods: usize,
    pub ready: usize,
}

impl Count {
    fn add(&mut self, ready: bool) {
        self.pods += 1;
        self.ready += usize::from(ready);
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodsMeasured {
    pub queried_on: Option<HostName>,
    /// Node → namespace → counts. Where Deployment pods land is the scheduler's choice, so
    /// snapshots leave this out.
    pub per_node: BTreeMap<String, BTreeMap<String, Count>>,
    /// StatefulSet pods (`<set>-<ordinal>`, `namespace/pod`) → the node they are bound to: a
    /// StatefulSet pod leaves a dead node only once the node is deleted, so where one runs
    /// decides what a node's loss takes down (the log pipeline's `default/elk-0`, for one).
    #[serde(default)]
    pub stateful: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodFindings {
    pub namespaces: BTreeMap<String, Count>,
    /// `namespace/workload` → counts.
    pub workloads: BTreeMap<String, Count>,
    /// Member node → component → `ready`, `not ready` or `missing`.
    pub control_plane: BTreeMap<HostName, BTreeMap<Cow<'static, str>, Cow<'static, str>>>,
    pub measured: PodsMeasured,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    scope.seen.set(format!("running `{COMMAND}`"));
    match scope
        .on_cluster(1, |_| COMMAND.to_owned(), COMMAND_DEADLINE)
        .await
    {
        Ok((on, out)) if out.success() => match get_pods::parse_json(&out.stdout) {
            Ok(pods) => {
                let mut o = evaluate(scope.topology, scope.expect, &pods);
                if let Some(Findings::Pods(f)) = &mut o.findings {
                    f.measured.queried_on = Some(on);
                }
                o
            }
            Err(e) => Observation::unfinished(CheckName::Pods, format!("{on}: {e}"), None),
        },
        Ok((on, out)) => Observation::unfinished(
            CheckName::Pods,
            format!(
                "{on}: {COMMAND} failed ({}): {}",
                out.status_text(),
                out.tail(3)
            ),
            None,
        ),
        Err(e) => Observation::unfinished(CheckName::Pods, e, None),
    }
}

/// Which host of the run a Kubernetes node name is (the inventory hostname).
fn host_named<'t>(topology: &'t Topology, node: &str) -> Option<&'t HostName> {
    topology
        .nodes()
        .find(|h| h.name.as_str() == node || h.hostname == node)
        .map(|h| &h.name)
}

pub(crate) fn evaluate(topology: &Topology, expect: &Expectations, pods: &[PodRow]) -> Observation {
    let mut f = PodFindings::default();
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    if pods.is_empty() {
        reasons.push(format!("{COMMAND} listed no pods"));
    }
    // Workloads with a pod on a down node: whether they have a Ready pod elsewhere.
    let mut stranded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pod in pods {
        let id = format!("{}/{}", pod.namespace, pod.name);
        let workload = format!("{}/{}", pod.namespace, workload_of(&pod.name));
        let ready = pod.is_ready();
        f.namespaces
            .entry(pod.namespace.clone())
            .or_default()
            .add(ready);
        f.workloads.entry(workload.clone()).or_default().add(ready);
        let Some(node) = &pod.node else {
            reasons.push(format!("{id}: not scheduled ({})", pod.status));
            continue;
        };
        f.measured
            .per_node
            .entry(node.clone())
            .or_default()
            .entry(pod.namespace.clone())
            .or_default()
            .add(ready);
        if is_stateful(&pod.name, node) {
            f.measured.stateful.insert(id.clone(), node.clone());
        }
        let Some(host) = host_named(topology, node) else {
            reasons.push(format!("{id}: on {node}, which is not a node of this run"));
            continue;
        };
        if !expect.in_cluster(host) {
            reasons.push(format!(
                "{id}: still bound to {host}, which was removed from the cluster"
            ));
        } else if !expect.is_up(host) {
            if ready {
                reasons.push(format!(
                    "{id} on {host}: still Ready although {host} is down"
                ));
            }
            // A node's own static pods go down with it: the control-plane table shows them.
            let node_bound =
                pod.name.ends_with(&format!("-{host}")) || pod.name.ends_with(&format!("-{node}"));
            if !node_bound {
                stranded.entry(workload).or_default().push(host.to_string());
            }
        } else if !ready {
            reasons.push(format!(
                "{id} on {host}: not Ready ({}, {}/{} containers ready)",
                pod.status, pod.containers_ready, pod.containers
            ));
        }
    }
    for (workload, mut hosts) in stranded {
        if f.workloads.get(&workload).is_some_and(|c| c.ready == 0) {
            hosts.sort();
            hosts.dedup();
            notes.push(format!(
                "{workload}: no Ready pod; its pods are on down nodes ({})",
                hosts.join(", ")
            ));
        }
    }
    for member in expect.members(topology) {
        let mut components = BTreeMap::new();
        for component in CONTROL_PLANE {
            let found = pods.iter().find(|p| {
                p.namespace == "kube-system"
                    && (p.name == format!("{component}-{}", member.name)
                        || p.name == format!("{component}-{}", member.hostname))
            });
            let state = match found {
                Some(p) if p.is_ready() => "ready",
                Some(_) => "not ready",
                None => "missing",
            };
            // A pod that is there but not Ready was reported with the others above.
            if expect.is_up(&member.name) && found.is_none() {
                reasons.push(format!(
                    "{}: control-plane pod {component}-{} missing",
                    member.name, member.name
                ));
            }
            components.insert(component.into(), state.into());
        }
        f.control_plane.insert(member.name.clone(), components);
    }
    Observation::new(
        CheckName::Pods,
        Findings::Pods(f),
        Verdict::from_reasons(reasons).with_notes(notes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{h, recorded, topology};

    fn pods(json: &str) -> Vec<PodRow> {
        get_pods::parse_json(json).unwrap()
    }

    #[test]
    fn workloads_drop_generated_suffixes_only() {
        assert_eq!(workload_of("restapi-6b8f7c9d5-x2k4p"), "restapi");
        assert_eq!(workload_of("kube-proxy-7fxzk"), "kube-proxy");
        assert_eq!(
            workload_of("ngingress-nginx-ingress-controller-bq9wz"),
            "ngingress-nginx-ingress-controller"
        );
        assert_eq!(workload_of("etcd-node-1"), "etcd-node-1");
        assert_eq!(workload_of("mariadb-0"), "mariadb-0");
        assert_eq!(workload_of("kube-proxy"), "kube-proxy");
        assert!(is_stateful("elk-0", "node-1") && is_stateful("mariadb-0", "node-3"));
        assert!(
            !is_stateful("etcd-node-1", "node-1") && !is_stateful("kube-proxy-7fxzk", "node-1")
        );
    }

    #[test]
    fn a_healthy_cluster_passes_with_full_counts() {
        let o = evaluate(
            &topology(),
            &Expectations::installed(),
            &pods(recorded!("pods-healthy.json")),
        );
        assert!(o.passed(), "{:?}", o.verdict);
        let Some(Findings::Pods(f)) = &o.findings else {
            panic!()
        };
        assert_eq!(
            f.namespaces["kube-system"],
            Count {
                pods: 20,
                ready: 20
            }
        );
        assert_eq!(
            f.workloads["kube-system/kube-proxy"],
            Count { pods: 3, ready: 3 }
        );
        assert_eq!(
            f.workloads["kube-system/weave-net"],
            Count { pods: 3, ready: 3 }
        );
        assert_eq!(f.control_plane[&h("node-2")]["kube-scheduler"], "ready");
        assert_eq!(
            f.measured.per_node["node-2"]["default"],
            Count { pods: 3, ready: 3 }
        );
        let stateful: Vec<(&str, &str)> = f
            .measured
            .stateful
            .iter()
            .map(|(p, n)| (p.as_str(), n.as_str()))
            .collect();
        assert_eq!(
            stateful,
            [
                ("default/elk-0", "node-3"),
                ("default/etcd-0", "node-1"),
                ("default/mariadb-0", "node-2")
            ]
        );
    }

    #[test]
    fn after_a_power_off_the_dead_nodes_pods_are_expected_not_ready() {
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        let o = evaluate(&topology(), &e, &pods(recorded!("pods-node-2-down.json")));
        assert!(o.passed(), "{:?}", o.verdict);
        assert_eq!(
            o.verdict.notes,
            vec!["default/mariadb-0: no Ready pod; its pods are on down nodes (node-2)"]
        );
        let Some(Findings::Pods(f)) = &o.findings else {
            panic!()
        };
        assert_eq!(f.workloads["default/restapi"], Count { pods: 2, ready: 1 });
        assert_eq!(f.control_plane[&h("node-2")]["etcd"], "not ready");
    }

    #[test]
    fn the_same_pods_fail_when_nothing_took_node_2_down() {
        let o = evaluate(
            &topology(),
            &Expectations::installed(),
            &pods(recorded!("pods-node-2-down.json")),
        );
        assert!(!o.passed());
        assert!(o.verdict.reasons.contains(
            &"kube-system/etcd-node-2 on node-2: not Ready (Running, 0/1 containers ready)"
                .to_owned()
        ));
        assert!(o.verdict.reasons.contains(
            &"default/restapi-6b8f7c9d5-p4zrk on node-2: not Ready (Terminating, 0/1 containers ready)".to_owned()
        ));
    }

    #[test]
    fn pods_left_on_a_removed_node_and_missing_control_plane_fail() {
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        e.removed.insert(h("node-2"));
        let mut rows = pods(recorded!("pods-node-2-down.json"));
        rows.retain(|p| p.name != "kube-scheduler-node-3");
        let o = evaluate(&topology(), &e, &rows);
        assert!(o.verdict.reasons.contains(
            &"default/mariadb-0: still bound to node-2, which was removed from the cluster"
                .to_owned()
        ));
        assert!(o
            .verdict
            .reasons
            .contains(&"node-3: control-plane pod kube-scheduler-node-3 missing".to_owned()));
        let Some(Findings::Pods(f)) = &o.findings else {
            panic!()
        };
        assert!(
            !f.control_plane.contains_key(&h("node-2")),
            "not a member any more"
        );
    }

    #[test]
    fn a_pod_still_ready_on_a_dead_node_means_the_cluster_did_not_notice() {
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        let o = evaluate(&topology(), &e, &pods(recorded!("pods-healthy.json")));
        assert!(o.verdict.reasons.contains(
            &"kube-system/etcd-node-2 on node-2: still Ready although node-2 is down".to_owned()
        ));
    }
}
