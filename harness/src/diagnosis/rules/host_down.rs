//! A host down or unreachable: SSH cannot run a command there, and every probe to it timed
//! out. Every symptom about that host is its consequence.

use crate::checks::CellState;
use crate::diagnosis::{Candidate, Evidence};
use crate::topology::Role;

pub const ID: &str = "host-down";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for host in &e.topology.hosts {
        let Some(facts) = e.host_facts(&host.name) else {
            continue; // the run took it down: not a failure
        };
        let Some(ssh) = &facts.unreachable else {
            continue;
        };
        let cells: Vec<_> = e.cells_to(&host.name).collect();
        let open = cells.iter().filter(|c| c.state == CellState::Open).count();
        if open > 0 {
            continue; // it answers on some port: not down (sshd itself, perhaps)
        }
        let timed_out = cells
            .iter()
            .filter(|c| c.state == CellState::TimedOut)
            .count();
        let mut evidence = vec![format!("SSH to {}: {ssh}", host.name)];
        if !cells.is_empty() {
            evidence.push(format!(
                "{timed_out} of {} probes to {} timed out, none answered",
                cells.len(),
                host.name
            ));
        }
        let claims = e.claim(|s| {
            if e.about(s, host) {
                return true;
            }
            match host.role {
                // Everything through the LB, or of the DNS server's answers, is its.
                Role::Lb => {
                    s.check == "https" || s.check == "log-path" || Evidence::mentions(s, host)
                }
                Role::Dns => s.check == "dns",
                _ => Evidence::mentions(s, host),
            }
        });
        out.push(
            Candidate::new(
                20,
                ID,
                format!(
                    "{} ({}) is down or unreachable: SSH fails and nothing it serves answers",
                    host.name, host.address
                ),
                format!(
                    "power {} on or restore its network; if it is lost for good, the guide: remove the dead node (C22–C25) and add a new one with the same sizing (C26–C28)",
                    host.name
                ),
            )
            .evidence(evidence)
            .claims(claims),
        );
    }
    out
}
