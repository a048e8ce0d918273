//! The static provider: existing hosts from an inventory (the procedure's `ha_env_file` plus
//! the LB and deploy host addresses), for customer environments and staging. acura-ha creates
//! nothing there, so teardown releases nothing; faults and replacements need the hosts' owner
//! and are refused with a clear error.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use async_trait::async_trait;

use super::{Provider, Released};
use crate::error::{Error, Result};
use crate::remote::RunKey;
use crate::scenario::StaticInventory;
use crate::topology::{Host, HostName, HostSpec, Network, Role, Topology, TopologySpec};

pub struct StaticHosts {
    nodes: Vec<(String, Ipv4Addr)>,
    lb: Ipv4Addr,
    deployer: Option<Ipv4Addr>,
}

/// `<HOSTNAME> ansible_ssh_host=<IP> [more vars]` per line; `#` comments and blank lines skipped.
pub fn parse_ha_env_file(path: &Path, text: &str) -> Result<Vec<(String, Ipv4Addr)>> {
    let mut nodes = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let mut words = line.split_whitespace();
        let hostname = words.next().unwrap_or_default().to_owned();
        let ip = words
            .find_map(|w| w.strip_prefix("ansible_ssh_host=").or_else(|| w.strip_prefix("ansible_host=")))
            .ok_or_else(|| Error::Invalid {
                rendered: format!(
                    "error: {}:{}: field `ansible_ssh_host`: missing (expected `<HOSTNAME> ansible_ssh_host=<IP>`)",
                    path.display(),
                    n + 1
                ),
            })?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| Error::Invalid {
            rendered: format!(
                "error: {}:{}: field `ansible_ssh_host`: `{ip}` is not an IPv4 address",
                path.display(),
                n + 1
            ),
        })?;
        nodes.push((hostname, ip));
    }
    if nodes.is_empty() {
        return Err(Error::Invalid {
            rendered: format!("error: {}: no hosts in the ha_env_file", path.display()),
        });
    }
    Ok(nodes)
}

impl StaticHosts {
    pub fn new(nodes: Vec<(String, Ipv4Addr)>, lb: Ipv4Addr, deployer: Option<Ipv4Addr>) -> Self {
        StaticHosts {
            nodes,
            lb,
            deployer,
        }
    }

    pub fn from_inventory(inventory: &StaticInventory, scenario_dir: &Path) -> Result<StaticHosts> {
        let path = scenario_dir.join(&inventory.ha_env_file);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Ok(StaticHosts {
            nodes: parse_ha_env_file(&path, &text)?,
            lb: inventory.lb,
            deployer: inventory.deployer,
        })
    }

    fn refuse(&self, what: &str, host: &HostName) -> Error {
        Error::infra(format!(
            "static hosts: acura-ha cannot {what} {host}; do it by hand or use the docker or qemu provider"
        ))
    }
}

#[async_trait]
impl Provider for StaticHosts {
    fn name(&self) -> &'static str {
        "static"
    }

    async fn provision(&self, spec: &TopologySpec, _key: &RunKey) -> Result<Topology> {
        let spec_nodes = spec.nodes().count();
        if spec_nodes != self.nodes.len() {
            return Err(Error::Invalid {
                rendered: format!(
                    "error: the scenario asks for {spec_nodes} nodes, the ha_env_file lists {}",
                    self.nodes.len()
                ),
            });
        }
        let host = |name: HostName, role, hostname: String, address: Ipv4Addr| Host {
            name,
            role,
            hostname,
            address,
            ssh: SocketAddr::new(address.into(), 22),
        };
        let mut hosts = vec![host(HostName::lb(), Role::Lb, "lb".into(), self.lb)];
        if let Some(deployer) = self.deployer {
            hosts.push(host(
                HostName::deployer(),
                Role::Deployer,
                "deployer".into(),
                deployer,
            ));
        }
        for (i, (hostname, ip)) in self.nodes.iter().enumerate() {
            hosts.push(host(
                HostName::node(i + 1),
                Role::Node,
                hostname.clone(),
                *ip,
            ));
        }
        let [a, b, c, _] = self.nodes[0].1.octets();
        Ok(Topology {
            network: Network {
                subnet: Ipv4Addr::new(a, b, c, 0),
                gateway: Ipv4Addr::UNSPECIFIED,
                dns: Ipv4Addr::UNSPECIFIED,
                zone: String::new(),
                // The guide's own probe name.
                probe_name: "google.com".into(),
            },
            hosts,
        })
    }

    async fn power_off(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("power off", host))
    }
    async fn pause(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("pause", host))
    }
    async fn resume(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("resume", host))
    }
    async fn partition(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("partition", host))
    }
    async fn heal(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("heal", host))
    }
    async fn replace(&self, spec: &HostSpec, _key: &RunKey) -> Result<Host> {
        Err(self.refuse("replace", &spec.name))
    }
    async fn teardown(&self) -> Vec<Released> {
        Vec::new()
    }
    fn capabilities(&self) -> crate::scenario::Capabilities {
        crate::scenario::ProviderKind::Static.capabilities()
    }

    fn keep_hint(&self, topology: &Topology) -> String {
        let list: Vec<String> = topology
            .hosts
            .iter()
            .map(|h| format!("{}={}", h.name, h.address))
            .collect();
        format!("static hosts are never torn down: {}\n", list.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ha_env_file_lines_and_errors_with_positions() {
        let p = Path::new("inv/ha_env_file");
        let nodes = parse_ha_env_file(p, "# cluster\nmaster1 ansible_ssh_host=10.0.0.1\nmaster2 ansible_ssh_host=10.0.0.2 ansible_ssh_private_key_file=/k\n").unwrap();
        assert_eq!(
            nodes,
            vec![
                ("master1".into(), Ipv4Addr::new(10, 0, 0, 1)),
                ("master2".into(), Ipv4Addr::new(10, 0, 0, 2))
            ]
        );
        let e = parse_ha_env_file(p, "master1 ansible_ssh_host=10.0.0\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "error: inv/ha_env_file:1: field `ansible_ssh_host`: `10.0.0` is not an IPv4 address"
        );
        let e = parse_ha_env_file(p, "\nmaster1 10.0.0.1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("error: inv/ha_env_file:2: field `ansible_ssh_host`: missing"),
            "{e}"
        );
    }
}
