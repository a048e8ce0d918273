//! The facts a diagnosis needs beyond the checks' own findings, gathered with them and
//! read-only: on every host the run expects up, whether SSH reaches it, the state of the
//! services its role runs and the ports it listens on; on the LB, its nginx.conf as it is
//! there. The checks' findings already hold the rest (nameservers and their answers, etcd
//! members' health, node and pod states).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::expectations::{Expectations, Stage};
use super::scope::Scope;
use crate::topology::{Host, HostName, Protocol, Role};

const DEADLINE: Duration = Duration::from_secs(15);
const LISTENING: &str = "--- listening";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Why SSH could not run a command there; none when it could.
    pub unreachable: Option<String>,
    /// Each service of the host's role and what `systemctl is-active` says of it.
    pub services: BTreeMap<String, String>,
    /// What listens there: `tcp/443`, `udp/12201`.
    pub listening: BTreeSet<String>,
}

impl HostFacts {
    pub fn listens(&self, port: u16, protocol: Protocol) -> bool {
        self.listening.contains(&format!("{protocol}/{port}"))
    }

    /// Services that are not `active`, with their state.
    pub fn stopped(&self) -> impl Iterator<Item = (&str, &str)> {
        self.services
            .iter()
            .filter(|(_, state)| state.as_str() != "active")
            .map(|(unit, state)| (unit.as_str(), state.as_str()))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Every host the run expects up.
    pub hosts: BTreeMap<HostName, HostFacts>,
    /// `/etc/nginx/nginx.conf` as the LB has it; none when it could not be read.
    pub lb_conf: Option<String>,
}

/// The services a host of `role` runs once the install reached `stage`.
pub fn services(role: Role, stage: Stage) -> Vec<&'static str> {
    match role {
        Role::Node if stage >= Stage::AcuraInstalled => {
            vec!["etcd", "acura-apiserver", "acura-agent", "acura-services"]
        }
        Role::Node if stage >= Stage::ClusterInstalled => {
            vec!["etcd", "acura-apiserver", "acura-agent"]
        }
        Role::Node => Vec::new(),
        Role::Lb => vec!["nginx"],
        Role::Dns => vec!["dnsmasq"],
        Role::Deployer => Vec::new(),
    }
}

/// One command per host: each service's state, then what listens.
pub fn host_command(units: &[&str]) -> String {
    let mut command = String::new();
    if !units.is_empty() {
        command.push_str(&format!(
            "for u in {}; do printf '%s %s\\n' \"$u\" \"$(systemctl is-active \"$u\" 2>/dev/null)\"; done; ",
            units.join(" ")
        ));
    }
    command.push_str(&format!("echo '{LISTENING}'; ss -Hlntu 2>/dev/null; true"));
    command
}

/// What [`host_command`] printed.
pub fn parse_host(output: &str) -> HostFacts {
    let mut facts = HostFacts::default();
    let (services, listening) = output.split_once(LISTENING).unwrap_or((output, ""));
    for line in services.lines() {
        let mut words = line.split_whitespace();
        if let Some(unit) = words.next() {
            let state = words.next().unwrap_or("unknown");
            facts.services.insert(unit.to_owned(), state.to_owned());
        }
    }
    for line in listening.lines() {
        let mut words = line.split_whitespace();
        let (Some(netid), Some(local)) = (words.next(), words.nth(3)) else {
            continue;
        };
        let protocol = match netid {
            "tcp" => "tcp",
            "udp" => "udp",
            _ => continue,
        };
        if let Some(port) = local.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()) {
            facts.listening.insert(format!("{protocol}/{port}"));
        }
    }
    facts
}

async fn host_facts(scope: &Scope<'_>, host: &Host, stage: Stage) -> HostFacts {
    let command = host_command(&services(host.role, stage));
    match scope.run(&host.name, &command, DEADLINE).await {
        Ok(out) if out.exit_status == Some(0) => parse_host(&out.stdout),
        Ok(out) => HostFacts {
            unreachable: Some(format!("{}: {}", out.status_text(), out.tail(2))),
            ..HostFacts::default()
        },
        Err(e) => HostFacts {
            unreachable: Some(e.to_string()),
            ..HostFacts::default()
        },
    }
}

/// Every host's facts and the LB's config, all at once.
pub(crate) async fn gather(scope: &Scope<'_>, expectations: &Expectations) -> Facts {
    let up: Vec<&Host> = scope
        .topology
        .hosts
        .iter()
        .filter(|h| expectations.is_up(&h.name))
        .collect();
    let hosts = join_all(up.iter().map(|h| async {
        (
            h.name.clone(),
            host_facts(scope, h, expectations.stage).await,
        )
    }));
    let lb_conf = async {
        let lb = scope.topology.lb()?;
        if !expectations.is_up(&lb.name) || expectations.stage < Stage::LbConfigured {
            return None;
        }
        let out = scope
            .run(&lb.name, "cat /etc/nginx/nginx.conf", DEADLINE)
            .await
            .ok()?;
        out.success().then_some(out.stdout)
    };
    let (hosts, lb_conf) = futures::join!(hosts, lb_conf);
    Facts {
        hosts: hosts.into_iter().collect(),
        lb_conf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_listening_ports_are_read_back() {
        let out = "etcd active\nacura-apiserver inactive\nacura-agent \n--- listening\n\
tcp   LISTEN 0      4096         0.0.0.0:22        0.0.0.0:*\n\
tcp   LISTEN 0      4096            [::]:2379         [::]:*\n\
udp   UNCONN 0      0            0.0.0.0:12201     0.0.0.0:*\n";
        let f = parse_host(out);
        assert_eq!(f.services["etcd"], "active");
        assert_eq!(f.services["acura-apiserver"], "inactive");
        assert_eq!(f.services["acura-agent"], "unknown");
        assert!(f.listens(22, Protocol::Tcp));
        assert!(f.listens(2379, Protocol::Tcp));
        assert!(f.listens(12201, Protocol::Udp));
        assert!(!f.listens(12201, Protocol::Tcp));
        let stopped: Vec<_> = f.stopped().collect();
        assert_eq!(
            stopped,
            [("acura-agent", "unknown"), ("acura-apiserver", "inactive")]
        );
    }

    #[test]
    fn the_command_asks_each_unit_and_then_ss() {
        let c = host_command(&["etcd", "nginx"]);
        assert!(c.starts_with("for u in etcd nginx; do"), "{c}");
        assert!(c.ends_with("ss -Hlntu 2>/dev/null; true"), "{c}");
        assert_eq!(
            host_command(&[]),
            "echo '--- listening'; ss -Hlntu 2>/dev/null; true"
        );
    }
}
