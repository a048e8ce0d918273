//! The control-plane etcd: its members are exactly the cluster's nodes, every live member is
//! healthy, and the endpoints agree on one leader, itself live. Read with the real etcdctl
//! inside `etcd-<node>`, with the peer certificates C24 uses.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::expectations::Expectations;
use super::observation::{CheckName, Findings, Observation, Verdict};
use super::scope::Scope;
use crate::parse::member_list::{self, Member, MemberStatus};
use crate::topology::{HostName, Topology};

pub const DEADLINE: Duration = Duration::from_secs(30);
const COMMAND_DEADLINE: Duration = Duration::from_secs(20);
/// The peer certificates C24 and C25 use.
pub use crate::procedure::commands::ETCD_PKI;
/// Each unreachable endpoint costs this much, not etcdctl's default of five seconds: a live
/// member on a LAN answers a status or health request in milliseconds.
const TIMEOUTS: &str = "--dial-timeout=1s --command-timeout=2s";

/// C24, run on `node`.
pub fn member_list_command(node: &str) -> String {
    crate::procedure::commands::c24(node)
}

pub fn endpoint_status_command(node: &str) -> String {
    format!("kubectl exec etcd-{node} -n kube-system -- etcdctl {ETCD_PKI} {TIMEOUTS} endpoint status --cluster -w json")
}

pub fn endpoint_health_command(node: &str) -> String {
    format!("kubectl exec etcd-{node} -n kube-system -- etcdctl {ETCD_PKI} {TIMEOUTS} endpoint health --cluster -w json")
}

pub use crate::parse::etcd_endpoints::{parse_json, EndpointHealth, EndpointStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    pub started: bool,
    pub learner: bool,
    pub healthy: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdMeasured {
    pub queried_on: Option<HostName>,
    pub ids: BTreeMap<String, String>,
    /// Which member leads is the election's business, not the cluster's state.
    pub leader: Option<String>,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdFindings {
    /// Member name (or `unstarted <peer url>`) → state.
    pub members: BTreeMap<String, MemberState>,
    /// How many distinct leaders the answering endpoints report.
    pub leaders: usize,
    pub measured: EtcdMeasured,
}

/// What the three commands printed, or why they could not run.
pub(crate) struct Outputs {
    pub members: Result<String, String>,
    pub status: Result<String, String>,
    pub health: Result<String, String>,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    scope.seen.set("listing etcd members");
    let (on, members) = match scope
        .on_cluster(
            2,
            |h| member_list_command(h.name.as_str()),
            COMMAND_DEADLINE,
        )
        .await
    {
        Ok((on, out)) if out.success() => (on, Ok(out.stdout)),
        Ok((on, out)) => (
            on,
            Err(format!(
                "member list failed ({}): {}",
                out.status_text(),
                out.tail(3)
            )),
        ),
        Err(e) => return Observation::unfinished(CheckName::Etcd, e, None),
    };
    scope.seen.set(format!(
        "{on}: asking every etcd endpoint for its status and health"
    ));
    let node = &on;
    let read = |command: String| async move {
        match scope.run(node, &command, COMMAND_DEADLINE).await {
            Ok(out) if out.stdout.contains('[') => Ok(out.stdout),
            Ok(out) => Err(format!("{} ({})", out.tail(3), out.status_text())),
            Err(e) => Err(e.to_string()),
        }
    };
    let (status, health) = futures::join!(
        read(endpoint_status_command(on.as_str())),
        read(endpoint_health_command(on.as_str()))
    );
    let mut o = evaluate(
        scope.topology,
        scope.expect,
        Outputs {
            members,
            status,
            health,
        },
    );
    if let Some(Findings::Etcd(f)) = &mut o.findings {
        f.measured.queried_on = Some(on);
    }
    o
}

fn host_of<'t>(topology: &'t Topology, member: &Member) -> Option<&'t HostName> {
    topology
        .nodes()
        .find(|h| {
            (!member.name.is_empty()
                && (h.name.as_str() == member.name || h.hostname == member.name))
                || member
                    .peer_urls
                    .iter()
                    .any(|u| url_host(u) == Some(h.address.to_string().as_str()))
        })
        .map(|h| &h.name)
}

/// `10.213.7.11` of `https://10.213.7.11:2379`.
pub(crate) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split([':', '/']).next()
}

pub(crate) fn evaluate(topology: &Topology, expect: &Expectations, out: Outputs) -> Observation {
    let mut f = EtcdFindings::default();
    let mut reasons = Vec::new();
    let members = match out
        .members
        .map_err(|e| e.to_string())
        .and_then(|text| member_list::parse(&text).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            return Observation::unfinished(
                CheckName::Etcd,
                format!("etcdctl member list: {e}"),
                None,
            )
        }
    };
    let statuses: Vec<EndpointStatus> =
        match out.status.and_then(|t| parse_json("endpoint status", &t)) {
            Ok(s) => s,
            Err(e) => {
                reasons.push(format!("endpoint status: {e}"));
                Vec::new()
            }
        };
    let health: Vec<EndpointHealth> =
        match out.health.and_then(|t| parse_json("endpoint health", &t)) {
            Ok(h) => h,
            Err(e) => {
                reasons.push(format!("endpoint health: {e}"));
                Vec::new()
            }
        };

    let mut listed: BTreeSet<&HostName> = BTreeSet::new();
    let mut name_of_id: BTreeMap<u64, String> = BTreeMap::new();
    for m in &members {
        let key = if m.status == MemberStatus::Unstarted || m.name.is_empty() {
            format!("unstarted {}", m.peer_urls.join(","))
        } else {
            m.name.clone()
        };
        name_of_id.insert(m.id.0, key.clone());
        f.measured.ids.insert(key.clone(), m.id.to_string());
        let answered = statuses.iter().any(|s| s.status.header.member_id == m.id.0);
        let health_says = health
            .iter()
            .find(|h| m.client_urls.iter().any(|u| u == &h.endpoint));
        if let Some(h) = health_says {
            if let Some(e) = &h.error {
                f.measured.errors.push(format!("{key}: {e}"));
            }
        }
        let healthy = answered && health_says.is_some_and(|h| h.health);
        let state = MemberState {
            started: m.status == MemberStatus::Started,
            learner: m.is_learner,
            healthy,
        };
        match host_of(topology, m) {
            None => reasons.push(format!(
                "{key}: an etcd member that is not a node of this run"
            )),
            Some(host) => {
                listed.insert(host);
                if !expect.in_cluster(host) {
                    reasons.push(format!(
                        "{key}: still an etcd member although {host} was removed (C25)"
                    ));
                } else if expect.is_up(host) && !healthy {
                    let why = health_says
                        .and_then(|h| h.error.clone())
                        .unwrap_or_else(|| "no status from its endpoint".into());
                    reasons.push(format!("{key}: unhealthy ({why})"));
                } else if !expect.is_up(host) && healthy {
                    reasons.push(format!("{key}: healthy although {host} is down"));
                }
            }
        }
        f.members.insert(key, state);
    }
    for member in expect.members(topology) {
        if !listed.contains(&member.name) {
            reasons.push(format!("{}: not an etcd member", member.name));
        }
    }

    let leaders: BTreeSet<u64> = statuses
        .iter()
        .map(|s| s.status.leader)
        .filter(|&l| l != 0)
        .collect();
    f.leaders = leaders.len();
    match leaders.iter().next() {
        _ if statuses.is_empty() => {}
        None => reasons.push("no leader: the cluster has lost quorum".into()),
        Some(_) if leaders.len() > 1 => reasons.push(format!(
            "the endpoints disagree on the leader ({} leaders)",
            leaders.len()
        )),
        Some(id) => {
            let name = name_of_id.get(id).cloned();
            f.measured.leader = name.clone();
            let live = members
                .iter()
                .find(|m| m.id.0 == *id)
                .and_then(|m| host_of(topology, m))
                .is_some_and(|h| expect.is_up(h) && expect.in_cluster(h));
            if !live {
                reasons.push(format!(
                    "the leader {} is not a live member",
                    name.unwrap_or_else(|| format!("{id:x}"))
                ));
            }
        }
    }
    Observation::new(
        CheckName::Etcd,
        Findings::Etcd(f),
        Verdict::from_reasons(reasons),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{h, recorded, topology};

    fn outputs(status: &str, health: &str) -> Outputs {
        Outputs {
            members: Ok(recorded!("etcd-member-list.txt").into()),
            status: Ok(status.into()),
            health: Ok(health.into()),
        }
    }

    #[test]
    fn three_healthy_members_and_one_leader_pass() {
        let o = evaluate(
            &topology(),
            &Expectations::installed(),
            outputs(
                recorded!("etcd-status-healthy.json"),
                recorded!("etcd-health-healthy.json"),
            ),
        );
        assert!(o.passed(), "{:?}", o.verdict);
        let Some(Findings::Etcd(f)) = &o.findings else {
            panic!()
        };
        assert_eq!(f.leaders, 1);
        assert_eq!(f.measured.leader.as_deref(), Some("node-1"));
        assert!(f.members.values().all(|m| m.healthy && m.started));
    }

    #[test]
    fn a_powered_off_member_is_expected_unhealthy_but_still_a_member() {
        let status = recorded!("etcd-status-node-2-down.txt");
        let health = recorded!("etcd-health-node-2-down.txt");
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        let o = evaluate(&topology(), &e, outputs(status, health));
        assert!(o.passed(), "{:?}", o.verdict);
        let Some(Findings::Etcd(f)) = &o.findings else {
            panic!()
        };
        assert!(!f.members["node-2"].healthy);
        assert_eq!(f.measured.errors, vec!["node-2: context deadline exceeded"]);

        let o = evaluate(
            &topology(),
            &Expectations::installed(),
            outputs(status, health),
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["node-2: unhealthy (context deadline exceeded)"]
        );
    }

    #[test]
    fn after_removal_the_dead_member_must_be_gone() {
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        e.removed.insert(h("node-2"));
        let o = evaluate(
            &topology(),
            &e,
            outputs(
                recorded!("etcd-status-node-2-down.txt"),
                recorded!("etcd-health-node-2-down.txt"),
            ),
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["node-2: still an etcd member although node-2 was removed (C25)"]
        );
    }

    #[test]
    fn disagreeing_or_missing_leaders_fail() {
        let healthy = recorded!("etcd-status-healthy.json");
        let split = healthy.replacen(
            "\"leader\":5227830154497432004",
            "\"leader\":9972864478430371117",
            1,
        );
        let o = evaluate(
            &topology(),
            &Expectations::installed(),
            outputs(&split, recorded!("etcd-health-healthy.json")),
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["the endpoints disagree on the leader (2 leaders)"]
        );
        let none = healthy.replace("\"leader\":5227830154497432004", "\"leader\":0");
        let o = evaluate(
            &topology(),
            &Expectations::installed(),
            outputs(&none, recorded!("etcd-health-healthy.json")),
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["no leader: the cluster has lost quorum"]
        );
    }

    #[test]
    fn a_leader_on_a_down_node_fails() {
        let mut e = Expectations::installed();
        e.down.insert(h("node-1"));
        let o = evaluate(
            &topology(),
            &e,
            outputs(
                recorded!("etcd-status-healthy.json"),
                recorded!("etcd-health-healthy.json"),
            ),
        );
        assert!(o
            .verdict
            .reasons
            .contains(&"node-1: healthy although node-1 is down".to_owned()));
        assert!(o
            .verdict
            .reasons
            .contains(&"the leader node-1 is not a live member".to_owned()));
    }

    #[test]
    fn an_unstarted_member_is_keyed_by_its_peer_url() {
        let list = format!(
            "{}4a4e0a8e9d3cbb21, unstarted, , https://10.213.7.14:2380, , false\n",
            recorded!("etcd-member-list.txt")
        );
        let o = evaluate(
            &topology(),
            &Expectations::installed(),
            Outputs {
                members: Ok(list),
                status: Ok(recorded!("etcd-status-healthy.json").into()),
                health: Ok(recorded!("etcd-health-healthy.json").into()),
            },
        );
        let Some(Findings::Etcd(f)) = &o.findings else {
            panic!()
        };
        assert!(f.members.contains_key("unstarted https://10.213.7.14:2380"));
        assert!(o.verdict.reasons.contains(
            &"unstarted https://10.213.7.14:2380: an etcd member that is not a node of this run"
                .to_owned()
        ));
    }
}
