//! Step `remove-dead-node` (C22–C25), run on a live node: find the NotReady node, delete it,
//! find its etcd member ID by name, remove the member.

use std::time::Duration;

use super::plan::StepPlan;
use super::{cluster, require_success, RunState, Targets};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::{get_nodes, member_list, member_remove};
use crate::procedure::commands;
use crate::procedure::{CommandId, PlannedCommand};
use crate::topology::HostName;
use crate::wait::Poll;

const READ: Duration = Duration::from_secs(30);

/// C22–C25 on a live node for the dead node; C25 with the member id C24 listed.
fn commands(t: &Targets, dead: &HostName, member_id: &str) -> Result<[PlannedCommand; 4]> {
    let dead = &t.host(dead)?.hostname;
    let live = t.live_node()?;
    let on = &live.name;
    Ok([
        PlannedCommand::numbered(22, on, commands::c22()),
        PlannedCommand::numbered(23, on, commands::c23(dead)),
        PlannedCommand::numbered(24, on, commands::c24(&live.hostname)),
        PlannedCommand::numbered(25, on, commands::c25(&live.hostname, member_id)),
    ])
}

pub(super) fn plan(t: &Targets, dead: &HostName) -> Result<StepPlan> {
    Ok(StepPlan::commands(
        commands(t, dead, "<member id from C24>")?.to_vec(),
    ))
}

pub async fn run(ctx: &RunContext, state: &mut RunState, dead: &HostName) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let dead_name = targets.host(dead)?.hostname.clone();
    let [c22, c23, c24, _] = commands(&targets, dead, "")?;
    let on = c22.host.clone();

    // C22: the dead node must show NotReady (the lease needs a few seconds to expire).
    ctx.wait_until(
        &format!("{dead_name} NotReady in C22"),
        Duration::from_secs(60),
        Duration::from_secs(1),
        || async {
            let out = ctx.issue(&c22, READ).await?;
            require_success("C22 (kubectl get nodes)", &out)?;
            let rows = ctx.shaped(CommandId(22), &on, get_nodes::parse(&out.stdout))?;
            Ok(match rows.iter().find(|r| r.name == dead_name) {
                Some(r) if !r.is_ready() => Poll::Ready(()),
                Some(r) => Poll::NotYet(format!("{dead_name} is {}", r.status)),
                None => Poll::NotYet(format!("{dead_name} is not listed")),
            })
        },
    )
    .await?;

    let out = ctx.issue(&c23, READ).await?;
    require_success("C23 (kubectl delete node)", &out)?;

    let c24 = ctx.issue(&c24, READ).await?;
    require_success("C24 (etcdctl member list)", &c24)?;
    let members = ctx.shaped(CommandId(24), &on, member_list::parse(&c24.stdout))?;
    let member = members
        .iter()
        .find(|m| m.name == dead_name)
        .ok_or_else(|| {
            Error::CheckFailed(format!(
                "C24: no etcd member named {dead_name} (members: {})",
                members
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;

    let [_, _, _, c25] = commands(&targets, dead, &member.id.to_string())?;
    let c25 = ctx.issue(&c25, READ).await?;
    require_success("C25 (etcdctl member remove)", &c25)?;
    let removed = ctx.shaped(CommandId(25), &on, member_remove::parse(&c25.stdout))?;
    if removed.member != member.id {
        return Err(Error::CheckFailed(format!(
            "C25 removed member {} instead of {}",
            removed.member, member.id
        )));
    }
    let left = cluster::members(ctx, &on).await?;
    if left.iter().any(|m| m.name == dead_name) {
        return Err(Error::CheckFailed(format!(
            "{dead_name} is still an etcd member after C25"
        )));
    }
    Ok(())
}
