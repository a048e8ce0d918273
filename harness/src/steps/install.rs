//! Steps `install-masters` (guide step 5, C15) and `install-acura` (step 6, C16–C18).

use std::time::Duration;

use super::plan::StepPlan;
use super::{cluster, require_success, RunState, Targets};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::commands;
use crate::procedure::PlannedCommand;

pub const PLAYBOOK: Duration = Duration::from_secs(1200);
const READ: Duration = Duration::from_secs(30);

/// C15 from the deploy host.
fn masters_command(t: &Targets) -> Result<PlannedCommand> {
    Ok(PlannedCommand::numbered(
        15,
        &t.deployer()?.name,
        commands::c15(&t.user, &t.lb()?.address),
    ))
}

/// C16 from the deploy host with the cluster's overlay list.
fn acura_command(t: &Targets) -> Result<PlannedCommand> {
    Ok(PlannedCommand::numbered(
        16,
        &t.deployer()?.name,
        commands::c16(&t.user, &t.overlays),
    ))
}

/// C17 on a live node and C18 from the deploy host: what proves Acura is installed.
fn verify_commands(t: &Targets) -> Result<[PlannedCommand; 2]> {
    Ok([
        PlannedCommand::numbered(17, &t.live_node()?.name, commands::c17()),
        PlannedCommand::numbered(18, &t.deployer()?.name, commands::c18(&t.lb()?.address)),
    ])
}

pub(super) fn plan_masters(t: &Targets) -> Result<StepPlan> {
    Ok(StepPlan::commands(vec![masters_command(t)?]))
}

pub(super) fn plan_acura(t: &Targets) -> Result<StepPlan> {
    let mut commands = vec![acura_command(t)?];
    commands.extend(verify_commands(t)?);
    Ok(StepPlan::commands(commands))
}

pub async fn masters(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let out = ctx.issue(&masters_command(&targets)?, PLAYBOOK).await?;
    require_success("C15 (k8s-master.yaml)", &out)?;
    let on = targets.live_node()?.name.clone();
    let names: Vec<String> = targets.nodes().map(|h| h.hostname.clone()).collect();
    cluster::wait_nodes(ctx, &on, &names, true, Duration::from_secs(120)).await
}

pub async fn acura(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let out = ctx.issue(&acura_command(&targets)?, PLAYBOOK).await?;
    require_success("C16 (ha-acura.yaml)", &out)?;
    verify_installed(ctx, &targets).await
}

/// C17 (every pod running) and C18 (the UI answers through the LB).
async fn verify_installed(ctx: &RunContext, targets: &Targets) -> Result<()> {
    let [c17, c18] = verify_commands(targets)?;
    cluster::wait_pods_ready(ctx, &c17.host, Duration::from_secs(180)).await?;
    let out = ctx.issue(&c17, READ).await?;
    require_success("C17 (kubectl get pods -A)", &out)?;
    let out = ctx.issue(&c18, READ).await?;
    require_success("C18 (the UI through the LB)", &out)?;
    match out.stdout.trim() {
        "200" => Ok(()),
        code => Err(Error::CheckFailed(format!(
            "C18: https://{}/ answered HTTP {code}, expected 200",
            targets.lb()?.address
        ))),
    }
}
