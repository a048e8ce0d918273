//! Clients hanging through the LB: an upstream node blackholes the port (no answer at all),
//! and the LB's server for it sets no `proxy_connect_timeout`, so nginx waits its default
//! 60 s on that node before trying the next while the client has long given up.

use crate::checks::{CellState, SECURITY_GROUP};
use crate::diagnosis::{Candidate, Evidence};
use crate::topology::Protocol;

pub const ID: &str = "lb-no-connect-timeout";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let (Some(conf), Some(_)) = (&e.lb_conf, e.topology.lb()) else {
        return Vec::new();
    };
    let targets = e.targets();
    let mut out = Vec::new();
    for port in SECURITY_GROUP.iter().filter(|p| {
        p.number != 22 && p.protocol == Protocol::Tcp && p.listens(true, e.expectations.stage)
    }) {
        let Some(server) = conf.server_for(port.number, false) else {
            continue;
        };
        // nginx's default is 60 s; one as long as a client's patience (the shortest the
        // HTTPS check waits) does not help either.
        let connect = server
            .proxy_connect_timeout
            .as_deref()
            .map(|t| (t, seconds(t)));
        if let Some((_, Some(s))) = connect {
            if s < crate::checks::HTTPS_PATIENCE.as_secs_f64() {
                continue;
            }
        }
        let setting = match connect {
            None => "sets no proxy_connect_timeout (nginx waits 60 s)".to_owned(),
            Some((t, _)) => format!(
                "waits proxy_connect_timeout {t}, as long as a client waits ({} s)",
                crate::checks::HTTPS_PATIENCE.as_secs()
            ),
        };
        let Some(upstream) = server.proxy_pass.as_deref().and_then(|n| conf.upstream(n)) else {
            continue;
        };
        // The members where nothing answers: the port times out from everywhere, or the
        // whole node is down (taken down by the run, or unreachable).
        let mut silent = Vec::new();
        let mut evidence = Vec::new();
        for member in &upstream.servers {
            let Some(node) = e.node_at(&member.host) else {
                continue;
            };
            let target_port = member.port.unwrap_or(port.number);
            let node_down = e.is_down(&node.name);
            let port_silent = targets
                .get(&(node.name.clone(), target_port, Protocol::Tcp))
                .is_some_and(|cells| Evidence::all_in(cells, CellState::TimedOut));
            if node_down {
                evidence.push(format!("{} is down", node.name));
            } else if port_silent {
                evidence.push(format!(
                    "{}:{target_port}/tcp times out from every source",
                    node.name
                ));
            } else {
                continue;
            }
            silent.push(format!("{}:{target_port}", node.name));
        }
        if silent.is_empty() {
            continue;
        }
        evidence.push(format!(
            "nginx.conf line {}: the server for {} {}",
            server.line,
            port.number,
            connect
                .map(|(t, _)| format!("has proxy_connect_timeout {t}"))
                .unwrap_or_else(|| "has no proxy_connect_timeout".into())
        ));
        let claims = e.claim(|s| e.through_lb(s, port.number, Protocol::Tcp));
        let silent = silent.join(", ");
        out.push(
            Candidate::new(
                45,
                ID,
                format!(
                    "clients through the LB hang on {}: its upstream `{}` includes {silent}, where nothing answers, and the server for {} {setting}",
                    port.number, upstream.name, port.number
                ),
                format!(
                    "set `proxy_connect_timeout 5s;` in the LB's server for {} so nginx moves on to the next node, and make {silent} answer again",
                    port.number
                ),
            )
            .evidence(evidence)
            .claims(claims),
        );
    }
    out
}

/// nginx's time: `10s`, `500ms`, `1m`, a bare number of seconds.
fn seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|at| text.split_at(at))
        .unwrap_or((text, "s"));
    let n: f64 = number.parse().ok()?;
    Some(match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn nginx_times_are_read_in_seconds() {
        assert_eq!(super::seconds("10s"), Some(10.0));
        assert_eq!(super::seconds("500ms"), Some(0.5));
        assert_eq!(super::seconds("1m"), Some(60.0));
        assert_eq!(super::seconds("7"), Some(7.0));
        assert_eq!(super::seconds("soon"), None);
    }
}
