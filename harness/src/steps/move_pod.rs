//! Step `move-pod: { pod: NS/NAME, off: NODE }`: move one pod off a node the way an operator
//! does. `kubectl cordon NODE` keeps the scheduler from placing anything new there, the pod is
//! deleted so its controller (a StatefulSet's, a Deployment's) creates it again, on another
//! node, and once it is Ready there `kubectl uncordon NODE` lets the node take pods again.
//! The node is uncordoned whether or not the move worked.

use std::time::Duration;

use super::plan::StepPlan;
use super::{require_success, RunState, Targets};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::get_pods::{self, PodRow};
use crate::procedure::PlannedCommand;
use crate::scenario::MovePod;
use crate::topology::HostName;
use crate::wait::Poll;

const DEADLINE: Duration = Duration::from_secs(30);
/// How long the pod may take to be created again and become Ready on another node.
const SETTLES: Duration = Duration::from_secs(120);

struct Commands {
    cordon: String,
    delete: String,
    pods: String,
    uncordon: String,
}

fn commands(m: &MovePod) -> Result<Commands> {
    let (namespace, name) = m
        .split()
        .ok_or_else(|| Error::CheckFailed(format!("`{}` is not `namespace/name`", m.pod)))?;
    Ok(Commands {
        cordon: format!("kubectl cordon {}", m.off),
        delete: format!("kubectl delete pod {name} -n {namespace}"),
        pods: format!("kubectl get pods -n {namespace} -o json"),
        uncordon: format!("kubectl uncordon {}", m.off),
    })
}

pub(super) fn plan(t: &Targets, m: &MovePod) -> Result<StepPlan> {
    let on = &t.live_node()?.name;
    let c = commands(m)?;
    Ok(StepPlan {
        commands: vec![
            PlannedCommand::aux(on, c.pods.clone()),
            PlannedCommand::aux(on, c.cordon).when("when the pod runs there"),
            PlannedCommand::aux(on, c.delete).when("when the pod runs there"),
            PlannedCommand::aux(on, c.uncordon).when("when the pod runs there"),
        ],
        actions: vec![format!(
            "wait until {} is Ready on a node other than {}",
            m.pod, m.off
        )],
    })
}

pub async fn run(ctx: &RunContext, state: &mut RunState, m: &MovePod) -> Result<()> {
    let on = Targets::of_run(ctx, state).live_node()?.name.clone();
    let c = commands(m)?;
    let (_, name) = m.split().expect("checked by commands()");
    let before = pod(ctx, &on, &c.pods, name)
        .await?
        .ok_or_else(|| Error::CheckFailed(format!("{} does not exist: nothing to move", m.pod)))?;
    if before.node.as_deref() != Some(m.off.as_str()) {
        ctx.events().progress(format!(
            "{} runs on {}, not on {}: nothing to move",
            m.pod,
            before.node.as_deref().unwrap_or("no node"),
            m.off
        ));
        return Ok(());
    }
    let out = ctx.run(&on, &c.cordon, DEADLINE).await?;
    require_success(&c.cordon, &out)?;
    let moved = delete_and_wait(ctx, &on, &c, m, name).await;
    let out = ctx.run(&on, &c.uncordon, DEADLINE).await;
    let uncordoned = out.and_then(|out| require_success(&c.uncordon, &out));
    let node = moved?;
    uncordoned?;
    ctx.events()
        .progress(format!("{} moved off {} to {node}", m.pod, m.off));
    Ok(())
}

/// Delete the pod and wait until it is Ready on another node than `m.off`; that node.
async fn delete_and_wait(
    ctx: &RunContext,
    on: &HostName,
    c: &Commands,
    m: &MovePod,
    name: &str,
) -> Result<String> {
    let out = ctx.run(on, &c.delete, DEADLINE).await?;
    require_success(&c.delete, &out)?;
    ctx.wait_until(
        &format!("{} Ready off {}", m.pod, m.off),
        SETTLES,
        Duration::from_secs(1),
        || async {
            Ok(match pod(ctx, on, &c.pods, name).await? {
                Some(p) if p.is_ready() && p.node.as_deref() != Some(m.off.as_str()) => {
                    Poll::Ready(p.node.unwrap_or_default())
                }
                Some(p) => Poll::NotYet(format!(
                    "{} on {}, {}",
                    m.pod,
                    p.node.as_deref().unwrap_or("no node"),
                    if p.is_ready() { "Ready" } else { "not Ready" }
                )),
                None => Poll::NotYet(format!("{} not created again yet", m.pod)),
            })
        },
    )
    .await
}

/// The pod named `name` as `kubectl get pods -n NS -o json` lists it; `None` when absent.
async fn pod(ctx: &RunContext, on: &HostName, command: &str, name: &str) -> Result<Option<PodRow>> {
    let out = ctx.run(on, command, DEADLINE).await?;
    require_success(command, &out)?;
    let pods = get_pods::parse_json(&out.stdout).map_err(|e| Error::CheckFailed(e.to_string()))?;
    Ok(pods.into_iter().find(|p| p.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_is_moved_with_cordon_delete_and_uncordon() {
        let m = MovePod {
            pod: "default/elk-0".into(),
            off: HostName::node(2),
        };
        let c = commands(&m).unwrap();
        assert_eq!(c.cordon, "kubectl cordon node-2");
        assert_eq!(c.delete, "kubectl delete pod elk-0 -n default");
        assert_eq!(c.pods, "kubectl get pods -n default -o json");
        assert_eq!(c.uncordon, "kubectl uncordon node-2");
        let bad = MovePod {
            pod: "elk-0".into(),
            off: HostName::node(2),
        };
        assert!(commands(&bad).is_err());
    }
}
