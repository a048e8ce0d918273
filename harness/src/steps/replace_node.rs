//! Step `replace-node`: a fresh host with the same name and address (the guide's "create the new
//! VM with the same sizing"), then the LB's upstreams rewritten for the current node list.

use std::time::Duration;

use super::{configure_lb, install, RunState};
use crate::error::{Error, Result};
use crate::runner::RunContext;
use crate::topology::HostName;

pub async fn run(ctx: &RunContext, state: &mut RunState, node: &HostName) -> Result<()> {
    let spec = ctx
        .spec()
        .get(node)
        .cloned()
        .ok_or_else(|| Error::CheckFailed(format!("no host {node} in the topology")))?;
    let old = ctx.host(node)?;
    let host = ctx.provider.replace(&spec, &ctx.key).await?;
    // A new machine has a new host key: forget the pinned one, pin the new one on first contact.
    ctx.remote.forget(node);
    ctx.remote
        .wait_ready(&host, Duration::from_secs(180))
        .await?;
    ctx.update_host(host.clone());
    state.down.remove(node);

    // The deploy host knew the old machine's key under this address.
    let deployer = install::deployer(ctx)?;
    let forget = format!("ssh-keygen -R {} >/dev/null 2>&1; true", old.address);
    ctx.run(&deployer, &forget, Duration::from_secs(20)).await?;

    configure_lb::run(ctx, state).await
}
