//! Steps `misconfigure` and `repair`: break one thing the way a customer's environment gets
//! broken (a firewall rule on a node, a nameserver that stops answering, a certificate issued
//! for the wrong LB address, an nginx.conf without its UDP server and upstream, a deployment whose image
//! cannot be pulled: [`super::never_ready`]), so that a
//! `checkpoint-failing` shows which checks catch it; `repair` undoes each, newest first.
//!
//! `certificate_without_lb` re-issues the certificate with the command the scenario names
//! (`issue_with`): how an appliance issues its certificate is the product's business.
//!
//! Every rule the harness adds carries the comment [`RULE_COMMENT`], so repairing removes
//! exactly what was added and nothing an operator had.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::plan::StepPlan;
use super::{live_node, require_success, RunState, Targets};
use crate::checks::Protocol;
use crate::context::RunContext;
use crate::error::Result;
use crate::procedure::PlannedCommand;
use crate::remote::shell_quote;
use crate::scenario::{BlockPort, CertificateReissue, Misconfiguration, StopService};
use crate::topology::BLACKHOLE_OCTET;
use crate::wait::Poll;

const DEADLINE: Duration = Duration::from_secs(60);
const RELOAD_NGINX: &str = "nginx -t && systemctl reload-or-restart nginx";
/// How long a node's services take at most to pick up a new ingress certificate.
const CERTIFICATE_SETTLES: Duration = Duration::from_secs(90);
pub const RULE_COMMENT: &str = "acura-ha-misconfigure";
/// Waits (30 s at most) until no socket of the LB is bound to 12201/udp.
const UDP_SOCKET_GONE: &str = "for i in $(seq 60); do ss -Hnul 'sport = :12201' | grep -q . || exit 0; sleep 0.5; done; echo 'nginx still listens on 12201/udp'; exit 1";

/// `misconfigure: …`
pub async fn apply(ctx: &RunContext, state: &mut RunState, m: &Misconfiguration) -> Result<()> {
    match m {
        Misconfiguration::BlockPort(b) => {
            let out = ctx.run(&b.host, &block_rule("-I", b), DEADLINE).await?;
            require_success(&format!("a firewall rule on {}", b.host), &out)?;
        }
        Misconfiguration::DnsDown(host) => {
            let out = ctx.run(host, &dns_rules("-I"), DEADLINE).await?;
            require_success(&format!("dropping {host}'s DNS queries"), &out)?;
        }
        Misconfiguration::CertificateWithoutLb(how) => {
            let wrong = wrong_lb_address(ctx);
            issue_certificate(ctx, state, how, &wrong.to_string()).await?;
            wait_for_certificate(ctx, false).await?;
        }
        Misconfiguration::LbWithoutUdp => {
            let lb = super::lb_host(ctx)?.name;
            let conf = without_udp_path(&super::configure_lb::current_conf(ctx, state));
            ctx.upload(&lb, "/etc/nginx/nginx.conf", conf.as_bytes(), 0o644)
                .await?;
            let out = ctx.run(&lb, RELOAD_NGINX, DEADLINE).await?;
            require_success("reloading nginx without the UDP path", &out)?;
            // Workers of the old config keep its sockets until they have shut down.
            let out = ctx.run(&lb, UDP_SOCKET_GONE, DEADLINE).await?;
            require_success("waiting for nginx to close 12201/udp", &out)?;
        }
        Misconfiguration::PodNeverReady(d) => super::never_ready::apply(ctx, state, d).await?,
        Misconfiguration::StopService(stop) => {
            let out = ctx.run(&stop.host, &stop_command(stop), DEADLINE).await?;
            require_success(&format!("stopping {} on {}", stop.service, stop.host), &out)?;
        }
        Misconfiguration::LbConf(given) => {
            let lb = super::lb_host(ctx)?;
            let conf = fill_placeholders(&given.nginx_conf, &Targets::of_run(ctx, state));
            ctx.upload(&lb.name, "/etc/nginx/nginx.conf", conf.as_bytes(), 0o644)
                .await?;
            // The given config is the site's, broken or not: nginx refusing it is part of
            // what is reproduced, said but not a failure of the step.
            let out = ctx.run(&lb.name, RELOAD_NGINX, DEADLINE).await?;
            if !out.success() {
                ctx.events().progress(format!(
                    "nginx refuses the given config, as the site's did: {}",
                    out.tail(2)
                ));
            }
        }
    }
    ctx.events()
        .progress(format!("misconfigured: {}", describe(m)));
    state.misconfigured.push(m.clone());
    Ok(())
}

/// `repair`: undo every misconfiguration still in effect, newest first.
pub async fn repair(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    while let Some(m) = state.misconfigured.pop() {
        match &m {
            Misconfiguration::BlockPort(b) => {
                let out = ctx.run(&b.host, &block_rule("-D", b), DEADLINE).await?;
                require_success(&format!("removing the firewall rule on {}", b.host), &out)?;
            }
            Misconfiguration::DnsDown(host) => {
                let out = ctx.run(host, &dns_rules("-D"), DEADLINE).await?;
                require_success(&format!("letting {host}'s DNS queries out again"), &out)?;
            }
            Misconfiguration::CertificateWithoutLb(how) => {
                let lb = super::lb_host(ctx)?.address;
                issue_certificate(ctx, state, how, &lb.to_string()).await?;
                wait_for_certificate(ctx, true).await?;
            }
            // The guide's config again, from the current node list (C5 included).
            Misconfiguration::LbWithoutUdp | Misconfiguration::LbConf(_) => {
                super::configure_lb::run(ctx, state).await?
            }
            Misconfiguration::PodNeverReady(d) => super::never_ready::repair(ctx, state, d).await?,
            Misconfiguration::StopService(stop) => start_service(ctx, stop).await?,
        }
        ctx.events().progress(format!("repaired: {}", describe(&m)));
    }
    Ok(())
}

/// What `misconfigure` will do, for `acura-ha plan`: the same rule texts the run issues.
pub(super) fn plan(t: &Targets, m: &Misconfiguration) -> Result<StepPlan> {
    let mut plan = StepPlan::default();
    match m {
        Misconfiguration::BlockPort(b) => plan
            .commands
            .push(PlannedCommand::aux(&b.host, block_rule("-I", b))),
        Misconfiguration::DnsDown(h) => plan.commands.push(PlannedCommand::aux(h, dns_rules("-I"))),
        Misconfiguration::CertificateWithoutLb(how) => {
            plan.commands.push(PlannedCommand::aux(
                &t.live_node()?.name,
                how.issue_with.replace(
                    LB_ADDRESS_PLACEHOLDER,
                    &format!("<[subnet].{BLACKHOLE_OCTET}>"),
                ),
            ));
            plan.actions
                .push("wait until every node serves the certificate without the LB".into());
        }
        Misconfiguration::LbWithoutUdp => {
            plan.actions.push(
                "upload nginx.conf without the `listen 12201 udp` server and its upstream".into(),
            );
            plan.commands
                .push(PlannedCommand::aux(&t.lb()?.name, RELOAD_NGINX.into()));
        }
        Misconfiguration::StopService(stop) => plan
            .commands
            .push(PlannedCommand::aux(&stop.host, stop_command(stop))),
        Misconfiguration::LbConf(_) => {
            plan.actions.push(
                "upload the given nginx.conf, its placeholders filled with the run's addresses"
                    .into(),
            );
            plan.commands
                .push(PlannedCommand::aux(&t.lb()?.name, RELOAD_NGINX.into()));
        }
        Misconfiguration::PodNeverReady(d) => {
            use super::never_ready::{set_image_text, UNPULLABLE_IMAGE};
            plan.commands.push(PlannedCommand::aux(
                &t.live_node()?.name,
                set_image_text(d, &format!("<container>={UNPULLABLE_IMAGE}")),
            ));
            plan.actions.push(format!(
                "wait until a pod of {}/{} backs off its image pull, the old ones Ready",
                d.namespace, d.deployment
            ));
        }
    }
    Ok(plan)
}

/// What `repair` will do when `misconfigured` is in effect (oldest first).
pub(super) fn plan_repair(t: &Targets, misconfigured: &[Misconfiguration]) -> Result<StepPlan> {
    let mut plan = StepPlan::default();
    plan.actions
        .push("undo every misconfiguration still in effect, newest first".into());
    for m in misconfigured.iter().rev() {
        match m {
            Misconfiguration::BlockPort(b) => plan
                .commands
                .push(PlannedCommand::aux(&b.host, block_rule("-D", b))),
            Misconfiguration::DnsDown(h) => {
                plan.commands.push(PlannedCommand::aux(h, dns_rules("-D")))
            }
            Misconfiguration::LbWithoutUdp | Misconfiguration::LbConf(_) => {
                plan.extend(super::configure_lb::plan(t)?)
            }
            Misconfiguration::StopService(stop) => plan
                .commands
                .push(PlannedCommand::aux(&stop.host, start_command(stop))),
            Misconfiguration::CertificateWithoutLb(_) | Misconfiguration::PodNeverReady(_) => {
                plan.actions.push(format!("undo {}", describe(m)))
            }
        }
    }
    Ok(plan)
}

/// `{node-1}`… and `{lb}` in a given nginx.conf, as this run's addresses.
pub fn fill_placeholders(conf: &str, t: &Targets) -> String {
    let mut out = conf.to_owned();
    for host in &t.hosts {
        out = out.replace(&format!("{{{}}}", host.name), &host.address);
    }
    out
}

fn stop_command(stop: &StopService) -> String {
    format!("systemctl stop {}", shell_quote(&stop.service))
}

fn start_command(stop: &StopService) -> String {
    format!(
        "systemctl start {s} && systemctl is-active {s}",
        s = shell_quote(&stop.service)
    )
}

/// Start the service again and wait until it is active; etcd until its member answers
/// healthy again, so the next checkpoint sees the cluster whole.
async fn start_service(ctx: &RunContext, stop: &StopService) -> Result<()> {
    let out = ctx.run(&stop.host, &start_command(stop), DEADLINE).await?;
    require_success(&format!("starting {} on {}", stop.service, stop.host), &out)?;
    if stop.service == "etcd" {
        let address = ctx.host(&stop.host)?.address;
        let health = format!(
            "ETCDCTL_API=3 etcdctl --endpoints https://{address}:2379 {} --command-timeout=3s endpoint health",
            crate::procedure::commands::ETCD_PKI
        );
        ctx.wait_until(
            &format!("etcd on {} healthy again", stop.host),
            Duration::from_secs(90),
            Duration::from_secs(1),
            || async {
                let out = ctx.run(&stop.host, &health, DEADLINE).await?;
                Ok(if out.success() {
                    Poll::Ready(())
                } else {
                    Poll::NotYet(out.tail(1))
                })
            },
        )
        .await?;
    }
    Ok(())
}

/// `block_port node-2:30082/tcp`, …
pub fn describe(m: &Misconfiguration) -> String {
    match m {
        Misconfiguration::BlockPort(b) => {
            format!("block_port {}:{}/{}", b.host, b.port, b.protocol)
        }
        Misconfiguration::DnsDown(h) => format!("dns_down {h}"),
        Misconfiguration::StopService(stop) => {
            format!("stop_service {} on {}", stop.service, stop.host)
        }
        Misconfiguration::PodNeverReady(d) => {
            format!("pod_never_ready {}/{}", d.namespace, d.deployment)
        }
        other => other.keyword().to_owned(),
    }
}

/// The command that adds (`-I`) or deletes (`-D`) the rule dropping what other hosts send to
/// the port. Loopback stays open: the host itself still reaches its service.
pub fn block_rule(action: &str, b: &BlockPort) -> String {
    format!(
        "iptables {action} INPUT ! -i lo -p {} --dport {} -m comment --comment {RULE_COMMENT} -j DROP",
        b.protocol.as_str(),
        b.port
    )
}

/// Adds (`-I`) or deletes (`-D`) the rules dropping the host's DNS queries, over UDP and TCP.
pub fn dns_rules(action: &str) -> String {
    [Protocol::Udp, Protocol::Tcp]
        .map(|p| {
            format!(
                "iptables {action} OUTPUT -p {} --dport 53 -m comment --comment {RULE_COMMENT} -j DROP",
                p.as_str()
            )
        })
        .join(" && ")
}

/// An address of the run's network no host has: the certificate is issued for it.
fn wrong_lb_address(ctx: &RunContext) -> Ipv4Addr {
    let [a, b, c, _] = ctx.topology().network.subnet.octets();
    Ipv4Addr::new(a, b, c, BLACKHOLE_OCTET)
}

/// The ingress certificate issued again for `lb_address`, with the scenario's command, on a
/// live node.
async fn issue_certificate(
    ctx: &RunContext,
    state: &RunState,
    how: &CertificateReissue,
    lb_address: &str,
) -> Result<()> {
    let node = live_node(ctx, state)?;
    let command = issue_command(how, lb_address);
    let out = ctx.run(&node, &command, DEADLINE).await?;
    require_success("issuing the ingress certificate", &out)
}

pub fn issue_command(how: &CertificateReissue, lb_address: &str) -> String {
    how.issue_with
        .replace(LB_ADDRESS_PLACEHOLDER, &shell_quote(lb_address))
}

/// Where `issue_with` takes the address.
pub const LB_ADDRESS_PLACEHOLDER: &str = "{lb_address}";

/// Until the certificate served on the LB's 443 does (`true`) or does not name the LB.
async fn wait_for_certificate(ctx: &RunContext, names_lb: bool) -> Result<()> {
    let lb = super::lb_host(ctx)?.address;
    let nodes: Vec<Ipv4Addr> = ctx.topology().nodes().map(|h| h.address).collect();
    let handshake = ctx.paced(Duration::from_secs(5));
    let what = if names_lb {
        "every node serving an ingress certificate that names the LB"
    } else {
        "every node serving an ingress certificate that does not name the LB"
    };
    ctx.wait_until(
        what,
        CERTIFICATE_SETTLES,
        Duration::from_secs(2),
        || async {
            // Every node must serve it: the LB spreads connections over all of them.
            let mut off = Vec::new();
            for node in &nodes {
                let addr = std::net::SocketAddr::from((*node, 443));
                match crate::checks::tls::handshake(addr, handshake).await {
                    Ok(cert) if cert.ip_addresses.contains(&lb.into()) != names_lb => {
                        off.push(format!("{node}:443 serves {}", cert.sans().join(", ")))
                    }
                    Ok(_) => {}
                    Err(e) => off.push(format!("{node}:443: {e}")),
                }
            }
            Ok(if off.is_empty() {
                Poll::Ready(())
            } else {
                Poll::NotYet(off.join("; "))
            })
        },
    )
    .await
}

/// The config without its UDP path: the `server` that listens on 12201/udp and the upstream
/// it proxies to, as when the GELF part of the guide's config is left out. The stream blocks
/// of the guide's config hold no nested braces.
pub fn without_udp_path(conf: &str) -> String {
    let lines: Vec<&str> = conf.lines().collect();
    // (first line, last line) of every `server {` and `upstream NAME {` block.
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut open: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if (t == "server {" || (t.starts_with("upstream ") && t.ends_with('{'))) && open.is_none() {
            open = Some(i);
        } else if t == "}" {
            if let Some(start) = open.take() {
                blocks.push((start, i));
            }
        }
    }
    let body = |(start, end): (usize, usize)| &lines[start + 1..end];
    let udp_server = blocks.iter().copied().find(|b| {
        lines[b.0].trim() == "server {"
            && body(*b)
                .iter()
                .any(|l| l.trim().starts_with("listen") && l.contains("udp"))
    });
    let upstream_name = udp_server.and_then(|b| {
        body(b).iter().find_map(|l| {
            l.trim()
                .strip_prefix("proxy_pass ")
                .map(|n| n.trim_end_matches(';').trim().to_owned())
        })
    });
    let upstream = upstream_name.and_then(|name| {
        blocks
            .iter()
            .copied()
            .find(|b| lines[b.0].trim() == format!("upstream {name} {{"))
    });
    let dropped = |i: usize| {
        [udp_server, upstream]
            .into_iter()
            .flatten()
            .any(|(start, end)| (start..=end).contains(&i))
    };
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if !dropped(i) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::HostName;

    #[test]
    fn the_udp_server_and_its_upstream_go_and_everything_else_stays() {
        let nodes = vec!["10.0.0.11".to_owned(), "10.0.0.12".to_owned()];
        let conf = super::super::render_nginx_conf(&nodes, false);
        let broken = without_udp_path(&conf);
        assert!(!broken.contains("listen 12201 udp;"));
        assert!(!broken.contains("stream_elk"), "{broken}");
        assert!(!broken.contains(":12201;"), "{broken}");
        for upstream in [
            "stream_http",
            "stream_https",
            "stream_kubernetes",
            "stream_registry",
        ] {
            assert!(
                broken.contains(&format!("upstream {upstream} {{")),
                "{upstream}"
            );
        }
        for port in ["80", "443", "4443", "6443", "15000"] {
            assert!(broken.contains(&format!("listen {port};")), "{port}");
        }
        assert_eq!(
            broken.matches('{').count(),
            broken.matches('}').count(),
            "{broken}"
        );
        // The server (6 lines) and the upstream (3 lines and one per node).
        assert_eq!(
            conf.lines().count() - broken.lines().count(),
            6 + 3 + nodes.len()
        );
    }

    #[test]
    fn rules_are_labelled_and_undone_by_the_same_words() {
        let b = BlockPort {
            host: HostName::node(2),
            port: 30082,
            protocol: Protocol::Tcp,
        };
        assert_eq!(
            block_rule("-I", &b),
            "iptables -I INPUT ! -i lo -p tcp --dport 30082 -m comment --comment acura-ha-misconfigure -j DROP"
        );
        assert_eq!(
            block_rule("-D", &b).replacen("-D", "-I", 1),
            block_rule("-I", &b)
        );
        let dns = dns_rules("-I");
        assert!(dns.contains("-p udp --dport 53") && dns.contains("-p tcp --dport 53"));
    }
}
