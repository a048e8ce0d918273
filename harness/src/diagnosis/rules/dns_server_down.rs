//! The DNS server down: every node that was asked finds the same nameserver silent. One
//! node's resolver failing while the others' answer is `resolver-misconfigured` instead.

use std::collections::BTreeSet;

use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "dns-server-down";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let Some(dns) = e.dns() else {
        return Vec::new();
    };
    if dns.nodes.len() < 2 {
        return Vec::new();
    }
    // Nameservers every asked node lists, and that answered none of them.
    let mut shared: Option<BTreeSet<&String>> = None;
    for node in dns.nodes.values() {
        let silent: BTreeSet<&String> = node
            .nameservers
            .iter()
            .filter(|(_, state)| !state.answers())
            .map(|(ns, _)| ns)
            .collect();
        shared = Some(match shared {
            None => silent,
            Some(s) => s.intersection(&silent).copied().collect(),
        });
    }
    let mut out = Vec::new();
    for ns in shared.unwrap_or_default() {
        let host = e
            .topology
            .hosts
            .iter()
            .find(|h| h.address.to_string() == *ns);
        // The run's own DNS server by its name (goldens show names, not addresses).
        let named = host
            .map(|h| h.name.to_string())
            .unwrap_or_else(|| ns.clone());
        let mut evidence: Vec<String> = dns
            .nodes
            .iter()
            .map(|(node, d)| format!("{node}: {ns} {}", d.nameservers[ns].as_str()))
            .collect();
        if let Some(f) = host.and_then(|h| e.host_facts(&h.name)) {
            for (unit, state) in &f.services {
                evidence.push(format!(
                    "{unit} on {}: {state}",
                    host.map(|h| h.name.as_str()).unwrap_or("?")
                ));
            }
        }
        let claims = e.claim(|s| s.check == "dns");
        out.push(
            Candidate::new(
                10,
                ID,
                format!("the DNS server {named} does not answer: every node's lookups through it fail alike"),
                format!(
                    "bring the nameserver at {ns} back (its service, its host, the network to it); the guide: check the subnet's DNS configuration (e.g. use 8.8.8.8 as the DNS server)"
                ),
            )
            .evidence(evidence)
            .claims(claims),
        );
    }
    out
}
