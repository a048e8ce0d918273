//! `acura-ha plan`: every step with the exact commands it will issue, without touching
//! anything. Addresses the provider assigns at provisioning are shown as `<host>`; secrets
//! learned at run time (the join token, the certificate key) as `<from C26>`/`<from C27>`.

use serde::Serialize;

use super::{describe, topology_spec, DEPLOYER_KEY};
use crate::check_name::CheckName;
use crate::checks::Expectations;
use crate::procedure::commands;
use crate::procedure::CommandId;
use crate::scenario::{LoadedScenario, Misconfiguration, Step};
use crate::topology::HostSpec;

#[derive(Debug, Serialize)]
pub struct PlannedStep {
    pub index: usize,
    pub line: usize,
    pub name: String,
    pub commands: Vec<PlannedCommand>,
    /// What the step does besides commands (uploads, provider actions, waits).
    pub actions: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PlannedCommand {
    pub id: Option<CommandId>,
    pub host: String,
    pub command: String,
    /// Issued only in some cases (C6 when nginx does not know `stream`).
    pub conditional: Option<&'static str>,
}

pub(super) fn aux(host: &str, command: String) -> PlannedCommand {
    PlannedCommand {
        id: None,
        host: host.to_owned(),
        command,
        conditional: None,
    }
}

fn cmd(id: u8, host: &str, command: String) -> PlannedCommand {
    PlannedCommand {
        id: Some(CommandId(id)),
        host: host.to_owned(),
        command,
        conditional: None,
    }
}

/// C5 and, when nginx does not know `stream`, C6: what configure-lb (and replace-node, which
/// rewrites the upstreams) issues.
fn configure_lb(c: &mut Vec<PlannedCommand>, actions: &mut Vec<String>) {
    actions.push("upload /etc/nginx/nginx.conf rendered from the node list".into());
    c.push(cmd(5, "lb", commands::c5()));
    let mut fix = cmd(6, "lb", commands::c6());
    fix.conditional = Some("when nginx -t reports unknown directive \"stream\"");
    c.push(fix);
    actions.push("systemctl reload-or-restart nginx".into());
}

/// The procedure's commands a checkpoint's checks issue: C1 and C2 (dns) and C3 (hostnames)
/// on every node that is up. A `checkpoint-failing` issues them unnumbered: a failure caused
/// on purpose says nothing about the procedure.
fn checkpoint_commands(
    nodes: &[&HostSpec],
    expectations: &Expectations,
    c: &mut Vec<PlannedCommand>,
) {
    let checks = crate::checks::applicable(expectations.stage);
    for n in nodes.iter().filter(|n| expectations.is_up(&n.name)) {
        let name = n.name.as_str();
        if checks.contains(&CheckName::Dns) {
            c.push(cmd(1, name, commands::c1()));
            c.push(cmd(2, name, commands::c2("probe.acura.test")));
        }
        if checks.contains(&CheckName::Hostnames) {
            c.push(cmd(3, name, commands::c3()));
        }
    }
}

pub fn plan(loaded: &LoadedScenario) -> Vec<PlannedStep> {
    let scenario = &loaded.scenario;
    let spec = topology_spec(scenario);
    let nodes: Vec<_> = spec.nodes().collect();
    let node_addrs: Vec<String> = nodes.iter().map(|h| format!("<{}>", h.name)).collect();
    let first = nodes
        .first()
        .map(|h| h.name.to_string())
        .unwrap_or_else(|| "node-1".into());
    let user = scenario.user.as_str();
    let mut overlays = commands::initial_overlays(scenario.product.flavor);
    // What the run expects when the step starts: the checks run on the nodes that are up.
    let mut expectations = Expectations::provisioned();
    // Misconfigurations in effect, oldest first: what `repair` undoes.
    let mut misconfigured = Vec::new();
    let mut out = Vec::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let mut c = Vec::new();
        let mut actions = Vec::new();
        match step {
            Step::Preflight => {
                for n in &nodes {
                    c.push(cmd(1, n.name.as_str(), commands::c1()));
                    c.push(cmd(2, n.name.as_str(), commands::c2("probe.acura.test")));
                    c.push(cmd(3, n.name.as_str(), commands::c3()));
                }
                c.push(cmd(4, "deployer", commands::c4(&node_addrs)));
                actions.push("resources, OS and (deploy host) Python 3.11 on every host".into());
            }
            Step::ConfigureLb => configure_lb(&mut c, &mut actions),
            Step::PrepareDeployer => {
                actions
                    .push("upload the product archive and the run key to the deploy host".into());
                c.push(cmd(7, "deployer", commands::c7()));
                c.push(cmd(8, "deployer", commands::c8()));
                c.push(cmd(9, "deployer", commands::c9()));
                c.push(cmd(10, "deployer", commands::c10()));
                c.push(cmd(11, "deployer", commands::c11()));
                c.push(cmd(12, "deployer", commands::c12()));
                let hosts: Vec<(String, String)> = nodes
                    .iter()
                    .map(|h| (h.hostname.clone(), format!("<{}>", h.name)))
                    .collect();
                c.push(cmd(
                    13,
                    "deployer",
                    commands::c13(&commands::ha_env_file(&hosts, DEPLOYER_KEY)),
                ));
                c.push(cmd(14, "deployer", commands::c14(DEPLOYER_KEY)));
            }
            Step::InstallMasters => c.push(cmd(15, "deployer", commands::c15(user, "<lb>"))),
            Step::InstallAcura => {
                c.push(cmd(16, "deployer", commands::c16(user, &overlays)));
                c.push(cmd(17, &first, commands::c17()));
                c.push(cmd(18, "deployer", commands::c18("<lb>")));
            }
            Step::Update(u) => {
                let next = super::update::merged(&overlays, u);
                c.push(cmd(19, &first, commands::c19()));
                c.push(cmd(20, &first, commands::c20(&next)));
                c.push(cmd(21, "deployer", commands::c21(user, &next)));
                overlays = next;
            }
            Step::Checkpoint(name) => {
                checkpoint_commands(&nodes, &expectations, &mut c);
                actions.push(format!(
                    "run every check; compare with fixtures/golden/{}/{name}.snap",
                    scenario.name
                ))
            }
            Step::WriteMarkers => {
                actions.push("write an app-etcd key and a GELF record through the LB".into())
            }
            Step::VerifyMarkers => actions.push("prove the markers are still there".into()),
            Step::Fault(f) => {
                actions.push(format!("provider: {} {}", super::fault::verb(f), f.host()))
            }
            Step::Expect(e) => actions.push(format!(
                "wait for {}",
                serde_json::to_string(e).unwrap_or_default()
            )),
            Step::RemoveDeadNode(h) => {
                let live = nodes
                    .iter()
                    .map(|n| n.name.to_string())
                    .find(|n| n != h.as_str())
                    .unwrap_or_default();
                c.push(cmd(22, &live, commands::c22()));
                c.push(cmd(23, &live, commands::c23(h.as_str())));
                c.push(cmd(24, &live, commands::c24(&live)));
                c.push(cmd(25, &live, commands::c25(&live, "<member id from C24>")));
            }
            Step::ReplaceNode(h) => {
                actions.push(format!(
                    "provider: a fresh {h} with the same name and address"
                ));
                configure_lb(&mut c, &mut actions);
            }
            Step::Misconfigure(m) => {
                super::misconfigure::plan(m, &first, &mut c, &mut actions);
                misconfigured.push(m.clone());
            }
            Step::Repair => {
                actions.push("undo every misconfiguration still in effect, newest first".into());
                for m in misconfigured.drain(..).rev() {
                    // The guide's config again, from the current node list.
                    if matches!(m, Misconfiguration::LbWithoutUdp) {
                        configure_lb(&mut c, &mut actions);
                    }
                }
            }
            Step::MoveEtcdLeader(h) => {
                c.push(aux(&first, crate::checks::etcd::endpoint_status_command(&first)));
                c.push(aux(
                    &first,
                    super::move_etcd_leader::move_leader_command(&first, "<leader endpoint>", 0)
                        .replace(" move-leader 0", &format!(" move-leader <member id of {h}>")),
                ));
            }
            Step::BenchChecks => actions.push(
                "every check in parallel, then the guide's commands one after another from the deploy host; print both times".into(),
            ),
            Step::CheckpointFailing(f) => actions.push(format!(
                "run every check; exactly {} must fail; the changes against {} are compared with fixtures/golden/{}/{}.snap",
                f.failing.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
                f.baseline,
                scenario.name,
                f.name
            )),
            Step::JoinNodeRefused(r) => {
                let live = nodes
                    .iter()
                    .map(|n| n.name.to_string())
                    .find(|n| n != r.node.as_str())
                    .unwrap_or_default();
                c.push(aux(&live, super::join_node_refused::token_command(r.token)));
                c.push(aux(&live, commands::c27()));
                let facts = commands::JoinFacts {
                    token: &format!("<{} token>", r.token.as_str()),
                    discovery_token: "<from the token's join command>",
                    cert_key: "<from C27>",
                };
                c.push(aux(
                    "deployer",
                    commands::c28(user, "<lb>", &format!("<{}>", r.node), &facts),
                ));
                actions.push(format!(
                    "the playbook must fail with kubeadm's \"{}\"; nodes and etcd members unchanged",
                    super::join_node_refused::KUBEADM_REFUSAL
                ));
            }
            Step::JoinNode(h) => {
                let live = nodes
                    .iter()
                    .map(|n| n.name.to_string())
                    .find(|n| n != h.as_str())
                    .unwrap_or_default();
                c.push(cmd(26, &live, commands::c26()));
                c.push(cmd(27, &live, commands::c27()));
                let facts = commands::JoinFacts {
                    token: "<from C26>",
                    discovery_token: "<from C26>",
                    cert_key: "<from C27>",
                };
                c.push(cmd(
                    28,
                    "deployer",
                    commands::c28(user, "<lb>", &format!("<{h}>"), &facts),
                ));
            }
        }
        expectations.advance(step);
        out.push(PlannedStep {
            index,
            line: loaded.step_lines.get(index).copied().unwrap_or(0),
            name: describe(step),
            commands: c,
            actions,
        });
    }
    out
}
