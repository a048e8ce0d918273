//! One run of a scenario: images, provisioning, the steps in order, teardown. The scenario's
//! future is raced against Ctrl-C: the first Ctrl-C stops the steps and tears down, a second
//! one during teardown exits at once (what is left is found later by `acura-ha gc`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::artifacts::Artifacts;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::events::{EventKind, EventSink, Outcome};
use crate::exit_code;
use crate::golden::Goldens;
use crate::provider::Provider;
use crate::remote::host_keys::{self, OnPin};
use crate::remote::{HostKeys, PinReason, Remote, RunKey};
use crate::runner::reporting::{Outputs, Reporting};
use crate::runner::{kept, providers};
use crate::scenario::{LoadedScenario, ProviderKind};
use crate::steps::{self, RunState};

pub struct RunOptions {
    pub provider: Option<ProviderKind>,
    pub keep: bool,
    pub update_golden: bool,
    /// Artifacts go to `<artifacts_root>/<run id>/`.
    pub artifacts_root: PathBuf,
    /// The reports asked for besides the artifacts' own, and how much the terminal shows.
    pub outputs: Outputs,
    /// The repository's `vms/` (image recipes) and `fixtures/golden/`.
    pub vms_dir: PathBuf,
    pub golden_dir: PathBuf,
}

/// What a finished run tells its caller.
pub struct RunSummary {
    pub run_id: String,
    pub exit_code: i32,
    pub artifacts: PathBuf,
}

pub fn new_run_id() -> String {
    let stamp = chrono::Utc::now().format("%m%d%H%M");
    let tail: u16 = rand::random();
    format!("{stamp}-{tail:04x}")
}

pub async fn run(loaded: LoadedScenario, options: RunOptions) -> RunSummary {
    let run_id = new_run_id();
    let artifacts_dir = options.artifacts_root.join(&run_id);
    let reporting = Reporting::start(&artifacts_dir, &options.outputs);
    let events = reporting.events().clone();

    let mut scenario = loaded.scenario.clone();
    if let Some(p) = options.provider {
        scenario.provider = p;
    }
    events.send(EventKind::RunStarted {
        run_id: run_id.clone(),
        scenario: scenario.name.clone(),
        provider: scenario.provider.as_str().to_owned(),
        steps: scenario.steps.len(),
    });

    let interrupted = interrupt_watch();
    let mut provider_slot: Option<Arc<dyn Provider>> = None;
    let mut context_slot: Option<RunContext> = None;
    let mut state = RunState::new(&loaded);
    let result = {
        let work = execute(
            &run_id,
            &loaded,
            Arc::new(scenario),
            &options,
            &artifacts_dir,
            &events,
            Slots {
                provider: &mut provider_slot,
                context: &mut context_slot,
                state: &mut state,
            },
        );
        let mut interrupted = interrupted.clone();
        tokio::select! {
            r = work => r,
            _ = interrupts(&mut interrupted, 1) => Err(Error::Interrupted),
        }
    };

    let (outcome, code, message) = match &result {
        Ok(()) => (Outcome::Passed, exit_code::PASSED, None),
        Err(e) => (Outcome::Failed, e.exit_code(), Some(e.to_string())),
    };

    if let Some(provider) = provider_slot {
        if options.keep && !matches!(result, Err(Error::Interrupted)) {
            if let Some(ctx) = context_slot.as_ref() {
                let topology = ctx.topology();
                events.progress(provider.keep_hint(&topology));
                let keeping = kept::Keeping {
                    provider: provider.as_ref(),
                    expectations: state.expectations(),
                    topology: &topology,
                    host_keys: &ctx.pinned_host_keys(),
                    key: Some(ctx.key()),
                    loaded: &loaded,
                };
                match kept::save(&run_id, keeping) {
                    Ok(Some(key)) => events.progress(format!(
                        "<key>: the run's SSH key, {} (`acura-ha gc --run {run_id}` removes it with the hosts)",
                        key.display()
                    )),
                    Ok(None) => {}
                    Err(e) => events.warning(format!("could not record the kept run: {e}")),
                }
            }
        } else {
            events.send(EventKind::TeardownStarted);
            let teardown = provider.teardown();
            let mut interrupted = interrupted.clone();
            let released = tokio::select! {
                r = teardown => r,
                // Counting, not "changed": a clone starts from the version its source saw, so the
                // first interrupt would look new again here.
                _ = interrupts(&mut interrupted, 2) => {
                    eprintln!("second interrupt: exiting without finishing teardown; `acura-ha gc` removes what is left");
                    std::process::exit(exit_code::INTERRUPTED);
                }
            };
            for r in released {
                events.send(EventKind::ResourceReleased(r));
            }
        }
    }

    events.send(EventKind::RunFinished {
        outcome,
        exit_code: code,
        message,
    });
    drop(events);
    reporting.finish().await;
    RunSummary {
        run_id,
        exit_code: code,
        artifacts: artifacts_dir,
    }
}

/// A watch that flips on the first Ctrl-C. A second Ctrl-C before teardown starts counts too:
/// whoever waits on the watch sees a change again.
fn interrupt_watch() -> tokio::sync::watch::Receiver<u32> {
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        let mut count = 0;
        while tokio::signal::ctrl_c().await.is_ok() {
            count += 1;
            if count == 1 {
                eprintln!(
                    "interrupt: stopping the steps and tearing down (Ctrl-C again to exit at once)"
                );
            }
            if tx.send(count).is_err() {
                break;
            }
        }
    });
    rx
}

/// Resolves once `n` interrupts have arrived; never, when signals cannot be watched.
async fn interrupts(watch: &mut tokio::sync::watch::Receiver<u32>, n: u32) {
    if watch.wait_for(|count| *count >= n).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What `execute` makes and advances, for teardown and `--keep` to find however it ended.
struct Slots<'a> {
    provider: &'a mut Option<Arc<dyn Provider>>,
    context: &'a mut Option<RunContext>,
    state: &'a mut RunState,
}

async fn execute(
    run_id: &str,
    loaded: &LoadedScenario,
    scenario: Arc<crate::scenario::Scenario>,
    options: &RunOptions,
    artifacts_dir: &std::path::Path,
    events: &EventSink,
    slots: Slots<'_>,
) -> Result<()> {
    // Validation held the scenario's own provider to its capabilities; `--provider` may have
    // changed it.
    for (index, step) in scenario.steps.iter().enumerate() {
        if let Some(why) = scenario.provider.capabilities().refuses(step) {
            return Err(Error::Invalid {
                rendered: format!(
                    "error: {}:{}: step `{}`: provider `{}`: {why}",
                    loaded.path.display(),
                    loaded.step_line(index).unwrap_or(0),
                    step.keyword(),
                    scenario.provider
                ),
            });
        }
    }
    let artifacts = Artifacts::create(artifacts_dir.to_path_buf(), events.secrets().clone())?;
    let spec = steps::topology_spec(&scenario);
    let scenario_dir = loaded
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let provider = providers::create(
        scenario.provider,
        run_id,
        options,
        events,
        &scenario,
        &scenario_dir,
        artifacts_dir,
    )
    .await?;
    *slots.provider = Some(provider.clone());

    let key = match &scenario.inventory {
        Some(inv) if scenario.provider == ProviderKind::Static => {
            let path = loaded
                .path
                .parent()
                .map(|dir| dir.join(&inv.ssh_key))
                .unwrap_or_else(|| inv.ssh_key.clone());
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            RunKey::from_openssh(&text)?
        }
        _ => RunKey::generate(&format!("acura-ha-{run_id}"))?,
    };

    events.send(EventKind::Record {
        key: "environment".into(),
        value: super::environment::record(&scenario, provider.as_ref(), &spec, &options.vms_dir),
    });
    events.send(EventKind::ProvisionStarted);
    let started = Instant::now();
    let topology = provider.provision(&spec, &key).await?;
    let host_keys = match scenario
        .inventory
        .as_ref()
        .and_then(|i| i.known_hosts.as_ref())
    {
        Some(file) if scenario.provider == ProviderKind::Static => {
            let path = scenario_dir.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let known = host_keys::parse_known_hosts(&path, &text)?;
            HostKeys::from_known_hosts(&known, &topology.hosts)
        }
        _ => HostKeys::trust_on_first_use(),
    };
    let remote = Remote::with_host_keys(
        key.clone(),
        scenario.user.clone(),
        host_keys.on_pin(report_pins(events)),
    );
    let hosts = topology.hosts.clone();
    // The context exists from here on: a run kept after a host failed to answer keeps it.
    let ctx = slots.context.insert(
        RunContext::new(
            run_id.to_owned(),
            scenario.clone(),
            provider.clone(),
            remote,
            key,
            events.clone(),
            artifacts,
            spec,
            topology,
        )
        .with_goldens(Goldens {
            root: options.golden_dir.clone(),
            scenario: scenario.name.clone(),
            update: options.update_golden,
        }),
    );
    let ctx: &RunContext = ctx;
    ctx.wait_hosts_ready(Duration::from_secs(180)).await?;
    events.send(EventKind::ProvisionFinished {
        hosts: hosts
            .iter()
            .map(|h| (h.name.clone(), h.address.to_string()))
            .collect(),
    });
    events.send(EventKind::Record {
        key: "provisioning".into(),
        value: serde_json::json!({
            "summary": format!("{} hosts up in {:.1}s", hosts.len(), started.elapsed().as_secs_f64()),
            "duration_ms": started.elapsed().as_millis() as u64,
        }),
    });

    let result = steps::run_all(ctx, loaded, slots.state).await;
    // Known hosts of the run, for whoever debugs a kept topology.
    let pins: String = ctx
        .pinned_host_keys()
        .iter()
        .map(|(h, f)| format!("{h} {f}\n"))
        .collect();
    let _ = ctx.artifacts().write("known_hosts.txt", &pins);
    result
}

/// Every key pinned is said: each host's first key, and a replaced host's new one.
pub fn report_pins(events: &EventSink) -> OnPin {
    let events = events.clone();
    Arc::new(move |host, fingerprint, why| {
        events.progress(match why {
            PinReason::FirstContact => {
                format!("{host}: host key {fingerprint} pinned on first contact")
            }
            PinReason::Replaced => format!(
                "{host}: the new machine's host key {fingerprint} pinned in place of the old one"
            ),
        })
    })
}
