//! Step `fault`: power-off, pause/resume, partition/heal of a named host, mapped onto the
//! provider. The availability probe starts with the first fault.

use super::{AvailabilityProbe, RunState};
use crate::context::RunContext;
use crate::error::Result;
use crate::scenario::Fault;

pub fn verb(fault: &Fault) -> &'static str {
    match fault {
        Fault::PowerOff(_) => "power-off",
        Fault::Pause(_) => "pause",
        Fault::Resume(_) => "resume",
        Fault::Partition(_) => "partition",
        Fault::Heal(_) => "heal",
    }
}

pub async fn run(ctx: &RunContext, state: &mut RunState, fault: &Fault) -> Result<()> {
    if state.probe.is_none() {
        if let Some(lb) = ctx.topology().lb() {
            state.probe = Some(AvailabilityProbe::start(lb.address));
        }
    }
    let host = fault.host().clone();
    ctx.host(&host)?;
    match fault {
        Fault::PowerOff(h) => {
            ctx.provider().power_off(h).await?;
            ctx.host_lost(h);
        }
        Fault::Pause(h) => {
            ctx.provider().pause(h).await?;
        }
        Fault::Partition(h) => {
            ctx.provider().partition(h).await?;
        }
        Fault::Resume(h) => {
            ctx.provider().resume(h).await?;
        }
        Fault::Heal(h) => {
            ctx.provider().heal(h).await?;
        }
    }
    if let Some(probe) = &state.probe {
        probe.mark(format!("{} {host}", verb(fault)));
    }
    ctx.events()
        .progress(format!("fault: {} {host}", verb(fault)));
    Ok(())
}
