//! Step `join-node` (C26–C28): on a live node, a join command and a certificate key; then the
//! add-node playbook from the deploy host against the new node's address.

use std::time::Duration;

use super::plan::StepPlan;
use super::{cluster, install, require_success, RunState, Targets};
use crate::context::RunContext;
use crate::error::Result;
use crate::parse::{join_command, upload_certs};
use crate::procedure::commands;
use crate::procedure::{CommandId, PlannedCommand};
use crate::topology::HostName;

/// C26 and C27 on a live node, C28 from the deploy host for `node` with what they printed.
fn commands(
    t: &Targets,
    node: &HostName,
    facts: &commands::JoinFacts<'_>,
) -> Result<[PlannedCommand; 3]> {
    let on = &t.live_node()?.name;
    Ok([
        PlannedCommand::numbered(26, on, commands::c26()),
        PlannedCommand::numbered(27, on, commands::c27()),
        add_node(t, node, facts)?,
    ])
}

/// C28 for `node` with these facts, from the deploy host.
pub(super) fn add_node(
    t: &Targets,
    node: &HostName,
    facts: &commands::JoinFacts<'_>,
) -> Result<PlannedCommand> {
    Ok(PlannedCommand::numbered(
        28,
        &t.deployer()?.name,
        commands::c28(&t.user, &t.lb()?.address, &t.host(node)?.address, facts),
    ))
}

pub(super) fn plan(t: &Targets, node: &HostName) -> Result<StepPlan> {
    let facts = commands::JoinFacts {
        token: "<from C26>",
        discovery_token: "<from C26>",
        cert_key: "<from C27>",
    };
    Ok(StepPlan::commands(commands(t, node, &facts)?.to_vec()))
}

pub async fn run(ctx: &RunContext, state: &mut RunState, node: &HostName) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let unknown = commands::JoinFacts {
        token: "",
        discovery_token: "",
        cert_key: "",
    };
    let [c26, c27, _] = commands(&targets, node, &unknown)?;
    let on = c26.host.clone();
    let out = ctx.issue(&c26, Duration::from_secs(30)).await?;
    require_success("C26 (kubeadm token create)", &out)?;
    // The context registered the token and its id as secrets when C26 printed them.
    let join = ctx.shaped(CommandId(26), &on, join_command::parse(&out.stdout))?;
    let token = join.token.expose().to_owned();

    let out = ctx.issue(&c27, Duration::from_secs(30)).await?;
    require_success("C27 (kubeadm init phase upload-certs)", &out)?;
    let key = ctx.shaped(CommandId(27), &on, upload_certs::parse(&out.stdout))?;
    let cert_key = key.expose().to_owned();

    let facts = commands::JoinFacts {
        token: &token,
        discovery_token: &join.discovery_token_ca_cert_hash,
        cert_key: &cert_key,
    };
    let [_, _, c28] = commands(&targets, node, &facts)?;
    let out = ctx.issue(&c28, install::PLAYBOOK).await?;
    require_success("C28 (k8s-add-node.yaml)", &out)?;
    let hostname = targets.host(node)?.hostname.clone();
    cluster::wait_nodes(
        ctx,
        &on,
        std::slice::from_ref(&hostname),
        true,
        Duration::from_secs(120),
    )
    .await?;
    cluster::wait_pods_ready(ctx, &on, Duration::from_secs(180)).await?;
    Ok(())
}
