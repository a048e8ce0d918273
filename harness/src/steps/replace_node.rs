//! Step `replace-node`: a fresh host with the same name and address (the guide's "create the new
//! VM with the same sizing"), then the LB's upstreams rewritten for the current node list.

use std::time::Duration;

use super::plan::StepPlan;
use super::{configure_lb, RunState, Targets};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::PlannedCommand;
use crate::topology::HostName;

pub(super) fn plan(t: &Targets, node: &HostName) -> Result<StepPlan> {
    let mut plan = StepPlan::default();
    plan.actions.push(format!(
        "provider: a fresh {node} with the same name and address"
    ));
    plan.commands.push(PlannedCommand::aux(
        &t.deployer()?.name,
        relearn_command(&t.host(node)?.address),
    ));
    plan.extend(configure_lb::plan(t)?);
    Ok(plan)
}

/// The deploy host forgets the old machine's key under `address` and records the new one's.
fn relearn_command(address: &str) -> String {
    format!(
        "ssh-keygen -R {address} >/dev/null 2>&1; ssh-keyscan -T 5 -t ed25519 {address} >> ~/.ssh/known_hosts 2>/dev/null"
    )
}

pub async fn run(ctx: &RunContext, state: &mut RunState, node: &HostName) -> Result<()> {
    let spec = ctx
        .spec()
        .get(node)
        .cloned()
        .ok_or_else(|| Error::CheckFailed(format!("no host {node} in the topology")))?;
    // A new machine has a new host key: the one it presents first is pinned in place of the
    // old one (and said so); any other change of key is still refused.
    let host = ctx.replace_host(&spec).await?;

    // The deploy host knew the old machine's key under this address, and C28 runs without
    // ANSIBLE_HOST_KEY_CHECKING=False: like an operator answering "yes", the deploy host
    // forgets the old key and records the fresh machine's.
    let deployer = Targets::of_run(ctx, state).deployer()?.name.clone();
    let relearn = relearn_command(&host.address.to_string());
    let out = ctx
        .run(&deployer, &relearn, Duration::from_secs(30))
        .await?;
    super::require_success(
        "recording the replaced node's host key on the deploy host",
        &out,
    )?;

    configure_lb::run(ctx, state).await
}
