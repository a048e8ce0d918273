//! One node's resolver broken: its lookups fail while the other nodes' answer (a nameserver
//! only it lists, or a firewall on it dropping DNS). The DNS server itself is fine.

use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "resolver-misconfigured";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let Some(dns) = e.dns() else {
        return Vec::new();
    };
    let healthy: Vec<_> = dns
        .nodes
        .iter()
        .filter(|(_, d)| d.probe.resolved)
        .map(|(n, _)| n)
        .collect();
    if healthy.is_empty() {
        return Vec::new(); // every node fails: a server's fault, not one resolver's
    }
    let mut out = Vec::new();
    for (node, d) in &dns.nodes {
        let silent: Vec<_> = d.nameservers.iter().filter(|(_, s)| !s.answers()).collect();
        if d.probe.resolved && silent.is_empty() {
            continue;
        }
        let mut evidence = Vec::new();
        for (ns, state) in &silent {
            let answers_others = dns.nodes.iter().any(|(other, o)| {
                other != node && o.nameservers.get(*ns).is_some_and(|s| s.answers())
            });
            evidence.push(format!(
                "from {node}, nameserver {ns} {}{}",
                state.as_str(),
                if answers_others {
                    "; it answers the other nodes"
                } else {
                    ""
                }
            ));
        }
        if d.nameservers.is_empty() {
            evidence.push(format!("{node}'s /etc/resolv.conf names no nameserver"));
        }
        if !d.probe.resolved {
            evidence.push(format!(
                "{node} cannot resolve {}: {}",
                dns.probe_name,
                d.probe.failure.as_deref().unwrap_or("no address")
            ));
        }
        evidence.push(format!(
            "{} resolve{} it",
            healthy
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if healthy.len() == 1 { "s" } else { "" }
        ));
        let Some(host) = e.topology.host(node) else {
            continue;
        };
        let claims = e.claim(|s| s.check == "dns" && e.about(s, host));
        out.push(
            Candidate::new(
                30,
                ID,
                format!("{node}'s resolver fails while the other nodes resolve: its nameservers or its firewall, not the DNS server"),
                format!(
                    "compare {node}'s /etc/resolv.conf and firewall (iptables -S, port 53) with a node that resolves; the guide: check the subnet's DNS configuration (e.g. use 8.8.8.8 as the DNS server)"
                ),
            )
            .evidence(evidence)
            .claims(claims),
        );
    }
    out
}
