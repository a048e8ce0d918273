//! Step `expect`: a state the cluster must reach between steps (nodes Ready/NotReady, etcd
//! member count, the service through the LB), polled with a deadline. A failure names what was
//! last seen, and the diagnosis of every check run then.

use std::time::Duration;

use super::{cluster, live_node, RunState};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::scenario::Expect;
use crate::topology::HostName;
use crate::wait::Poll;

pub async fn run(ctx: &RunContext, state: &mut RunState, expect: &Expect) -> Result<()> {
    let deadline = Duration::from_secs(expect.within.unwrap_or(60));
    let result = check(ctx, state, expect, deadline).await;
    match result {
        Err(Error::CheckFailed(m)) => match diagnosis(ctx, state).await {
            Some(d) => Err(Error::CheckFailed(format!("{m}\n{}", d.trim_end()))),
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

/// A failed `expect` is diagnosed like a checkpoint: every check, then the causes that
/// explain what they saw, which lead the failure.
async fn diagnosis(ctx: &RunContext, state: &RunState) -> Option<String> {
    let expectations = state.expectations();
    let report = crate::checks::run_checkpoint_unnumbered(ctx, "expect", &expectations).await;
    let diagnosis = crate::diagnosis::report(ctx, &report, &expectations);
    (!diagnosis.findings.is_empty()).then(|| crate::diagnosis::render(&diagnosis, 100))
}
