//! What a checkpoint expects of the topology, from the run's own knowledge: which hosts it took
//! down, which nodes it removed from the cluster, and how far the install has got. A check
//! never guesses this from what it sees: a node that is down when nothing took it down fails.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::scenario::{Fault, Step};
use crate::topology::{Host, HostName, Role, Topology};

/// How far the procedure has brought the topology. Later stages include the earlier ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Hosts are up; nothing of the product is installed.
    Provisioned,
    /// nginx on the LB listens on every forwarded port.
    LbConfigured,
    /// C15 ran: etcd and the Kubernetes API on every node.
    ClusterInstalled,
    /// C16 ran: the product's services on every node.
    AcuraInstalled,
}

impl Stage {
    /// How far the install is once `step` passed: what the checks of a later checkpoint may
    /// expect (see [`crate::checks::applicable`]). The runner, `Expectations::after` and the
    /// conformance suite all follow the steps with this one function.
    pub fn after(self, step: &Step) -> Stage {
        match step {
            Step::ConfigureLb => self.max(Stage::LbConfigured),
            Step::InstallMasters => self.max(Stage::ClusterInstalled),
            Step::InstallAcura => self.max(Stage::AcuraInstalled),
            _ => self,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectations {
    /// Hosts the run took down (powered off, paused, partitioned) and has not brought back.
    pub down: BTreeSet<HostName>,
    /// Nodes removed from the cluster (C23/C25), or replaced and not joined yet.
    pub removed: BTreeSet<HostName>,
    pub stage: Stage,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations::installed()
    }
}

impl Expectations {
    /// Every host up and the product installed: what `acura-ha check` assumes of a topology
    /// that is already up.
    pub fn installed() -> Self {
        Expectations {
            down: BTreeSet::new(),
            removed: BTreeSet::new(),
            stage: Stage::AcuraInstalled,
        }
    }

    /// A topology just provisioned: every host up, nothing installed.
    pub fn provisioned() -> Self {
        Expectations {
            down: BTreeSet::new(),
            removed: BTreeSet::new(),
            stage: Stage::Provisioned,
        }
    }

    /// What the steps run so far leave behind (the steps before a checkpoint).
    pub fn after(steps: &[Step]) -> Self {
        let mut e = Expectations::provisioned();
        for step in steps {
            e.advance(step);
        }
        e
    }

    /// What `step`, once it passed, changed of the run's state: the one place that says it,
    /// for the runner (step by step), kept runs and the conformance suite.
    pub fn advance(&mut self, step: &Step) {
        self.stage = self.stage.after(step);
        match step {
            Step::Fault(f) => match f {
                Fault::PowerOff(h) | Fault::Pause(h) | Fault::Partition(h) => {
                    self.down.insert(h.clone());
                }
                Fault::Resume(h) | Fault::Heal(h) => {
                    self.down.remove(h);
                }
            },
            Step::RemoveDeadNode(h) => {
                self.removed.insert(h.clone());
            }
            Step::ReplaceNode(h) => {
                // A fresh host: up, but not a member until it joins.
                self.down.remove(h);
                self.removed.insert(h.clone());
            }
            Step::JoinNode(h) => {
                self.removed.remove(h);
            }
            _ => {}
        }
    }

    /// In words, for people: "Acura installed (C16), down: node-2, not in the cluster: node-2".
    pub fn describe(&self) -> String {
        let mut text = match self.stage {
            Stage::Provisioned => "hosts up, nothing installed",
            Stage::LbConfigured => "the LB configured, nothing installed",
            Stage::ClusterInstalled => "Kubernetes installed (C15), Acura not yet",
            Stage::AcuraInstalled => "Acura installed (C16)",
        }
        .to_owned();
        let names = |set: &BTreeSet<HostName>| {
            set.iter()
                .map(|h| h.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.down.is_empty() {
            text.push_str(&format!("; down: {}", names(&self.down)));
        }
        if !self.removed.is_empty() {
            text.push_str(&format!("; not in the cluster: {}", names(&self.removed)));
        }
        text
    }

    pub fn is_up(&self, host: &HostName) -> bool {
        !self.down.contains(host)
    }

    pub fn in_cluster(&self, host: &HostName) -> bool {
        !self.removed.contains(host)
    }

    /// Nodes that must be cluster members (whether up or not).
    pub fn members<'t>(&self, topology: &'t Topology) -> Vec<&'t Host> {
        topology
            .nodes()
            .filter(|h| self.in_cluster(&h.name))
            .collect()
    }

    /// Nodes that are up and members: where cluster-side commands can run, and what must be
    /// Ready and healthy.
    pub fn live_members<'t>(&self, topology: &'t Topology) -> Vec<&'t Host> {
        topology
            .nodes()
            .filter(|h| self.in_cluster(&h.name) && self.is_up(&h.name))
            .collect()
    }

    /// Hosts of `role` that are up.
    pub fn up<'t>(&self, topology: &'t Topology, role: Role) -> Vec<&'t Host> {
        topology
            .hosts
            .iter()
            .filter(|h| h.role == role && self.is_up(&h.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> HostName {
        HostName::from(s)
    }

    #[test]
    fn a_powered_off_node_is_down_until_replaced_and_outside_the_cluster_until_joined() {
        let mut steps = vec![
            Step::Preflight,
            Step::ConfigureLb,
            Step::InstallMasters,
            Step::InstallAcura,
            Step::Checkpoint("installed".into()),
            Step::Fault(Fault::PowerOff(h("node-2"))),
        ];
        let e = Expectations::after(&steps);
        assert_eq!(e.stage, Stage::AcuraInstalled);
        assert!(!e.is_up(&h("node-2")));
        assert!(e.in_cluster(&h("node-2")));

        steps.push(Step::RemoveDeadNode(h("node-2")));
        let e = Expectations::after(&steps);
        assert!(!e.is_up(&h("node-2")) && !e.in_cluster(&h("node-2")));

        steps.push(Step::ReplaceNode(h("node-2")));
        let e = Expectations::after(&steps);
        assert!(e.is_up(&h("node-2")) && !e.in_cluster(&h("node-2")));

        steps.push(Step::JoinNode(h("node-2")));
        assert_eq!(Expectations::after(&steps), Expectations::installed());
    }

    #[test]
    fn stage_follows_the_install_steps() {
        assert_eq!(
            Expectations::after(&[Step::Preflight]).stage,
            Stage::Provisioned
        );
        assert_eq!(
            Expectations::after(&[Step::Preflight, Step::ConfigureLb]).stage,
            Stage::LbConfigured
        );
        assert_eq!(
            Expectations::after(&[Step::ConfigureLb, Step::InstallMasters]).stage,
            Stage::ClusterInstalled
        );
    }

    #[test]
    fn a_healed_partition_brings_the_host_back() {
        let e = Expectations::after(&[
            Step::InstallAcura,
            Step::Fault(Fault::Partition(h("node-3"))),
            Step::Fault(Fault::Heal(h("node-3"))),
        ]);
        assert!(e.down.is_empty());
    }
}
