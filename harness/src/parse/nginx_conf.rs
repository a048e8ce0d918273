//! The load balancer's `/etc/nginx/nginx.conf` as it is on the machine (`cat
//! /etc/nginx/nginx.conf`), for a diagnosis to compare with the topology: the top-level
//! `load_module` lines, and the `stream { }` block's upstreams (their `server` addresses and
//! parameters) and servers (`listen`, `proxy_pass`, the proxy timeouts and `proxy_responses`).
//! The guide's config, as the project writes it, is `crate::steps::render_nginx_conf`.
//!
//! This is a tolerant tokenizer of nginx's syntax, not a full nginx: it reads words (bare or
//! quoted with `"` or `'`, with nginx's backslash escapes), `;`, `{`, `}` and `#` comments, and
//! builds the tree of directives; it knows no directive's arguments beyond the few above and
//! ignores everything else (`events { }`, `http { }`, unknown directives anywhere). It fails
//! only where the text has no tree — an unbalanced brace, a directive without its `;`, an
//! unterminated quote, a word where a block name should be — or where a port the diagnosis
//! needs is not a port, and the error names the line.

use serde::Serialize;

/// The parts of nginx.conf a diagnosis compares with the topology.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NginxConf {
    /// `load_module` paths at top level.
    pub modules: Vec<String>,
    /// Whether a top-level `stream { }` block exists.
    pub has_stream: bool,
    /// Upstreams of the stream block, in order, by name.
    pub upstreams: Vec<Upstream>,
    /// `server { }` blocks of the stream block, in order.
    pub servers: Vec<StreamServer>,
}

/// `upstream NAME { … }` in the stream block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Upstream {
    pub name: String,
    /// Its `server` directives, in order (`least_conn`, `zone`, … are not kept).
    pub servers: Vec<UpstreamServer>,
    /// 1-based line of the `upstream` keyword.
    pub line: usize,
}

/// `server ADDRESS [PARAMETERS];` in an upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamServer {
    /// The address without its port: an IP address (an IPv6 one without its brackets), a host
    /// name, or a whole `unix:` path.
    pub host: String,
    pub port: Option<u16>,
    /// parameters after the address such as `max_fails=3` `fail_timeout=10s` `backup`
    pub params: Vec<String>,
}

/// `server { … }` in the stream block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StreamServer {
    /// Port of the server's first `listen` (`listen 443;`, `listen 0.0.0.0:443;`,
    /// `listen [::]:443;`); None without a `listen` or for a `unix:` socket.
    pub listen_port: Option<u16>,
    /// The first `listen` has the `udp` parameter (`listen 12201 udp;`).
    pub udp: bool,
    pub proxy_pass: Option<String>,
    /// `proxy_connect_timeout` as written (e.g. "5s"), None when not set (nginx's default is 60 s).
    pub proxy_connect_timeout: Option<String>,
    /// `proxy_timeout` as written, None when not set (nginx's default is 10 min).
    pub proxy_timeout: Option<String>,
    /// `proxy_responses` (0 for GELF over UDP: no answer expected, so nginx has no passive health check).
    pub proxy_responses: Option<String>,
    /// 1-based line of the `server` keyword.
    pub line: usize,
}

/// nginx.conf has no tree (unbalanced braces, a directive without its `;`, an unterminated
/// quote) or a port that is not a port, at `line` (1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("nginx.conf line {line}: {message}")]
pub struct NginxConfError {
    pub line: usize,
    pub message: String,
}

impl NginxConf {
    pub fn upstream(&self, name: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// The server listening on `port` (tcp unless `udp`), if any.
    pub fn server_for(&self, port: u16, udp: bool) -> Option<&StreamServer> {
        self.servers
            .iter()
            .find(|s| s.listen_port == Some(port) && s.udp == udp)
    }
}

pub fn parse(text: &str) -> Result<NginxConf, NginxConfError> {
    let tree = tree(tokenize(text)?)?;
    let mut conf = NginxConf {
        modules: Vec::new(),
        has_stream: false,
        upstreams: Vec::new(),
        servers: Vec::new(),
    };
    for directive in &tree {
        match (directive.name.as_str(), &directive.block) {
            ("load_module", None) => conf.modules.extend(directive.args.first().cloned()),
            ("stream", Some(children)) => {
                conf.has_stream = true;
                for child in children {
                    match (child.name.as_str(), &child.block) {
                        ("upstream", Some(servers)) => {
                            conf.upstreams.push(upstream(child, servers)?)
                        }
                        ("server", Some(directives)) => {
                            conf.servers.push(stream_server(child, directives)?)
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(conf)
}

fn upstream(directive: &Directive, children: &[Directive]) -> Result<Upstream, NginxConfError> {
    let mut servers = Vec::new();
    for child in children {
        if child.name != "server" || child.block.is_some() {
            continue;
        }
        let Some((address, params)) = child.args.split_first() else {
            continue;
        };
        let (host, port) = split_address(address).ok_or_else(|| invalid_address(child, address))?;
        servers.push(UpstreamServer {
            host: host.to_owned(),
            port,
            params: params.to_vec(),
        });
    }
    Ok(Upstream {
        name: directive.args.first().cloned().unwrap_or_default(),
        servers,
        line: directive.line,
    })
}

fn stream_server(
    directive: &Directive,
    children: &[Directive],
) -> Result<StreamServer, NginxConfError> {
    let mut server = StreamServer {
        listen_port: None,
        udp: false,
        proxy_pass: None,
        proxy_connect_timeout: None,
        proxy_timeout: None,
        proxy_responses: None,
        line: directive.line,
    };
    let mut listened = false;
    for child in children.iter().filter(|c| c.block.is_none()) {
        let first = child.args.first();
        match child.name.as_str() {
            "listen" if !listened => {
                let Some((address, params)) = child.args.split_first() else {
                    continue;
                };
                listened = true;
                server.listen_port = if address.bytes().all(|b| b.is_ascii_digit()) {
                    Some(port(address).ok_or_else(|| invalid_address(child, address))?)
                } else {
                    split_address(address)
                        .ok_or_else(|| invalid_address(child, address))?
                        .1
                };
                server.udp = params.iter().any(|p| p == "udp");
            }
            "proxy_pass" => server.proxy_pass = first.cloned(),
            "proxy_connect_timeout" => server.proxy_connect_timeout = first.cloned(),
            "proxy_timeout" => server.proxy_timeout = first.cloned(),
            "proxy_responses" => server.proxy_responses = first.cloned(),
            _ => {}
        }
    }
    Ok(server)
}

/// `10.0.0.1:443` → (`10.0.0.1`, 443), `[::]:443` → (`::`, 443), `node-1` → (`node-1`, None),
/// `unix:/run/x.sock` → (itself, None); None when a port is written but is not one.
fn split_address(address: &str) -> Option<(&str, Option<u16>)> {
    if address.starts_with("unix:") {
        return Some((address, None));
    }
    let (host, port_text) = match address.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            if after.is_empty() {
                return Some((host, None));
            }
            (host, after.strip_prefix(':')?)
        }
        None => match address.rsplit_once(':') {
            Some(split) => split,
            None => return Some((address, None)),
        },
    };
    Some((host, Some(port(port_text)?)))
}

fn port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&p| p != 0)
}

fn invalid_address(directive: &Directive, address: &str) -> NginxConfError {
    NginxConfError {
        line: directive.line,
        message: format!(
            "invalid port in \"{}\" of the \"{}\" directive",
            shorten(address),
            shorten(&directive.name)
        ),
    }
}

/// Long enough to recognise a word, short enough that garbage stays out of a report.
fn shorten(word: &str) -> String {
    const MAX_SHOWN: usize = 60;
    match word.char_indices().nth(MAX_SHOWN) {
        Some((end, _)) => format!("{}…", &word[..end]),
        None => word.to_owned(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

/// nginx's tokenizer (`ngx_conf_read_token`), tolerantly: space, tab, CR and LF separate words;
/// `#` at the start of a word comments to the end of the line; a word starting with `"` or `'`
/// runs to the matching quote, across lines; a bare word ends at a space, `;` or `{` (but `${`
/// stays in it, and `}` does not end it); a backslash keeps the next character in the word.
/// Each token comes with the 1-based line it starts on.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, NginxConfError> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut tokens = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if is_space(c) => {}
            '#' => while chars.next_if(|&c| c != '\n').is_some() {},
            ';' => tokens.push((Token::Semicolon, line)),
            '{' => tokens.push((Token::Open, line)),
            '}' => tokens.push((Token::Close, line)),
            '"' | '\'' => {
                let start = line;
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(NginxConfError {
                                line: start,
                                message: format!(
                                    "unexpected end of file: the {c} opened here is not closed"
                                ),
                            })
                        }
                        Some(q) if q == c => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => {
                                if escaped == '\n' {
                                    line += 1;
                                }
                                unescape(&mut word, escaped);
                            }
                            None => word.push('\\'),
                        },
                        Some(other) => {
                            if other == '\n' {
                                line += 1;
                            }
                            word.push(other);
                        }
                    }
                }
                tokens.push((Token::Word(word), start));
            }
            first => {
                let start = line;
                let mut word = String::new();
                let mut current = first;
                loop {
                    let dollar = current == '$';
                    if current == '\\' {
                        match chars.next() {
                            Some(escaped) => {
                                if escaped == '\n' {
                                    line += 1;
                                }
                                unescape(&mut word, escaped);
                            }
                            None => word.push('\\'),
                        }
                    } else {
                        word.push(current);
                    }
                    match chars.next_if(|&n| !(is_space(n) || n == ';' || (n == '{' && !dollar))) {
                        Some(next) => current = next,
                        None => break,
                    }
                }
                tokens.push((Token::Word(word), start));
            }
        }
    }
    Ok(tokens)
}

/// nginx unescapes `\"`, `\'`, `\\`, `\t`, `\r` and `\n` and keeps any other backslash.
fn unescape(word: &mut String, escaped: char) {
    match escaped {
        '"' | '\'' | '\\' => word.push(escaped),
        't' => word.push('\t'),
        'r' => word.push('\r'),
        'n' => word.push('\n'),
        other => {
            word.push('\\');
            word.push(other);
        }
    }
}

/// `name args… ;` or `name args… { children }`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Directive {
    name: String,
    args: Vec<String>,
    /// 1-based line of the name.
    line: usize,
    block: Option<Vec<Directive>>,
}

/// The directives of the file, blocks nested. A `;` with no directive before it is skipped.
fn tree(tokens: Vec<(Token, usize)>) -> Result<Vec<Directive>, NginxConfError> {
    fn children<'a>(
        open: &'a mut [Directive],
        top: &'a mut Vec<Directive>,
    ) -> &'a mut Vec<Directive> {
        match open.last_mut() {
            Some(block) => block.block.get_or_insert_with(Vec::new),
            None => top,
        }
    }
    fn directive(words: &mut Vec<String>, line: usize, block: Option<Vec<Directive>>) -> Directive {
        let mut words = std::mem::take(words).into_iter();
        Directive {
            name: words.next().unwrap_or_default(),
            args: words.collect(),
            line,
            block,
        }
    }
    fn unterminated(words: &[String], line: usize, before: &str) -> NginxConfError {
        NginxConfError {
            line,
            message: format!(
                "{before}: the \"{}\" directive is not terminated by \";\"",
                shorten(words.first().map(String::as_str).unwrap_or_default())
            ),
        }
    }

    let mut top = Vec::new();
    // Blocks opened and not yet closed, outermost first.
    let mut open: Vec<Directive> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut words_line = 0;
    for (token, line) in tokens {
        match token {
            Token::Word(word) => {
                if words.is_empty() {
                    words_line = line;
                }
                words.push(word);
            }
            Token::Semicolon => {
                if !words.is_empty() {
                    let d = directive(&mut words, words_line, None);
                    children(&mut open, &mut top).push(d);
                }
            }
            Token::Open => {
                if words.is_empty() {
                    return Err(NginxConfError {
                        line,
                        message: "unexpected \"{\": a block needs a directive name".into(),
                    });
                }
                open.push(directive(&mut words, words_line, Some(Vec::new())));
            }
            Token::Close => {
                if !words.is_empty() {
                    return Err(unterminated(&words, words_line, "unexpected \"}\""));
                }
                let Some(closed) = open.pop() else {
                    return Err(NginxConfError {
                        line,
                        message: "unexpected \"}\": no block is open".into(),
                    });
                };
                children(&mut open, &mut top).push(closed);
            }
        }
    }
    if !words.is_empty() {
        return Err(unterminated(&words, words_line, "unexpected end of file"));
    }
    if let Some(unclosed) = open.last() {
        return Err(NginxConfError {
            line: unclosed.line,
            message: format!(
                "unexpected end of file: the \"{}\" block opened here is not closed by \"}}\"",
                shorten(&unclosed.name)
            ),
        });
    }
    Ok(top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    const NODES: [&str; 3] = ["10.213.7.11", "10.213.7.12", "10.213.7.13"];

    const PORTS: [(&str, u16); 6] = [
        ("stream_http", 80),
        ("stream_https", 443),
        ("stream_initial_config", 4443),
        ("stream_kubernetes", 6443),
        ("stream_elk", 12201),
        ("stream_registry", 15000),
    ];

    fn rendered(with_stream_module: bool) -> String {
        let nodes: Vec<String> = NODES.map(String::from).to_vec();
        crate::steps::render_nginx_conf(&nodes, with_stream_module)
    }

    fn server(host: &str, port: Option<u16>, params: &[&str]) -> UpstreamServer {
        UpstreamServer {
            host: host.into(),
            port,
            params: params.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn the_guides_config_as_the_project_renders_it() {
        let conf = parse(&rendered(true)).unwrap();
        assert_eq!(
            conf.modules,
            ["/usr/lib/nginx/modules/ngx_stream_module.so"]
        );
        assert!(conf.has_stream);

        let names: Vec<&str> = conf.upstreams.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, PORTS.map(|(name, _)| name));
        for (i, (name, port)) in PORTS.into_iter().enumerate() {
            let upstream = conf.upstream(name).unwrap();
            let expected: Vec<_> = NODES.iter().map(|n| server(n, Some(port), &[])).collect();
            assert_eq!(upstream.servers, expected, "{name}");
            // load_module, 4 globals, 4 lines of events, `stream {`, then 6 lines an upstream.
            assert_eq!(upstream.line, 11 + 6 * i, "{name}");
        }

        assert_eq!(conf.servers.len(), 6);
        for (name, port) in PORTS {
            let udp = port == 12201;
            let s = conf.server_for(port, udp).unwrap();
            assert_eq!(s.proxy_pass.as_deref(), Some(name));
            assert!(conf.server_for(port, !udp).is_none(), "{port}");
        }
        let https = conf.server_for(443, false).unwrap();
        assert_eq!(https.proxy_connect_timeout, None);
        assert_eq!(https.proxy_timeout, None);
        assert_eq!(https.line, 51);

        let elk = conf.server_for(12201, true).unwrap();
        assert_eq!(
            elk,
            &StreamServer {
                listen_port: Some(12201),
                udp: true,
                proxy_pass: Some("stream_elk".into()),
                proxy_connect_timeout: Some("60s".into()),
                proxy_timeout: Some("30s".into()),
                // The guide does not set it.
                proxy_responses: None,
                line: 66,
            }
        );
        let kubernetes = conf.server_for(6443, false).unwrap();
        assert_eq!(kubernetes.proxy_connect_timeout.as_deref(), Some("10s"));
        assert_eq!(kubernetes.proxy_timeout.as_deref(), Some("10s"));

        let without = parse(&rendered(false)).unwrap();
        assert!(without.modules.is_empty());
        assert!(without.has_stream);
        assert_eq!(without.upstreams.len(), 6);
        assert_eq!(without.upstreams[0].line, 10);
    }

    const HAND_WRITTEN: &str = r#"# /etc/nginx/nginx.conf, edited by hand
load_module "/usr/lib/nginx/modules/ngx_stream_module.so";
load_module modules/ngx_mail_module.so; # the mail module, unused
user www-data;
events { worker_connections 1024; }

http {
    log_format main '$remote_addr - "$request" {not a block}';
    server {
        listen 80;
        location / {
            return 301 https://${host}$request_uri;
        }
        location /health { return 200 "ok; } # not a comment\n"; }
    }
}

stream {
    upstream stream_https {
        least_conn;
        server 10.0.0.1:443   max_fails=3 fail_timeout=10s;
        server [fd00::2]:443 backup;
        server node-3;   # no port
    }
    upstream 'stream_elk' {
        server 10.0.0.1:12201
            weight=2;
        server unix:/run/elk.sock;
    }
    server {
        listen [::]:4443;
        proxy_pass stream_https;
        proxy_connect_timeout 5s;
    }
    server {
        listen 0.0.0.0:443;
        proxy_pass stream_https;
    }
    server { listen 12201 udp reuseport; proxy_pass "stream_elk"; proxy_responses 0; proxy_timeout 30s; }
    server {
        listen [::]:443 udp;
        proxy_pass stream_https;
    }
    include /etc/nginx/streams.d/*.conf;
}
worker_rlimit_nofile 70000;
"#;

    #[test]
    fn a_hand_written_config_with_comments_quotes_and_an_http_block() {
        let conf = parse(HAND_WRITTEN).unwrap();
        assert_eq!(
            conf.modules,
            [
                "/usr/lib/nginx/modules/ngx_stream_module.so",
                "modules/ngx_mail_module.so"
            ]
        );
        assert!(conf.has_stream);
        assert_eq!(
            conf.upstreams,
            [
                Upstream {
                    name: "stream_https".into(),
                    servers: vec![
                        server("10.0.0.1", Some(443), &["max_fails=3", "fail_timeout=10s"]),
                        server("fd00::2", Some(443), &["backup"]),
                        server("node-3", None, &[]),
                    ],
                    line: 19,
                },
                Upstream {
                    name: "stream_elk".into(),
                    servers: vec![
                        server("10.0.0.1", Some(12201), &["weight=2"]),
                        server("unix:/run/elk.sock", None, &[]),
                    ],
                    line: 25,
                },
            ]
        );
        // The http block's `listen 80` is not a stream server.
        assert!(conf.server_for(80, false).is_none());
        assert_eq!(conf.servers.len(), 4);

        let initial = conf.server_for(4443, false).unwrap();
        assert_eq!(initial.line, 30);
        assert_eq!(initial.proxy_connect_timeout.as_deref(), Some("5s"));
        assert_eq!(conf.server_for(443, false).unwrap().line, 35);
        assert_eq!(conf.server_for(443, true).unwrap().line, 40);

        let elk = conf.server_for(12201, true).unwrap();
        assert_eq!(elk.line, 39);
        assert_eq!(elk.proxy_pass.as_deref(), Some("stream_elk"));
        assert_eq!(elk.proxy_responses.as_deref(), Some("0"));
        assert_eq!(elk.proxy_timeout.as_deref(), Some("30s"));
        assert_eq!(elk.proxy_connect_timeout, None);
        assert!(conf.server_for(12201, false).is_none());
    }

    #[test]
    fn words_quotes_escapes_and_comments() {
        let tokens =
            tokenize("a \"b c\" 'd;{}#' e\\ f ${x}y g#h # comment ;\n\"multi\nline\" \\\"q\\n;")
                .unwrap();
        let words: Vec<(String, usize)> = tokens
            .into_iter()
            .filter_map(|(t, line)| match t {
                Token::Word(w) => Some((w, line)),
                _ => None,
            })
            .collect();
        let expected = [
            ("a", 1),
            ("b c", 1),
            ("d;{}#", 1),
            ("e\\ f", 1),
            ("${x}y", 1),
            ("g#h", 1),
            ("multi\nline", 2),
            ("\"q\n", 3),
        ];
        assert_eq!(words, expected.map(|(w, l)| (w.to_string(), l)));

        let tree = tree(tokenize("a { b 1; c { } ; } ;; d;").unwrap()).unwrap();
        assert_eq!(tree.len(), 2);
        let inner = tree[0].block.as_ref().unwrap();
        assert_eq!(inner[0].args, ["1"]);
        assert_eq!(inner[1].block, Some(vec![]));
        assert_eq!(tree[1].name, "d");
        assert_eq!(tree[1].block, None);
    }

    #[test]
    fn no_stream_block() {
        let conf =
            parse("user nginx;\nevents {}\nhttp { server { listen 443; } }\nstream;\n").unwrap();
        assert!(!conf.has_stream);
        assert!(conf.modules.is_empty());
        assert!(conf.upstreams.is_empty());
        assert!(conf.servers.is_empty());
        assert_eq!(parse("").unwrap(), parse("# nothing\n\n").unwrap());
    }

    fn error(text: &str) -> NginxConfError {
        parse(text).unwrap_err()
    }

    #[test]
    fn an_unbalanced_close_brace_names_its_line() {
        let e = error("user www-data;\nevents {\n}\n}\nstream { }\n");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("unexpected \"}\""), "{e}");
        assert_eq!(e.to_string(), format!("nginx.conf line 4: {}", e.message));
    }

    #[test]
    fn a_missing_semicolon_names_the_directive_line() {
        let e = error("user www-data;\nworker_processes auto");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("end of file"), "{e}");
        assert!(e.message.contains("\"worker_processes\""), "{e}");

        let e = error("stream {\n    server {\n        listen 80\n    }\n}\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("\"listen\""), "{e}");
    }

    #[test]
    fn an_unclosed_block_names_the_block_left_open() {
        let conf = rendered(true);
        let e = error(conf.trim_end().strip_suffix('}').unwrap());
        assert_eq!(e.line, 10);
        assert!(e.message.contains("\"stream\""), "{e}");

        // Without the `}` of the second upstream (line 22), the stream block's `}` closes that
        // upstream and the stream block is the one left open.
        let mut lines: Vec<&str> = conf.lines().collect();
        assert_eq!(lines.remove(21), "    }");
        let e = error(&lines.join("\n"));
        assert_eq!(e.line, 10);
        assert!(e.message.contains("\"stream\""), "{e}");
    }

    #[test]
    fn other_errors() {
        let e = error("events {\n    {\n}\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unexpected \"{\""), "{e}");

        let e = error("events {}\n\nuser \"www-data;\n}\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("not closed"), "{e}");

        let e = error("stream {\n  upstream a {\n    server 10.0.0.1:99999;\n  }\n}\n");
        assert_eq!(e.line, 3);
        assert_eq!(
            e.message,
            "invalid port in \"10.0.0.1:99999\" of the \"server\" directive"
        );
        let e = error("stream {\n  server {\n    listen 0;\n  }\n}\n");
        assert_eq!(e.line, 3);
        let e = error("stream {\n  server {\n    listen [::1]x;\n  }\n}\n");
        assert_eq!(e.line, 3);
        // Outside the stream block nothing is checked.
        assert!(parse("http { server { listen 0.0.0.0:http; } }\n").is_ok());
    }

    #[derive(Clone, Debug)]
    enum Mutation {
        Delete(Index, usize),
        Insert(Index, String),
        Duplicate(Index, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<Index>(), 1usize..12).prop_map(|(i, n)| Mutation::Delete(i, n)),
            (
                any::<Index>(),
                "[{};#\"'\\\\ \n$:\\[\\]a-z0-9]{1,4}|\\PC{1,3}"
            )
                .prop_map(|(i, s)| Mutation::Insert(i, s)),
            (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        ]
    }

    fn mutate(text: &str, mutations: &[Mutation]) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for m in mutations {
            let len = chars.len();
            match m {
                Mutation::Delete(i, n) if len > 0 => {
                    let at = i.index(len);
                    chars.drain(at..(at + n).min(len));
                }
                Mutation::Insert(i, s) => {
                    let at = i.index(len + 1);
                    chars.splice(at..at, s.chars());
                }
                Mutation::Duplicate(i, n) if len > 0 => {
                    let at = i.index(len);
                    let copy: Vec<char> = chars[at..(at + n).min(len)].to_vec();
                    chars.splice(at..at, copy);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    fn address() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|[a, b, c, d]| format!("{a}.{b}.{c}.{d}")),
            "node-[1-9][0-9]?",
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_syntax_never_panics(text in "[{};#\"'\\\\ \t\r\n$:\\[\\]a-z0-9]{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn mutated_rendered_configs_never_panic(
            with_stream_module in any::<bool>(),
            mutations in prop::collection::vec(mutation(), 1..6),
        ) {
            let text = mutate(&rendered(with_stream_module), &mutations);
            if let Err(e) = parse(&text) {
                prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1), "{}", e);
            }
        }

        #[test]
        fn rendered_configs_parse_back(nodes in prop::collection::vec(address(), 1..6)) {
            let conf = parse(&crate::steps::render_nginx_conf(&nodes, true)).unwrap();
            prop_assert_eq!(conf.upstreams.len(), 6);
            for (name, port) in PORTS {
                let upstream = conf.upstream(name).unwrap();
                let hosts: Vec<&str> = upstream.servers.iter().map(|s| s.host.as_str()).collect();
                prop_assert_eq!(&hosts, &nodes);
                prop_assert!(upstream.servers.iter().all(|s| s.port == Some(port)));
                let server = conf.server_for(port, port == 12201).unwrap();
                prop_assert_eq!(server.proxy_pass.as_deref(), Some(name));
            }
        }
    }
}
