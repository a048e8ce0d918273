//! Step `prepare-deployer` (guide step 4, C7–C14): packages, pip, the archive unpacked, the
//! venv with the requirements, `ha_env_file`, the SSH key.

use std::time::Duration;

use super::plan::StepPlan;
use super::{require_success, RunState, Targets, ARCHIVE_NAME, DEPLOYER_HOME, DEPLOYER_KEY};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::commands;
use crate::procedure::PlannedCommand;

const DEADLINE: Duration = Duration::from_secs(300);

/// C7–C14 in the order the run issues them.
pub(super) fn commands(t: &Targets) -> Result<Vec<PlannedCommand>> {
    let d = &t.deployer()?.name;
    let nodes: Vec<(String, String)> = t
        .nodes()
        .map(|n| (n.hostname.clone(), n.address.clone()))
        .collect();
    let env_file = commands::ha_env_file(&nodes, DEPLOYER_KEY);
    Ok(vec![
        PlannedCommand::numbered(7, d, commands::c7()),
        PlannedCommand::numbered(8, d, commands::c8()),
        PlannedCommand::numbered(9, d, commands::c9()),
        PlannedCommand::numbered(10, d, commands::c10()),
        PlannedCommand::numbered(11, d, commands::c11()),
        PlannedCommand::numbered(12, d, commands::c12()),
        PlannedCommand::numbered(13, d, commands::c13(&env_file)),
        PlannedCommand::numbered(14, d, commands::c14(DEPLOYER_KEY)),
    ])
}

pub(super) fn plan(t: &Targets) -> Result<StepPlan> {
    Ok(StepPlan {
        commands: commands(t)?,
        actions: vec!["upload the product archive and the run key to the deploy host".into()],
    })
}

pub async fn run(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let deployer = targets.deployer()?.name.clone();

    let archive = ctx.scenario_archive();
    let bytes = std::fs::read(&archive).map_err(|e| {
        Error::infra(format!(
            "product archive {}: {e} (build the stand-in's with fixtures/acura-sim/build-archive.sh)",
            archive.display()
        ))
    })?;
    ctx.upload(
        &deployer,
        &format!("{DEPLOYER_HOME}/{ARCHIVE_NAME}"),
        &bytes,
        0o644,
    )
    .await?;
    ctx.upload(
        &deployer,
        DEPLOYER_KEY,
        ctx.key().private_openssh.as_bytes(),
        0o600,
    )
    .await?;

    // C11, and the guide's remedy C12. C12 runs even when C11 passed: it is idempotent, and
    // running it proves the remedy works offline too.
    let mut c11_passed = true;
    for planned in commands(&targets)? {
        let out = ctx.issue(&planned, DEADLINE).await?;
        match planned.id().map(|id| id.0) {
            Some(11) => c11_passed = out.success(),
            Some(12) if !c11_passed => {
                require_success("C12 (libffi-dev and the requirements again)", &out)?
            }
            Some(12) if !out.success() => ctx.events().warning(format!(
                "C12 failed although C11 had passed: {}",
                out.tail(3)
            )),
            Some(12) => {}
            _ => require_success(&planned.label(), &out)?,
        }
    }
    Ok(())
}
