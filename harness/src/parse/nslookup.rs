//! C2 `nslookup <probe-name>` on every node (bind9's nslookup, as Debian and Ubuntu ship it):
//! the server asked, the answers, or why there are none. The guide's advice for a failure
//! depends on which: NXDOMAIN is a zone problem, a timeout means no nameserver is reachable
//! (fix the subnet's DNS).

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use super::error::{numbered_lines, ParseError};

const COMMAND: &str = "nslookup";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The server that answered (absent when none could be reached).
    pub server: Option<SocketAddr>,
    /// False when nslookup said "Non-authoritative answer".
    pub authoritative: bool,
    pub records: Vec<Record>,
    pub failure: Option<Failure>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Address {
        name: String,
        address: IpAddr,
    },
    Alias {
        name: String,
        canonical: String,
    },
    /// A reverse lookup's answer.
    Pointer {
        name: String,
        target: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    NxDomain {
        name: String,
    },
    /// SERVFAIL, REFUSED or another error code from the server.
    ServerFailure {
        name: String,
        rcode: String,
    },
    /// The name exists but has no record of the asked type.
    NoAnswer {
        name: String,
    },
    /// No nameserver answered in time.
    TimedOut,
    /// No nameserver could be reached for another reason (connection refused, no route).
    Unreachable {
        reason: String,
    },
}

impl Lookup {
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Address { address, .. } => Some(*address),
                _ => None,
            })
            .collect()
    }

    /// The name resolved to at least one address.
    pub fn resolved(&self) -> bool {
        self.failure.is_none() && !self.addresses().is_empty()
    }
}

pub fn parse(output: &str) -> Result<Lookup, ParseError> {
    let mut lookup = Lookup {
        authoritative: true,
        ..Lookup::default()
    };
    let mut server_address_next = false;
    let mut name: Option<String> = None;
    let mut communication_errors: Vec<String> = Vec::new();
    let mut last = None;
    for (number, line) in numbered_lines(output) {
        last = Some((number, line));
        let fail = |expected: &str| ParseError::at(COMMAND, expected, number, line);
        let line = line.trim();
        if let Some(diagnostic) = line.strip_prefix(";;") {
            let diagnostic = diagnostic.trim();
            if diagnostic == "connection timed out; no servers could be reached" {
                lookup.failure = Some(Failure::TimedOut);
            } else if let Some(rest) = diagnostic.strip_prefix("communications error to ") {
                let reason = rest.split_once(": ").map_or(rest, |(_, r)| r);
                communication_errors.push(reason.to_owned());
            } else if diagnostic == "no servers could be reached" {
                lookup.failure = Some(
                    if communication_errors.iter().any(|r| r.contains("timed out")) {
                        Failure::TimedOut
                    } else {
                        Failure::Unreachable {
                            reason: communication_errors.last().cloned().unwrap_or_default(),
                        }
                    },
                );
            }
            // Other `;;` lines are progress notes ("Got SERVFAIL reply from …").
            continue;
        }
        if line.starts_with("Server:") {
            server_address_next = true;
        } else if let Some(value) = line.strip_prefix("Address:") {
            let value = value.trim();
            if server_address_next {
                lookup.server = Some(
                    server_address(value).ok_or_else(|| fail("the server's <address>#<port>"))?,
                );
                server_address_next = false;
            } else {
                let address = value.parse().map_err(|_| fail("an address"))?;
                let name = name
                    .clone()
                    .ok_or_else(|| fail("\"Name:\" before an answer's address"))?;
                lookup.records.push(Record::Address { name, address });
            }
        } else if let Some(value) = line.strip_prefix("Name:") {
            name = Some(value.trim().to_owned());
        } else if line == "Non-authoritative answer:" {
            lookup.authoritative = false;
        } else if line == "Authoritative answers can be found from:" {
            // What follows is the zone's NS records, not answers.
            break;
        } else if let Some(rest) = line.strip_prefix("** server can't find ") {
            let (name, rcode) = rest
                .rsplit_once(": ")
                .ok_or_else(|| fail("<name>: <rcode>"))?;
            let name = name.to_owned();
            lookup.failure = Some(match rcode {
                "NXDOMAIN" => Failure::NxDomain { name },
                rcode => Failure::ServerFailure {
                    name,
                    rcode: rcode.to_owned(),
                },
            });
        } else if let Some(rest) = line.strip_prefix("*** Can't find ") {
            let name = rest.split_once(": ").map_or(rest, |(n, _)| n).to_owned();
            lookup.failure = Some(Failure::NoAnswer { name });
        } else if let Some((owner, rest)) = line.split_once(char::is_whitespace) {
            let rest = rest.trim();
            let record = if let Some(target) = rest.strip_prefix("canonical name = ") {
                Record::Alias {
                    name: owner.to_owned(),
                    canonical: absolute(target),
                }
            } else if let Some(target) = rest.strip_prefix("name = ") {
                Record::Pointer {
                    name: owner.to_owned(),
                    target: absolute(target),
                }
            } else {
                return Err(fail(EXPECTED));
            };
            lookup.records.push(record);
        } else {
            return Err(fail(EXPECTED));
        }
    }
    if lookup.server.is_none() && lookup.records.is_empty() && lookup.failure.is_none() {
        return Err(match last {
            Some((number, line)) => ParseError::at(COMMAND, EXPECTED, number, line),
            None => ParseError::end(COMMAND, EXPECTED),
        });
    }
    Ok(lookup)
}

const EXPECTED: &str = "nslookup's Server/Address, Name/Address, or a failure line";

fn absolute(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_owned()
}

/// `10.213.7.2#53`, `2001:4860:4860::8888#53`, or busybox's `10.213.7.2:53`.
fn server_address(value: &str) -> Option<SocketAddr> {
    if let Some((ip, port)) = value.rsplit_once('#') {
        return Some(SocketAddr::new(ip.parse().ok()?, port.parse().ok()?));
    }
    value
        .parse()
        .ok()
        .or_else(|| Some(SocketAddr::new(value.parse().ok()?, 53)))
}

impl Lookup {
    /// The text bind9's nslookup prints for this lookup.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(server) = self.server {
            let _ = write!(
                out,
                "Server:\t\t{}\nAddress:\t{}#{}\n\n",
                server.ip(),
                server.ip(),
                server.port()
            );
        }
        if !self.authoritative {
            out.push_str("Non-authoritative answer:\n");
        }
        for record in &self.records {
            let _ = match record {
                Record::Address { name, address } => {
                    writeln!(out, "Name:\t{name}\nAddress: {address}")
                }
                Record::Alias { name, canonical } => {
                    writeln!(out, "{name}\tcanonical name = {canonical}.")
                }
                Record::Pointer { name, target } => writeln!(out, "{name}\tname = {target}."),
            };
        }
        let _ = match &self.failure {
            None => Ok(()),
            Some(Failure::NxDomain { name }) => {
                writeln!(out, "** server can't find {name}: NXDOMAIN")
            }
            Some(Failure::ServerFailure { name, rcode }) => {
                writeln!(out, "** server can't find {name}: {rcode}")
            }
            Some(Failure::NoAnswer { name }) => writeln!(out, "*** Can't find {name}: No answer"),
            Some(Failure::TimedOut) => {
                writeln!(out, ";; connection timed out; no servers could be reached")
            }
            Some(Failure::Unreachable { reason }) => writeln!(
                out,
                ";; communications error to 10.0.0.1#53: {reason}\n;; no servers could be reached"
            ),
        };
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Found;
    use proptest::prelude::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../../fixtures/outputs/nslookup/", $name))
        };
    }

    fn server() -> Option<SocketAddr> {
        Some("10.213.7.2:53".parse().unwrap())
    }

    fn address(name: &str, ip: &str) -> Record {
        Record::Address {
            name: name.into(),
            address: ip.parse().unwrap(),
        }
    }

    #[test]
    fn the_probe_name_resolves() {
        let lookup = parse(fixture!("probe.txt")).unwrap();
        assert_eq!(
            lookup,
            Lookup {
                server: server(),
                authoritative: true,
                records: vec![address("probe.acura.test", "10.213.7.2")],
                failure: None,
            }
        );
        assert!(lookup.resolved());
    }

    #[test]
    fn the_guides_probe_through_8_8_8_8() {
        let lookup = parse(fixture!("google-via-8.8.8.8.txt")).unwrap();
        assert_eq!(lookup.server, Some("8.8.8.8:53".parse().unwrap()));
        assert!(!lookup.authoritative);
        assert_eq!(
            lookup.addresses(),
            [
                "142.250.185.78".parse::<IpAddr>().unwrap(),
                "2a00:1450:4001:82a::200e".parse().unwrap()
            ]
        );
    }

    #[test]
    fn aliases_and_reverse_lookups() {
        let lookup = parse(fixture!("cname.txt")).unwrap();
        assert_eq!(
            lookup.records,
            vec![
                Record::Alias {
                    name: "ui.acura.test".into(),
                    canonical: "node-1.acura.test".into()
                },
                address("node-1.acura.test", "10.213.7.11"),
            ]
        );
        let lookup = parse(fixture!("reverse.txt")).unwrap();
        assert_eq!(
            lookup.records,
            vec![Record::Pointer {
                name: "11.7.213.10.in-addr.arpa".into(),
                target: "node-1.acura.test".into()
            }]
        );
        assert!(!lookup.resolved());
    }

    #[test]
    fn failures_are_told_apart() {
        let failure = |text: &str| parse(text).unwrap().failure;
        assert_eq!(
            failure(fixture!("nxdomain.txt")),
            Some(Failure::NxDomain {
                name: "nope.acura.test".into()
            })
        );
        assert_eq!(
            failure(fixture!("refused.txt")),
            Some(Failure::ServerFailure {
                name: "nope.example".into(),
                rcode: "REFUSED".into()
            })
        );
        assert_eq!(
            failure(fixture!("servfail.txt")),
            Some(Failure::ServerFailure {
                name: "google.com".into(),
                rcode: "SERVFAIL".into()
            })
        );
        assert_eq!(
            failure(fixture!("no-answer.txt")),
            Some(Failure::NoAnswer {
                name: "probe.acura.test".into()
            })
        );
        assert_eq!(failure(fixture!("timeout.txt")), Some(Failure::TimedOut));
        assert_eq!(
            failure(fixture!("timeout-old.txt")),
            Some(Failure::TimedOut)
        );
        assert_eq!(
            failure(fixture!("connection-refused.txt")),
            Some(Failure::Unreachable {
                reason: "connection refused".into()
            })
        );
        let timeout = parse(fixture!("timeout.txt")).unwrap();
        assert_eq!(timeout.server, None);
        assert!(!timeout.resolved());
    }

    #[test]
    fn unknown_lines_are_errors() {
        let e = parse("bash: nslookup: command not found\n").unwrap_err();
        assert!(matches!(e.found, Found::Line { number: 1, .. }), "{e}");
        assert!(parse("Address: 10.0.0.1\n").is_err());
        assert_eq!(parse("").unwrap_err().found, Found::EndOfOutput);
    }

    fn record() -> impl Strategy<Value = Record> {
        let name = "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}";
        prop_oneof![
            (name, any::<IpAddr>()).prop_map(|(name, address)| Record::Address { name, address }),
            (name, name).prop_map(|(name, canonical)| Record::Alias { name, canonical }),
            (name, name).prop_map(|(name, target)| Record::Pointer { name, target }),
        ]
    }

    fn failure() -> impl Strategy<Value = Failure> {
        let name = "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,6}){0,2}";
        prop_oneof![
            name.prop_map(|name| Failure::NxDomain { name }),
            (
                name,
                prop_oneof![Just("SERVFAIL"), Just("REFUSED"), Just("NOTIMP")]
            )
                .prop_map(|(name, rcode)| Failure::ServerFailure {
                    name,
                    rcode: rcode.into()
                }),
            name.prop_map(|name| Failure::NoAnswer { name }),
            Just(Failure::TimedOut),
            Just(Failure::Unreachable {
                reason: "connection refused".into()
            }),
        ]
    }

    proptest! {
        #[test]
        fn printed_lookups_parse_back(
            server in proptest::option::of((any::<IpAddr>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))),
            authoritative in any::<bool>(),
            records in prop::collection::vec(record(), 0..5),
            failure in proptest::option::of(failure()),
        ) {
            let lookup = Lookup { server, authoritative, records, failure };
            prop_assume!(lookup.server.is_some() || !lookup.records.is_empty() || lookup.failure.is_some());
            prop_assert_eq!(parse(&lookup.to_text()).unwrap(), lookup);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_nslookup_like_lines_never_panic(
            lines in prop::collection::vec("(Server:|Address:|Name:|;; |\\*\\* server can't find |\\*\\*\\* Can't find )[ -~]{0,30}", 0..6)
        ) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
