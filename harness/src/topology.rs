//! The hosts of one run: three (or more) nodes, the load balancer, the deploy host and the
//! run's DNS server, with the names and addresses every provider gives them.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// A port's protocol, as the security-group table and the scenario name it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a host is for in the procedure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Node,
    Lb,
    Deployer,
    Dns,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Lb => "lb",
            Role::Deployer => "deployer",
            Role::Dns => "dns",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The harness's name for a host (`node-1`, `lb`, `deployer`, `dns`). Stable across providers
/// and runs, so it is what golden snapshots show instead of addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostName(pub String);

impl HostName {
    pub fn node(index: usize) -> Self {
        HostName(format!("node-{index}"))
    }
    pub fn lb() -> Self {
        HostName("lb".into())
    }
    pub fn deployer() -> Self {
        HostName("deployer".into())
    }
    pub fn dns() -> Self {
        HostName("dns".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for HostName {
    fn from(s: &str) -> Self {
        HostName(s.to_owned())
    }
}

/// How a host's resolver is set up at provisioning. `Unreachable` names a nameserver that
/// never answers: the negative preflight scenario for a node whose DNS is broken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolver {
    #[default]
    RunDns,
    Unreachable,
}

/// One host the provider must create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSpec {
    pub name: HostName,
    pub role: Role,
    /// The hostname set inside the host. Normally equal to `name`; a scenario may inject
    /// an FQDN to exercise preflight's C3.
    pub hostname: String,
    /// Index inside the run's subnet (the last octet).
    pub octet: u8,
    pub resolver: Resolver,
}

/// Last octets inside a run's /24. `.1` is the provider's gateway.
pub const DNS_OCTET: u8 = 2;
pub const LB_OCTET: u8 = 10;
pub const DEPLOYER_OCTET: u8 = 5;
pub const FIRST_NODE_OCTET: u8 = 11;
/// An address in the run's subnet where nothing listens: the nameserver of a host whose
/// DNS is meant to be broken.
pub const BLACKHOLE_OCTET: u8 = 254;

/// The whole topology as the scenario asks for it, before any provider runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologySpec {
    pub hosts: Vec<HostSpec>,
}

impl TopologySpec {
    /// The standard topology: DNS, LB, deploy host and `nodes` nodes.
    pub fn standard(nodes: usize) -> Self {
        let mut hosts = vec![
            HostSpec::plain(HostName::dns(), Role::Dns, DNS_OCTET),
            HostSpec::plain(HostName::lb(), Role::Lb, LB_OCTET),
            HostSpec::plain(HostName::deployer(), Role::Deployer, DEPLOYER_OCTET),
        ];
        for i in 1..=nodes {
            hosts.push(HostSpec::plain(
                HostName::node(i),
                Role::Node,
                FIRST_NODE_OCTET + (i as u8 - 1),
            ));
        }
        TopologySpec { hosts }
    }

    pub fn get(&self, name: &HostName) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| &h.name == name)
    }

    pub fn get_mut(&mut self, name: &HostName) -> Option<&mut HostSpec> {
        self.hosts.iter_mut().find(|h| &h.name == name)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &HostSpec> {
        self.hosts.iter().filter(|h| h.role == Role::Node)
    }
}

impl HostSpec {
    pub fn plain(name: HostName, role: Role, octet: u8) -> Self {
        HostSpec {
            hostname: name.0.clone(),
            name,
            role,
            octet,
            resolver: Resolver::RunDns,
        }
    }
}

/// A host as provisioned: where it is and how to reach its SSH server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub name: HostName,
    pub role: Role,
    pub hostname: String,
    /// The host's address on the run's network (what other hosts and the LB use).
    pub address: Ipv4Addr,
    /// Where the harness connects for SSH.
    pub ssh: std::net::SocketAddr,
}

/// The run's network as provisioned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// The /24 every host of the run lives in, e.g. `10.213.7.0`.
    pub subnet: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub dns: Ipv4Addr,
    /// The zone the run's DNS serves (`acura.test`), and the probe name C2 resolves.
    pub zone: String,
    pub probe_name: String,
}

impl Network {
    pub fn address(&self, octet: u8) -> Ipv4Addr {
        let [a, b, c, _] = self.subnet.octets();
        Ipv4Addr::new(a, b, c, octet)
    }
}

/// Everything that is up: the network and every host, in spec order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Topology {
    pub network: Network,
    pub hosts: Vec<Host>,
}

impl Topology {
    pub fn host(&self, name: &HostName) -> Option<&Host> {
        self.hosts.iter().find(|h| &h.name == name)
    }
    pub fn nodes(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(|h| h.role == Role::Node)
    }
    pub fn lb(&self) -> Option<&Host> {
        self.hosts.iter().find(|h| h.role == Role::Lb)
    }
    pub fn deployer(&self) -> Option<&Host> {
        self.hosts.iter().find(|h| h.role == Role::Deployer)
    }
    /// Replace (or add) a host after `replace-node`.
    pub fn upsert(&mut self, host: Host) {
        match self.hosts.iter_mut().find(|h| h.name == host.name) {
            Some(h) => *h = host,
            None => self.hosts.push(host),
        }
    }
    /// Address → host name, for normalizing observations.
    pub fn name_of(&self, addr: Ipv4Addr) -> Option<&HostName> {
        self.hosts
            .iter()
            .find(|h| h.address == addr)
            .map(|h| &h.name)
    }
}
