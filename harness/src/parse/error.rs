//! The one error every parser returns: which command's output, what was expected, and the
//! line that did not fit.

use std::fmt;

/// Output of `command` did not have the shape the procedure documents.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{command}: expected {expected}, found {found}")]
pub struct ParseError {
    pub command: &'static str,
    pub expected: String,
    pub found: Found,
}

/// Where parsing stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// A line of the output (1-based), shortened when long.
    Line {
        number: usize,
        text: String,
    },
    /// A line whose text is withheld because it may carry a secret (a join token, a certificate key).
    Withheld {
        number: usize,
    },
    EndOfOutput,
}

/// Long enough to recognise a line, short enough that a megabyte of garbage stays out of a report.
const MAX_SHOWN: usize = 160;

impl ParseError {
    pub fn at(
        command: &'static str,
        expected: impl Into<String>,
        number: usize,
        line: &str,
    ) -> Self {
        ParseError {
            command,
            expected: expected.into(),
            found: Found::Line {
                number,
                text: shorten(line),
            },
        }
    }

    pub fn withheld(command: &'static str, expected: impl Into<String>, number: usize) -> Self {
        ParseError {
            command,
            expected: expected.into(),
            found: Found::Withheld { number },
        }
    }

    pub fn end(command: &'static str, expected: impl Into<String>) -> Self {
        ParseError {
            command,
            expected: expected.into(),
            found: Found::EndOfOutput,
        }
    }
}

fn shorten(line: &str) -> String {
    if line.chars().count() <= MAX_SHOWN {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(MAX_SHOWN).collect();
    short.push('…');
    short
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Line { number, text } => write!(f, "line {number}: {text:?}"),
            Found::Withheld { number } => {
                write!(f, "line {number} (withheld: it may carry a secret)")
            }
            Found::EndOfOutput => f.write_str("end of output"),
        }
    }
}

/// The non-blank lines of an output with their 1-based numbers, trailing whitespace removed.
pub(crate) fn numbered_lines(output: &str) -> impl Iterator<Item = (usize, &str)> {
    output
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end()))
        .filter(|(_, line)| !line.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_command_expectation_and_line() {
        let e = ParseError::at("kubectl get nodes", "a NAME column", 1, "FOO BAR");
        assert_eq!(
            e.to_string(),
            r#"kubectl get nodes: expected a NAME column, found line 1: "FOO BAR""#
        );
    }

    #[test]
    fn long_lines_are_shortened_and_secrets_withheld() {
        let e = ParseError::at("nc -vz", "x", 3, &"a".repeat(10_000));
        assert!(e.to_string().len() < 300, "{e}");
        let e = ParseError::withheld("kubeadm init phase upload-certs", "a key", 3);
        assert_eq!(
            e.to_string(),
            "kubeadm init phase upload-certs: expected a key, found line 3 (withheld: it may carry a secret)"
        );
    }
}
