//! Step `configure-lb` (guide step 3): nginx.conf from the current node list, `nginx -t` (C5),
//! the `load_module` fix when nginx does not know `stream` (C6), reload.

use std::time::Duration;

use super::{require_success, RunState};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::nginx_syntax;
use crate::procedure::commands;
use crate::procedure::CommandId;
use crate::topology::HostName;

const DEADLINE: Duration = Duration::from_secs(60);

pub async fn run(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let lb = super::lb_host(ctx)?.name;
    let conf = current_conf(ctx, state);
    ctx.upload(&lb, "/etc/nginx/nginx.conf", conf.as_bytes(), 0o644)
        .await?;

    let out = ctx
        .procedure(CommandId(5), &lb, &commands::c5(), DEADLINE)
        .await?;
    let needs_stream = nginx_syntax::parse(&format!("{}{}", out.stdout, out.stderr))
        .map(|t| t.needs_stream_module())
        .unwrap_or(false);
    if !out.success() {
        if !needs_stream {
            return Err(Error::CheckFailed(format!(
                "nginx -t rejects the generated config: {}",
                out.tail(5)
            )));
        }
        let fix = ctx
            .procedure(CommandId(6), &lb, &commands::c6(), DEADLINE)
            .await?;
        require_success("C6 (load the stream module)", &fix)?;
        state.lb_load_module = true;
        let again = ctx
            .procedure(CommandId(5), &lb, &commands::c5(), DEADLINE)
            .await?;
        require_success("nginx -t after the load_module fix", &again)?;
    }
    reload(ctx, &lb).await
}

/// The guide's nginx.conf for the nodes the topology has now.
pub fn current_conf(ctx: &RunContext, state: &RunState) -> String {
    let nodes: Vec<String> = ctx
        .topology()
        .nodes()
        .map(|h| h.address.to_string())
        .collect();
    super::render_nginx_conf(&nodes, state.lb_load_module)
}

async fn reload(ctx: &RunContext, lb: &HostName) -> Result<()> {
    let out = ctx
        .run(
            lb,
            "systemctl reload-or-restart nginx && systemctl is-active nginx",
            DEADLINE,
        )
        .await?;
    require_success("reloading nginx", &out)
}
