//! A port nothing listens on: it refuses from every source. When the host says something
//! listens there, a firewall rejects instead.

use crate::checks::CellState;
use crate::diagnosis::{Candidate, Evidence};
use crate::topology::Protocol;

pub const ID: &str = "not-listening";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for ((destination, port, protocol), cells) in e.targets() {
        if protocol != Protocol::Tcp || !Evidence::all_in(&cells, CellState::Refused) {
            continue;
        }
        let listens = e
            .host_facts(&destination)
            .map(|f| f.listens(port, protocol));
        let (cause, remedy) = match listens {
            Some(true) => (
                format!("a firewall on {destination} rejects {port}/{protocol}: something listens there, yet every source is refused"),
                format!("allow {port}/{protocol} on {destination} (look for a REJECT rule: `iptables -S`)"),
            ),
            _ => (
                format!("nothing listens on {destination}:{port}/{protocol}: every source is refused"),
                format!("start the service that serves {port}/{protocol} on {destination} (`ss -ltn` shows what listens)"),
            ),
        };
        let mut evidence = vec![format!(
            "{destination}:{port}/{protocol} refused from {} source{}",
            cells.len(),
            if cells.len() == 1 { "" } else { "s" }
        )];
        if listens == Some(false) {
            evidence.push(format!(
                "`ss -Hlntu` on {destination} lists no {port}/{protocol}"
            ));
        }
        let claims = e.claim(|s| cells.iter().any(|c| Evidence::is_cell(s, c)));
        out.push(
            Candidate::new(41, ID, cause, remedy)
                .evidence(evidence)
                .claims(claims),
        );
    }
    out
}
