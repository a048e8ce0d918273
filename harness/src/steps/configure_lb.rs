//! Step `configure-lb` (guide step 3): nginx.conf from the current node list, `nginx -t` (C5),
//! the `load_module` fix when nginx does not know `stream` (C6), reload.

use std::time::Duration;

use super::plan::StepPlan;
use super::{require_success, RunState, Targets};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::nginx_syntax;
use crate::procedure::commands;
use crate::procedure::PlannedCommand;

const DEADLINE: Duration = Duration::from_secs(60);

const RELOAD: &str = "systemctl reload-or-restart nginx && systemctl is-active nginx";

/// C5 on the LB; C6 and C5 again when nginx does not know `stream`; then the reload.
fn commands(t: &Targets) -> Result<[PlannedCommand; 4]> {
    let lb = &t.lb()?.name;
    const NO_STREAM: &str = "when nginx -t reports unknown directive \"stream\"";
    Ok([
        PlannedCommand::numbered(5, lb, commands::c5()),
        PlannedCommand::numbered(6, lb, commands::c6()).when(NO_STREAM),
        PlannedCommand::numbered(5, lb, commands::c5()).when(NO_STREAM),
        PlannedCommand::aux(lb, RELOAD.into()),
    ])
}

pub(super) fn plan(t: &Targets) -> Result<StepPlan> {
    Ok(StepPlan {
        commands: commands(t)?.to_vec(),
        actions: vec!["upload /etc/nginx/nginx.conf rendered from the node list".into()],
    })
}

pub async fn run(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let [c5, c6, again, reload] = commands(&Targets::of_run(ctx, state))?;
    let lb = c5.host.clone();
    let conf = current_conf(ctx, state);
    ctx.upload(&lb, "/etc/nginx/nginx.conf", conf.as_bytes(), 0o644)
        .await?;

    let out = ctx.issue(&c5, DEADLINE).await?;
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
        let fix = ctx.issue(&c6, DEADLINE).await?;
        require_success("C6 (load the stream module)", &fix)?;
        state.lb_load_module = true;
        let again = ctx.issue(&again, DEADLINE).await?;
        require_success("nginx -t after the load_module fix", &again)?;
    }
    let out = ctx.issue(&reload, DEADLINE).await?;
    require_success("reloading nginx", &out)
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
