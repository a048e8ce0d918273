//! `acura-ha check --run ID`: the checks alone, against a topology a run kept. The same context
//! and reporters as a run; no provisioning, no steps, no teardown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::artifacts::Artifacts;
use crate::checks::{self, Expectations};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::events::{EventKind, EventSink, Outcome};
use crate::exit_code;
use crate::provider::Provider;
use crate::remote::{HostKeyRefusal, HostKeys, Remote, RunKey};
use crate::runner::kept::{self, KeptRun};
use crate::runner::providers;
use crate::runner::reporting::{Outputs, Reporting};
use crate::runner::run::report_pins;
use crate::scenario::{self, LoadedScenario};
use crate::steps;
use crate::topology::HostName;

/// `acura-ha check --run ID`: the checks alone against a topology kept with `run --keep`.
pub struct KeptCheck {
    /// The kept run's id.
    pub run: String,
    /// The check's folder goes under here (`<run id>-check`).
    pub artifacts_root: PathBuf,
    /// Hosts whose new key is accepted in place of the recorded one (rebuilt on purpose).
    pub accept_host_key: Vec<String>,
    pub outputs: Outputs,
}

/// The exit code: passed, a check failed, or the error that kept the checks from running.
pub async fn check_kept(options: KeptCheck) -> Result<i32> {
    let mut kept = kept::load(&options.run)?;
    let loaded = scenario::load(&kept.scenario_path)?;
    // The hosts answer SSH whatever built them: the checks need only the pace they run at.
    let provider: Arc<dyn Provider> = providers::kept(&kept.run_id, &kept.provider, kept.pace)?;
    let key = RunKey::from_openssh(&kept.private_key)?;
    let artifacts_dir = options
        .artifacts_root
        .join(format!("{}-check", kept.run_id));
    let reporting = Reporting::start(&artifacts_dir, &options.outputs);
    let events = reporting.events().clone();
    events.send(EventKind::RunStarted {
        run_id: format!("{}-check", kept.run_id),
        scenario: loaded.scenario.name.clone(),
        provider: kept.provider.clone(),
        steps: 0,
    });
    let code = check(
        &options,
        &artifacts_dir,
        &mut kept,
        loaded,
        provider,
        key,
        &events,
    )
    .await;
    drop(events);
    reporting.end(&code).await;
    code
}

async fn check(
    args: &KeptCheck,
    artifacts_dir: &Path,
    kept: &mut KeptRun,
    loaded: LoadedScenario,
    provider: Arc<dyn Provider>,
    key: RunKey,
    events: &EventSink,
) -> Result<i32> {
    let ctx = kept_context(
        kept,
        &loaded,
        provider,
        key,
        events,
        artifacts_dir,
        &args.accept_host_key,
    )?;
    let expectations = kept_expectations(kept, events);
    verify_host_keys(&ctx, kept, &expectations).await?;
    let checked = checkpoint(&ctx, &expectations).await;
    if let Some(refusal) = ctx.host_key_refusals().into_iter().next() {
        return Err(refused(kept, refusal));
    }
    let pinned = ctx.pinned_host_keys();
    if pinned != kept.host_keys {
        kept.host_keys = pinned;
        kept.write()?;
        events.progress(format!(
            "the kept run's host keys are recorded for the next check ({})",
            kept.run_id
        ));
    }
    Ok(finish(events, &checked))
}

/// The kept run's hosts as a run context, under the host keys it recorded (a host named in
/// `accept_host_key` may present a new one, which is pinned).
pub fn kept_context(
    kept: &KeptRun,
    loaded: &LoadedScenario,
    provider: Arc<dyn Provider>,
    key: RunKey,
    events: &EventSink,
    artifacts_dir: &Path,
    accept_host_key: &[String],
) -> Result<RunContext> {
    let keys = HostKeys::recorded(kept.host_keys.clone()).on_pin(report_pins(events));
    for host in accept_host_key {
        let name = HostName(host.clone());
        if kept.topology.host(&name).is_none() {
            return Err(Error::Invalid {
                rendered: format!(
                    "error: --accept-host-key: run {} has no host `{host}` (its hosts: {})",
                    kept.run_id,
                    kept.topology
                        .hosts
                        .iter()
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        keys.expect_new(&name);
    }
    let artifacts = Artifacts::create(artifacts_dir.to_path_buf(), events.secrets().clone())?;
    Ok(RunContext::new(
        kept.run_id.clone(),
        Arc::new(loaded.scenario.clone()),
        provider,
        Remote::with_host_keys(key.clone(), loaded.scenario.user.clone(), keys),
        key,
        events.clone(),
        artifacts,
        steps::topology_spec(&loaded.scenario),
        kept.topology.clone(),
    ))
}

/// What the checks expect of a kept run: what the run had done when it was kept (a node it
/// powered off is down, not failed); a record from before that was kept assumes an installed
/// cluster, all up.
pub fn kept_expectations(kept: &KeptRun, events: &EventSink) -> Expectations {
    let expectations = kept
        .expectations
        .clone()
        .unwrap_or_else(Expectations::installed);
    events.progress(format!(
        "checking run {} as it was kept: {}",
        kept.run_id,
        expectations.describe()
    ));
    expectations
}

/// What the checks saw of the hosts, and what the diagnosis makes of it.
pub struct Checked {
    pub report: checks::CheckpointReport,
    pub diagnosis: crate::finding::Diagnosis,
    pub expectations: Expectations,
}

/// The checks and the diagnosis, against hosts `ctx` reaches as they are.
pub async fn checkpoint(ctx: &RunContext, expectations: &Expectations) -> Checked {
    let report = checks::run_checkpoint(ctx, "check", expectations).await;
    let diagnosis = crate::diagnosis::report(ctx, &report, expectations);
    Checked {
        report,
        diagnosis,
        expectations: expectations.clone(),
    }
}

/// The exit code of a check, sent as the end of the run: passed, or failed with the
/// diagnosis's headline first.
pub fn finish(events: &EventSink, checked: &Checked) -> i32 {
    let passed = checked.report.passed();
    conclude(
        events,
        passed,
        (!passed).then(|| {
            checked
                .diagnosis
                .headline()
                .into_iter()
                .chain(checked.report.failures.iter().cloned())
                .collect::<Vec<_>>()
                .join("\n")
        }),
    )
}

/// The end of checks that ran: exit 0 when they passed, 1 when not.
pub fn conclude(events: &EventSink, passed: bool, message: Option<String>) -> i32 {
    let (outcome, code) = if passed {
        (Outcome::Passed, exit_code::PASSED)
    } else {
        (Outcome::Failed, exit_code::CHECK_FAILED)
    };
    events.send(EventKind::RunFinished {
        outcome,
        exit_code: code,
        message,
    });
    code
}

/// Every host the run left up must present the key it was kept with before any check talks to
/// it: a host that does not is not the host that was kept.
pub async fn verify_host_keys(
    ctx: &RunContext,
    kept: &KeptRun,
    expectations: &Expectations,
) -> Result<()> {
    let up: Vec<_> = ctx
        .topology()
        .hosts
        .into_iter()
        .filter(|h| !expectations.down.contains(&h.name))
        .collect();
    // A host that does not answer is the checks' to report; one with another key is not
    // the host that was kept.
    let probes = up
        .iter()
        .map(|h| ctx.run(&h.name, "true", Duration::from_secs(20)));
    futures::future::join_all(probes).await;
    match ctx.host_key_refusals().into_iter().next() {
        Some(refusal) => Err(refused(kept, refusal)),
        None => Ok(()),
    }
}

pub fn refused(kept: &KeptRun, refusal: HostKeyRefusal) -> Error {
    let host = &refusal.host;
    Error::Infrastructure(format!(
        "{refusal}\nif {host} was rebuilt on purpose, accept its new key: \
         acura-ha check --run {} --accept-host-key {host}",
        kept.run_id
    ))
}
