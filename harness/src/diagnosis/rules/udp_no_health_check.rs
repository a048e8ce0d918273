//! GELF records lost while a node is down: nginx's UDP upstream for 12201 expects no answer
//! (GELF sends none), so it has no passive health check and keeps handing datagrams to the
//! dead node, round robin.

use crate::checks::{CellState, Protocol};
use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "udp-no-health-check";
const PORT: u16 = 12201;

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let (Some(conf), Some(lb)) = (&e.lb_conf, e.topology.lb()) else {
        return Vec::new();
    };
    // A record sent to the LB and never found: the log path's own, or a reachability cell's
    // (each UDP cell to the LB sends one). Which of them nginx hands to the dead node depends
    // on which worker takes it, so either may be the one lost.
    let lost_cell = e
        .cells_to(&lb.name)
        .any(|c| c.port == PORT && c.protocol == Protocol::Udp && c.state == CellState::TimedOut);
    if !e.failed(crate::checks::CheckName::LogPath) && !lost_cell {
        return Vec::new();
    }
    let Some(server) = conf.server_for(PORT, true) else {
        return Vec::new(); // `lb-config` says so
    };
    let Some(upstream) = server.proxy_pass.as_deref().and_then(|n| conf.upstream(n)) else {
        return Vec::new();
    };
    let dead: Vec<_> = upstream
        .servers
        .iter()
        .filter_map(|m| e.node_at(&m.host))
        .filter(|n| e.is_down(&n.name))
        .collect();
    if dead.is_empty() {
        return Vec::new();
    }
    let names = dead
        .iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let claims = e.claim(|s| {
        if let Some(cell) = e.cell_of(s) {
            return cell.destination == lb.name && cell.port == PORT;
        }
        s.check == "log-path" || (s.check == "reachability" && s.text.contains("udp cell"))
    });
    vec![Candidate::new(
        50,
        ID,
        format!(
            "GELF records sent to the LB are lost while {names} {} down: nginx's UDP upstream `{}` keeps sending to {} (a UDP upstream that expects no answer has no health check)",
            if dead.len() == 1 { "is" } else { "are" },
            upstream.name,
            if dead.len() == 1 { "it" } else { "them" }
        ),
        format!(
            "take {names} out of upstream `{}` on the LB and reload nginx until {} back (the guide rewrites all six upstreams when a node is replaced); senders that need every record must retry",
            upstream.name,
            if dead.len() == 1 { "it is" } else { "they are" }
        ),
    )
    .evidence([format!(
        "nginx.conf line {}: upstream `{}` lists {names}",
        upstream.line, upstream.name
    )])
    .claims(claims)]
}
