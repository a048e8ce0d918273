//! A firewall dropping one port on one host: the port times out from every source while the
//! host's other ports answer. A service that is not listening refuses instead
//! (`not-listening`).

use crate::checks::CellState;
use crate::diagnosis::{Candidate, Evidence};
use crate::topology::Protocol;

pub const ID: &str = "port-dropped";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for ((destination, port, protocol), cells) in e.targets() {
        // A UDP probe that gets nothing back says nothing about a firewall.
        if protocol != Protocol::Tcp || !Evidence::all_in(&cells, CellState::TimedOut) {
            continue;
        }
        let answers_elsewhere = e
            .cells_to(&destination)
            .any(|c| c.port != port && c.state == CellState::Open);
        if !answers_elsewhere {
            continue; // the whole host is silent: `host-down`
        }
        let mut evidence = vec![format!(
            "{destination}:{port}/{protocol} timed out from {} source{} ({})",
            cells.len(),
            if cells.len() == 1 { "" } else { "s" },
            cells
                .iter()
                .map(|c| c.source.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )];
        evidence.push(format!("{destination}'s other ports answer"));
        if let Some(f) = e.host_facts(&destination) {
            if f.listens(port, protocol) {
                evidence.push(format!(
                    "on {destination} itself something listens on {port}/{protocol}"
                ));
            }
        }
        let claims = e.claim(|s| cells.iter().any(|c| Evidence::is_cell(s, c)));
        out.push(
            Candidate::new(
                40,
                ID,
                format!("a firewall on {destination} drops {port}/{protocol}: it times out from every source while {destination}'s other ports answer"),
                format!(
                    "allow {port}/{protocol} on {destination} (look for a DROP rule: `iptables -S`, `nft list ruleset`); the guide's security group opens TCP 1-65535 between the members and the LB's ports to clients"
                ),
            )
            .evidence(evidence)
            .claims(claims),
        );
    }
    out
}
