//! Host keys: which key each host must present, for as long as acura-ha talks to it.
//!
//! One policy everywhere: a key is pinned on first contact (or taken from a `known_hosts` file,
//! or from the record of a kept run) and every later connection, a reconnection after a power
//! cut or a `check --run` hours later, must present the same key; a different one is refused
//! with both fingerprints. The only legitimate change is a host the run replaced itself
//! ([`HostKeys::expect_new`]), whose new key is pinned on its first contact and reported as such.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use russh::keys::ssh_key::public::KeyData;
use russh::keys::{HashAlg, PublicKey};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::topology::{Host, HostName};

/// Why a key was pinned now, for the report of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinReason {
    /// Trust on first use: the first key the host presented.
    FirstContact,
    /// The host was replaced by the run (or accepted on purpose): its new key.
    Replaced,
}

/// Told of every key pinned while connecting (first contacts, replaced hosts).
pub type OnPin = Arc<dyn Fn(&HostName, &str, PinReason) + Send + Sync>;

/// What a host presented against what was pinned for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// A different key: refuse the connection.
    Changed {
        pinned: String,
        presented: String,
    },
    /// No key known and first contact not trusted (a `known_hosts` file that lacks the host).
    Unknown {
        presented: String,
    },
}

#[derive(Default)]
struct State {
    pins: BTreeMap<HostName, String>,
    /// Hosts whose next key is a new one (replaced by the run, or accepted on purpose).
    renewing: Vec<HostName>,
}

/// The pins of one topology, shared by every connection to it.
#[derive(Clone)]
pub struct HostKeys {
    state: Arc<Mutex<State>>,
    /// Pin an unknown host's first key (trust on first use), or refuse it.
    trust_first_contact: bool,
    on_pin: Option<OnPin>,
}

impl Default for HostKeys {
    fn default() -> Self {
        HostKeys::trust_on_first_use()
    }
}

impl HostKeys {
    /// Every host's first key is pinned (and reported); later ones must match it.
    pub fn trust_on_first_use() -> Self {
        HostKeys {
            state: Arc::default(),
            trust_first_contact: true,
            on_pin: None,
        }
    }

    /// Keys recorded earlier (a kept run's): those hosts must present them; a host without a
    /// recorded key is pinned on first contact.
    pub fn recorded(pins: BTreeMap<HostName, String>) -> Self {
        let keys = HostKeys::trust_on_first_use();
        keys.state.lock().unwrap().pins = pins;
        keys
    }

    /// Only the keys given (from a `known_hosts` file): a host without one is refused.
    pub fn strict(pins: BTreeMap<HostName, String>) -> Self {
        let mut keys = HostKeys::recorded(pins);
        keys.trust_first_contact = false;
        keys
    }

    /// Only the keys a `known_hosts` file lists for the hosts (by SSH address, `address:port`,
    /// hostname or the harness's name): a host it lacks is refused.
    pub fn from_known_hosts(known: &BTreeMap<String, String>, hosts: &[Host]) -> Self {
        let pins = hosts
            .iter()
            .filter_map(|h| {
                let ip = h.ssh.ip().to_string();
                let with_port = format!("{ip}:{}", h.ssh.port());
                [with_port, ip, h.hostname.clone(), h.name.to_string()]
                    .iter()
                    .find_map(|k| known.get(k))
                    .map(|fp| (h.name.clone(), fp.clone()))
            })
            .collect();
        HostKeys::strict(pins)
    }

    pub fn on_pin(mut self, on_pin: OnPin) -> Self {
        self.on_pin = Some(on_pin);
        self
    }

    /// The pins so far, by host.
    pub fn pinned(&self) -> BTreeMap<HostName, String> {
        self.state.lock().unwrap().pins.clone()
    }

    pub fn get(&self, host: &HostName) -> Option<String> {
        self.state.lock().unwrap().pins.get(host).cloned()
    }

    /// The host was replaced (or its new key accepted on purpose): the key it presents next is
    /// pinned in place of the old one, and reported as [`PinReason::Replaced`].
    pub fn expect_new(&self, host: &HostName) {
        let mut state = self.state.lock().unwrap();
        if !state.renewing.contains(host) {
            state.renewing.push(host.clone());
        }
    }

    /// Judges the key `host` presents, pinning it where the policy allows.
    pub fn check(&self, host: &HostName, presented: &str) -> Verdict {
        let reason = {
            let mut state = self.state.lock().unwrap();
            let renewing = state.renewing.iter().position(|h| h == host);
            match (state.pins.get(host), renewing) {
                (_, Some(i)) => {
                    state.renewing.remove(i);
                    state.pins.insert(host.clone(), presented.to_owned());
                    PinReason::Replaced
                }
                (Some(pinned), None) if pinned == presented => return Verdict::Accepted,
                (Some(pinned), None) => {
                    return Verdict::Changed {
                        pinned: pinned.clone(),
                        presented: presented.to_owned(),
                    }
                }
                (None, None) if self.trust_first_contact => {
                    state.pins.insert(host.clone(), presented.to_owned());
                    PinReason::FirstContact
                }
                (None, None) => {
                    return Verdict::Unknown {
                        presented: presented.to_owned(),
                    }
                }
            }
        };
        if let Some(on_pin) = &self.on_pin {
            on_pin(host, presented, reason);
        }
        Verdict::Accepted
    }
}

/// The SHA-256 fingerprint OpenSSH prints (`SHA256:…`).
pub fn fingerprint(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Keys of a `known_hosts` file, by the host names and addresses it lists: `host[,host…]
/// keytype base64 [comment]`, `[host]:port` patterns included. Hashed names (`|1|…`), markers
/// (`@cert-authority`, `@revoked`) and negated or wildcard patterns are refused at their line:
/// acura-ha pins keys of exact hosts only.
pub fn parse_known_hosts(path: &Path, text: &str) -> Result<BTreeMap<String, String>> {
    let mut keys = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = |field: &str, what: String| Error::Invalid {
            rendered: format!(
                "error: {}:{}: field `{field}`: {what}",
                path.display(),
                n + 1
            ),
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let hosts = words.next().unwrap_or_default();
        if hosts.starts_with('@') {
            return Err(at(
                "marker",
                format!("`{hosts}` lines are not supported; list each host's own key"),
            ));
        }
        if hosts.starts_with('|') {
            return Err(at(
                "hosts",
                "hashed host names are not supported; write the file with `ssh-keyscan` (without -H)".into(),
            ));
        }
        let (Some(kind), Some(base64)) = (words.next(), words.next()) else {
            return Err(at(
                "key",
                "missing (expected `<host>[,<host>…] <key type> <base64 key>`)".into(),
            ));
        };
        let key = PublicKey::from_openssh(&format!("{kind} {base64}"))
            .map_err(|e| at("key", format!("not an OpenSSH public key: {e}")))?;
        for pattern in hosts.split(',') {
            if pattern.contains(['*', '?', '!']) {
                return Err(at(
                    "hosts",
                    format!("`{pattern}`: patterns are not supported; name each host"),
                ));
            }
            let host = match pattern.strip_prefix('[').and_then(|p| p.split_once("]:")) {
                Some((host, "22")) => host.to_owned(),
                Some((host, port)) => format!("{host}:{port}"),
                None => pattern.to_owned(),
            };
            keys.insert(host, fingerprint(key.key_data()));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIEXWnq2/juGcrPwVWCXKxwvxOIedhJ6UusLNBWeu6wA";
    const OTHER: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIIl7/PU0BFbdcYD3eMhFeP7XmY+s3h91tUIm+qbqhMc";

    fn fp(line: &str) -> String {
        fingerprint(PublicKey::from_openssh(line).unwrap().key_data())
    }

    fn node(n: usize) -> HostName {
        HostName::node(n)
    }

    #[test]
    fn a_pinned_key_must_be_presented_again() {
        let pins = Arc::new(Mutex::new(Vec::new()));
        let seen = pins.clone();
        let keys = HostKeys::trust_on_first_use().on_pin(Arc::new(move |h, fp, why| {
            seen.lock().unwrap().push((h.clone(), fp.to_owned(), why))
        }));
        assert_eq!(keys.check(&node(1), "SHA256:a"), Verdict::Accepted);
        assert_eq!(keys.check(&node(1), "SHA256:a"), Verdict::Accepted);
        assert_eq!(
            keys.check(&node(1), "SHA256:b"),
            Verdict::Changed {
                pinned: "SHA256:a".into(),
                presented: "SHA256:b".into()
            }
        );
        assert_eq!(
            keys.get(&node(1)).as_deref(),
            Some("SHA256:a"),
            "a refused key is not pinned"
        );
        assert_eq!(
            *pins.lock().unwrap(),
            vec![(node(1), "SHA256:a".into(), PinReason::FirstContact)],
            "only the first contact is reported"
        );
    }

    #[test]
    fn a_replaced_host_gets_its_new_key_pinned_once() {
        let reasons = Arc::new(Mutex::new(Vec::new()));
        let seen = reasons.clone();
        let keys = HostKeys::recorded([(node(2), "SHA256:old".to_owned())].into()).on_pin(
            Arc::new(move |_, fp, why| seen.lock().unwrap().push((fp.to_owned(), why))),
        );
        keys.expect_new(&node(2));
        assert_eq!(keys.check(&node(2), "SHA256:new"), Verdict::Accepted);
        assert_eq!(keys.get(&node(2)).as_deref(), Some("SHA256:new"));
        // The renewal is used up: yet another key is a change again.
        assert!(matches!(
            keys.check(&node(2), "SHA256:third"),
            Verdict::Changed { .. }
        ));
        assert_eq!(
            *reasons.lock().unwrap(),
            vec![("SHA256:new".to_owned(), PinReason::Replaced)]
        );
    }

    #[test]
    fn strict_keys_refuse_a_host_they_do_not_list() {
        let keys = HostKeys::strict([(node(1), "SHA256:a".to_owned())].into());
        assert_eq!(keys.check(&node(1), "SHA256:a"), Verdict::Accepted);
        assert_eq!(
            keys.check(&node(3), "SHA256:c"),
            Verdict::Unknown {
                presented: "SHA256:c".into()
            }
        );
        assert_eq!(keys.get(&node(3)), None);
    }

    #[test]
    fn known_hosts_lines_give_each_listed_host_its_fingerprint() {
        let text = format!(
            "# keyscan of the site\n\n10.0.0.11,node-1 {ED25519}\n[10.0.0.12]:22 {OTHER} root@node-2\n[10.0.0.5]:2222 {ED25519}\n"
        );
        let keys = parse_known_hosts(Path::new("site_known_hosts"), &text).unwrap();
        assert_eq!(keys.get("10.0.0.11"), Some(&fp(ED25519)));
        assert_eq!(keys.get("node-1"), Some(&fp(ED25519)));
        assert_eq!(keys.get("10.0.0.12"), Some(&fp(OTHER)));
        assert_eq!(keys.get("10.0.0.5:2222"), Some(&fp(ED25519)));
        assert!(fp(ED25519).starts_with("SHA256:"));
        assert_ne!(fp(ED25519), fp(OTHER));
    }

    #[test]
    fn a_known_hosts_file_pins_the_hosts_it_lists_and_no_other() {
        let host = |name: &str, ip: &str, port: u16| Host {
            name: HostName(name.into()),
            role: crate::topology::Role::Node,
            hostname: format!("site-{name}"),
            address: ip.parse().unwrap(),
            ssh: format!("{ip}:{port}").parse().unwrap(),
        };
        let hosts = [
            host("node-1", "10.0.0.11", 22),
            host("node-2", "10.0.0.12", 22),
            host("node-3", "10.0.0.13", 22),
            host("lb", "127.0.0.1", 2201),
        ];
        let text = format!(
            "10.0.0.11 {ED25519}\nsite-node-2 {OTHER}\n[127.0.0.1]:2201 {OTHER}\n127.0.0.1 {ED25519}\n"
        );
        let known = parse_known_hosts(Path::new("kh"), &text).unwrap();
        let keys = HostKeys::from_known_hosts(&known, &hosts);
        let pins = keys.pinned();
        assert_eq!(pins.get(&node(1)), Some(&fp(ED25519)), "by address");
        assert_eq!(pins.get(&node(2)), Some(&fp(OTHER)), "by hostname");
        assert_eq!(
            pins.get(&HostName::lb()),
            Some(&fp(OTHER)),
            "by address and port first"
        );
        assert_eq!(pins.get(&node(3)), None);
        assert!(matches!(
            keys.check(&node(3), "SHA256:x"),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn bad_known_hosts_lines_are_named_by_file_line_and_field() {
        let cases = [
            ("node-1\n", 1, "field `key`: missing"),
            (
                "# c\nnode-1 ssh-ed25519 AAAAnotbase64!\n",
                2,
                "field `key`: not an OpenSSH public key",
            ),
            (
                &format!("|1|abc=|def= {ED25519}\n") as &str,
                1,
                "field `hosts`: hashed host names",
            ),
            (
                &format!("@cert-authority *.site {ED25519}\n") as &str,
                1,
                "field `marker`",
            ),
            (
                &format!("10.0.0.* {ED25519}\n") as &str,
                1,
                "field `hosts`: `10.0.0.*`: patterns",
            ),
        ];
        for (text, line, needle) in cases {
            let e = parse_known_hosts(Path::new("kh"), text)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("error: kh:{line}: ")), "{e}");
            assert!(e.contains(needle), "{e}");
        }
    }
}
