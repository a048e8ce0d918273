//! The topology the checks' unit tests evaluate recorded outputs against: the standard one,
//! on the subnet the recorded outputs were written for.

use crate::topology::{Host, HostName, Network, Role, Topology, TopologySpec};

pub const SUBNET: &str = "10.213.7.0";

pub fn topology() -> Topology {
    let network = Network {
        subnet: SUBNET.parse().unwrap(),
        gateway: "10.213.7.1".parse().unwrap(),
        dns: "10.213.7.2".parse().unwrap(),
        zone: "acura.test".into(),
        probe_name: "probe.acura.test".into(),
    };
    let hosts = TopologySpec::standard(3)
        .hosts
        .into_iter()
        .map(|spec| {
            let address = network.address(spec.octet);
            Host {
                name: spec.name,
                role: spec.role,
                hostname: spec.hostname,
                address,
                ssh: std::net::SocketAddr::new(address.into(), 22),
            }
        })
        .collect();
    Topology { network, hosts }
}

pub fn h(name: &str) -> HostName {
    HostName::from(name)
}

/// A recorded output under `checks/recorded/`.
macro_rules! recorded {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/checks/recorded/",
            $name
        ))
    };
}
pub(crate) use recorded;

#[test]
fn the_test_topology_has_three_nodes_an_lb_and_a_deployer() {
    let t = topology();
    assert_eq!(t.nodes().count(), 3);
    assert_eq!(t.lb().unwrap().address.to_string(), "10.213.7.10");
    assert_eq!(
        t.host(&h("node-2")).unwrap().address.to_string(),
        "10.213.7.12"
    );
    assert!(t.hosts.iter().any(|h| h.role == Role::Deployer));
}
