//! C5 `nginx -t` on the load balancer, and the condition of C6: `unknown directive "stream"`
//! means the stream module is not loaded (Debian and Ubuntu load it from the stock config's
//! `include /etc/nginx/modules-enabled/*.conf`, which a replaced nginx.conf no longer has).
//!
//! nginx reports through its error log: Debian's build logs to stderr with a timestamp
//! (`2026/12/01 09:44:52 [emerg] 18357#18357: …`), builds that log to a file repeat the line on
//! stderr as `nginx: [emerg] …`. Lines that are neither (sudo's complaints) are skipped.

use std::fmt;

use super::error::{numbered_lines, ParseError};

const COMMAND: &str = "nginx -t";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NginxTest {
    Successful {
        config: String,
        warnings: Vec<Diagnostic>,
    },
    Failed {
        config: Option<String>,
        /// The first error nginx reported.
        error: Diagnostic,
        /// Every other diagnostic, in order.
        others: Vec<Diagnostic>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
}

/// nginx's log levels, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
}

impl Severity {
    const ALL: [Severity; 8] = [
        Severity::Emerg,
        Severity::Alert,
        Severity::Crit,
        Severity::Error,
        Severity::Warn,
        Severity::Notice,
        Severity::Info,
        Severity::Debug,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Emerg => "emerg",
            Severity::Alert => "alert",
            Severity::Crit => "crit",
            Severity::Error => "error",
            Severity::Warn => "warn",
            Severity::Notice => "notice",
            Severity::Info => "info",
            Severity::Debug => "debug",
        }
    }
}

impl NginxTest {
    pub fn is_successful(&self) -> bool {
        matches!(self, NginxTest::Successful { .. })
    }

    /// The failure C6 repairs by prepending `load_module …ngx_stream_module.so;`.
    pub fn needs_stream_module(&self) -> bool {
        match self {
            NginxTest::Failed { error, .. } => error.unknown_directive() == Some("stream"),
            NginxTest::Successful { .. } => false,
        }
    }
}

impl Diagnostic {
    /// `unknown directive "stream"` → `stream`.
    pub fn unknown_directive(&self) -> Option<&str> {
        let rest = self.message.strip_prefix("unknown directive \"")?;
        rest.split('"').next()
    }

    fn parse(line: &str) -> Option<Diagnostic> {
        let rest = match line.strip_prefix("nginx: ") {
            Some(rest) => rest,
            None => after_timestamp(line)?,
        };
        let rest = rest.strip_prefix('[')?;
        let (level, rest) = rest.split_once("] ")?;
        let severity = Severity::ALL.into_iter().find(|s| s.as_str() == level)?;
        // The error log adds `<pid>#<tid>: `; the stderr copy does not.
        let message = match rest.split_once(": ") {
            Some((ids, message)) if is_pid_tid(ids) => message,
            _ => rest,
        };
        let (message, location) = match message.rsplit_once(" in ") {
            Some((text, place)) => match place.rsplit_once(':') {
                Some((file, line)) if !file.is_empty() && line.parse::<u32>().is_ok() => (
                    text,
                    Some(Location {
                        file: file.to_owned(),
                        line: line.parse().ok()?,
                    }),
                ),
                _ => (message, None),
            },
            None => (message, None),
        };
        Some(Diagnostic {
            severity,
            message: message.to_owned(),
            location,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.severity.as_str(), self.message)?;
        if let Some(l) = &self.location {
            write!(f, " in {}:{}", l.file, l.line)?;
        }
        Ok(())
    }
}

/// `2026/12/01 09:44:52 ` is 20 bytes of digits, slashes, a space and colons.
fn after_timestamp(line: &str) -> Option<&str> {
    let (stamp, rest) = (line.get(..20)?, line.get(20..)?);
    let shape = "dddd/dd/dd dd:dd:dd ";
    stamp
        .bytes()
        .zip(shape.bytes())
        .all(|(b, s)| {
            if s == b'd' {
                b.is_ascii_digit()
            } else {
                b == s
            }
        })
        .then_some(rest)
}

fn is_pid_tid(ids: &str) -> bool {
    match ids.split_once('#') {
        Some((pid, tid)) => {
            !pid.is_empty()
                && !tid.is_empty()
                && pid.bytes().chain(tid.bytes()).all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

pub fn parse(output: &str) -> Result<NginxTest, ParseError> {
    let mut diagnostics = Vec::new();
    let mut successful = None;
    let mut failed = None;
    let mut last = None;
    for (number, line) in numbered_lines(output) {
        let line = line.trim();
        last = Some((number, line));
        if let Some(config) = status(line, "nginx: configuration file ", " test is successful") {
            successful = Some(config);
        } else if let Some(config) = status(line, "nginx: configuration file ", " test failed") {
            failed = Some(config);
        } else if status(line, "nginx: the configuration file ", " syntax is ok").is_some() {
            // Not yet a verdict: the test can still fail after the syntax check (pid file).
        } else if let Some(d) = Diagnostic::parse(line) {
            diagnostics.push(d);
        }
    }
    let first_error = diagnostics
        .iter()
        .position(|d| d.severity <= Severity::Error);
    if let Some(i) = first_error {
        let error = diagnostics.remove(i);
        return Ok(NginxTest::Failed {
            config: failed,
            error,
            others: diagnostics,
        });
    }
    let expected = match (failed, successful) {
        (None, Some(config)) => {
            return Ok(NginxTest::Successful {
                config,
                warnings: diagnostics,
            })
        }
        (Some(_), _) => "an error saying why the test failed",
        (None, None) => "nginx's verdict (\"test is successful\" or \"test failed\")",
    };
    Err(match last {
        Some((number, line)) => ParseError::at(COMMAND, expected, number, line),
        None => ParseError::end(COMMAND, expected),
    })
}

fn status(line: &str, prefix: &str, suffix: &str) -> Option<String> {
    let file = line.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!file.is_empty()).then(|| file.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CONF: &str = "/etc/nginx/nginx.conf";

    fn at(line: u32) -> Option<Location> {
        Some(Location {
            file: CONF.into(),
            line,
        })
    }

    #[test]
    fn a_good_config() {
        let out = include_str!("../../../fixtures/outputs/nginx/test-ok.txt");
        assert_eq!(
            parse(out).unwrap(),
            NginxTest::Successful {
                config: CONF.into(),
                warnings: vec![]
            }
        );
    }

    #[test]
    fn warnings_and_sudo_noise_do_not_fail_the_test() {
        let out = include_str!("../../../fixtures/outputs/nginx/test-ok-with-warning.txt");
        let NginxTest::Successful { warnings, .. } = parse(out).unwrap() else {
            panic!("not successful");
        };
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].severity, Severity::Warn);
        assert_eq!(
            warnings[0].message,
            "conflicting server name \"a\" on 0.0.0.0:8080, ignored"
        );
        assert_eq!(warnings[0].location, None);
    }

    #[test]
    fn the_missing_stream_module_in_both_log_styles() {
        for out in [
            include_str!("../../../fixtures/outputs/nginx/test-unknown-stream.txt"),
            include_str!("../../../fixtures/outputs/nginx/test-unknown-stream-upstream-build.txt"),
        ] {
            let test = parse(out).unwrap();
            assert!(test.needs_stream_module(), "{test:?}");
            let NginxTest::Failed { config, error, .. } = test else {
                unreachable!()
            };
            assert_eq!(config.as_deref(), Some(CONF));
            assert_eq!(error.severity, Severity::Emerg);
            assert_eq!(error.unknown_directive(), Some("stream"));
            assert_eq!(error.location, at(10));
        }
    }

    #[test]
    fn other_errors_carry_file_and_line() {
        let cases = [
            (
                include_str!("../../../fixtures/outputs/nginx/test-not-allowed.txt"),
                "\"proxy_buffer_size\" directive is not allowed here",
                at(9),
            ),
            (
                include_str!("../../../fixtures/outputs/nginx/test-unexpected-eof.txt"),
                "unexpected end of file, expecting \"}\"",
                at(34),
            ),
            (
                include_str!("../../../fixtures/outputs/nginx/test-duplicate-listen.txt"),
                "duplicate \"0.0.0.0:80\" address and port pair",
                at(20),
            ),
            (
                include_str!("../../../fixtures/outputs/nginx/test-missing-file.txt"),
                "open() \"/etc/nginx/nginx.conf\" failed (2: No such file or directory)",
                None,
            ),
        ];
        for (out, message, location) in cases {
            let test = parse(out).unwrap();
            assert!(!test.needs_stream_module());
            let NginxTest::Failed { error, .. } = test else {
                panic!("not failed: {out}");
            };
            assert_eq!(error.message, message);
            assert_eq!(error.location, location);
        }
    }

    #[test]
    fn syntax_ok_then_failed_is_a_failure() {
        let out = include_str!("../../../fixtures/outputs/nginx/test-not-root.txt");
        let NginxTest::Failed { error, others, .. } = parse(out).unwrap() else {
            panic!("not failed");
        };
        assert_eq!(
            error.message,
            "open() \"/run/nginx.pid\" failed (13: Permission denied)"
        );
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].severity, Severity::Warn);
        assert_eq!(others[0].location, at(2));
    }

    #[test]
    fn no_verdict_is_an_error() {
        let e = parse("sudo: nginx: command not found\n").unwrap_err();
        assert!(e.to_string().contains("command not found"), "{e}");
        assert!(parse("").is_err());
        assert!(parse("nginx: configuration file /etc/nginx/nginx.conf test failed\n").is_err());
    }

    fn diagnostic() -> impl Strategy<Value = Diagnostic> {
        (
            prop::sample::select(Severity::ALL.to_vec()),
            "[a-z\"_()]([a-z0-9 \"_(),.]{0,40}[a-z0-9\"_()])?",
            proptest::option::of(("/[a-z/]{1,20}\\.conf", 1u32..5000)),
        )
            .prop_filter("\" in \" separates the location", |(_, m, _)| {
                !m.contains(" in ")
            })
            .prop_map(|(severity, message, location)| Diagnostic {
                severity,
                message,
                location: location.map(|(file, line)| Location { file, line }),
            })
    }

    proptest! {
        #[test]
        fn printed_diagnostics_parse_back(
            ds in prop::collection::vec(diagnostic(), 1..5),
            timestamped in any::<bool>(),
        ) {
            let mut out = String::new();
            for d in &ds {
                if timestamped {
                    out.push_str(&format!("2026/12/01 09:44:52 {d}\n").replacen("] ", "] 812#812: ", 1));
                } else {
                    out.push_str(&format!("nginx: {d}\n"));
                }
            }
            out.push_str("nginx: configuration file /etc/nginx/nginx.conf test failed\n");
            let parsed = parse(&out);
            match ds.iter().position(|d| d.severity <= Severity::Error) {
                Some(i) => {
                    let NginxTest::Failed { error, others, .. } = parsed.unwrap() else {
                        panic!("not failed")
                    };
                    let mut rest = ds.clone();
                    prop_assert_eq!(error, rest.remove(i));
                    prop_assert_eq!(others, rest);
                }
                None => prop_assert!(parsed.is_err()),
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_log_lines_never_panic(lines in prop::collection::vec("(nginx: |2026/12/01 09:44:52 )\\[[a-z]{0,6}\\] [ -~]{0,40}", 0..5)) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
