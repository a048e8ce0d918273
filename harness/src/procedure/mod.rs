//! The vendor's procedure as numbered commands (`C1`…`C28`). Steps issue these verbatim with
//! the placeholders filled in; the run record counts which of them ran and passed.

pub mod commands;
mod planned;

pub use planned::PlannedCommand;

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CommandId(pub u8);

pub const FIRST: u8 = 1;
pub const LAST: u8 = 28;

/// The secret a command's output carries, which must be known before the output is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reveals {
    /// `kubeadm token create --print-join-command`: the token and its id.
    JoinCommand,
    /// `kubeadm init phase upload-certs --upload-certs`: the certificate key.
    CertificateKey,
}

impl CommandId {
    pub fn all() -> impl Iterator<Item = CommandId> {
        (FIRST..=LAST).map(CommandId)
    }

    /// Whether the guide itself expects a failed first attempt and a retry (`nginx -t` before
    /// the `load_module` fix, `pip install` before libffi-dev): the last attempt decides.
    pub fn may_retry(self) -> bool {
        matches!(self.0, 5 | 11 | 12)
    }

    /// The secret the command's output carries (C26's join token, C27's certificate key).
    pub fn reveals(self) -> Option<Reveals> {
        match self.0 {
            26 => Some(Reveals::JoinCommand),
            27 => Some(Reveals::CertificateKey),
            _ => None,
        }
    }

    /// What the guide says the command is for.
    pub fn purpose(self) -> &'static str {
        match self.0 {
            1 => "nameservers present in /etc/resolv.conf",
            2 => "probe name resolves",
            3 => "hostname has no dots",
            4 => "deploy host reaches TCP/22 on every node",
            5 => "nginx -t validates the LB config",
            6 => "load the stream module when nginx reports it unknown",
            7 => "install python3-pip and sshpass",
            8 => "pin pip",
            9 => "install virtualenv<20.0",
            10 => "unpack the archive",
            11 => "create the venv and install requirements",
            12 => "libffi-dev and retry of the requirements",
            13 => "write ha_env_file",
            14 => "load the SSH key into an agent",
            15 => "install the Kubernetes masters",
            16 => "install Acura",
            17 => "all pods running",
            18 => "UI answers through the LB",
            19 => "read the overlay list",
            20 => "write the overlay list",
            21 => "update the cluster",
            22 => "list nodes",
            23 => "delete the dead node",
            24 => "list etcd members",
            25 => "remove the dead etcd member",
            26 => "create a join command",
            27 => "upload certificates",
            28 => "add the node",
            _ => "unknown",
        }
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C{}", self.0)
    }
}

impl From<CommandId> for String {
    fn from(id: CommandId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for CommandId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.strip_prefix('C')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (FIRST..=LAST).contains(n))
            .map(CommandId)
            .ok_or_else(|| format!("not a procedure command id: {s}"))
    }
}
