//! Steps `install-masters` (guide step 5, C15) and `install-acura` (step 6, C16–C18).

use std::time::Duration;

use super::{cluster, live_node, require_success, RunState};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::commands;
use crate::procedure::CommandId;
use crate::topology::HostName;

pub const PLAYBOOK: Duration = Duration::from_secs(1200);

pub fn deployer(ctx: &RunContext) -> Result<HostName> {
    ctx.topology()
        .deployer()
        .map(|h| h.name.clone())
        .ok_or_else(|| Error::CheckFailed("the scenario has no deploy host".into()))
}

pub fn lb_address(ctx: &RunContext) -> Result<String> {
    Ok(super::lb_host(ctx)?.address.to_string())
}

pub async fn masters(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let deployer = deployer(ctx)?;
    let lb = lb_address(ctx)?;
    let out = ctx
        .procedure(
            CommandId(15),
            &deployer,
            &commands::c15(&ctx.scenario().user, &lb),
            PLAYBOOK,
        )
        .await?;
    require_success("C15 (k8s-master.yaml)", &out)?;
    let on = live_node(ctx, state)?;
    let names: Vec<String> = ctx.topology().nodes().map(|h| h.hostname.clone()).collect();
    cluster::wait_nodes(ctx, &on, &names, true, Duration::from_secs(120)).await
}

pub async fn acura(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let deployer = deployer(ctx)?;
    let out = ctx
        .procedure(
            CommandId(16),
            &deployer,
            &commands::c16(&ctx.scenario().user, &state.overlays),
            PLAYBOOK,
        )
        .await?;
    require_success("C16 (ha-acura.yaml)", &out)?;
    verify_installed(ctx, state).await
}

/// C17 (every pod running) and C18 (the UI answers through the LB).
pub async fn verify_installed(ctx: &RunContext, state: &RunState) -> Result<()> {
    let on = live_node(ctx, state)?;
    cluster::wait_pods_ready(ctx, &on, Duration::from_secs(180)).await?;
    let c17 = ctx
        .procedure(
            CommandId(17),
            &on,
            &commands::c17(),
            Duration::from_secs(30),
        )
        .await?;
    require_success("C17 (kubectl get pods -A)", &c17)?;
    let deployer = deployer(ctx)?;
    let c18 = ctx
        .procedure(
            CommandId(18),
            &deployer,
            &commands::c18(&lb_address(ctx)?),
            Duration::from_secs(30),
        )
        .await?;
    require_success("C18 (the UI through the LB)", &c18)?;
    match c18.stdout.trim() {
        "200" => Ok(()),
        code => Err(Error::CheckFailed(format!(
            "C18: https://{}/ answered HTTP {code}, expected 200",
            lb_address(ctx)?
        ))),
    }
}
