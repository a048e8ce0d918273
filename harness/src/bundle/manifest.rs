//! A bundle's manifest: what was collected, from where, with which command, how long it took,
//! and what failed and why. Versioned: a bundle from a newer acura-ha is refused by name, not
//! misread.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The manifest format this acura-ha writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// The acura-ha that collected it.
    pub acura_ha: String,
    pub created: DateTime<Utc>,
    /// What was collected: `site of ha_env_file (3 nodes, LB …)` or `kept run <id>`.
    pub target: String,
    /// How far back the services' logs go (`journalctl --since`).
    pub since: String,
    /// Whether addresses and hostnames were replaced by placeholders.
    pub masked: bool,
    pub entries: Vec<Entry>,
}

/// One file of the bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Inside the bundle: `hosts/node-1/resolv.conf`.
    pub path: String,
    /// Where it came from: a host, or `acura-ha` for what the checks produced.
    pub source: String,
    /// The command that produced it, as run.
    pub command: Option<String>,
    pub duration_ms: u64,
    /// Why it could not be collected; the file then holds what came back, if anything.
    pub error: Option<String>,
}

impl Manifest {
    /// The entries that failed, for the collector's summary and the analyst.
    pub fn failed(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.error.is_some())
    }
}
