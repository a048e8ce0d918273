//! `acura-ha plan`: every step with the exact commands it will issue, without touching
//! anything. Each step's commands come from the step's own module, from the function its run
//! issues them with, given [`Targets`] whose addresses are placeholders (`<node-2>`); secrets
//! learned at run time (the join token, the certificate key) show as `<from C26>`/`<from C27>`.
//! What this file adds is the run's state as it will be when each step starts.

use serde::Serialize;

use super::{
    configure_lb, describe, fault, install, join_node, join_node_refused, misconfigure,
    move_etcd_leader, move_pod, preflight, prepare_deployer, remove_dead_node, replace_node,
    update, Targets,
};
use crate::checks::Expectations;
use crate::error::Result;
use crate::procedure::{commands, PlannedCommand};
use crate::scenario::{LoadedScenario, Step};

#[derive(Debug, Serialize)]
pub struct PlannedStep {
    pub index: usize,
    pub line: usize,
    pub name: String,
    pub commands: Vec<PlannedCommand>,
    /// What the step does besides commands (uploads, provider actions, waits).
    pub actions: Vec<String>,
}

/// What one step will issue and do.
#[derive(Debug, Default)]
pub struct StepPlan {
    pub commands: Vec<PlannedCommand>,
    pub actions: Vec<String>,
}

impl StepPlan {
    pub fn commands(commands: Vec<PlannedCommand>) -> Self {
        StepPlan {
            commands,
            actions: Vec::new(),
        }
    }

    fn action(action: String) -> Self {
        StepPlan {
            commands: Vec::new(),
            actions: vec![action],
        }
    }

    pub fn extend(&mut self, other: StepPlan) {
        self.commands.extend(other.commands);
        self.actions.extend(other.actions);
    }
}

/// The checks' commands at a checkpoint (numbered unless the failure is caused on purpose).
fn checkpoint_commands(t: &Targets, numbered: bool) -> Vec<PlannedCommand> {
    let nodes: Vec<_> = t.nodes().map(|n| n.name.clone()).collect();
    crate::checks::procedure_commands(&t.expectations, &nodes, &t.probe_name)
        .into_iter()
        .map(|c| {
            if numbered {
                c
            } else {
                PlannedCommand::aux(&c.host, c.command)
            }
        })
        .collect()
}

fn step_plan(
    loaded: &LoadedScenario,
    t: &Targets,
    misconfigured: &[crate::scenario::Misconfiguration],
    step: &Step,
) -> Result<StepPlan> {
    let scenario = &loaded.scenario;
    Ok(match step {
        Step::Preflight => preflight::plan(t)?,
        Step::ConfigureLb => configure_lb::plan(t)?,
        Step::PrepareDeployer => prepare_deployer::plan(t)?,
        Step::InstallMasters => install::plan_masters(t)?,
        Step::InstallAcura => install::plan_acura(t)?,
        Step::Update(u) => update::plan(t, u)?,
        Step::Checkpoint(name) => StepPlan {
            commands: checkpoint_commands(t, true),
            actions: vec![format!(
                "run every check; compare with fixtures/golden/{}/{name}.snap",
                scenario.name
            )],
        },
        Step::WriteMarkers => StepPlan::action(
            "write an app-etcd key and a GELF record through the LB".into(),
        ),
        Step::VerifyMarkers => StepPlan::action("prove the markers are still there".into()),
        Step::Fault(f) => StepPlan::action(format!("provider: {} {}", fault::verb(f), f.host())),
        Step::Expect(e) => StepPlan::action(format!(
            "wait for {}",
            serde_json::to_string(e).unwrap_or_default()
        )),
        Step::RemoveDeadNode(h) => remove_dead_node::plan(t, h)?,
        Step::ReplaceNode(h) => replace_node::plan(t, h)?,
        Step::Misconfigure(m) => misconfigure::plan(t, m)?,
        Step::Repair => misconfigure::plan_repair(t, misconfigured)?,
        Step::MoveEtcdLeader(h) => move_etcd_leader::plan(t, h)?,
        Step::MovePod(m) => move_pod::plan(t, m)?,
        Step::BenchChecks => StepPlan::action(
            "every check in parallel, then the guide's commands one after another from the deploy host; print both times".into(),
        ),
        Step::CheckpointFailing(f) => StepPlan {
            commands: checkpoint_commands(t, false),
            actions: vec![format!(
                "run every check; exactly {} must fail; the changes against {} are compared with fixtures/golden/{}/{}.snap",
                f.failing.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
                f.baseline,
                scenario.name,
                f.name
            )],
        },
        Step::JoinNodeRefused(r) => join_node_refused::plan(t, r)?,
        Step::JoinNode(h) => join_node::plan(t, h)?,
        Step::Diagnose(d) => StepPlan {
            commands: checkpoint_commands(t, false),
            actions: vec![format!(
                "run every check; the diagnosis must name {}",
                d.causes.join(", ")
            )],
        },
    })
}

pub fn plan(loaded: &LoadedScenario) -> Vec<PlannedStep> {
    let scenario = &loaded.scenario;
    let mut overlays = commands::initial_overlays(scenario.product.flavor);
    // What the run expects when the step starts: the checks run on the nodes that are up.
    let mut expectations = Expectations::provisioned();
    // Misconfigurations in effect, oldest first: what `repair` undoes.
    let mut misconfigured = Vec::new();
    let mut out = Vec::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let targets = Targets::planned(scenario, &expectations, &overlays);
        let planned = step_plan(loaded, &targets, &misconfigured, step)
            .unwrap_or_else(|e| StepPlan::action(format!("cannot run: {e}")));
        match step {
            Step::Update(u) => overlays = update::merged(&overlays, u),
            Step::Misconfigure(m) => misconfigured.push(m.clone()),
            Step::Repair => misconfigured.clear(),
            _ => {}
        }
        expectations.advance(step);
        out.push(PlannedStep {
            index,
            line: loaded.step_lines.get(index).copied().unwrap_or(0),
            name: describe(step),
            commands: planned.commands,
            actions: planned.actions,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<LoadedScenario> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        crate::scenario::discover(&root)
            .into_iter()
            .map(|s| crate::scenario::load(&s.file).expect("a shipped scenario loads"))
            .collect()
    }

    #[test]
    fn every_shipped_step_can_be_planned() {
        let scenarios = shipped();
        assert!(scenarios.len() >= 10, "found {}", scenarios.len());
        for loaded in &scenarios {
            for step in plan(loaded) {
                assert!(
                    !step.actions.iter().any(|a| a.starts_with("cannot run")),
                    "{}: step {} `{}`: {:?}",
                    loaded.scenario.name,
                    step.index + 1,
                    step.name,
                    step.actions
                );
            }
        }
    }

    #[test]
    fn the_dead_node_is_named_by_its_hostname_and_commands_go_to_a_live_node() {
        let lifecycle = shipped()
            .into_iter()
            .find(|l| l.scenario.name == "lifecycle")
            .unwrap();
        let planned = plan(&lifecycle);
        let remove = planned
            .iter()
            .find(|s| s.name.starts_with("remove-dead-node"))
            .unwrap();
        let c23 = &remove.commands[1];
        assert_eq!(c23.id.map(|i| i.0), Some(23));
        assert_eq!(c23.host.as_str(), "node-1");
        assert!(c23.command.ends_with(" node-2"), "{}", c23.command);
        // The rejoined node is up again: the last checkpoint asks all three.
        let rejoined = planned.last().unwrap();
        assert_eq!(rejoined.name, "checkpoint rejoined");
        assert_eq!(rejoined.commands.len(), 9);
        let join = planned
            .iter()
            .find(|s| s.name == "join-node node-2")
            .unwrap();
        let hosts: Vec<_> = join.commands.iter().map(|c| c.host.as_str()).collect();
        assert_eq!(hosts, ["node-1", "node-1", "deployer"]);
        assert!(join.commands[2].command.contains("<node-2>"));
    }
}
