//! C26 `kubeadm token create --print-join-command`: the join command, and the facts C28 hands
//! the add-node playbook (`master_token`, `master_discovery_token` as bare hex). The same
//! parser reads the control-plane join command `kubeadm init` prints (split over lines with
//! `\`, carrying `--control-plane --certificate-key`).

use std::fmt;

use super::error::ParseError;
use super::upload_certs::CertificateKey;

const COMMAND: &str = "kubeadm token create --print-join-command";
const EXPECTED_LINE: &str = "a line \"kubeadm join <host:port> --token <id.secret> \
                             --discovery-token-ca-cert-hash sha256:<hex>\"";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinCommand {
    /// The control-plane endpoint, `lb_address:6443` in this procedure.
    pub endpoint: Endpoint,
    pub token: Token,
    /// SHA-256 of the cluster CA's public key, bare lower-case hex (the playbook adds `sha256:`).
    pub discovery_token_ca_cert_hash: String,
    /// Only in the control-plane join command `kubeadm init` prints.
    pub certificate_key: Option<CertificateKey>,
    pub control_plane: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Endpoint {
    pub fn parse(text: &str) -> Option<Endpoint> {
        let (host, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, port) = rest.split_once("]:")?;
                (host, port)
            }
            None => text.rsplit_once(':')?,
        };
        if host.is_empty() || (text.starts_with('[') != host.contains(':')) {
            return None;
        }
        let port = port.parse().ok().filter(|p| *p != 0)?;
        Some(Endpoint {
            host: host.to_owned(),
            port,
        })
    }
}

/// A bootstrap token, `<id>.<secret>`. A secret: its `Debug` shows the public id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// kubeadm's format: `[a-z0-9]{6}.[a-z0-9]{16}`.
    pub fn parse(text: &str) -> Option<Token> {
        let (id, secret) = text.split_once('.')?;
        let ok = |s: &str, len| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        (ok(id, 6) && ok(secret, 16)).then(|| Token(text.to_owned()))
    }

    /// The public half, which names the token in `kubeadm token list`.
    pub fn id(&self) -> &str {
        &self.0[..6]
    }

    /// The whole token, for C28's `master_token`. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}.[secret])", self.id())
    }
}

/// Flags of `kubeadm join` that take a value, so that the value is not taken for the endpoint.
const VALUE_FLAGS: &[&str] = &[
    "apiserver-advertise-address",
    "apiserver-bind-port",
    "certificate-key",
    "config",
    "cri-socket",
    "discovery-file",
    "discovery-token",
    "discovery-token-ca-cert-hash",
    "ignore-preflight-errors",
    "kubeconfig",
    "node-name",
    "patches",
    "rootfs",
    "skip-phases",
    "tls-bootstrap-token",
    "token",
    "v",
];

/// Flags whose value is a secret; an offending line shows them as `[token]`.
const SECRET_FLAGS: &[&str] = &[
    "token",
    "certificate-key",
    "discovery-token",
    "tls-bootstrap-token",
];

pub fn parse(output: &str) -> Result<JoinCommand, ParseError> {
    let lines = logical_lines(output);
    let Some((number, line)) = lines
        .iter()
        .find(|(_, l)| l.trim_start().starts_with("kubeadm join"))
    else {
        return Err(match lines.last() {
            Some((number, line)) => ParseError::at(COMMAND, EXPECTED_LINE, *number, &redact(line)),
            None => ParseError::end(COMMAND, EXPECTED_LINE),
        });
    };
    let fail = |expected: &str| ParseError::at(COMMAND, expected, *number, &redact(line));

    let mut args = line.split_whitespace().skip(2);
    let mut endpoint = None;
    let mut token = None;
    let mut hash = None;
    let mut certificate_key = None;
    let mut control_plane = false;
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            if endpoint.is_some() {
                return Err(fail("one endpoint argument only"));
            }
            endpoint = Some(Endpoint::parse(arg).ok_or_else(|| fail("an endpoint <host:port>"))?);
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (flag, None),
        };
        let value = match inline {
            Some(value) => Some(value),
            None if VALUE_FLAGS.contains(&name) => Some(
                args.next()
                    .ok_or_else(|| fail(&format!("a value after --{name}")))?,
            ),
            None => None,
        };
        match (name, value) {
            ("token", Some(v)) => {
                token = Some(
                    Token::parse(v)
                        .ok_or_else(|| fail("a token of the form [a-z0-9]{6}.[a-z0-9]{16}"))?,
                )
            }
            // kubeadm accepts several pins; the first is the one it prints.
            ("discovery-token-ca-cert-hash", Some(v)) if hash.is_none() => {
                hash = Some(
                    ca_cert_hash(v)
                        .ok_or_else(|| fail("a CA certificate hash sha256:<64 hex digits>"))?,
                )
            }
            ("certificate-key", Some(v)) => {
                certificate_key = Some(
                    CertificateKey::parse(v)
                        .ok_or_else(|| fail("a certificate key of 64 hex digits"))?,
                )
            }
            ("control-plane", None) => control_plane = true,
            ("control-plane", Some(v)) => control_plane = v == "true",
            _ => {}
        }
    }
    Ok(JoinCommand {
        endpoint: endpoint.ok_or_else(|| fail("an endpoint <host:port>"))?,
        token: token.ok_or_else(|| fail("--token <id.secret>"))?,
        discovery_token_ca_cert_hash: hash
            .ok_or_else(|| fail("--discovery-token-ca-cert-hash sha256:<hex>"))?,
        certificate_key,
        control_plane,
    })
}

impl JoinCommand {
    /// The command line as kubeadm prints it. It carries the token: never log it.
    pub fn to_command_line(&self) -> String {
        let mut line = format!(
            "kubeadm join {} --token {} --discovery-token-ca-cert-hash sha256:{}",
            self.endpoint,
            self.token.expose(),
            self.discovery_token_ca_cert_hash
        );
        if self.control_plane {
            line.push_str(" --control-plane");
        }
        if let Some(key) = &self.certificate_key {
            line.push_str(" --certificate-key ");
            line.push_str(key.expose());
        }
        line
    }
}

fn ca_cert_hash(pin: &str) -> Option<String> {
    let hex = pin.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Lines with shell continuations (`\` at the end) joined, each with the number of its first
/// physical line.
fn logical_lines(output: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (i, raw) in output.lines().enumerate() {
        let raw = raw.trim_end();
        let (text, continues) = match raw.strip_suffix('\\') {
            Some(text) => (text, true),
            None => (raw, false),
        };
        match lines.last_mut() {
            Some((_, last)) if continued => {
                last.push(' ');
                last.push_str(text.trim_start());
            }
            _ if text.trim().is_empty() && !continues => {}
            _ => lines.push((i + 1, text.to_owned())),
        }
        continued = continues;
    }
    lines
}

/// The line with the values of secret flags replaced, for error messages.
fn redact(line: &str) -> String {
    let mut out = Vec::new();
    let mut hide_next = false;
    for word in line.split_whitespace() {
        if hide_next {
            out.push("[secret]".to_owned());
            hide_next = false;
            continue;
        }
        let flag = word.trim_start_matches('-');
        match flag.split_once('=') {
            Some((name, _)) if word.starts_with('-') && SECRET_FLAGS.contains(&name) => {
                out.push(format!("--{name}=[secret]"))
            }
            None if word.starts_with('-') && SECRET_FLAGS.contains(&flag) => {
                out.push(word.to_owned());
                hide_next = true;
            }
            _ if Token::parse(word).is_some() || CertificateKey::parse(word).is_some() => {
                out.push("[secret]".to_owned())
            }
            _ => out.push(word.to_owned()),
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::error::Found;
    use proptest::prelude::*;

    const HASH: &str = "3989f9b70736ad3ea00b0a0ac1bbf5548691c9f3547cf3becf410219907ea3ce";

    #[test]
    fn the_procedures_output_with_its_trailing_space() {
        let out = include_str!("../../../fixtures/outputs/kubeadm/token-create.txt");
        let join = parse(out).unwrap();
        assert_eq!(join.endpoint.to_string(), "192.168.5.140:6443");
        assert_eq!(join.token.expose(), "knsqgq.cr889wp2v2vpcj2x");
        assert_eq!(join.token.id(), "knsqgq");
        assert_eq!(join.discovery_token_ca_cert_hash, HASH);
        assert_eq!(join.certificate_key, None);
        assert!(!join.control_plane);
    }

    #[test]
    fn a_klog_warning_before_the_command_is_ignored() {
        let out = include_str!("../../../fixtures/outputs/kubeadm/token-create-with-warning.txt");
        let join = parse(out).unwrap();
        assert_eq!(join.endpoint.host, "10.213.7.10");
        assert_eq!(join.token.id(), "9a08jv");
    }

    #[test]
    fn the_control_plane_command_of_kubeadm_init_spans_lines() {
        let out = include_str!("../../../fixtures/outputs/kubeadm/init-join-control-plane.txt");
        let join = parse(out).unwrap();
        assert!(join.control_plane);
        assert_eq!(
            join.certificate_key.as_ref().map(CertificateKey::expose),
            Some("0b1e0a4f1c53a2d9d8c3c3b0d6f0f1e5a6b8c7d9e0f1a2b3c4d5e6f708192a3b")
        );
        assert_eq!(
            join.discovery_token_ca_cert_hash,
            "5e8b8e7c0ac3b8e2a1bb62e1f9d9f9b6a2b6e94cb3f08f0f3e71e8e9e6b52a10"
        );
    }

    #[test]
    fn extra_flags_in_any_order_and_with_equals() {
        let line = format!(
            "kubeadm join --v=5 --node-name node-2 --token=knsqgq.cr889wp2v2vpcj2x \
             [fd00::10]:6443 --discovery-token-ca-cert-hash sha256:{} --skip-phases preflight",
            HASH.to_uppercase()
        );
        let join = parse(&line).unwrap();
        assert_eq!(join.endpoint.host, "fd00::10");
        assert_eq!(join.endpoint.to_string(), "[fd00::10]:6443");
        assert_eq!(join.discovery_token_ca_cert_hash, HASH);
    }

    #[test]
    fn errors_name_what_is_missing_without_the_token() {
        let e = parse("kubeadm join 10.0.0.1:6443 --token knsqgq.cr889wp2v2vpcj2x").unwrap_err();
        assert!(e.expected.contains("--discovery-token-ca-cert-hash"), "{e}");
        assert!(!e.to_string().contains("cr889wp2v2vpcj2x"), "{e}");
        let e = parse("kubeadm join 10.0.0.1 --token knsqgq.cr889wp2v2vpcj2x").unwrap_err();
        assert!(e.expected.contains("endpoint"), "{e}");
        let e = parse(&format!(
            "kubeadm join 10.0.0.1:6443 --token KNSQGQ.cr889wp2v2vpcj2x --discovery-token-ca-cert-hash sha256:{HASH}"
        ))
        .unwrap_err();
        assert!(e.expected.contains("a token"), "{e}");
        assert!(!e.to_string().contains("cr889wp2v2vpcj2x"), "{e}");
        let e = parse(&format!(
            "kubeadm join 10.0.0.1:6443 --token knsqgq.cr889wp2v2vpcj2x --discovery-token-ca-cert-hash {HASH}"
        ))
        .unwrap_err();
        assert!(e.expected.contains("sha256:"), "{e}");
    }

    #[test]
    fn kubeadms_own_error_is_the_offending_line() {
        let out = "failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory\nTo see the stack trace of this error execute with --v=5 or higher\n";
        let e = parse(out).unwrap_err();
        assert!(matches!(e.found, Found::Line { number: 2, .. }), "{e}");
        assert_eq!(parse("\n \n").unwrap_err().found, Found::EndOfOutput);
    }

    #[test]
    fn debug_shows_the_token_id_only() {
        let join = parse(include_str!(
            "../../../fixtures/outputs/kubeadm/token-create.txt"
        ))
        .unwrap();
        let debug = format!("{join:?}");
        assert!(debug.contains("knsqgq"), "{debug}");
        assert!(!debug.contains("cr889wp2v2vpcj2x"), "{debug}");
    }

    fn join_command() -> impl Strategy<Value = JoinCommand> {
        (
            prop_oneof![
                "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,5})?",
                any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
                any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
            ],
            1u16..,
            "[a-z0-9]{6}\\.[a-z0-9]{16}",
            "[0-9a-f]{64}",
            proptest::option::of("[0-9a-f]{64}"),
            any::<bool>(),
        )
            .prop_map(
                |(host, port, token, hash, key, control_plane)| JoinCommand {
                    endpoint: Endpoint { host, port },
                    token: Token::parse(&token).unwrap(),
                    discovery_token_ca_cert_hash: hash,
                    certificate_key: key.map(|k| CertificateKey::parse(&k).unwrap()),
                    control_plane,
                },
            )
    }

    proptest! {
        #[test]
        fn printed_commands_parse_back(
            join in join_command(),
            before in prop::collection::vec("[A-Za-z\\[\\]:. ]{0,40}", 0..3),
        ) {
            let out = format!("{}\n{} \n", before.join("\n"), join.to_command_line());
            prop_assert_eq!(parse(&out).unwrap(), join);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_join_arguments_never_panic(
            args in prop::collection::vec(
                prop_oneof![
                    Just("--token".to_owned()),
                    Just("--discovery-token-ca-cert-hash".to_owned()),
                    Just("--certificate-key".to_owned()),
                    Just("--control-plane".to_owned()),
                    Just("\\".to_owned()),
                    "[ -~]{0,20}",
                ],
                0..10,
            )
        ) {
            let _ = parse(&format!("kubeadm join {}", args.join(" ")));
        }
    }
}
