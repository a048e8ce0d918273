//! A service of a live host stopped (etcd, the API server, the node agent, the product's
//! services on a node; nginx on the LB; dnsmasq on the DNS server): its ports refuse, its
//! etcd member is unhealthy, its node NotReady. The host itself answers.

use crate::checks::CellState;
use crate::diagnosis::{Candidate, Evidence};
use crate::topology::{Protocol, Role};

pub const ID: &str = "service-stopped";

/// The ports a service serves (on a node, or on the LB for nginx).
fn ports(unit: &str) -> &'static [(u16, Protocol)] {
    use Protocol::{Tcp, Udp};
    match unit {
        "etcd" => &[(2379, Tcp), (2380, Tcp)],
        "acura-apiserver" => &[(6443, Tcp)],
        "acura-services" => &[
            (80, Tcp),
            (443, Tcp),
            (4443, Tcp),
            (15000, Tcp),
            (30080, Tcp),
            (30081, Tcp),
            (30082, Tcp),
            (12201, Udp),
        ],
        _ => &[],
    }
}

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for host in &e.topology.hosts {
        let Some(facts) = e.host_facts(&host.name) else {
            continue;
        };
        if facts.unreachable.is_some() {
            continue;
        }
        for (unit, state) in facts.stopped() {
            let served = ports(unit);
            let claims = e.claim(|s| {
                if let Some(cell) = e.cell_of(s) {
                    return cell.destination == host.name
                        && cell.state != CellState::Open
                        && (host.role == Role::Lb || served.contains(&(cell.port, cell.protocol)));
                }
                match (host.role, unit) {
                    (Role::Lb, _) => s.check == "https" || s.check == "log-path",
                    (Role::Dns, _) => s.check == "dns",
                    (_, "etcd") => s.check == "etcd" && e.about(s, host),
                    (_, "acura-agent" | "acura-apiserver") => {
                        (s.check == "nodes" || s.check == "pods") && Evidence::mentions(s, host)
                    }
                    (_, "acura-services") => {
                        (s.check == "pods" || s.check == "https" || s.check == "log-path")
                            && Evidence::mentions(s, host)
                    }
                    _ => false,
                }
            });
            let refused: Vec<String> = e
                .cells_to(&host.name)
                .filter(|c| c.state == CellState::Refused)
                .map(|c| format!("{}/{}", c.port, c.protocol))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut evidence = vec![format!(
                "systemctl is-active {unit} on {}: {state}",
                host.name
            )];
            if !refused.is_empty() {
                evidence.push(format!("refused on {}: {}", host.name, refused.join(", ")));
            }
            out.push(
                Candidate::new(
                    15,
                    ID,
                    format!("{unit} is {state} on {}, which is up", host.name),
                    format!(
                        "start it: `systemctl start {unit}` on {}; `journalctl -u {unit}` says why it stopped",
                        host.name
                    ),
                )
                .evidence(evidence)
                .claims(claims),
            );
        }
    }
    out
}
