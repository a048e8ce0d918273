//! Cluster-side reads the steps share: nodes, pods and etcd members as a live node sees them.

use std::time::Duration;

use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::{get_nodes, get_pods, member_list};
use crate::procedure::commands;
use crate::topology::HostName;
use crate::wait::Poll;

const READ: Duration = Duration::from_secs(30);

pub async fn nodes(ctx: &RunContext, on: &HostName) -> Result<Vec<get_nodes::NodeRow>> {
    let out = ctx.run(on, &commands::c22(), READ).await?;
    super::require_success("kubectl get nodes", &out)?;
    get_nodes::parse(&out.stdout).map_err(|e| Error::CheckFailed(e.to_string()))
}

pub async fn pods(ctx: &RunContext, on: &HostName) -> Result<Vec<get_pods::PodRow>> {
    let out = ctx.run(on, get_pods::JSON, READ).await?;
    super::require_success(get_pods::JSON, &out)?;
    get_pods::parse_json(&out.stdout).map_err(|e| Error::CheckFailed(e.to_string()))
}

pub async fn members(ctx: &RunContext, on: &HostName) -> Result<Vec<member_list::Member>> {
    let out = ctx.run(on, &commands::c24(on.as_str()), READ).await?;
    super::require_success("etcdctl member list", &out)?;
    member_list::parse(&out.stdout).map_err(|e| Error::CheckFailed(e.to_string()))
}

/// Wait until every pod is Ready (by its `Ready` condition).
pub async fn wait_pods_ready(ctx: &RunContext, on: &HostName, deadline: Duration) -> Result<usize> {
    ctx.wait_until(
        "every pod Ready",
        deadline,
        Duration::from_secs(2),
        || async {
            let pods = pods(ctx, on).await?;
            let not_ready: Vec<String> = pods
                .iter()
                .filter(|p| !p.is_ready())
                .map(|p| format!("{}/{}", p.namespace, p.name))
                .collect();
            Ok(if pods.is_empty() {
                Poll::NotYet("no pods".into())
            } else if not_ready.is_empty() {
                Poll::Ready(pods.len())
            } else {
                Poll::NotYet(format!(
                    "{} of {} pods not Ready: {}",
                    not_ready.len(),
                    pods.len(),
                    not_ready.join(", ")
                ))
            })
        },
    )
    .await
}

/// Wait until the named nodes report `status` (Ready / NotReady) in `kubectl get nodes`.
pub async fn wait_nodes(
    ctx: &RunContext,
    on: &HostName,
    names: &[String],
    ready: bool,
    deadline: Duration,
) -> Result<()> {
    let want = if ready { "Ready" } else { "NotReady" };
    ctx.wait_until(
        &format!("nodes {} {want}", names.join(", ")),
        deadline,
        Duration::from_secs(1),
        || async {
            let rows = nodes(ctx, on).await?;
            let wrong: Vec<String> = names
                .iter()
                .filter(|n| !rows.iter().any(|r| &r.name == *n && r.is_ready() == ready))
                .map(|n| {
                    let seen = rows
                        .iter()
                        .find(|r| &r.name == n)
                        .map(|r| r.status.clone())
                        .unwrap_or_else(|| "absent".into());
                    format!("{n} {seen}")
                })
                .collect();
            Ok(if wrong.is_empty() {
                Poll::Ready(())
            } else {
                Poll::NotYet(wrong.join(", "))
            })
        },
    )
    .await
}
