//! Step `expect`: a state the cluster must reach between steps (nodes Ready/NotReady, etcd
//! member count, the service through the LB), polled with a deadline. A failure names what was
//! last seen and, when that explains it, the lost etcd quorum.

use std::time::Duration;

use super::{cluster, live_node, RunState};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::commands;
use crate::scenario::Expect;
use crate::topology::HostName;
use crate::wait::Poll;

pub async fn run(ctx: &RunContext, state: &mut RunState, expect: &Expect) -> Result<()> {
    let deadline = Duration::from_secs(expect.within.unwrap_or(60));
    let result = check(ctx, state, expect, deadline).await;
    match result {
        Err(Error::CheckFailed(m)) => match quorum_diagnosis(ctx, state).await {
            Some(q) => Err(Error::CheckFailed(format!("{m}\n{q}"))),
            None => Err(Error::CheckFailed(m)),
        },
        other => other,
    }
}

async fn check(
    ctx: &RunContext,
    state: &RunState,
    expect: &Expect,
    deadline: Duration,
) -> Result<()> {
    let hostnames = |names: &[HostName]| -> Result<Vec<String>> {
        names
            .iter()
            .map(|n| ctx.host(n).map(|h| h.hostname))
            .collect()
    };
    if let Some(available) = expect.available_through_lb {
        available_through_lb(ctx, available, deadline).await?;
    }
    if let Some(names) = &expect.nodes_not_ready {
        let on = live_node(ctx, state)?;
        cluster::wait_nodes(ctx, &on, &hostnames(names)?, false, deadline).await?;
    }
    if let Some(names) = &expect.nodes_ready {
        let on = live_node(ctx, state)?;
        cluster::wait_nodes(ctx, &on, &hostnames(names)?, true, deadline).await?;
    }
    if let Some(count) = expect.etcd_members {
        let on = live_node(ctx, state)?;
        ctx.wait_until(
            &format!("{count} etcd members"),
            deadline,
            Duration::from_secs(1),
            || async {
                let members = cluster::members(ctx, &on).await?;
                Ok(if members.len() == count {
                    Poll::Ready(())
                } else {
                    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                    Poll::NotYet(format!("{} members: {}", members.len(), names.join(", ")))
                })
            },
        )
        .await?;
    }
    Ok(())
}

async fn available_through_lb(ctx: &RunContext, available: bool, deadline: Duration) -> Result<()> {
    let lb = super::lb_host(ctx)?.address;
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ctx.paced(Duration::from_secs(3)))
        .build()
        .map_err(|e| Error::infra(e.to_string()))?;
    let url = format!("https://{lb}/");
    let what = if available {
        "the UI available through the LB"
    } else {
        "the UI unavailable through the LB"
    };
    ctx.wait_until(what, deadline, Duration::from_millis(500), || async {
        let seen = match client.get(&url).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.text().await.unwrap_or_default();
                let first = body
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                (status == 200, format!("HTTP {status} {first}"))
            }
            Err(e) => (false, format!("no answer: {e}")),
        };
        Ok(if seen.0 == available {
            Poll::Ready(())
        } else {
            Poll::NotYet(seen.1)
        })
    })
    .await
}

/// When fewer than a majority of the etcd members are up, say so, and show that a live node
/// indeed cannot read from etcd.
async fn quorum_diagnosis(ctx: &RunContext, state: &RunState) -> Option<String> {
    let members: Vec<HostName> = ctx
        .topology()
        .nodes()
        .map(|h| h.name.clone())
        .filter(|n| state.expectations.in_cluster(n))
        .collect();
    let up: Vec<&HostName> = members
        .iter()
        .filter(|n| state.expectations.is_up(n))
        .collect();
    let quorum = members.len() / 2 + 1;
    if up.len() >= quorum {
        return None;
    }
    let mut text = format!(
        "etcd quorum lost: {} of {} members up ({}), {quorum} needed",
        up.len(),
        members.len(),
        up.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ")
    );
    if let Ok(on) = live_node(ctx, state) {
        if let Ok(host) = ctx.host(&on) {
            let probe = format!(
                "ETCDCTL_API=3 etcdctl --endpoints https://{}:2379 {} --command-timeout=3s get /acura-ha/quorum-probe",
                host.address,
                commands::ETCD_PKI
            );
            if let Ok(out) = ctx.run(&on, &probe, Duration::from_secs(10)).await {
                if !out.success() {
                    text.push_str(&format!("; a read on {on} fails: {}", out.tail(1)));
                }
            }
        }
    }
    Some(text)
}
