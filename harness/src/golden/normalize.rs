//! Observations in a form that does not depend on the provider or the run: every address of
//! the run becomes the name of its host, generated pod suffixes become `[hash]`, secrets
//! become `[token]`, run-dependent fields (`*_ms`, `timestamp`, `measured`) are dropped and
//! every list is sorted.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::Value;

use crate::secrets::Secrets;
use crate::topology::Topology;

static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").unwrap());

/// Suffixes Kubernetes generates for pod names: a ReplicaSet's pod-template hash and the
/// pod's own five characters, or only the latter (DaemonSet, Job). Both come from the
/// alphabet Kubernetes uses for generated names, which has no vowels, `y`, `0`, `1` or `3`,
/// so ordinary words (`proxy`, `nginx`) are left alone.
static POD_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    let c = "[bcdfghjklmnpqrstvwxz2456789]";
    Regex::new(&format!(
        r"\b([a-z0-9]+(?:-[a-z0-9]+)*?)-(?:{c}{{6,10}}-)?{c}{{5}}\b"
    ))
    .unwrap()
});

/// Secret shapes the procedure prints, in case one reaches an observation unregistered:
/// bootstrap tokens (`abcdef.0123456789abcdef`), CA hashes and certificate keys (64 hex).
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b|\b[0-9a-f]{64}\b").unwrap());

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
        .unwrap()
});

/// Measured durations as Rust and Go print them (`1.52ms`, `3.000214s`). Whole numbers
/// (`within 30s`) are configured deadlines, not measurements, and stay.
static DURATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d+\.\d+(?:ns|µs|us|ms|s)\b").unwrap());

/// Builds the normalized form of observations for one run.
#[derive(Clone, Debug, Default)]
pub struct Normalizer {
    addresses: HashMap<Ipv4Addr, String>,
    /// The run's /24: addresses in it that no host has become `[subnet].<octet>`.
    subnet: Option<[u8; 3]>,
    /// Longest first, so a secret is replaced before any shorter one inside it.
    secrets: Vec<String>,
}

impl Normalizer {
    pub fn new(topology: &Topology) -> Self {
        let mut addresses = HashMap::new();
        for host in &topology.hosts {
            addresses.insert(host.address, host.name.to_string());
        }
        addresses
            .entry(topology.network.gateway)
            .or_insert_with(|| "gateway".to_owned());
        addresses
            .entry(topology.network.dns)
            .or_insert_with(|| "dns".to_owned());
        let [a, b, c, _] = topology.network.subnet.octets();
        Normalizer {
            addresses,
            subnet: Some([a, b, c]),
            secrets: Vec::new(),
        }
    }

    /// Also replace every secret the run registered.
    pub fn with_secrets(mut self, secrets: &Secrets) -> Self {
        for value in secrets.values() {
            self.add_secret(&value);
        }
        self
    }

    pub fn add_secret(&mut self, value: &str) {
        let value = value.trim();
        // Same floor as the registry: shorter values would mangle ordinary text.
        if value.len() >= 6 && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_owned());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// The normalized copy of `value`.
    pub fn normalize(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(|v| self.normalize(v)).collect();
                items.sort_by_cached_key(canonical);
                Value::Array(items)
            }
            Value::Object(map) => {
                let mut out: BTreeMap<String, Value> = BTreeMap::new();
                for (key, v) in map {
                    if is_run_dependent(key) {
                        continue;
                    }
                    let key = self.text(key);
                    let v = self.normalize(v);
                    // Two keys that differ only by an address or a generated suffix: keep
                    // both values rather than lose one.
                    match out.remove(&key) {
                        None => {
                            out.insert(key, v);
                        }
                        Some(Value::Array(mut both)) if both.iter().all(|b| !b.is_array()) => {
                            both.push(v);
                            both.sort_by_cached_key(canonical);
                            out.insert(key, Value::Array(both));
                        }
                        Some(previous) => {
                            let mut both = vec![previous, v];
                            both.sort_by_cached_key(canonical);
                            out.insert(key, Value::Array(both));
                        }
                    }
                }
                Value::Object(out.into_iter().collect())
            }
            other => other.clone(),
        }
    }

    /// The normalized copy of one text.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[token]");
            }
        }
        out = TOKEN.replace_all(&out, "[token]").into_owned();
        out = TIMESTAMP.replace_all(&out, "[timestamp]").into_owned();
        out = IPV4
            .replace_all(&out, |caps: &Captures| self.address(&caps[0]))
            .into_owned();
        out = DURATION.replace_all(&out, "[duration]").into_owned();
        POD_SUFFIX.replace_all(&out, "$1-[hash]").into_owned()
    }

    fn address(&self, text: &str) -> String {
        let Ok(addr) = text.parse::<Ipv4Addr>() else {
            return text.to_owned();
        };
        if let Some(name) = self.addresses.get(&addr) {
            return name.clone();
        }
        let [a, b, c, d] = addr.octets();
        match self.subnet {
            Some(subnet) if subnet == [a, b, c] => format!("[subnet].{d}"),
            _ => text.to_owned(),
        }
    }
}

/// Fields whose value depends on the run, not on the cluster's state.
fn is_run_dependent(key: &str) -> bool {
    key.ends_with("_ms") || key == "timestamp" || key == "measured"
}

/// A total order on values, for sorting sets.
fn canonical(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Host, HostName, Network, Role};
    use proptest::prelude::*;
    use serde_json::json;

    fn topology() -> Topology {
        let net = Network {
            subnet: "10.213.7.0".parse().unwrap(),
            gateway: "10.213.7.1".parse().unwrap(),
            dns: "10.213.7.2".parse().unwrap(),
            zone: "acura.test".into(),
            probe_name: "probe.acura.test".into(),
        };
        let host = |name: &str, role, octet| Host {
            name: HostName::from(name),
            role,
            hostname: name.into(),
            address: net.address(octet),
            ssh: std::net::SocketAddr::new(net.address(octet).into(), 22),
        };
        let hosts = vec![
            host("dns", Role::Dns, 2),
            host("lb", Role::Lb, 10),
            host("deployer", Role::Deployer, 5),
            host("node-1", Role::Node, 11),
            host("node-2", Role::Node, 12),
            host("node-3", Role::Node, 13),
        ];
        Topology {
            network: net,
            hosts,
        }
    }

    #[test]
    fn addresses_become_host_names_without_touching_longer_ones() {
        let n = Normalizer::new(&topology());
        assert_eq!(
            n.text("https://10.213.7.11:2379 via 10.213.7.1, not 10.213.7.111 or 8.8.8.8"),
            "https://node-1:2379 via gateway, not [subnet].111 or 8.8.8.8"
        );
    }

    #[test]
    fn generated_pod_suffixes_become_hash_and_names_stay() {
        let n = Normalizer::new(&topology());
        assert_eq!(
            n.text("coredns-5d78c9869d-x2k4p kube-proxy-7fxzk etcd-node-1 mariadb-0 kube-proxy nginx-bcdfg"),
            "coredns-[hash] kube-proxy-[hash] etcd-node-1 mariadb-0 kube-proxy nginx-[hash]"
        );
    }

    #[test]
    fn secrets_tokens_and_times_are_replaced() {
        let secrets = Secrets::default();
        secrets.register("s3cr3t-kibana", "password");
        let n = Normalizer::new(&topology()).with_secrets(&secrets);
        assert_eq!(
            n.text("token knsqgq.cr889wp2v2vpcj2x key 3f4d27d1eefadbdf736b52053c76d60893dc42a1ba7c06d06df0eb47a88418b1 pw s3cr3t-kibana at 2025-12-01T09:45:12.123Z took 1.52ms within 30s"),
            "token [token] key [token] pw [token] at [timestamp] took [duration] within 30s"
        );
    }

    #[test]
    fn run_dependent_fields_are_dropped_and_lists_sorted() {
        let n = Normalizer::new(&topology());
        let v = json!({
            "cells": {"harness → 10.213.7.10:443/tcp": "open"},
            "latency_ms": {"harness → 10.213.7.10:443/tcp": 3},
            "measured": {"nonce": "abc"},
            "timestamp": "now",
            "nodes": ["10.213.7.13", "10.213.7.11"],
        });
        assert_eq!(
            n.normalize(&v),
            json!({"cells": {"harness → lb:443/tcp": "open"}, "nodes": ["node-1", "node-3"]})
        );
    }

    #[test]
    fn keys_that_collide_after_normalization_keep_both_values() {
        let n = Normalizer::new(&topology());
        let v =
            json!({"coredns-5d78c9869d-x2k4p": "ready", "coredns-5d78c9869d-bbbbb": "not ready"});
        assert_eq!(
            n.normalize(&v),
            json!({"coredns-[hash]": ["not ready", "ready"]})
        );
    }

    fn arbitrary_value(topology: &Topology) -> impl Strategy<Value = Value> {
        let addresses: Vec<String> = topology
            .hosts
            .iter()
            .map(|h| h.address.to_string())
            .chain([topology.network.gateway.to_string()])
            .collect();
        let word = prop_oneof![
            "[a-z]{1,8}".prop_map(|s| s),
            "[a-z]{2,6}-[bcdfghjklmnpqrstvwxz2456789]{5}".prop_map(|s| s),
            proptest::sample::select(addresses),
            "[0-9]{1,3}\\.[0-9]{1,3}".prop_map(|s| s),
            Just("→".to_owned()),
            Just(":".to_owned()),
        ];
        let text = proptest::collection::vec(word, 0..6).prop_map(|words| {
            // Glue some words with separators that hug addresses (`:`, `/`, `,`).
            words.join(if words.len() % 2 == 0 { " " } else { ":" })
        });
        let leaf = prop_oneof![
            text.clone().prop_map(Value::String),
            any::<u32>().prop_map(|n| json!(n)),
            any::<bool>().prop_map(Value::Bool),
        ];
        leaf.prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(text.clone(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    strings(v, out);
                }
            }
            _ => {}
        }
    }

    proptest! {
        #[test]
        fn no_address_of_the_topology_survives(v in arbitrary_value(&topology())) {
            let t = topology();
            let n = Normalizer::new(&t);
            let mut texts = Vec::new();
            strings(&n.normalize(&v), &mut texts);
            for text in &texts {
                for found in IPV4.find_iter(text) {
                    let addr: Ipv4Addr = match found.as_str().parse() { Ok(a) => a, Err(_) => continue };
                    prop_assert!(
                        t.name_of(addr).is_none() && addr != t.network.gateway,
                        "{addr} survived in {text:?}"
                    );
                }
            }
        }

        #[test]
        fn normalizing_twice_changes_nothing(v in arbitrary_value(&topology())) {
            let n = Normalizer::new(&topology());
            let once = n.normalize(&v);
            prop_assert_eq!(n.normalize(&once), once);
        }
    }
}
