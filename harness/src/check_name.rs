//! The names of the checks of a checkpoint: what reports list, goldens key their findings by,
//! and a scenario names (`checkpoint-failing`'s `failing: [reachability]`). Below the checks
//! and the scenario both, so neither imports the other for it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The checks of a checkpoint, in the order reports list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckName {
    Dns,
    Hostnames,
    Resources,
    Reachability,
    LogPath,
    Pods,
    Nodes,
    Etcd,
    Https,
}

impl CheckName {
    pub const ALL: [CheckName; 9] = [
        CheckName::Dns,
        CheckName::Hostnames,
        CheckName::Resources,
        CheckName::Reachability,
        CheckName::LogPath,
        CheckName::Pods,
        CheckName::Nodes,
        CheckName::Etcd,
        CheckName::Https,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Dns => "dns",
            CheckName::Hostnames => "hostnames",
            CheckName::Resources => "resources",
            CheckName::Reachability => "reachability",
            CheckName::LogPath => "log-path",
            CheckName::Pods => "pods",
            CheckName::Nodes => "nodes",
            CheckName::Etcd => "etcd",
            CheckName::Https => "https",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
