//! A command a step will issue, as `acura-ha plan` shows it and as the run issues it: the same
//! value, built by the same function from the same targets (the hosts and their addresses), so a plan
//! cannot drift from the run it describes.

use serde::Serialize;

use super::CommandId;
use crate::topology::HostName;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedCommand {
    /// The procedure's number, or none for the harness's own commands (waits, faults, …).
    pub id: Option<CommandId>,
    pub host: HostName,
    pub command: String,
    /// Issued only in some cases (C6 when nginx does not know `stream`).
    pub conditional: Option<&'static str>,
}

impl PlannedCommand {
    /// One of the procedure's numbered commands.
    pub fn numbered(id: u8, host: &HostName, command: String) -> Self {
        PlannedCommand {
            id: Some(CommandId(id)),
            host: host.clone(),
            command,
            conditional: None,
        }
    }

    /// A command of the harness's own that `plan` lists because it changes the hosts.
    pub fn aux(host: &HostName, command: String) -> Self {
        PlannedCommand {
            id: None,
            host: host.clone(),
            command,
            conditional: None,
        }
    }

    /// Issued only when `condition` holds.
    pub fn when(mut self, condition: &'static str) -> Self {
        self.conditional = Some(condition);
        self
    }

    /// The numbered command's id; a harness command has none.
    pub fn id(&self) -> Option<CommandId> {
        self.id
    }

    /// `C7 `apt install …``, or the harness command's text alone: how errors name it.
    pub fn label(&self) -> String {
        match self.id {
            Some(id) => format!("{id} `{}`", self.command),
            None => format!("`{}`", self.command),
        }
    }
}
