//! Step `preflight` (guide steps 1–3): on every node, nameservers present and answering (C1),
//! the probe name resolving (C2), a hostname without dots (C3), resources and OS against the
//! scenario's requirement profile; from the deploy host, TCP/22 to every node (C4) and Python
//! 3.11. Every host is checked in parallel; every failure carries the guide's advice.

use std::time::Duration;

use futures::future::join_all;

use super::plan::StepPlan;
use super::{RunState, Targets};
use crate::checks::resources::{self, Measured, Requirements};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::{nc, nslookup, resolv_conf};
use crate::procedure::commands;
use crate::procedure::{CommandId, PlannedCommand};
use crate::topology::{Host, HostName};

const DEADLINE: Duration = Duration::from_secs(30);

const DNS_ADVICE: &str =
    "the guide: check the subnet's DNS configuration (e.g. use 8.8.8.8 as the DNS server)";
const FQDN_ADVICE: &str = "the guide: hostnames must not be FQDNs; they must not contain dots";
const SSH_ADVICE: &str = "the guide: check the security group rule for TCP/22 from the deploy host";

/// Every way `have` falls short of `need`, as sentences.
pub fn shortfalls(have: &Measured, need: &Requirements) -> Vec<String> {
    let gb = |b: u64| b as f64 / 1e9;
    let mut out = Vec::new();
    if have.cpus < need.cpus {
        out.push(format!("{} vCPU, {} required", have.cpus, need.cpus));
    }
    if have.memory_bytes < need.memory_bytes {
        out.push(format!(
            "{:.1} GB RAM, {:.1} GB required",
            gb(have.memory_bytes),
            gb(need.memory_bytes)
        ));
    }
    if have.root_bytes < need.root_bytes {
        out.push(format!(
            "root volume {:.0} GB, {:.0} GB required",
            gb(have.root_bytes),
            gb(need.root_bytes)
        ));
    }
    if need.single_partition && have.separate_home() {
        out.push(
            "/home is a separate partition; the guide wants one partition for all 200 GB".into(),
        );
    }
    if let Some(os) = need.os {
        if have.os != os {
            out.push(format!("OS is {}, {os} required", have.os));
        }
    }
    out
}

/// C1, C2 and C3 on a node.
fn node_commands(node: &HostName, probe: &str) -> [PlannedCommand; 3] {
    [
        PlannedCommand::numbered(1, node, commands::c1()),
        PlannedCommand::numbered(2, node, commands::c2(probe)),
        PlannedCommand::numbered(3, node, commands::c3()),
    ]
}

/// C4 from the deploy host to every node.
fn reach_command(t: &Targets) -> Result<PlannedCommand> {
    let addresses: Vec<String> = t.nodes().map(|n| n.address.clone()).collect();
    Ok(PlannedCommand::numbered(
        4,
        &t.deployer()?.name,
        commands::c4(&addresses),
    ))
}

pub(super) fn plan(t: &Targets) -> Result<StepPlan> {
    let mut commands: Vec<PlannedCommand> = t
        .nodes()
        .flat_map(|n| node_commands(&n.name, &t.probe_name))
        .collect();
    commands.push(reach_command(t)?);
    Ok(StepPlan {
        commands,
        actions: vec!["resources, OS and (deploy host) Python 3.11 on every host".into()],
    })
}

async fn check_node(
    ctx: &RunContext,
    node: &Host,
    probe: &str,
    need: &Requirements,
) -> Result<Vec<String>> {
    let name = &node.name;
    let [c1, c2, c3] = node_commands(name, probe);
    let mut problems = Vec::new();

    let c1 = ctx.issue(&c1, DEADLINE).await?;
    match resolv_conf::parse(&c1.stdout) {
        Ok(conf) if conf.nameservers.is_empty() => problems.push(format!(
            "C1: /etc/resolv.conf names no nameserver; {DNS_ADVICE}"
        )),
        Ok(conf) => {
            for ns in conf.nameservers {
                let cmd = format!("nslookup -timeout=2 -retry=1 {probe} {ns}");
                let out = ctx.run(name, &cmd, DEADLINE).await?;
                let answered = nslookup::parse(&format!("{}{}", out.stdout, out.stderr))
                    .map(|l| {
                        !matches!(
                            l.failure,
                            Some(
                                nslookup::Failure::TimedOut | nslookup::Failure::Unreachable { .. }
                            )
                        )
                    })
                    .unwrap_or(false);
                if !answered {
                    problems.push(format!("C1: nameserver {ns} does not answer; {DNS_ADVICE}"));
                }
            }
        }
        Err(e) => problems.push(format!("C1: {e}")),
    }

    let c2 = ctx.issue(&c2, DEADLINE).await?;
    let lookup = nslookup::parse(&format!("{}{}", c2.stdout, c2.stderr));
    match lookup {
        Ok(l) if c2.success() && l.resolved() => {}
        Ok(l) => problems.push(format!(
            "C2: `nslookup {probe}` failed: {}; {DNS_ADVICE}",
            l.failure
                .map(|f| format!("{f:?}"))
                .unwrap_or_else(|| c2.tail(2))
        )),
        Err(_) => problems.push(format!(
            "C2: `nslookup {probe}` failed: {}; {DNS_ADVICE}",
            c2.tail(2)
        )),
    }

    let c3 = ctx.issue(&c3, DEADLINE).await?;
    let hostname = c3.stdout.trim();
    if hostname.contains('.') {
        problems.push(format!(
            "C3: hostname `{hostname}` contains dots; {FQDN_ADVICE}"
        ));
    }

    let res = ctx.run(name, resources::COMMAND, DEADLINE).await?;
    match Measured::parse(&res.stdout) {
        Ok(have) => problems.extend(
            shortfalls(&have, need)
                .into_iter()
                .map(|s| format!("resources: {s}")),
        ),
        Err(e) => problems.push(format!(
            "resources: cannot read them ({e}): {}",
            res.tail(3)
        )),
    }
    Ok(problems
        .into_iter()
        .map(|p| format!("{name}: {p}"))
        .collect())
}

async fn check_deployer(
    ctx: &RunContext,
    c4: &PlannedCommand,
    nodes: &[Host],
) -> Result<Vec<String>> {
    let name = &c4.host;
    let mut problems = Vec::new();
    let c4 = ctx.issue(c4, Duration::from_secs(60)).await?;
    let probes = nc::parse(&format!("{}{}", c4.stdout, c4.stderr)).unwrap_or_default();
    for node in nodes {
        let addr = node.address.to_string();
        let seen = probes
            .iter()
            .find(|p| p.host == addr || p.address.as_deref() == Some(addr.as_str()));
        match seen.map(|p| &p.outcome) {
            Some(nc::Outcome::Succeeded) => {}
            Some(other) => problems.push(format!(
                "{name}: C4: {} ({addr}) port 22: {other:?}; {SSH_ADVICE}",
                node.name
            )),
            None => problems.push(format!(
                "{name}: C4: no result for {} ({addr}) port 22; {SSH_ADVICE}",
                node.name
            )),
        }
    }
    if !problems.is_empty() {
        ctx.reject(CommandId(4), name, "a node's TCP/22 is not reachable");
    }
    let py = ctx.run(name, "python3 --version", DEADLINE).await?;
    let version = format!("{}{}", py.stdout, py.stderr);
    if !version.trim().starts_with("Python 3.11") {
        problems.push(format!(
            "{name}: the deploy host needs Python 3.11 (found `{}`); the guide: on Ubuntu newer than 24.04 install it with pyenv",
            version.trim()
        ));
    }
    Ok(problems)
}

pub async fn run(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let topology = ctx.topology();
    let probe = topology.network.probe_name.clone();
    let need = Requirements::of(ctx.scenario().requirements);
    let nodes: Vec<Host> = topology.nodes().cloned().collect();
    let mut checks: Vec<futures::future::BoxFuture<'_, Result<Vec<String>>>> = nodes
        .iter()
        .map(|n| {
            let probe = probe.clone();
            Box::pin(async move { check_node(ctx, n, &probe, &need).await }) as _
        })
        .collect();
    if let Ok(c4) = reach_command(&targets) {
        let nodes = nodes.clone();
        checks.push(Box::pin(
            async move { check_deployer(ctx, &c4, &nodes).await },
        ));
    }
    let mut problems = Vec::new();
    for result in join_all(checks).await {
        problems.extend(result?);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::CheckFailed(format!(
            "preflight:\n{}",
            problems.join("\n")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::RequirementProfile;

    #[test]
    fn doc_profile_rejects_a_laptop_and_local_accepts_it() {
        let laptop = Measured::parse(
            "cpus=2\nmemory_kib=8071272\nroot_bytes=53687091200\nhome_mount=/\nos=debian 12\n",
        )
        .unwrap();
        assert!(shortfalls(&laptop, &Requirements::of(RequirementProfile::Local)).is_empty());
        let problems = shortfalls(&laptop, &Requirements::of(RequirementProfile::Doc));
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("2 vCPU, 8 required"));
        assert!(problems[3].contains("ubuntu 24.04 required"));
    }

    #[test]
    fn a_guide_sized_ubuntu_node_passes_doc() {
        let node = Measured {
            cpus: 8,
            memory_bytes: 16_386_000_000,
            root_bytes: 214_000_000_000,
            home_mount: Some("/".into()),
            os: "ubuntu 24.04".into(),
        };
        assert!(shortfalls(&node, &Requirements::of(RequirementProfile::Doc)).is_empty());
        let split = Measured {
            home_mount: Some("/home".into()),
            ..node
        };
        assert_eq!(
            shortfalls(&split, &Requirements::of(RequirementProfile::Doc)).len(),
            1
        );
    }

    #[test]
    fn unreadable_resources_are_an_error() {
        assert!(Measured::parse("cpus=2\nmemory_kib=not a number\n").is_err());
    }
}
