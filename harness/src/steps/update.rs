//! Step `update` (C19–C21): read the overlay list from the app etcd (either stored form), write
//! the new one, rerun C16 with `update_cluster=true`.

use super::plan::StepPlan;
use super::{install, require_success, RunState, Targets};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::etcd_v2;
use crate::procedure::commands;
use crate::procedure::PlannedCommand;
use crate::scenario::Update;

const READ: std::time::Duration = std::time::Duration::from_secs(30);

/// The stored list with `update`'s additions and removals applied, order kept, no duplicates.
pub fn merged(current: &[String], update: &Update) -> Vec<String> {
    let mut list: Vec<String> = current
        .iter()
        .filter(|o| !update.remove_overlays.contains(o))
        .cloned()
        .collect();
    for o in &update.add_overlays {
        if !list.contains(o) {
            list.push(o.clone());
        }
    }
    list
}

/// C19 and C20 on a live node, C21 from the deploy host, for the overlay list `next`.
fn commands(t: &Targets, next: &[String]) -> Result<[PlannedCommand; 3]> {
    let on = &t.live_node()?.name;
    Ok([
        PlannedCommand::numbered(19, on, commands::c19()),
        PlannedCommand::numbered(20, on, commands::c20(next)),
        PlannedCommand::numbered(21, &t.deployer()?.name, commands::c21(&t.user, next)),
    ])
}

/// The plan's list is the one the run issues when the stored list is the one installed.
pub(super) fn plan(t: &Targets, update: &Update) -> Result<StepPlan> {
    Ok(StepPlan::commands(
        commands(t, &merged(&t.overlays, update))?.to_vec(),
    ))
}

pub async fn run(ctx: &RunContext, state: &mut RunState, update: &Update) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let [c19, _, _] = commands(&targets, &state.overlays)?;
    let out = ctx.issue(&c19, READ).await?;
    require_success("C19 (read /overlay_list)", &out)?;
    let current = match etcd_v2::parse_get(&out.stdout) {
        Ok(etcd_v2::GetResult::Found(list)) => list,
        Ok(etcd_v2::GetResult::NotFound { .. }) => {
            return Err(Error::CheckFailed(
                "C19: /overlay_list is not in the app etcd; was Acura installed (C16)?".into(),
            ))
        }
        Err(e) => return Err(Error::CheckFailed(format!("C19: {e}"))),
    };
    if current != state.overlays {
        ctx.events().warning(format!(
            "the stored overlay list {current:?} differs from the one this run installed {:?}",
            state.overlays
        ));
    }
    let next = merged(&current, update);
    let [_, c20, c21] = commands(&targets, &next)?;
    let out = ctx.issue(&c20, READ).await?;
    require_success("C20 (write /overlay_list)", &out)?;
    let out = ctx.issue(&c21, install::PLAYBOOK).await?;
    require_success("C21 (ha-acura.yaml with update_cluster=true)", &out)?;
    state.overlays = next;
    super::cluster::wait_pods_ready(ctx, &c20.host, std::time::Duration::from_secs(180)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_order_and_does_not_duplicate() {
        let current: Vec<String> = ["overlay/ha.yaml", "overlay/distr-dr.yaml"]
            .map(String::from)
            .to_vec();
        let update = Update {
            add_overlays: vec![
                "overlay/big-heat-stack-timeout.yaml".into(),
                "overlay/ha.yaml".into(),
            ],
            remove_overlays: vec!["overlay/distr-dr.yaml".into()],
        };
        assert_eq!(
            merged(&current, &update),
            vec![
                "overlay/ha.yaml".to_owned(),
                "overlay/big-heat-stack-timeout.yaml".to_owned()
            ]
        );
    }
}
