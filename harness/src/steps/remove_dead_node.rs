//! Step `remove-dead-node` (C22–C25), run on a live node: find the NotReady node, delete it,
//! find its etcd member ID by name, remove the member.

use std::time::Duration;

use super::{cluster, live_node, require_success, RunState};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::{get_nodes, member_list, member_remove};
use crate::procedure::commands;
use crate::procedure::CommandId;
use crate::topology::HostName;
use crate::wait::Poll;

const READ: Duration = Duration::from_secs(30);

pub async fn run(ctx: &RunContext, state: &mut RunState, dead: &HostName) -> Result<()> {
    let dead_name = ctx.host(dead)?.hostname;
    let on = live_node(ctx, state)?;
    let live_name = ctx.host(&on)?.hostname;

    // C22: the dead node must show NotReady (the lease needs a few seconds to expire).
    ctx.wait_until(
        &format!("{dead_name} NotReady in C22"),
        Duration::from_secs(60),
        Duration::from_secs(1),
        || async {
            let out = ctx
                .procedure(CommandId(22), &on, &commands::c22(), READ)
                .await?;
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

    let c23 = ctx
        .procedure(CommandId(23), &on, &commands::c23(&dead_name), READ)
        .await?;
    require_success("C23 (kubectl delete node)", &c23)?;

    let c24 = ctx
        .procedure(CommandId(24), &on, &commands::c24(&live_name), READ)
        .await?;
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

    let c25 = ctx
        .procedure(
            CommandId(25),
            &on,
            &commands::c25(&live_name, &member.id.to_string()),
            READ,
        )
        .await?;
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
