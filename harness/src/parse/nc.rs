//! C4 `for i in X Y Z; do nc -vz -w 2 $i 22; done` from the deploy host: one line per target.
//! Both netcats Debian ships are read: OpenBSD's (the default, `netcat-openbsd`) and the
//! traditional one. A timeout is the case the guide singles out: check the TCP/22 rule.

use super::error::{numbered_lines, ParseError};

const COMMAND: &str = "nc -vz";
const EXPECTED: &str =
    "a netcat verdict (\"Connection to … succeeded!\", \"nc: connect to … failed: …\")";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The target as given on the command line (or as traditional nc resolved it back).
    pub host: String,
    /// The address connected to, when netcat printed it beside a name.
    pub address: Option<String>,
    pub port: u16,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Refused,
    /// No answer within `-w`: a firewall (security group) dropping the SYN.
    TimedOut,
    /// No route, network or host unreachable.
    Unreachable {
        reason: String,
    },
    /// The name did not resolve.
    Unresolved {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

impl Outcome {
    fn from_reason(reason: &str) -> Outcome {
        let lower = reason.to_ascii_lowercase();
        if lower.contains("refused") {
            Outcome::Refused
        } else if lower.contains("timed out") {
            Outcome::TimedOut
        } else if lower.contains("unreachable") || lower.contains("no route") {
            Outcome::Unreachable {
                reason: reason.to_owned(),
            }
        } else {
            Outcome::Failed {
                reason: reason.to_owned(),
            }
        }
    }
}

pub fn parse(output: &str) -> Result<Vec<Probe>, ParseError> {
    numbered_lines(output)
        .map(|(number, line)| {
            let line = line.trim();
            openbsd_success(line)
                .or_else(|| openbsd_failure(line))
                .or_else(|| openbsd_unresolved(line))
                .or_else(|| traditional(line))
                .ok_or_else(|| ParseError::at(COMMAND, EXPECTED, number, line))
        })
        .collect()
}

/// `node-1 (10.213.7.11)` or `10.213.7.11`.
fn target(text: &str) -> Option<(String, Option<String>)> {
    let mut words = text.split_whitespace();
    let host = words.next()?;
    let address = match words.next() {
        Some(w) => Some(w.strip_prefix('(')?.strip_suffix(')')?.to_owned()),
        None => None,
    };
    words.next().is_none().then(|| (host.to_owned(), address))
}

/// `Connection to 10.213.7.11 22 port [tcp/ssh] succeeded!`
fn openbsd_success(line: &str) -> Option<Probe> {
    let rest = line
        .strip_prefix("Connection to ")?
        .strip_suffix(" succeeded!")?;
    let (before, _service) = rest.rsplit_once(" port ")?;
    let (target_text, port) = before.rsplit_once(' ')?;
    let (host, address) = target(target_text)?;
    Some(Probe {
        host,
        address,
        port: port.parse().ok()?,
        outcome: Outcome::Succeeded,
    })
}

/// `nc: connect to 10.213.7.13 port 22 (tcp) failed: Connection refused`, or
/// `… (tcp) timed out: Operation now in progress`.
fn openbsd_failure(line: &str) -> Option<Probe> {
    let rest = line.strip_prefix("nc: connect to ")?;
    let (target_text, rest) = rest.split_once(" port ")?;
    let (host, address) = target(target_text)?;
    let (port, rest) = rest.split_once(' ')?;
    let rest = rest
        .strip_prefix("(tcp) ")
        .or_else(|| rest.strip_prefix("(udp) "))?;
    let outcome = if let Some(reason) = rest.strip_prefix("failed: ") {
        Outcome::from_reason(reason)
    } else if rest.starts_with("timed out") {
        Outcome::TimedOut
    } else {
        return None;
    };
    Some(Probe {
        host,
        address,
        port: port.parse().ok()?,
        outcome,
    })
}

/// `nc: getaddrinfo for host "node-3" port 22: Temporary failure in name resolution`
fn openbsd_unresolved(line: &str) -> Option<Probe> {
    let rest = line.strip_prefix("nc: getaddrinfo for host \"")?;
    let (host, rest) = rest.split_once("\" port ")?;
    let (port, reason) = rest.split_once(": ")?;
    Some(Probe {
        host: host.to_owned(),
        address: None,
        port: port.parse().ok()?,
        outcome: Outcome::Unresolved {
            reason: reason.to_owned(),
        },
    })
}

/// `node-1 [10.213.7.11] 22 (ssh) open`, `(UNKNOWN) [10.213.7.12] 22 (ssh) : Connection timed out`
fn traditional(line: &str) -> Option<Probe> {
    let (name, rest) = line.split_once(" [")?;
    let (address, rest) = rest.split_once("] ")?;
    let (port, rest) = rest.split_once(" (")?;
    let (_service, verdict) = rest.split_once(')')?;
    let outcome = match verdict.trim() {
        "open" => Outcome::Succeeded,
        v => Outcome::from_reason(v.strip_prefix(": ")?),
    };
    let host = if name == "(UNKNOWN)" { address } else { name };
    Some(Probe {
        host: host.to_owned(),
        address: (host != address).then(|| address.to_owned()),
        port: port.parse().ok()?,
        outcome,
    })
}

impl Probe {
    /// The line OpenBSD netcat prints.
    pub fn to_line(&self) -> String {
        let target = match &self.address {
            Some(a) => format!("{} ({a})", self.host),
            None => self.host.clone(),
        };
        let port = self.port;
        match &self.outcome {
            Outcome::Succeeded => format!("Connection to {target} {port} port [tcp/*] succeeded!"),
            Outcome::TimedOut => {
                format!("nc: connect to {target} port {port} (tcp) timed out: Operation now in progress")
            }
            Outcome::Refused => {
                format!("nc: connect to {target} port {port} (tcp) failed: Connection refused")
            }
            Outcome::Unreachable { reason } | Outcome::Failed { reason } => {
                format!("nc: connect to {target} port {port} (tcp) failed: {reason}")
            }
            Outcome::Unresolved { reason } => {
                format!(
                    "nc: getaddrinfo for host \"{}\" port {port}: {reason}",
                    self.host
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn probe(host: &str, address: Option<&str>, outcome: Outcome) -> Probe {
        Probe {
            host: host.into(),
            address: address.map(Into::into),
            port: 22,
            outcome,
        }
    }

    #[test]
    fn openbsd_netcat_per_target() {
        let out = include_str!("../../../fixtures/outputs/nc/openbsd.txt");
        assert_eq!(
            parse(out).unwrap(),
            vec![
                probe("10.213.7.11", None, Outcome::Succeeded),
                probe("10.213.7.12", None, Outcome::TimedOut),
                probe("10.213.7.13", None, Outcome::Refused),
            ]
        );
    }

    #[test]
    fn names_resolution_failures_and_unreachable_networks() {
        let out = include_str!("../../../fixtures/outputs/nc/openbsd-names.txt");
        assert_eq!(
            parse(out).unwrap(),
            vec![
                probe("node-1", Some("10.213.7.11"), Outcome::Succeeded),
                probe("node-2", Some("10.213.7.12"), Outcome::Refused),
                probe(
                    "node-3",
                    None,
                    Outcome::Unresolved {
                        reason: "Temporary failure in name resolution".into()
                    }
                ),
                probe(
                    "10.213.7.14",
                    None,
                    Outcome::Unreachable {
                        reason: "Network is unreachable".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn traditional_netcat() {
        let out = include_str!("../../../fixtures/outputs/nc/traditional.txt");
        assert_eq!(
            parse(out).unwrap(),
            vec![
                probe("node-1.acura.test", Some("10.213.7.11"), Outcome::Succeeded),
                probe("10.213.7.12", None, Outcome::TimedOut),
                probe("10.213.7.13", None, Outcome::Refused),
            ]
        );
    }

    #[test]
    fn anything_else_is_an_error() {
        let e = parse(
            "Connection to 10.0.0.1 22 port [tcp/ssh] succeeded!\nbash: nc: command not found\n",
        )
        .unwrap_err();
        assert!(
            matches!(e.found, crate::parse::Found::Line { number: 2, .. }),
            "{e}"
        );
        assert!(
            parse("nc: connect to 10.0.0.1 port 99999 (tcp) failed: Connection refused").is_err()
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Succeeded),
            Just(Outcome::Refused),
            Just(Outcome::TimedOut),
            Just(Outcome::Unreachable {
                reason: "No route to host".into()
            }),
            Just(Outcome::Unreachable {
                reason: "Network is unreachable".into()
            }),
            Just(Outcome::Failed {
                reason: "Permission denied".into()
            }),
        ]
    }

    fn a_probe() -> impl Strategy<Value = Probe> {
        let host = prop_oneof![
            any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
            "[a-z][a-z0-9-]{0,15}(\\.[a-z]{2,6})?",
        ];
        (
            host,
            proptest::option::of(any::<std::net::Ipv4Addr>()),
            any::<u16>(),
            outcome(),
        )
            .prop_map(|(host, address, port, outcome)| Probe {
                host,
                address: address.map(|a| a.to_string()),
                port,
                outcome,
            })
    }

    proptest! {
        #[test]
        fn printed_lines_parse_back(probes in prop::collection::vec(a_probe(), 0..5)) {
            let out: String = probes.iter().map(|p| p.to_line() + "\n").collect();
            prop_assert_eq!(parse(&out).unwrap(), probes);
        }

        #[test]
        fn unresolved_names_parse_back(host in "[a-z][a-z0-9.-]{0,20}", port in any::<u16>()) {
            let p = Probe { host, address: None, port, outcome: Outcome::Unresolved { reason: "Name or service not known".into() } };
            prop_assert_eq!(parse(&p.to_line()).unwrap(), vec![p]);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_netcat_like_lines_never_panic(
            lines in prop::collection::vec("(nc: connect to |Connection to |nc: getaddrinfo for host \"|\\(UNKNOWN\\) \\[)[ -~]{0,40}", 0..5)
        ) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
