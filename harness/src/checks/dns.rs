//! DNS on every node: `/etc/resolv.conf` names at least one nameserver (C1), each of them
//! answers a query for the probe name, and the probe name resolves through the node's own
//! resolver (C2).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::observation::{CheckName, Findings, Observation, Verdict};
use super::scope::Scope;
use crate::parse::nslookup::{self, Failure, Lookup};
use crate::parse::resolv_conf;
use crate::procedure::{commands, PlannedCommand};
use crate::topology::HostName;

pub const DEADLINE: Duration = Duration::from_secs(30);
/// C1 first, then C2 and the direct lookups at once: both budgets fit in [`DEADLINE`], so a
/// node that stops answering fails on its own and the other nodes' findings are kept.
const READ: Duration = Duration::from_secs(8);
/// C2 as the guide types it waits for the resolver's own retries.
const LOOKUP: Duration = Duration::from_secs(15);
/// A nameserver asked directly gets two tries of two seconds.
const PER_NAMESERVER: Duration = Duration::from_secs(10);

const ADVICE: &str = "the guide: fix the subnet's DNS, e.g. use 8.8.8.8";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsFindings {
    pub probe_name: String,
    pub nodes: BTreeMap<HostName, NodeDns>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDns {
    /// Every nameserver of the node's resolv.conf, asked for the probe name directly.
    pub nameservers: BTreeMap<String, NameserverState>,
    /// The probe name through the node's resolver (C2).
    pub probe: ProbeLookup,
}

/// How a nameserver answered a query for the probe name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameserverState {
    Resolves,
    NxDomain,
    ServerFailure,
    NoRecords,
    TimedOut,
    Unreachable,
    /// The lookup could not run, or printed something nslookup never prints.
    Unknown,
}

impl Serialize for NameserverState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NameserverState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        [
            NameserverState::Resolves,
            NameserverState::NxDomain,
            NameserverState::ServerFailure,
            NameserverState::NoRecords,
            NameserverState::TimedOut,
            NameserverState::Unreachable,
            NameserverState::Unknown,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a nameserver state")))
    }
}

impl NameserverState {
    pub fn as_str(self) -> &'static str {
        match self {
            NameserverState::Resolves => "resolves",
            NameserverState::NxDomain => "answers NXDOMAIN",
            NameserverState::ServerFailure => "answers with an error",
            NameserverState::NoRecords => "answers without records",
            NameserverState::TimedOut => "timed out",
            NameserverState::Unreachable => "unreachable",
            NameserverState::Unknown => "unknown",
        }
    }

    /// Whether the server is there at all: an NXDOMAIN is an answer.
    pub fn answers(self) -> bool {
        !matches!(
            self,
            NameserverState::TimedOut | NameserverState::Unreachable | NameserverState::Unknown
        )
    }

    fn of(lookup: &Lookup) -> Self {
        match &lookup.failure {
            None if lookup.resolved() => NameserverState::Resolves,
            None => NameserverState::NoRecords,
            Some(Failure::NxDomain { .. }) => NameserverState::NxDomain,
            Some(Failure::ServerFailure { .. }) => NameserverState::ServerFailure,
            Some(Failure::NoAnswer { .. }) => NameserverState::NoRecords,
            Some(Failure::TimedOut) => NameserverState::TimedOut,
            Some(Failure::Unreachable { .. }) => NameserverState::Unreachable,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeLookup {
    pub resolved: bool,
    pub addresses: Vec<String>,
    /// Why it did not resolve.
    pub failure: Option<String>,
}

/// What the commands on one node printed, or why they could not run.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeOutputs {
    pub resolv_conf: Option<Result<String, String>>,
    pub probe: Option<Result<String, String>>,
    pub per_nameserver: BTreeMap<IpAddr, Result<String, String>>,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    let probe_name = scope.topology.network.probe_name.clone();
    let (outputs, skipped) = scope
        .on_live_nodes(|node| node_outputs(scope, &node.name, &probe_name))
        .await;
    evaluate(&probe_name, outputs, &skipped)
}

/// The procedure's commands this check issues on each live node: C1 and C2.
pub fn procedure_commands(node: &HostName, probe_name: &str) -> [PlannedCommand; 2] {
    [
        PlannedCommand::numbered(1, node, commands::c1()),
        PlannedCommand::numbered(2, node, commands::c2(probe_name)),
    ]
}

async fn node_outputs(scope: &Scope<'_>, node: &HostName, probe_name: &str) -> NodeOutputs {
    let [c1, c2] = procedure_commands(node, probe_name);
    let mut out = NodeOutputs::default();
    scope.seen.set(format!("{node}: reading /etc/resolv.conf"));
    let resolv = scope
        .issue(&c1, READ)
        .await
        .map(|o| o.stdout)
        .map_err(|e| e.to_string());
    let nameservers = match &resolv {
        Ok(text) => resolv_conf::parse(text)
            .map(|r| r.nameservers)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    out.resolv_conf = Some(resolv);
    let probe = async {
        scope
            .issue(&c2, LOOKUP)
            .await
            .map(|o| format!("{}\n{}", o.stdout, o.stderr))
            .map_err(|e| e.to_string())
    };
    let direct = nameservers.iter().map(|ns| async move {
        let command = format!("nslookup -timeout=2 -retry=1 {probe_name} {ns}");
        let result = scope
            .run(node, &command, PER_NAMESERVER)
            .await
            .map(|o| format!("{}\n{}", o.stdout, o.stderr))
            .map_err(|e| e.to_string());
        (*ns, result)
    });
    scope.seen.set(format!("{node}: looking up {probe_name}"));
    let (probe, direct) = futures::join!(probe, join_all(direct));
    out.probe = Some(probe);
    out.per_nameserver = direct.into_iter().collect();
    out
}

pub(crate) fn evaluate(
    probe_name: &str,
    outputs: BTreeMap<HostName, NodeOutputs>,
    skipped: &[HostName],
) -> Observation {
    let mut reasons = Vec::new();
    let mut nodes = BTreeMap::new();
    for (node, out) in outputs {
        let mut dns = NodeDns {
            nameservers: BTreeMap::new(),
            probe: ProbeLookup::default(),
        };
        match out.resolv_conf {
            Some(Ok(text)) => match resolv_conf::parse(&text) {
                Ok(conf) if conf.nameservers.is_empty() => reasons.push(format!(
                    "{node}: no nameserver in /etc/resolv.conf ({ADVICE})"
                )),
                Ok(_) => {}
                Err(e) => reasons.push(format!("{node}: {e}")),
            },
            Some(Err(e)) => reasons.push(format!("{node}: cat /etc/resolv.conf: {e}")),
            None => reasons.push(format!("{node}: cat /etc/resolv.conf did not run")),
        }
        for (ns, result) in out.per_nameserver {
            let state = match result.as_deref().map(nslookup::parse) {
                Ok(Ok(lookup)) => NameserverState::of(&lookup),
                Ok(Err(_)) | Err(_) => NameserverState::Unknown,
            };
            if !state.answers() {
                let why = match &result {
                    Err(e) => e.clone(),
                    Ok(_) => state.as_str().to_owned(),
                };
                reasons.push(format!(
                    "{node}: nameserver {ns} does not answer: {why} ({ADVICE})"
                ));
            }
            dns.nameservers.insert(ns.to_string(), state);
        }
        dns.probe = match out.probe {
            Some(Ok(text)) => match nslookup::parse(&text) {
                Ok(lookup) => probe_lookup(&lookup),
                Err(e) => ProbeLookup {
                    failure: Some(e.to_string()),
                    ..ProbeLookup::default()
                },
            },
            Some(Err(e)) => ProbeLookup {
                failure: Some(format!("could not run: {e}")),
                ..ProbeLookup::default()
            },
            None => ProbeLookup {
                failure: Some("did not run".into()),
                ..ProbeLookup::default()
            },
        };
        if !dns.probe.resolved {
            let why = dns.probe.failure.as_deref().unwrap_or("no address");
            reasons.push(format!("{node}: nslookup {probe_name}: {why} ({ADVICE})"));
        }
        nodes.insert(node, dns);
    }
    let notes = skipped
        .iter()
        .map(|n| format!("{n} is down: not asked"))
        .collect();
    Observation::new(
        CheckName::Dns,
        Findings::Dns(DnsFindings {
            probe_name: probe_name.to_owned(),
            nodes,
        }),
        Verdict::from_reasons(reasons).with_notes(notes),
    )
}

fn probe_lookup(lookup: &Lookup) -> ProbeLookup {
    let mut addresses: Vec<String> = lookup.addresses().iter().map(IpAddr::to_string).collect();
    addresses.sort();
    let failure = match &lookup.failure {
        None if addresses.is_empty() => Some("no address in the answer".to_owned()),
        None => None,
        Some(Failure::NxDomain { .. }) => Some("NXDOMAIN".to_owned()),
        Some(Failure::ServerFailure { rcode, .. }) => Some(rcode.clone()),
        Some(Failure::NoAnswer { .. }) => Some("no address record".to_owned()),
        Some(Failure::TimedOut) => Some("timed out; no servers could be reached".to_owned()),
        Some(Failure::Unreachable { reason }) => {
            Some(format!("no servers could be reached: {reason}"))
        }
    };
    ProbeLookup {
        resolved: lookup.resolved(),
        addresses,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{h, recorded};

    fn healthy_node() -> NodeOutputs {
        NodeOutputs {
            resolv_conf: Some(Ok(recorded!("resolv.conf").into())),
            probe: Some(Ok(recorded!("nslookup-probe.txt").into())),
            per_nameserver: [(
                "10.213.7.2".parse().unwrap(),
                Ok(recorded!("nslookup-probe.txt").into()),
            )]
            .into(),
        }
    }

    #[test]
    fn every_node_resolving_passes() {
        let outputs = [(h("node-1"), healthy_node()), (h("node-3"), healthy_node())].into();
        let o = evaluate("probe.acura.test", outputs, &[h("node-2")]);
        assert!(o.passed(), "{:?}", o.verdict);
        assert_eq!(o.verdict.notes, vec!["node-2 is down: not asked"]);
        let Some(Findings::Dns(f)) = &o.findings else {
            panic!()
        };
        let n1 = &f.nodes[&h("node-1")];
        assert_eq!(n1.nameservers["10.213.7.2"], NameserverState::Resolves);
        assert_eq!(n1.probe.addresses, vec!["10.213.7.2"]);
    }

    #[test]
    fn a_silent_nameserver_fails_with_the_guides_advice() {
        let mut broken = healthy_node();
        broken.resolv_conf = Some(Ok("nameserver 10.213.7.254\n".into()));
        broken.probe = Some(Ok(recorded!("nslookup-timeout.txt").into()));
        broken.per_nameserver = [(
            "10.213.7.254".parse().unwrap(),
            Ok(recorded!("nslookup-timeout.txt").into()),
        )]
        .into();
        let o = evaluate("probe.acura.test", [(h("node-2"), broken)].into(), &[]);
        assert!(!o.passed());
        assert_eq!(
            o.verdict.reasons,
            vec![
                "node-2: nameserver 10.213.7.254 does not answer: timed out (the guide: fix the subnet's DNS, e.g. use 8.8.8.8)",
                "node-2: nslookup probe.acura.test: timed out; no servers could be reached (the guide: fix the subnet's DNS, e.g. use 8.8.8.8)",
            ]
        );
    }

    #[test]
    fn nxdomain_means_the_server_answers_but_the_name_is_missing() {
        let mut node = healthy_node();
        node.probe = Some(Ok(recorded!("nslookup-nxdomain.txt").into()));
        node.per_nameserver = [(
            "10.213.7.2".parse().unwrap(),
            Ok(recorded!("nslookup-nxdomain.txt").into()),
        )]
        .into();
        let o = evaluate("probe.acura.test", [(h("node-1"), node)].into(), &[]);
        assert_eq!(
            o.verdict.reasons,
            vec!["node-1: nslookup probe.acura.test: NXDOMAIN (the guide: fix the subnet's DNS, e.g. use 8.8.8.8)"]
        );
        let Some(Findings::Dns(f)) = &o.findings else {
            panic!()
        };
        assert_eq!(
            f.nodes[&h("node-1")].nameservers["10.213.7.2"],
            NameserverState::NxDomain
        );
    }

    #[test]
    fn an_empty_resolv_conf_fails() {
        let mut node = healthy_node();
        node.resolv_conf = Some(Ok("# nothing here\nsearch acura.test\n".into()));
        node.per_nameserver.clear();
        let o = evaluate("probe.acura.test", [(h("node-1"), node)].into(), &[]);
        assert_eq!(
            o.verdict.reasons,
            vec!["node-1: no nameserver in /etc/resolv.conf (the guide: fix the subnet's DNS, e.g. use 8.8.8.8)"]
        );
    }

    #[test]
    fn a_node_that_cannot_be_reached_fails_without_inventing_answers() {
        let node = NodeOutputs {
            resolv_conf: Some(Err("node-1: cannot connect to ssh".into())),
            probe: Some(Err("node-1: cannot connect to ssh".into())),
            per_nameserver: BTreeMap::new(),
        };
        let o = evaluate("probe.acura.test", [(h("node-1"), node)].into(), &[]);
        assert_eq!(o.verdict.reasons.len(), 2);
        let Some(Findings::Dns(f)) = &o.findings else {
            panic!()
        };
        assert!(!f.nodes[&h("node-1")].probe.resolved);
    }
}
