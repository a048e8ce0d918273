//! The run's DNS as every provider sets it up: the dnsmasq zone the DNS host serves, and the
//! resolv.conf each host gets. One place, so containers and VMs resolve alike.

use std::net::Ipv4Addr;

use crate::topology::{HostSpec, Network, Resolver, Role, BLACKHOLE_OCTET};

/// dnsmasq serves the run's zone: every host by name, and the probe name (at the LB). It never
/// forwards: a query must not leave the run's network.
pub fn dnsmasq_config(network: &Network, hosts: &[HostSpec]) -> String {
    let mut out = format!(
        "# written by acura-ha for this run\nno-resolv\nno-hosts\ndomain={zone}\nlocal=/{zone}/\n",
        zone = network.zone
    );
    for h in hosts {
        let addr = network.address(h.octet);
        out.push_str(&format!(
            "host-record={name}.{zone},{name},{addr}\n",
            name = h.name,
            zone = network.zone
        ));
        if h.role == Role::Lb {
            // A host record, not `address=`: a name with only an A record must answer AAAA
            // queries with "no data", not NXDOMAIN, or nslookup (C2) fails.
            out.push_str(&format!("host-record={},{addr}\n", network.probe_name));
        }
    }
    out
}

/// The run's DNS for every host; the DNS host asks itself; a host meant to have broken DNS
/// names an address where nothing answers.
pub fn resolv_conf(spec: &HostSpec, network: &Network) -> String {
    let nameserver = match (spec.role, spec.resolver) {
        (Role::Dns, _) => Ipv4Addr::LOCALHOST,
        (_, Resolver::RunDns) => network.dns,
        (_, Resolver::Unreachable) => network.address(BLACKHOLE_OCTET),
    };
    format!(
        "search {}\nnameserver {nameserver}\noptions timeout:2 attempts:1\n",
        network.zone
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{HostName, TopologySpec};

    fn network() -> Network {
        Network {
            subnet: Ipv4Addr::new(10, 213, 9, 0),
            gateway: Ipv4Addr::new(10, 213, 9, 1),
            dns: Ipv4Addr::new(10, 213, 9, 2),
            zone: "acura.test".into(),
            probe_name: "probe.acura.test".into(),
        }
    }

    #[test]
    fn dnsmasq_serves_every_host_and_the_probe() {
        let spec = TopologySpec::standard(3);
        let conf = dnsmasq_config(&network(), &spec.hosts);
        assert!(conf.contains("host-record=node-2.acura.test,node-2,10.213.9.12\n"));
        assert!(conf.contains("host-record=probe.acura.test,10.213.9.10\n"));
        assert!(
            !conf.contains("address=/"),
            "address= answers AAAA with NXDOMAIN"
        );
        assert!(
            conf.contains("no-resolv"),
            "the run's DNS never forwards outside"
        );
    }

    #[test]
    fn resolvers_point_at_the_run_dns_or_nowhere() {
        let spec = TopologySpec::standard(3);
        let mut node = spec.get(&HostName::node(3)).unwrap().clone();
        assert!(resolv_conf(&node, &network()).contains("nameserver 10.213.9.2\n"));
        node.resolver = Resolver::Unreachable;
        assert!(resolv_conf(&node, &network()).contains("nameserver 10.213.9.254\n"));
        let dns = spec.get(&HostName::dns()).unwrap();
        assert!(resolv_conf(dns, &network()).contains("nameserver 127.0.0.1\n"));
    }
}
