//! A diagnosis as a run records it: findings, each a named cause with its evidence, the
//! symptoms it explains and the remedy, ranked; and the symptoms no finding explains. The
//! reasoning that makes one lives in `diagnosis/`; these plain types are what events, the run
//! record, JUnit, golden snapshots and `acura-ha analyze` carry.

use serde::{Deserialize, Serialize};

/// The diagnosis's rule ids, which scenarios name (`causes: [...]`) and validation checks
/// without reaching up into the rules themselves (`diagnosis::rule_ids` must equal it).
pub const RULE_IDS: [&str; 15] = [
    "etcd-quorum-lost",
    "host-down",
    "dns-server-down",
    "service-stopped",
    "lb-config",
    "resolver-misconfigured",
    "port-dropped",
    "not-listening",
    "lb-no-connect-timeout",
    "log-pipeline-down",
    "udp-no-health-check",
    "certificate-sans",
    "pod-not-ready",
    "hostname-with-dots",
    "below-requirements",
];

/// One failure a check reported: the check's name and one of its reasons.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Symptom {
    pub check: String,
    pub text: String,
}

impl std::fmt::Display for Symptom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.check, self.text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule that found it (`etcd-quorum-lost`): stable, for tools and goldens.
    pub rule: String,
    /// One line: what is wrong.
    pub cause: String,
    /// The facts and observations it rests on.
    pub evidence: Vec<String>,
    /// The symptoms it explains (each symptom is explained by one finding at most).
    pub explains: Vec<Symptom>,
    /// The guide's own advice where it has one, otherwise the fix.
    pub remedy: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Most fundamental first.
    pub findings: Vec<Finding>,
    /// Failures no finding explains: each still fails its check.
    pub unexplained: Vec<Symptom>,
}

impl Diagnosis {
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.unexplained.is_empty()
    }

    /// How many symptoms the findings explain, in all.
    pub fn explained(&self) -> usize {
        self.findings.iter().map(|f| f.explains.len()).sum()
    }

    /// `1 cause explains 7 failures: etcd lost its quorum …` — the headline of a report.
    pub fn headline(&self) -> Option<String> {
        let first = self.findings.first()?;
        let causes = self.findings.len();
        let mut line = format!(
            "{causes} cause{} explain{} {} failure{}: {}",
            if causes == 1 { "" } else { "s" },
            if causes == 1 { "s" } else { "" },
            self.explained(),
            if self.explained() == 1 { "" } else { "s" },
            first.cause
        );
        if !self.unexplained.is_empty() {
            line.push_str(&format!("; {} unexplained", self.unexplained.len()));
        }
        Some(line)
    }
}
