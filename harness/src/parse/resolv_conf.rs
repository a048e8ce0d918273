//! C1 `cat /etc/resolv.conf`: the nameservers and search domains a node resolves with, read
//! the way glibc reads them (comments with `#` or `;`, the last `search`/`domain` wins,
//! unknown keywords ignored). A nameserver that is not an address is an error here, where
//! glibc would skip it silently: that is exactly the misconfiguration preflight is for.

use std::net::IpAddr;

use super::error::{numbered_lines, ParseError};

const COMMAND: &str = "cat /etc/resolv.conf";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

pub fn parse(text: &str) -> Result<ResolvConf, ParseError> {
    let mut conf = ResolvConf::default();
    for (number, line) in numbered_lines(text) {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let mut words = line.split_whitespace();
        let keyword = words.next().unwrap_or_default();
        let args: Vec<&str> = words.take_while(|w| !w.starts_with(['#', ';'])).collect();
        match keyword {
            "nameserver" => {
                let [address] = args[..] else {
                    return Err(ParseError::at(
                        COMMAND,
                        "one address after nameserver",
                        number,
                        line,
                    ));
                };
                // A link-local IPv6 server carries its interface: `fe80::1%eth0`.
                let address = address.split('%').next().unwrap_or_default();
                let address = address.parse().map_err(|_| {
                    ParseError::at(COMMAND, "an IPv4 or IPv6 nameserver address", number, line)
                })?;
                conf.nameservers.push(address);
            }
            "search" | "domain" => {
                if args.is_empty() {
                    return Err(ParseError::at(
                        COMMAND,
                        format!("a domain after {keyword}"),
                        number,
                        line,
                    ));
                }
                // `search .` is systemd-resolved's way of saying "no search domains".
                conf.search = args
                    .iter()
                    .filter(|d| **d != ".")
                    .map(|d| d.to_string())
                    .collect();
            }
            "options" => conf.options.extend(args.iter().map(|o| o.to_string())),
            _ => {}
        }
    }
    Ok(conf)
}

impl ResolvConf {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_runs_own_dns() {
        let conf = parse(include_str!(
            "../../../fixtures/outputs/resolv-conf/run-dns.conf"
        ))
        .unwrap();
        assert_eq!(conf.nameservers, [ip("10.213.7.2")]);
        assert_eq!(conf.search, ["acura.test"]);
        assert_eq!(conf.options, ["ndots:1", "timeout:2"]);
    }

    #[test]
    fn ubuntus_stub_resolver_and_dockers_embedded_dns() {
        let conf = parse(include_str!(
            "../../../fixtures/outputs/resolv-conf/systemd-resolved-stub.conf"
        ))
        .unwrap();
        assert_eq!(conf.nameservers, [ip("127.0.0.53")]);
        assert_eq!(conf.search, ["openstacklocal"]);
        let conf = parse(include_str!(
            "../../../fixtures/outputs/resolv-conf/docker.conf"
        ))
        .unwrap();
        assert_eq!(conf.nameservers, [ip("127.0.0.11")]);
        assert!(conf.search.is_empty());
        assert_eq!(conf.options, ["edns0", "trust-ad", "ndots:0"]);
    }

    #[test]
    fn several_servers_last_search_wins() {
        let conf = parse(include_str!(
            "../../../fixtures/outputs/resolv-conf/several.conf"
        ))
        .unwrap();
        assert_eq!(
            conf.nameservers,
            [ip("8.8.8.8"), ip("2001:4860:4860::8888"), ip("fe80::1")]
        );
        assert_eq!(conf.search, ["acura.test", "svc.cluster.local"]);
    }

    #[test]
    fn no_nameserver_is_an_empty_list_and_bad_ones_are_errors() {
        let conf = parse(include_str!(
            "../../../fixtures/outputs/resolv-conf/empty.conf"
        ))
        .unwrap();
        assert!(conf.nameservers.is_empty());
        assert_eq!(conf.search, ["acura.test"]);
        let e = parse("nameserver 10.0.0.300\n").unwrap_err();
        assert!(e.expected.contains("address"), "{e}");
        assert!(parse("nameserver\n").is_err());
        assert_eq!(
            parse("nameserver 10.0.0.2 # the run's DNS\n")
                .unwrap()
                .nameservers,
            [ip("10.0.0.2")]
        );
    }

    fn conf() -> impl Strategy<Value = ResolvConf> {
        (
            prop::collection::vec(any::<IpAddr>(), 0..4),
            prop::collection::vec("[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,6}){0,2}", 0..4),
            prop::collection::vec("[a-z][a-z0-9-]{0,8}(:[0-9]{1,2})?", 0..4),
        )
            .prop_map(|(nameservers, search, options)| ResolvConf {
                nameservers,
                search,
                options,
            })
    }

    proptest! {
        #[test]
        fn written_files_parse_back(conf in conf()) {
            prop_assert_eq!(parse(&conf.to_text()).unwrap(), conf);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_directives_never_panic(
            lines in prop::collection::vec("(nameserver|search|domain|options|#|;)[ -~]{0,30}", 0..6)
        ) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
