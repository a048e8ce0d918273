//! Where a step's commands go and the addresses they name. A run takes them from its topology
//! and its state; `acura-ha plan` from the scenario, with each address the provider assigns
//! shown as `<host>`. Each step builds its commands from these alone, with one function that
//! both the run and `plan` call: the plan is the run's own list, not a copy of it.

use super::RunState;
use crate::checks::Expectations;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::topology::{HostName, Role};

/// One host as commands name it.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: HostName,
    pub role: Role,
    pub hostname: String,
    /// The address on the run's network, or `<name>` in a plan.
    pub address: String,
}

#[derive(Clone, Debug)]
pub struct Targets {
    /// Who the playbooks connect as (`ansible_user`).
    pub user: String,
    pub hosts: Vec<Target>,
    /// Who is down and who is out of the cluster when the step starts.
    pub expectations: Expectations,
    /// The overlay list the cluster runs with (C16's `overlays`).
    pub overlays: Vec<String>,
    /// The name C2 looks up (the provider's DNS serves it).
    pub probe_name: String,
}

impl Targets {
    /// What a running step sees: the topology as it is now and the run's state.
    pub fn of_run(ctx: &RunContext, state: &RunState) -> Targets {
        let topology = ctx.topology();
        Targets {
            user: ctx.scenario().user.clone(),
            hosts: topology
                .hosts
                .into_iter()
                .map(|h| Target {
                    address: h.address.to_string(),
                    name: h.name,
                    role: h.role,
                    hostname: h.hostname,
                })
                .collect(),
            expectations: state.expectations.clone(),
            overlays: state.overlays.clone(),
            probe_name: topology.network.probe_name,
        }
    }

    /// What `plan` shows for a step that starts with `expectations`: addresses as placeholders.
    pub fn planned(scenario: &Scenario, expectations: &Expectations, overlays: &[String]) -> Self {
        Targets {
            user: scenario.user.clone(),
            hosts: super::topology_spec(scenario)
                .hosts
                .into_iter()
                .map(|h| Target {
                    address: format!("<{}>", h.name),
                    name: h.name,
                    role: h.role,
                    hostname: h.hostname,
                })
                .collect(),
            expectations: expectations.clone(),
            overlays: overlays.to_vec(),
            probe_name: "<probe name>".into(),
        }
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Target> {
        self.hosts.iter().filter(|h| h.role == Role::Node)
    }

    /// Nodes that are up, in node order (where the checks run).
    pub fn up_nodes(&self) -> impl Iterator<Item = &Target> {
        self.nodes().filter(|n| self.expectations.is_up(&n.name))
    }

    pub fn host(&self, name: &HostName) -> Result<&Target> {
        self.hosts
            .iter()
            .find(|h| &h.name == name)
            .ok_or_else(|| Error::CheckFailed(format!("no host named {name} in this run")))
    }

    fn role(&self, role: Role, what: &str) -> Result<&Target> {
        self.hosts
            .iter()
            .find(|h| h.role == role)
            .ok_or_else(|| Error::CheckFailed(format!("the scenario has no {what}")))
    }

    pub fn deployer(&self) -> Result<&Target> {
        self.role(Role::Deployer, "deploy host")
    }

    pub fn lb(&self) -> Result<&Target> {
        self.role(Role::Lb, "load balancer")
    }

    /// A node that is up and still a cluster member: where cluster-side commands (kubectl,
    /// kubeadm, etcdctl) run. The first one in node order, like an operator would pick.
    pub fn live_node(&self) -> Result<&Target> {
        self.nodes()
            .find(|n| self.expectations.is_up(&n.name) && self.expectations.in_cluster(&n.name))
            .ok_or_else(|| {
                Error::CheckFailed("no live node left to run cluster commands on".into())
            })
    }

    /// The first node in order (what the guide's examples call "the first master").
    pub fn first_node(&self) -> Result<&Target> {
        self.nodes()
            .next()
            .ok_or_else(|| Error::CheckFailed("the scenario has no node".into()))
    }
}
