//! Step `prepare-deployer` (guide step 4, C7–C14): packages, pip, the archive unpacked, the
//! venv with the requirements, `ha_env_file`, the SSH key.

use std::time::Duration;

use super::{require_success, RunState, ARCHIVE_NAME, DEPLOYER_HOME, DEPLOYER_KEY};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::commands;
use crate::procedure::CommandId;

const DEADLINE: Duration = Duration::from_secs(300);

pub async fn run(ctx: &RunContext, _state: &mut RunState) -> Result<()> {
    let topology = ctx.topology();
    let deployer = topology
        .deployer()
        .map(|h| h.name.clone())
        .ok_or_else(|| Error::CheckFailed("the scenario has no deploy host".into()))?;

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

    for (id, command) in [
        (7, commands::c7()),
        (8, commands::c8()),
        (9, commands::c9()),
        (10, commands::c10()),
    ] {
        let out = ctx
            .procedure(CommandId(id), &deployer, &command, DEADLINE)
            .await?;
        require_success(&format!("C{id} `{command}`"), &out)?;
    }
    // C11, and the guide's remedy C12. C12 runs even when C11 passed: it is idempotent, and
    // running it proves the remedy works offline too.
    let c11 = ctx
        .procedure(CommandId(11), &deployer, &commands::c11(), DEADLINE)
        .await?;
    let c12 = ctx
        .procedure(CommandId(12), &deployer, &commands::c12(), DEADLINE)
        .await?;
    if !c11.success() {
        require_success("C12 (libffi-dev and the requirements again)", &c12)?;
    } else if !c12.success() {
        ctx.events().warning(format!(
            "C12 failed although C11 had passed: {}",
            c12.tail(3)
        ));
    }

    let nodes: Vec<(String, String)> = topology
        .nodes()
        .map(|h| (h.hostname.clone(), h.address.to_string()))
        .collect();
    let env_file = commands::ha_env_file(&nodes, DEPLOYER_KEY);
    let c13 = ctx
        .procedure(
            CommandId(13),
            &deployer,
            &commands::c13(&env_file),
            DEADLINE,
        )
        .await?;
    require_success("C13 (ha_env_file)", &c13)?;
    let c14 = ctx
        .procedure(
            CommandId(14),
            &deployer,
            &commands::c14(DEPLOYER_KEY),
            DEADLINE,
        )
        .await?;
    require_success("C14 (ssh-agent and ssh-add)", &c14)
}
