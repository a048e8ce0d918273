//! What a check reports: structured findings plus a verdict with its reasons.
//!
//! Findings are written to be snapshotted. Everything that depends on the run rather than on
//! the cluster's state lives in a field the golden normalizer drops: a name ending in `_ms`
//! (latencies, delays, durations), `timestamp`, or `measured` (sizes, error texts, generated
//! IDs, what a check last saw). Every list is a set: its order carries no meaning.

use serde::{Deserialize, Serialize};

pub use crate::check_name::CheckName;

use super::dns::DnsFindings;
use super::etcd::EtcdFindings;
use super::hostnames::HostnameFindings;
use super::https::HttpsFindings;
use super::log_path::LogPathFindings;
use super::nodes::NodeFindings;
use super::pods::PodFindings;
use super::reachability::ReachabilityFindings;
use super::resources::ResourceFindings;

/// Pass or fail, and why. `reasons` are the failures; `notes` say what was left out on
/// purpose (a host the run took down is not probed) and never fail a check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub reasons: Vec<String>,
    pub notes: Vec<String>,
}

impl Verdict {
    pub fn from_reasons(reasons: Vec<String>) -> Self {
        Verdict {
            passed: reasons.is_empty(),
            reasons,
            notes: Vec::new(),
        }
    }

    pub fn with_notes(mut self, notes: Vec<String>) -> Self {
        self.notes = notes;
        self
    }
}

/// One check's findings.
#[derive(Clone, Debug, Serialize)]
// Serialize-only: the check's name is the key the findings are filed under, so a tag would
// only repeat it.
#[serde(untagged)]
pub enum Findings {
    Dns(DnsFindings),
    Hostnames(HostnameFindings),
    Resources(ResourceFindings),
    Reachability(ReachabilityFindings),
    LogPath(LogPathFindings),
    Pods(PodFindings),
    Nodes(NodeFindings),
    Etcd(EtcdFindings),
    Https(HttpsFindings),
}

/// What one check observed at one checkpoint.
#[derive(Clone, Debug, Serialize)]
pub struct Observation {
    pub check: CheckName,
    pub verdict: Verdict,
    /// `None` when the check could not finish (its deadline passed, or no host could answer).
    pub findings: Option<Findings>,
    /// For a check that could not finish: the last thing it saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<String>,
    pub duration_ms: u64,
}

impl Observation {
    pub fn new(check: CheckName, findings: Findings, verdict: Verdict) -> Self {
        Observation {
            check,
            verdict,
            findings: Some(findings),
            measured: None,
            duration_ms: 0,
        }
    }

    /// A check that produced no findings: `reason` says why, `last_seen` what it saw last.
    pub fn unfinished(check: CheckName, reason: String, last_seen: Option<String>) -> Self {
        Observation {
            check,
            verdict: Verdict::from_reasons(vec![reason]),
            findings: None,
            measured: last_seen,
            duration_ms: 0,
        }
    }

    pub fn passed(&self) -> bool {
        self.verdict.passed
    }

    /// The findings as the run record carries them; [`Findings::from_value`] reads them back.
    pub fn findings_json(&self) -> Option<serde_json::Value> {
        self.findings.as_ref().map(to_value)
    }

    /// The form golden snapshots start from: `{verdict, <findings' fields>…}` (or
    /// `{verdict, measured}` for a check that did not finish), before normalization.
    pub fn snapshot_value(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("verdict".into(), to_value(&self.verdict));
        match &self.findings {
            Some(findings) => match to_value(findings) {
                serde_json::Value::Object(fields) => map.extend(fields),
                other => {
                    map.insert("findings".into(), other);
                }
            },
            None => {
                map.insert("findings".into(), serde_json::Value::Null);
            }
        }
        if let Some(seen) = &self.measured {
            map.insert("measured".into(), serde_json::Value::String(seen.clone()));
        }
        serde_json::Value::Object(map)
    }

    /// One line for events and failure lists: `dns: node-2: nslookup probe.acura.test failed`.
    pub fn summary(&self) -> Option<String> {
        if self.verdict.reasons.is_empty() {
            return None;
        }
        Some(format!(
            "{}: {}",
            self.check,
            self.verdict.reasons.join("; ")
        ))
    }
}

/// Read back from its JSON (a bundle's observations): the check's name says which findings
/// its `findings` hold.
impl<'de> Deserialize<'de> for Observation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            check: CheckName,
            verdict: Verdict,
            findings: Option<serde_json::Value>,
            #[serde(default)]
            measured: Option<String>,
            #[serde(default)]
            duration_ms: u64,
        }
        let raw = Raw::deserialize(d)?;
        let findings = match raw.findings {
            None => None,
            Some(v) => Some(Findings::from_value(raw.check, v).map_err(serde::de::Error::custom)?),
        };
        Ok(Observation {
            check: raw.check,
            verdict: raw.verdict,
            findings,
            measured: raw.measured,
            duration_ms: raw.duration_ms,
        })
    }
}

impl Findings {
    /// `check`'s findings from their JSON.
    pub fn from_value(check: CheckName, v: serde_json::Value) -> Result<Findings, String> {
        let e = |e: serde_json::Error| format!("{check} findings: {e}");
        Ok(match check {
            CheckName::Dns => Findings::Dns(serde_json::from_value(v).map_err(e)?),
            CheckName::Hostnames => Findings::Hostnames(serde_json::from_value(v).map_err(e)?),
            CheckName::Resources => Findings::Resources(serde_json::from_value(v).map_err(e)?),
            CheckName::Reachability => {
                Findings::Reachability(serde_json::from_value(v).map_err(e)?)
            }
            CheckName::LogPath => Findings::LogPath(serde_json::from_value(v).map_err(e)?),
            CheckName::Pods => Findings::Pods(serde_json::from_value(v).map_err(e)?),
            CheckName::Nodes => Findings::Nodes(serde_json::from_value(v).map_err(e)?),
            CheckName::Etcd => Findings::Etcd(serde_json::from_value(v).map_err(e)?),
            CheckName::Https => Findings::Https(serde_json::from_value(v).map_err(e)?),
        })
    }
}

fn to_value<T: Serialize>(value: &T) -> serde_json::Value {
    // Findings are plain data (strings, numbers, maps with string keys): serializing them
    // cannot fail.
    serde_json::to_value(value).expect("findings serialize to JSON")
}

/// Every observation of a checkpoint as one map, check name → snapshot value.
pub fn snapshot_of(observations: &[Observation]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for o in observations {
        map.insert(o.check.as_str().to_owned(), o.snapshot_value());
    }
    serde_json::Value::Object(map)
}
