//! `--mask-addresses`: every address and hostname of the site replaced by a placeholder, the
//! same one everywhere in the bundle. Addresses become documentation addresses (192.0.2.0/24,
//! RFC 5737) so what reads them as addresses still can: the topology's hosts first, in order,
//! then every other address the collected texts name (a nameserver, a gateway); hostnames
//! become `site-host-N`. The map stays with the collector, never in the bundle.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::LazyLock;

use regex::Regex;

use crate::topology::Topology;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mask {
    /// Site text → placeholder, longest first when applied.
    pairs: Vec<(String, String)>,
    /// Placeholder addresses handed out so far.
    next: u8,
}

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("a valid pattern")
});

impl Mask {
    /// The placeholders for `topology`'s addresses and hostnames (the harness's own names,
    /// `node-1` and `lb`, are not the site's and stay).
    pub fn of(topology: &Topology) -> Mask {
        let mut mask = Mask {
            pairs: Vec::new(),
            next: 10,
        };
        for (i, host) in topology.hosts.iter().enumerate() {
            mask.address(host.address);
            if host.hostname != host.name.as_str() && !host.hostname.is_empty() {
                mask.pairs
                    .push((host.hostname.clone(), format!("site-host-{}", i + 1)));
            }
        }
        for address in [topology.network.dns, topology.network.gateway] {
            if !address.is_unspecified() {
                mask.address(address);
            }
        }
        let subnet = topology.network.subnet;
        if !subnet.is_unspecified() {
            mask.pairs.push((subnet.to_string(), "192.0.2.0".into()));
        }
        mask.sort();
        mask
    }

    /// Every other address `text` names gets a placeholder too (loopback and the
    /// placeholders' own range excepted).
    pub fn cover(&mut self, text: &str) {
        for m in ADDRESS.find_iter(text) {
            let Ok(address) = m.as_str().parse::<Ipv4Addr>() else {
                continue;
            };
            let ours = address.octets()[..3] == [192, 0, 2];
            if address.is_loopback() || address.is_unspecified() || address.is_broadcast() || ours {
                continue;
            }
            self.address(address);
        }
        self.sort();
    }

    fn address(&mut self, address: Ipv4Addr) {
        let text = address.to_string();
        if self.pairs.iter().any(|(from, _)| *from == text) {
            return;
        }
        let placeholder = Ipv4Addr::new(192, 0, 2, self.next);
        self.next = self.next.saturating_add(1).min(254);
        self.pairs.push((text, placeholder.to_string()));
    }

    fn sort(&mut self) {
        self.pairs
            .sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    }

    /// `text` with every site address and hostname replaced, each only where it stands
    /// alone (10.0.0.1 is not part of 10.0.0.10).
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (from, to) in &self.pairs {
            out = replace_whole(&out, from, to);
        }
        out
    }

    /// The map, for the collector's own records.
    pub fn map(&self) -> BTreeMap<String, String> {
        self.pairs.iter().cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

pub(crate) fn replace_whole(text: &str, from: &str, to: &str) -> String {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        // A trailing dot ends a sentence, not a longer name.
        let after_ok = match after {
            None => true,
            Some('.') => !rest[at + from.len() + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric()),
            Some(c) => !part(c),
        };
        if !before.is_some_and(part) && after_ok {
            out.push_str(&rest[..at]);
            out.push_str(to);
        } else {
            out.push_str(&rest[..at + from.len()]);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::topology;

    #[test]
    fn every_address_is_replaced_alone_and_consistently() {
        let t = topology();
        let mask = Mask::of(&t);
        let n1 = t.host(&"node-1".into()).unwrap().address.to_string();
        let lb = t.lb().unwrap().address.to_string();
        let text = format!("server {n1}:443; server {n1}:80; lb {lb}. {n1}0 x{n1}");
        let out = mask.apply(&text);
        assert!(!out.contains(&format!("{n1}:")), "{out}");
        assert!(!out.contains(&format!("lb {lb}.")), "{out}");
        let once = mask.apply(&n1);
        assert_eq!(out.matches(&once).count(), 2, "{out}");
        // Longer numbers that merely start with the address are left alone.
        assert!(out.contains(&format!("{n1}0")), "{out}");
        assert!(out.contains(&format!("x{n1}")), "{out}");
    }

    #[test]
    fn addresses_beyond_the_topology_get_the_next_placeholders() {
        let t = topology();
        let mut mask = Mask::of(&t);
        mask.cover("nameserver 10.99.0.2\nnameserver 127.0.0.53\n# 192.0.2.10 is ours\n");
        let out = mask.apply("nameserver 10.99.0.2 and 127.0.0.53");
        assert!(!out.contains("10.99.0.2"), "{out}");
        assert!(out.contains("127.0.0.53"), "{out}");
        assert!(mask.map().contains_key("10.99.0.2"));
        assert!(!mask.map().contains_key("192.0.2.10"));
    }
}
