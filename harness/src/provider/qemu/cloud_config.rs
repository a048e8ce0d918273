//! What a VM learns from its seed: `meta-data` (instance id, hostname), `user-data` (the run
//! key, resolver, hosts file, the role's files and services) and `network-config` (static
//! addresses by MAC). All three are JSON, which cloud-init's YAML parser reads as it is, so no
//! value ever needs YAML quoting.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use crate::provider::run_dns;
use crate::topology::{HostSpec, Network, Role};

/// One virtual NIC as the guest must configure it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nic {
    /// The guest's name for it (`net.ifnames=0` keeps the PCI order: eth0, eth1).
    pub name: String,
    pub mac: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
}

/// Everything the seed of one host says.
pub struct Identity<'a> {
    pub instance_id: String,
    pub spec: &'a HostSpec,
    pub network: &'a Network,
    /// Every host of the run, for the DNS server's zone.
    pub hosts: &'a [HostSpec],
    pub authorized_key: &'a str,
    pub nics: Vec<Nic>,
    /// Packages to install at first boot, for images that do not carry the recipes' packages.
    pub packages: Vec<String>,
    /// How much slower than a real machine the host runs (see `Accel::pace`), for the
    /// stand-in appliance: written to `/etc/acura/pace` when above 1.
    pub pace: u32,
}

pub fn meta_data(identity: &Identity<'_>) -> String {
    let value = json!({
        "instance-id": identity.instance_id,
        "local-hostname": identity.spec.hostname,
    });
    format!("{value}\n")
}

pub fn network_config(nics: &[Nic]) -> String {
    let config: Vec<Value> = nics
        .iter()
        .map(|nic| {
            let mut subnet = json!({
                "type": "static",
                "address": format!("{}/{}", nic.address, nic.prefix),
            });
            if let Some(gateway) = nic.gateway {
                subnet["gateway"] = json!(gateway.to_string());
            }
            json!({
                "type": "physical",
                "name": nic.name,
                "mac_address": nic.mac,
                "subnets": [subnet],
            })
        })
        .collect();
    let value = json!({ "version": 1, "config": config });
    format!("{value:#}\n")
}

pub fn user_data(identity: &Identity<'_>) -> String {
    let spec = identity.spec;
    let network = identity.network;
    let address = network.address(spec.octet);
    let mut files = vec![
        file(
            "/etc/resolv.conf",
            &run_dns::resolv_conf(spec, network),
            "0644",
        ),
        file(
            "/etc/hosts",
            &format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{address}\t{}\n",
                spec.hostname
            ),
            "0644",
        ),
    ];
    if identity.pace > 1 {
        files.push(file(
            "/etc/acura/pace",
            &format!("{}\n", identity.pace),
            "0644",
        ));
    }
    let mut runcmd: Vec<Value> = Vec::new();
    match spec.role {
        Role::Dns => {
            files.push(file(
                "/etc/dnsmasq.d/acura-ha.conf",
                &run_dns::dnsmasq_config(network, identity.hosts),
                "0644",
            ));
            runcmd.push(json!(["systemctl", "enable", "--now", "dnsmasq.service"]));
        }
        Role::Lb => runcmd.push(json!(["systemctl", "enable", "--now", "nginx.service"])),
        Role::Node | Role::Deployer => {}
    }
    let mut config = json!({
        // The hostname exactly as the spec has it, dots included: preflight's C3 must see
        // an injected FQDN.
        "hostname": spec.hostname,
        "fqdn": spec.hostname,
        "prefer_fqdn_over_hostname": true,
        "preserve_hostname": false,
        "manage_etc_hosts": false,
        "disable_root": false,
        "ssh_pwauth": false,
        "ssh_authorized_keys": [identity.authorized_key],
        "write_files": files,
    });
    // cloud-init's schema wants at least one command in a `runcmd`, so a role without
    // services to start has none.
    if !runcmd.is_empty() {
        config["runcmd"] = json!(runcmd);
    }
    if !identity.packages.is_empty() {
        config["package_update"] = json!(true);
        config["packages"] = json!(identity.packages);
    }
    format!("#cloud-config\n{config:#}\n")
}

fn file(path: &str, content: &str, permissions: &str) -> Value {
    json!({ "path": path, "content": content, "permissions": permissions, "owner": "root:root" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{HostName, Resolver, TopologySpec};

    fn network() -> Network {
        Network {
            subnet: Ipv4Addr::new(10, 214, 9, 0),
            gateway: Ipv4Addr::new(10, 214, 9, 1),
            dns: Ipv4Addr::new(10, 214, 9, 2),
            zone: "acura.test".into(),
            probe_name: "probe.acura.test".into(),
        }
    }

    fn identity<'a>(spec: &'a HostSpec, network: &'a Network, all: &'a [HostSpec]) -> Identity<'a> {
        Identity {
            instance_id: "run-1/node-1".into(),
            spec,
            network,
            hosts: all,
            authorized_key: "ssh-ed25519 AAAAC3Nza acura-ha \"quoted\"",
            nics: vec![Nic {
                name: "eth0".into(),
                mac: "52:54:00:09:00:0b".into(),
                address: network.address(spec.octet),
                prefix: 24,
                gateway: Some(network.gateway),
            }],
            packages: vec![],
            pace: 1,
        }
    }

    fn cloud_config(text: &str) -> Value {
        let body = text
            .strip_prefix("#cloud-config\n")
            .expect("the cloud-config header");
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn user_data_carries_key_hostname_and_resolver() {
        let spec = TopologySpec::standard(3);
        let net = network();
        let mut node = spec.get(&HostName::node(1)).unwrap().clone();
        node.hostname = "node-1.acura.test".into();
        let data = cloud_config(&user_data(&identity(&node, &net, &spec.hosts)));
        assert_eq!(data["hostname"], "node-1.acura.test");
        assert_eq!(data["prefer_fqdn_over_hostname"], true);
        assert_eq!(
            data["ssh_authorized_keys"][0],
            "ssh-ed25519 AAAAC3Nza acura-ha \"quoted\""
        );
        assert_eq!(data["disable_root"], false);
        let files = data["write_files"].as_array().unwrap();
        let resolv = files
            .iter()
            .find(|f| f["path"] == "/etc/resolv.conf")
            .unwrap();
        assert_eq!(
            resolv["content"],
            "search acura.test\nnameserver 10.214.9.2\noptions timeout:2 attempts:1\n"
        );
        let hosts = files.iter().find(|f| f["path"] == "/etc/hosts").unwrap();
        assert!(hosts["content"]
            .as_str()
            .unwrap()
            .ends_with("10.214.9.11\tnode-1.acura.test\n"));
        // cloud-init's schema refuses an empty `runcmd`: a node, with no role service, has none.
        assert!(data.get("runcmd").is_none(), "{data:#}");
        assert!(data.get("packages").is_none());
        assert!(
            files.iter().all(|f| f["path"] != "/etc/acura/pace"),
            "a host at full speed needs no pace"
        );
    }

    #[test]
    fn a_slow_host_tells_the_stand_in_its_pace() {
        let spec = TopologySpec::standard(3);
        let net = network();
        let node = spec.get(&HostName::node(2)).unwrap().clone();
        let mut slow = identity(&node, &net, &spec.hosts);
        slow.pace = 5;
        let data = cloud_config(&user_data(&slow));
        let pace = data["write_files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "/etc/acura/pace")
            .expect("the pace file");
        assert_eq!(pace["content"], "5\n");
    }

    #[test]
    fn the_dns_host_serves_the_zone_and_asks_itself() {
        let spec = TopologySpec::standard(3);
        let net = network();
        let dns = spec.get(&HostName::dns()).unwrap();
        let data = cloud_config(&user_data(&identity(dns, &net, &spec.hosts)));
        let files = data["write_files"].as_array().unwrap();
        let zone = files
            .iter()
            .find(|f| f["path"] == "/etc/dnsmasq.d/acura-ha.conf")
            .unwrap()["content"]
            .as_str()
            .unwrap();
        assert!(zone.contains("host-record=node-2.acura.test,node-2,10.214.9.12\n"));
        assert!(zone.contains("host-record=probe.acura.test,10.214.9.10\n"));
        let resolv = files
            .iter()
            .find(|f| f["path"] == "/etc/resolv.conf")
            .unwrap();
        assert!(resolv["content"]
            .as_str()
            .unwrap()
            .contains("nameserver 127.0.0.1\n"));
        assert_eq!(
            data["runcmd"][0],
            json!(["systemctl", "enable", "--now", "dnsmasq.service"])
        );
    }

    #[test]
    fn broken_dns_names_the_blackhole_and_the_lb_starts_nginx() {
        let spec = TopologySpec::standard(3);
        let net = network();
        let mut node = spec.get(&HostName::node(2)).unwrap().clone();
        node.resolver = Resolver::Unreachable;
        let data = cloud_config(&user_data(&identity(&node, &net, &spec.hosts)));
        assert!(data["write_files"][0]["content"]
            .as_str()
            .unwrap()
            .contains("nameserver 10.214.9.254\n"));
        let lb = spec.get(&HostName::lb()).unwrap();
        let mut id = identity(lb, &net, &spec.hosts);
        id.packages = vec!["nginx".into(), "libnginx-mod-stream".into()];
        let data = cloud_config(&user_data(&id));
        assert_eq!(data["runcmd"][0][3], "nginx.service");
        assert_eq!(data["packages"][1], "libnginx-mod-stream");
    }

    #[test]
    fn network_config_is_static_by_mac() {
        let nics = vec![
            Nic {
                name: "eth0".into(),
                mac: "52:54:00:09:00:0b".into(),
                address: Ipv4Addr::new(10, 214, 9, 11),
                prefix: 24,
                gateway: Some(Ipv4Addr::new(10, 214, 9, 1)),
            },
            Nic {
                name: "eth1".into(),
                mac: "52:54:01:09:00:0b".into(),
                address: Ipv4Addr::new(10, 0, 2, 15),
                prefix: 24,
                gateway: None,
            },
        ];
        let value: Value = serde_json::from_str(&network_config(&nics)).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["config"][0]["mac_address"], "52:54:00:09:00:0b");
        assert_eq!(
            value["config"][0]["subnets"][0]["address"],
            "10.214.9.11/24"
        );
        assert_eq!(value["config"][0]["subnets"][0]["gateway"], "10.214.9.1");
        assert!(
            value["config"][1]["subnets"][0].get("gateway").is_none(),
            "one default route only"
        );
    }

    #[test]
    fn meta_data_names_the_instance() {
        let spec = TopologySpec::standard(1);
        let net = network();
        let node = spec.get(&HostName::node(1)).unwrap();
        let value: Value =
            serde_json::from_str(&meta_data(&identity(node, &net, &spec.hosts))).unwrap();
        assert_eq!(
            value,
            json!({"instance-id": "run-1/node-1", "local-hostname": "node-1"})
        );
    }
}
