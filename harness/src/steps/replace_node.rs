//! Step `replace-node`: a fresh host with the same name and address (the guide's "create the new
//! VM with the same sizing"), then the LB's upstreams rewritten for the current node list.

use std::time::Duration;

use super::{configure_lb, install, RunState};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::topology::HostName;

pub async fn run(ctx: &RunContext, state: &mut RunState, node: &HostName) -> Result<()> {
    let spec = ctx
        .spec()
        .get(node)
        .cloned()
        .ok_or_else(|| Error::CheckFailed(format!("no host {node} in the topology")))?;
    let old = ctx.host(node)?;
    // A new machine has a new host key: the one it presents first is pinned in place of the
    // old one (and said so); any other change of key is still refused.
    let host = ctx.replace_host(&spec).await?;

    // The deploy host knew the old machine's key under this address, and C28 runs without
    // ANSIBLE_HOST_KEY_CHECKING=False: like an operator answering "yes", the deploy host
    // forgets the old key and records the fresh machine's.
    let deployer = install::deployer(ctx)?;
    let relearn = format!(
        "ssh-keygen -R {a} >/dev/null 2>&1; ssh-keyscan -T 5 -t ed25519 {a} >> ~/.ssh/known_hosts 2>/dev/null",
        a = host.address
    );
    let out = ctx
        .run(&deployer, &relearn, Duration::from_secs(30))
        .await?;
    super::require_success(
        "recording the replaced node's host key on the deploy host",
        &out,
    )?;
    let _ = old;

    configure_lb::run(ctx, state).await
}
