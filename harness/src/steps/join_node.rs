//! Step `join-node` (C26–C28): on a live node, a join command and a certificate key; then the
//! add-node playbook from the deploy host against the new node's address.

use std::time::Duration;

use super::{cluster, install, live_node, require_success, RunState};
use crate::context::RunContext;
use crate::error::Result;
use crate::parse::{join_command, upload_certs};
use crate::procedure::commands;
use crate::procedure::CommandId;
use crate::topology::HostName;

pub async fn run(ctx: &RunContext, state: &mut RunState, node: &HostName) -> Result<()> {
    let on = live_node(ctx, state)?;
    let c26 = ctx
        .procedure(
            CommandId(26),
            &on,
            &commands::c26(),
            Duration::from_secs(30),
        )
        .await?;
    require_success("C26 (kubeadm token create)", &c26)?;
    let join = ctx.shaped(CommandId(26), &on, join_command::parse(&c26.stdout))?;
    let token = join.token.expose().to_owned();
    ctx.secrets().register(&token, "token");
    if let Some((id, _)) = token.split_once('.') {
        // The token id alone is public in kubeadm, but it identifies the token: keep it out too.
        ctx.secrets().register(id, "token-id");
    }

    let c27 = ctx
        .procedure(
            CommandId(27),
            &on,
            &commands::c27(),
            Duration::from_secs(30),
        )
        .await?;
    require_success("C27 (kubeadm init phase upload-certs)", &c27)?;
    let key = ctx.shaped(CommandId(27), &on, upload_certs::parse(&c27.stdout))?;
    let cert_key = key.expose().to_owned();
    ctx.secrets().register(&cert_key, "certificate-key");

    let new_node = ctx.host(node)?;
    let facts = commands::JoinFacts {
        token: &token,
        discovery_token: &join.discovery_token_ca_cert_hash,
        cert_key: &cert_key,
    };
    let (deployer, command) = add_node_command(ctx, node, &facts)?;
    let c28 = ctx
        .procedure(CommandId(28), &deployer, &command, install::PLAYBOOK)
        .await?;
    require_success("C28 (k8s-add-node.yaml)", &c28)?;
    cluster::wait_nodes(
        ctx,
        &on,
        std::slice::from_ref(&new_node.hostname),
        true,
        Duration::from_secs(120),
    )
    .await?;
    cluster::wait_pods_ready(ctx, &on, Duration::from_secs(180)).await?;
    Ok(())
}

/// C28 for `node` with these facts, and the deploy host it runs on.
pub(super) fn add_node_command(
    ctx: &RunContext,
    node: &HostName,
    facts: &commands::JoinFacts<'_>,
) -> Result<(HostName, String)> {
    let address = ctx.host(node)?.address.to_string();
    let command = commands::c28(
        &ctx.scenario().user,
        &install::lb_address(ctx)?,
        &address,
        facts,
    );
    Ok((install::deployer(ctx)?, command))
}
