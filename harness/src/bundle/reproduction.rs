//! A scenario that rebuilds a site here from its bundle alone: the site's node count and
//! hostnames, its flavor, the site's own nginx.conf on the LB (its addresses mapped onto the
//! run's), and for each diagnosed cause acura-ha can cause on purpose the `misconfigure` or
//! `fault` step that causes it; a `diagnose` step at the end says whether the reproduction
//! shows the same causes. A cause it cannot produce is named, with why.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::mask::replace_whole;
use super::{Bundle, Evidence};
use crate::checks::{Cell, CellState, Findings};
use crate::diagnosis;
use crate::scenario::ProviderKind;
use crate::topology::{HostName, Role};

/// The scenario's text, and what it will show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reproduction {
    pub yaml: String,
    /// The causes its `diagnose` step expects.
    pub causes: Vec<String>,
    /// Causes of the site it cannot produce, each with why.
    pub cannot: Vec<(String, String)>,
}

/// How each rule's cause is produced here: a step of its own, or as the consequence of the
/// site's nginx.conf or of the other steps.
enum Produced {
    Steps(Vec<String>),
    Consequence,
    Cannot(&'static str),
}

pub fn scenario(
    bundle: &Bundle,
    evidence: &Evidence,
    name: &str,
    provider: ProviderKind,
    archive: &str,
) -> Reproduction {
    let diagnosis = diagnosis::from_evidence(&diagnosis::Evidence::new(
        &evidence.observations,
        &evidence.facts,
        &evidence.topology,
        &evidence.expectations,
    ));
    let t = &evidence.topology;
    let nodes: Vec<_> = t.nodes().collect();
    let flavor = match bundle.text("cluster/overlay-list") {
        Some(list) if list.contains("distr-migration") => "migration",
        _ => "dr",
    };

    let mut steps: Vec<String> = Vec::new();
    let mut faults: Vec<String> = Vec::new();
    let mut causes = Vec::new();
    let mut cannot = Vec::new();
    for finding in &diagnosis.findings {
        match produce(finding, evidence) {
            Produced::Steps(list) => {
                for s in list {
                    let target = if s.starts_with("- fault:") {
                        &mut faults
                    } else {
                        &mut steps
                    };
                    if !target.contains(&s) {
                        target.push(s);
                    }
                }
                push_once(&mut causes, &finding.rule);
            }
            Produced::Consequence => push_once(&mut causes, &finding.rule),
            Produced::Cannot(why) => {
                if !cannot.iter().any(|(r, _)| r == &finding.rule) {
                    cannot.push((finding.rule.clone(), why.to_owned()));
                }
            }
        }
    }
    // A rule may be both produced and not (one instance each): it counts as produced.
    cannot.retain(|(rule, _)| !causes.contains(rule));

    let mut yaml = String::new();
    let _ = writeln!(yaml, "name: {name}");
    let _ = writeln!(
        yaml,
        "description: >-\n  The site of bundle \"{}\", rebuilt from it: {} nodes, the {flavor} flavor, the site's own\n  nginx.conf on the LB and each diagnosed cause acura-ha can cause on purpose.{}",
        bundle.manifest.target.replace('"', "'"),
        nodes.len(),
        if cannot.is_empty() {
            String::new()
        } else {
            format!(
                "\n  Not produced here: {}.",
                cannot
                    .iter()
                    .map(|(r, why)| format!("{r} ({why})"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    );
    let _ = writeln!(yaml, "provider: {}", provider.as_str());
    let _ = writeln!(yaml, "topology:\n  nodes: {}", nodes.len());
    let renamed: Vec<_> = nodes
        .iter()
        .filter(|n| n.hostname != n.name.as_str() && !n.hostname.is_empty())
        .collect();
    if !renamed.is_empty() {
        let _ = writeln!(yaml, "  hosts:");
        for n in renamed {
            let _ = writeln!(yaml, "    {}: {{ hostname: {} }}", n.name, n.hostname);
        }
    }
    let _ = writeln!(
        yaml,
        "product:\n  archive: {archive}\n  flavor: {flavor}\nsteps:\n  - configure-lb\n  - prepare-deployer\n  - install-masters\n  - install-acura\n  - expect:\n      nodes_ready: [{}]\n      available_through_lb: true\n      within: 120",
        nodes
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(conf) = &evidence.facts.lb_conf {
        let mut conf = conf.clone();
        for host in &t.hosts {
            conf = replace_whole(
                &conf,
                &host.address.to_string(),
                &format!("{{{}}}", host.name),
            );
        }
        let _ = writeln!(
            yaml,
            "  # The site's LB config as collected, its addresses as placeholders.\n  - misconfigure:\n      lb_conf:\n        nginx_conf: |"
        );
        for line in conf.lines() {
            let _ = writeln!(yaml, "          {line}");
        }
    }
    for s in steps.iter().chain(&faults) {
        let _ = writeln!(yaml, "  {s}");
    }
    let _ = writeln!(yaml, "  - diagnose:\n      causes: [{}]", causes.join(", "));
    Reproduction {
        yaml,
        causes,
        cannot,
    }
}

fn push_once(list: &mut Vec<String>, rule: &str) {
    if !list.iter().any(|r| r == rule) {
        list.push(rule.to_owned());
    }
}

fn produce(finding: &crate::finding::Finding, e: &Evidence) -> Produced {
    let cells = || -> Vec<Cell> {
        finding
            .explains
            .iter()
            .filter(|s| s.check == "reachability")
            .filter_map(|s| {
                let (label, _) = s.text.split_once(": ")?;
                Cell::from_label(label, CellState::TimedOut)
            })
            .collect()
    };
    let is_node = |h: &HostName| {
        e.topology
            .host(h)
            .is_some_and(|host| host.role == Role::Node)
    };
    match finding.rule.as_str() {
        "port-dropped" => {
            let targets: BTreeSet<(HostName, u16, String)> = cells()
                .into_iter()
                .filter(|c| is_node(&c.destination))
                .map(|c| (c.destination, c.port, c.protocol.as_str().to_owned()))
                .collect();
            if targets.is_empty() {
                return Produced::Cannot("no node's port among its cells");
            }
            Produced::Steps(
                targets
                    .into_iter()
                    .map(|(host, port, protocol)| {
                        format!(
                            "- misconfigure:\n      block_port: {{ host: {host}, port: {port}, protocol: {protocol} }}"
                        )
                    })
                    .collect(),
            )
        }
        "service-stopped" => {
            let steps: Vec<String> = e
                .facts
                .hosts
                .iter()
                .flat_map(|(host, f)| {
                    f.stopped()
                        .map(|(unit, _)| {
                            format!(
                                "- misconfigure:\n      stop_service: {{ host: {host}, service: {unit} }}"
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            if steps.is_empty() {
                Produced::Cannot("no stopped service in the bundle's facts")
            } else {
                Produced::Steps(steps)
            }
        }
        "host-down" => {
            let down: Vec<String> = e
                .facts
                .hosts
                .iter()
                .filter(|(h, f)| f.unreachable.is_some() && is_node(h))
                .map(|(h, _)| format!("- fault: {{ power_off: {h} }}"))
                .collect();
            if down.is_empty() {
                Produced::Cannot("only nodes are powered off here")
            } else {
                Produced::Steps(down)
            }
        }
        "resolver-misconfigured" => {
            let nodes: Vec<String> = e
                .observations
                .iter()
                .filter_map(|o| match &o.findings {
                    Some(Findings::Dns(d)) => Some(d),
                    _ => None,
                })
                .flat_map(|d| {
                    d.nodes
                        .iter()
                        .filter(|(_, n)| !n.probe.resolved)
                        .map(|(h, _)| format!("- misconfigure:\n      dns_down: {h}"))
                        .collect::<Vec<_>>()
                })
                .collect();
            if nodes.is_empty() {
                Produced::Cannot("no node's lookup failed in the bundle")
            } else {
                Produced::Steps(nodes)
            }
        }
        "dns-server-down" => Produced::Steps(vec![
            "- misconfigure:\n      stop_service: { host: dns, service: dnsmasq }".into(),
        ]),
        // What the site's nginx.conf, or the steps above, bring about by themselves.
        "lb-config"
        | "lb-no-connect-timeout"
        | "udp-no-health-check"
        | "etcd-quorum-lost"
        | "hostname-with-dots" => Produced::Consequence,
        "below-requirements" => Produced::Cannot("a host's sizing is the machine's here"),
        "certificate-sans" => Produced::Cannot("the site's certificate is not in the bundle"),
        "pod-not-ready" => Produced::Cannot("why a pod is not Ready is the product's state"),
        "not-listening" => {
            Produced::Cannot("a service that does not listen is the product's state")
        }
        _ => Produced::Cannot("no step causes it"),
    }
}
