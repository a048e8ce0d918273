//! `misconfigure: {pod_never_ready: {deployment: …}}`: the deployment's image is set to one
//! that no registry has, with `kubectl set image`, as an operator's typo would. The rollout's
//! new pod waits in `ImagePullBackOff` and never becomes Ready, while Kubernetes' default
//! strategy keeps every old pod (with fewer than four replicas none may go before a new one is
//! Ready). `repair` sets back the image the Ready pods still run, and the waiting pod goes.

use std::time::Duration;

use super::{cluster, live_node, require_success, RunState};
use crate::checks::pods::workload_of;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::get_pods::PodRow;
use crate::remote::shell_quote;
use crate::scenario::PodNeverReady;
use crate::topology::HostName;
use crate::wait::Poll;

/// Under `.invalid`, which never resolves (RFC 6761): a real node fails its pull at once and
/// asks no registry anywhere.
pub const UNPULLABLE_IMAGE: &str = "acura-ha.invalid/never-ready:0";
const COMMAND_DEADLINE: Duration = Duration::from_secs(30);
/// The kubelet reports `ErrImagePull` first and `ImagePullBackOff` once it backs off.
const SETTLES: Duration = Duration::from_secs(120);
const BACKING_OFF: &str = "ImagePullBackOff";

/// `kubectl -n NS set image deployment/NAME CONTAINER=IMAGE`
pub fn set_image_command(d: &PodNeverReady, container: &str, image: &str) -> String {
    set_image_text(d, &shell_quote(&format!("{container}={image}")))
}

/// The command with the `CONTAINER=IMAGE` argument as given: `plan` shows the container,
/// which the run reads from the Ready pods, as `<container>`.
pub fn set_image_text(d: &PodNeverReady, assignment: &str) -> String {
    format!(
        "kubectl -n {} set image deployment/{} {assignment}",
        shell_quote(&d.namespace),
        shell_quote(&d.deployment),
    )
}

/// The deployment's pods as a live node sees them.
async fn deployment_pods(
    ctx: &RunContext,
    on: &HostName,
    d: &PodNeverReady,
) -> Result<Vec<PodRow>> {
    Ok(cluster::pods(ctx, on)
        .await?
        .into_iter()
        .filter(|p| p.namespace == d.namespace && workload_of(&p.name) == d.deployment)
        .collect())
}

fn named(d: &PodNeverReady) -> String {
    format!("{}/{}", d.namespace, d.deployment)
}

/// The first container and its image, of the Ready pods (the template before the change).
fn serving_image(d: &PodNeverReady, pods: &[PodRow]) -> Result<(String, String)> {
    pods.iter()
        .filter(|p| p.is_ready())
        .find_map(|p| p.images.first().cloned())
        .ok_or_else(|| {
            Error::CheckFailed(format!(
                "deployment {} has no Ready pod whose image could be read ({} pods)",
                named(d),
                pods.len()
            ))
        })
}

pub async fn apply(ctx: &RunContext, state: &RunState, d: &PodNeverReady) -> Result<()> {
    let node = live_node(ctx, state)?;
    let before = deployment_pods(ctx, &node, d).await?;
    let (container, _) = serving_image(d, &before)?;
    let ready_before = before.iter().filter(|p| p.is_ready()).count();
    let out = ctx
        .run(
            &node,
            &set_image_command(d, &container, UNPULLABLE_IMAGE),
            COMMAND_DEADLINE,
        )
        .await?;
    require_success(&format!("setting {}'s image", named(d)), &out)?;
    ctx.wait_until(
        &format!(
            "a pod of {} backing off its image pull, the old ones Ready",
            named(d)
        ),
        SETTLES,
        Duration::from_secs(2),
        || async {
            let pods = deployment_pods(ctx, &node, d).await?;
            let ready = pods.iter().filter(|p| p.is_ready()).count();
            let waiting = pods.iter().filter(|p| p.status == BACKING_OFF).count();
            Ok(if waiting > 0 && ready == ready_before {
                Poll::Ready(())
            } else {
                Poll::NotYet(format!(
                    "{ready} of {} pods Ready (was {ready_before}), {waiting} in {BACKING_OFF}",
                    pods.len()
                ))
            })
        },
    )
    .await
}

pub async fn repair(ctx: &RunContext, state: &RunState, d: &PodNeverReady) -> Result<()> {
    let node = live_node(ctx, state)?;
    let pods = deployment_pods(ctx, &node, d).await?;
    let (container, image) = serving_image(d, &pods)?;
    let out = ctx
        .run(
            &node,
            &set_image_command(d, &container, &image),
            COMMAND_DEADLINE,
        )
        .await?;
    require_success(&format!("setting {}'s image back", named(d)), &out)?;
    ctx.wait_until(
        &format!("every pod of {} Ready on {image}", named(d)),
        SETTLES,
        Duration::from_secs(2),
        || async {
            let pods = deployment_pods(ctx, &node, d).await?;
            let stray: Vec<&str> = pods
                .iter()
                .filter(|p| !p.is_ready() || p.images.iter().any(|(_, i)| *i != image))
                .map(|p| p.name.as_str())
                .collect();
            Ok(if !pods.is_empty() && stray.is_empty() {
                Poll::Ready(())
            } else {
                Poll::NotYet(format!("not yet Ready on {image}: {}", stray.join(", ")))
            })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_names_the_deployment_and_the_container() {
        let d = PodNeverReady {
            deployment: "restapi".into(),
            namespace: "default".into(),
        };
        assert_eq!(
            set_image_command(&d, "restapi", UNPULLABLE_IMAGE),
            "kubectl -n default set image deployment/restapi restapi=acura-ha.invalid/never-ready:0"
        );
    }

    #[test]
    fn the_image_to_restore_is_the_one_ready_pods_run() {
        let d = PodNeverReady {
            deployment: "restapi".into(),
            namespace: "default".into(),
        };
        let row = |ready: bool, image: &str| PodRow {
            namespace: "default".into(),
            name: "restapi-6b8f7c9d5-x2k4p".into(),
            node: Some("node-1".into()),
            status: if ready { "Running" } else { BACKING_OFF }.into(),
            phase: Some(if ready { "Running" } else { "Pending" }.into()),
            ready: Some(ready),
            containers_ready: u32::from(ready),
            containers: 1,
            restarts: 0,
            images: vec![("restapi".into(), image.into())],
        };
        let pods = [
            row(false, UNPULLABLE_IMAGE),
            row(true, "hystax/restapi:latest"),
        ];
        assert_eq!(
            serving_image(&d, &pods).unwrap(),
            ("restapi".into(), "hystax/restapi:latest".into())
        );
        assert!(serving_image(&d, &pods[..1]).is_err());
    }
}
