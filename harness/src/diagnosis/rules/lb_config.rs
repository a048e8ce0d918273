//! The LB's own nginx.conf, read on the LB and compared with the topology and the guide's
//! port table: a port of the table without its `server`, a `proxy_pass` to an upstream that
//! is not defined, an upstream pointing where nothing listens, and `stream` without its
//! module (nginx then does not start).

use crate::checks::SECURITY_GROUP;
use crate::diagnosis::{Candidate, Evidence};
use crate::topology::Protocol;

pub const ID: &str = "lb-config";

const STREAM_ADVICE: &str = "the guide: if nginx reports the unknown directive \"stream\", add `load_module /usr/lib/nginx/modules/ngx_stream_module.so;` at the top of nginx.conf (C6), check with `nginx -t` (C5)";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let (Some(conf), Some(lb)) = (&e.lb_conf, e.topology.lb()) else {
        return Vec::new();
    };
    let mut out = Vec::new();

    // nginx does not run: `stream` without its module.
    let nginx = e
        .host_facts(&lb.name)
        .and_then(|f| f.services.get("nginx"))
        .map(String::as_str);
    let stream_module = conf.modules.iter().any(|m| m.contains("stream"));
    if conf.has_stream && !stream_module && nginx.is_some_and(|s| s != "active") {
        out.push(
            Candidate::new(
                12,
                ID,
                format!(
                    "nginx on the LB is {}: its config uses `stream` without loading the stream module",
                    nginx.unwrap_or("stopped")
                ),
                STREAM_ADVICE.to_owned(),
            )
            .evidence(["nginx.conf has a stream block and no load_module of ngx_stream_module".to_owned()])
            .claims(e.claim(|s| {
                e.cell_of(s).is_some_and(|c| c.destination == lb.name)
                    || s.check == "https"
                    || s.check == "log-path"
            })),
        );
    }

    for port in SECURITY_GROUP
        .iter()
        // 22 is the LB's own sshd, not forwarded.
        .filter(|p| p.number != 22 && p.listens(true, e.expectations.stage))
    {
        let udp = port.protocol == Protocol::Udp;
        let Some(server) = conf.server_for(port.number, udp) else {
            out.push(
                Candidate::new(
                    25,
                    ID,
                    format!(
                        "the LB's nginx.conf has no server for {}/{} ({}): nothing forwards it",
                        port.number, port.protocol, port.service
                    ),
                    format!(
                        "add the guide's `server {{ listen {}{}; proxy_pass …; }}` and its upstream of every node, then `nginx -t` and reload",
                        port.number,
                        if udp { " udp" } else { "" }
                    ),
                )
                .evidence([format!(
                    "no `listen {}{}` in /etc/nginx/nginx.conf on {}",
                    port.number,
                    if udp { " udp" } else { "" },
                    lb.name
                )])
                .claims(e.claim(|s| e.through_lb(s, port.number, port.protocol))),
            );
            continue;
        };
        let Some(name) = &server.proxy_pass else {
            continue;
        };
        let Some(upstream) = conf.upstream(name) else {
            out.push(
                Candidate::new(
                    25,
                    ID,
                    format!(
                        "the LB's server for {}/{} passes to `{name}`, which no upstream defines",
                        port.number, port.protocol
                    ),
                    format!("define `upstream {name}` with every node, then `nginx -t` and reload"),
                )
                .evidence([format!(
                    "nginx.conf line {}: proxy_pass {name}",
                    server.line
                )])
                .claims(e.claim(|s| e.through_lb(s, port.number, port.protocol))),
            );
            continue;
        };
        // Members the upstream sends to where nothing listens.
        for member in &upstream.servers {
            let node = e.node_at(&member.host);
            let target_port = member.port.unwrap_or(port.number);
            let wrong = match node {
                None => Some(format!("{} is no node of this topology", member.host)),
                Some(n) => e.host_facts(&n.name).and_then(|f| {
                    (f.unreachable.is_none() && !f.listens(target_port, port.protocol)).then(|| {
                        format!(
                            "nothing listens on {}:{target_port}/{}",
                            n.name, port.protocol
                        )
                    })
                }),
            };
            if let Some(why) = wrong {
                out.push(
                    Candidate::new(
                        26,
                        ID,
                        format!(
                            "the LB's upstream `{name}` ({}/{}) sends to {}:{target_port}, where {why}",
                            port.number, port.protocol, member.host
                        ),
                        format!("point upstream `{name}` at every node's {target_port}, as the guide's config does, then `nginx -t` and reload"),
                    )
                    .evidence([format!("nginx.conf line {}: server {}:{target_port}", upstream.line, member.host), why.clone()])
                    .claims(e.claim(|s| e.through_lb(s, port.number, port.protocol))),
                );
            }
        }
    }
    out
}
