//! Scenario steps. Each module is named for what it does in the procedure and issues the
//! procedure's commands verbatim (placeholders filled in) through the [`RunContext`].
//! Each step builds its commands from [`Targets`] with one function that its run and
//! `acura-ha plan` both call (see `plan.rs`).

mod availability;
mod bench_checks;
mod checkpoint;
mod checkpoint_failing;
mod cluster;
mod configure_lb;
pub mod diagnose;
mod expect;
mod fault;
mod install;
mod join_node;
mod join_node_refused;
mod markers;
mod misconfigure;
mod move_etcd_leader;
mod move_pod;
mod never_ready;
mod nginx_conf;
mod plan;
mod plan_compare;
mod preflight;
mod prepare_deployer;
mod remove_dead_node;
mod replace_node;
mod targets;
mod update;
mod window;

use std::time::Instant;

pub use availability::AvailabilityProbe;
pub use misconfigure::without_udp_path;
pub use nginx_conf::render as render_nginx_conf;
pub use plan::{plan, PlannedStep};
pub use plan_compare::differences as plan_differences;
pub use targets::{Target, Targets};

use crate::checks::Expectations;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::events::{EventKind, Outcome};
use crate::scenario::{LoadedScenario, Scenario, Step};
use crate::topology::{HostName, Resolver, TopologySpec};

/// Where the archive lands on the deploy host, and what C10 unpacks it to.
pub const DEPLOYER_HOME: &str = "/root";
pub const ARCHIVE_NAME: &str = "hystax-ha-archive.tar.gz";
pub const ARCHIVE_DIR: &str = "hystax_ha_archive";
/// The deploy host's copy of the run key (not `~/.ssh/id_rsa`, so C13 names it).
pub const DEPLOYER_KEY: &str = "/root/.ssh/id_ed25519";

/// What the run has done to the hosts so far, advanced by each step: the one record of its
/// state. The hosts themselves, their keys and the topology are the context's.
pub struct RunState {
    /// How far the procedure got, the hosts the run took down and the nodes out of the
    /// cluster: advanced by [`Expectations::advance`] after each step that passed, and what a
    /// checkpoint, `expect` and a kept run expect.
    pub expectations: Expectations,
    pub overlays: Vec<String>,
    /// C6 was needed once: later renders of nginx.conf keep the `load_module` line.
    pub lb_load_module: bool,
    pub markers: Option<markers::Markers>,
    /// `misconfigure` steps in effect, oldest first (what `repair` and teardown undo).
    pub misconfigured: Vec<crate::scenario::Misconfiguration>,
    pub probe: Option<AvailabilityProbe>,
}

impl RunState {
    pub fn new(loaded: &LoadedScenario) -> Self {
        RunState {
            expectations: Expectations::provisioned(),
            overlays: crate::procedure::commands::initial_overlays(loaded.scenario.product.flavor),
            lb_load_module: false,
            markers: None,
            misconfigured: Vec::new(),
            probe: None,
        }
    }
}

impl RunState {
    /// What a check may expect now: the hosts the run took down or removed, and the stage.
    pub fn expectations(&self) -> Expectations {
        self.expectations.clone()
    }
}

/// The golden comparison of a checkpoint, reported like its checks.
pub(crate) fn send_golden_outcome(
    ctx: &RunContext,
    checkpoint: &str,
    accepted: bool,
    message: String,
) {
    ctx.events().send(EventKind::CheckFinished {
        checkpoint: checkpoint.to_owned(),
        check: "golden".into(),
        outcome: if accepted {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        duration: std::time::Duration::ZERO,
        message: Some(message),
        findings: None,
    });
}

/// The hosts a scenario asks for, with its per-host overrides applied.
pub fn topology_spec(scenario: &Scenario) -> TopologySpec {
    let mut spec = TopologySpec::standard(scenario.topology.nodes);
    if !scenario.topology.lb {
        spec.hosts.retain(|h| h.role != crate::topology::Role::Lb);
    }
    for (name, o) in &scenario.topology.hosts {
        if let Some(h) = spec.get_mut(name) {
            if let Some(hostname) = &o.hostname {
                h.hostname = hostname.clone();
            }
            h.resolver = o.resolver.unwrap_or(Resolver::RunDns);
        }
    }
    spec
}

/// Run every step in order; stop at the first failure (later steps are reported skipped).
pub async fn run_all(
    ctx: &RunContext,
    loaded: &LoadedScenario,
    state: &mut RunState,
) -> Result<()> {
    // The context's scenario is the one the run runs (`--provider` applied); the loaded file
    // only says where each step is written.
    let steps = &ctx.scenario().steps;
    let mut failure: Option<Error> = None;
    let mut windows = window::Windows::default();
    for (index, step) in steps.iter().enumerate() {
        let line = loaded.step_lines.get(index).copied().unwrap_or(0);
        let name = describe(step);
        if failure.is_some() {
            ctx.events().send(EventKind::StepFinished {
                index,
                name,
                outcome: Outcome::Skipped,
                duration: std::time::Duration::ZERO,
                message: None,
            });
            continue;
        }
        ctx.events().send(EventKind::StepStarted {
            index,
            line,
            name: name.clone(),
        });
        let started = Instant::now();
        windows.before(ctx.events(), step);
        let mut result = execute(ctx, state, step).await;
        if result.is_ok() {
            windows.after(ctx.events(), step);
        }
        // A host that presented another key is refused wherever it happened, a check's probe
        // included, and that stops the run as the infrastructure's failure, not a check's.
        if let Some(refusal) = ctx.host_key_refusals().into_iter().next() {
            result = Err(Error::Infrastructure(refusal.message));
        }
        let (outcome, message) = match &result {
            Ok(()) => (Outcome::Passed, None),
            Err(e) => (Outcome::Failed, Some(e.to_string())),
        };
        ctx.events().send(EventKind::StepFinished {
            index,
            name: name.clone(),
            outcome,
            duration: started.elapsed(),
            message,
        });
        if let Err(e) = result {
            failure = Some(match e {
                Error::CheckFailed(m) => {
                    Error::CheckFailed(format!("step {} `{name}` (line {line}): {m}", index + 1))
                }
                Error::Infrastructure(m) => {
                    Error::Infrastructure(format!("step {} `{name}` (line {line}): {m}", index + 1))
                }
                other => other,
            });
        }
    }
    if let Some(probe) = state.probe.take() {
        probe.finish(ctx).await;
    }
    // Existing hosts outlive the run: a run that stopped between `misconfigure` and `repair`
    // must not leave them broken. Hosts the provider created go at teardown anyway (and stay
    // broken under `--keep`, to be looked at).
    if !state.misconfigured.is_empty() && ctx.provider().capabilities().outlives_run {
        if let Err(e) = misconfigure::repair(ctx, state).await {
            ctx.events().warning(format!(
                "could not undo the misconfiguration still in effect: {e}"
            ));
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `checkpoint installed`, `fault power-off node-2`, …
pub fn describe(step: &Step) -> String {
    match step {
        Step::Checkpoint(name) => format!("checkpoint {name}"),
        Step::Update(u) if !u.add_overlays.is_empty() => {
            format!("update +{}", u.add_overlays.join(",+"))
        }
        Step::Fault(f) => format!("fault {} {}", fault::verb(f), f.host()),
        Step::RemoveDeadNode(h) => format!("remove-dead-node {h}"),
        Step::ReplaceNode(h) => format!("replace-node {h}"),
        Step::JoinNode(h) => format!("join-node {h}"),
        Step::JoinNodeRefused(r) => {
            format!("join-node-refused {} ({} token)", r.node, r.token.as_str())
        }
        Step::MoveEtcdLeader(h) => format!("move-etcd-leader {h}"),
        Step::MovePod(m) => format!("move-pod {} off {}", m.pod, m.off),
        Step::Misconfigure(m) => format!("misconfigure {}", misconfigure::describe(m)),
        Step::CheckpointFailing(f) => format!("checkpoint-failing {}", f.name),
        other => other.keyword().to_owned(),
    }
}

async fn execute(ctx: &RunContext, state: &mut RunState, step: &Step) -> Result<()> {
    execute_step(ctx, state, step).await?;
    state.expectations.advance(step);
    Ok(())
}

async fn execute_step(ctx: &RunContext, state: &mut RunState, step: &Step) -> Result<()> {
    match step {
        Step::Preflight => preflight::run(ctx, state).await,
        Step::ConfigureLb => configure_lb::run(ctx, state).await,
        Step::PrepareDeployer => prepare_deployer::run(ctx, state).await,
        Step::InstallMasters => install::masters(ctx, state).await,
        Step::InstallAcura => install::acura(ctx, state).await,
        Step::Update(u) => update::run(ctx, state, u).await,
        Step::Checkpoint(name) => checkpoint::run(ctx, state, name).await,
        Step::WriteMarkers => markers::write(ctx, state).await,
        Step::VerifyMarkers => markers::verify(ctx, state).await,
        Step::Fault(f) => fault::run(ctx, state, f).await,
        Step::Expect(e) => expect::run(ctx, state, e).await,
        Step::RemoveDeadNode(h) => remove_dead_node::run(ctx, state, h).await,
        Step::ReplaceNode(h) => replace_node::run(ctx, state, h).await,
        Step::JoinNode(h) => join_node::run(ctx, state, h).await,
        Step::JoinNodeRefused(r) => join_node_refused::run(ctx, state, r).await,
        Step::MoveEtcdLeader(h) => move_etcd_leader::run(ctx, state, h).await,
        Step::MovePod(m) => move_pod::run(ctx, state, m).await,
        Step::Misconfigure(m) => misconfigure::apply(ctx, state, m).await,
        Step::Repair => misconfigure::repair(ctx, state).await,
        Step::BenchChecks => bench_checks::run(ctx, state).await,
        Step::CheckpointFailing(f) => checkpoint_failing::run(ctx, state, f).await,
        Step::Diagnose(d) => diagnose::run(ctx, state, d).await,
    }
}

/// A node that is up and still a cluster member: where cluster-side commands (kubectl, kubeadm)
/// run. The first one in node order, like an operator would pick.
pub fn live_node(ctx: &RunContext, state: &RunState) -> Result<HostName> {
    Ok(Targets::of_run(ctx, state).live_node()?.name.clone())
}

/// The load balancer, for steps that need one.
pub fn lb_host(ctx: &RunContext) -> Result<crate::topology::Host> {
    ctx.topology()
        .lb()
        .cloned()
        .ok_or_else(|| Error::CheckFailed("the scenario has no load balancer".into()))
}

/// `Err(CheckFailed)` with the command's tail when it failed.
pub fn require_success(what: &str, out: &crate::remote::Output) -> Result<()> {
    if out.success() {
        Ok(())
    } else {
        Err(Error::CheckFailed(format!(
            "{what} failed ({}):\n{}",
            out.status_text(),
            out.tail(15)
        )))
    }
}
