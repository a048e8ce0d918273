//! `acura-ha check --run ID`: the checks alone against a topology kept with `run --keep`.

use std::sync::Arc;
use std::time::Duration;

use acura_ha::artifacts::Artifacts;
use acura_ha::checks::{self, Expectations};
use acura_ha::context::RunContext;
use acura_ha::events::{EventKind, EventSink, Outcome};
use acura_ha::provider::Provider;
use acura_ha::remote::{HostKeyRefusal, HostKeys, Remote, RunKey};
use acura_ha::reporter::{self, HumanReporter, Reporter};
use acura_ha::runner::kept;
use acura_ha::runner::kept::KeptRun;
use acura_ha::runner::providers;
use acura_ha::runner::run::report_pins;
use acura_ha::scenario::LoadedScenario;
use acura_ha::topology::HostName;
use acura_ha::{exit_code, scenario, steps, Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// The kept run (see `acura-ha run --keep`).
    #[arg(long)]
    run: String,
    /// Where the checks' command outputs go.
    #[arg(long, default_value = "artifacts")]
    artifacts: std::path::PathBuf,
    /// Accept the key HOST presents now in place of the one the kept run recorded (a host
    /// rebuilt on purpose), and record it. Repeatable.
    #[arg(long = "accept-host-key", value_name = "HOST")]
    accept_host_key: Vec<String>,
}

pub async fn run(args: Args, verbose: bool) -> Result<i32> {
    let mut kept = kept::load(&args.run)?;
    let loaded = scenario::load(&kept.scenario_path)?;
    // The hosts answer SSH whatever built them: the checks need only the pace they run at.
    let provider: Arc<dyn Provider> = providers::kept(&kept.run_id, &kept.provider, kept.pace)?;
    let key = RunKey::from_openssh(&kept.private_key)?;
    let (events, rx) = EventSink::channel();
    let reporters: Vec<Box<dyn Reporter>> = vec![Box::new(HumanReporter::new(verbose))];
    let dispatcher = tokio::spawn(reporter::dispatch(rx, reporters));
    let code = check(&args, &mut kept, loaded, provider, key, &events).await;
    drop(events);
    let _ = dispatcher.await;
    code
}

async fn check(
    args: &Args,
    kept: &mut KeptRun,
    loaded: LoadedScenario,
    provider: Arc<dyn Provider>,
    key: RunKey,
    events: &EventSink,
) -> Result<i32> {
    let keys = HostKeys::recorded(kept.host_keys.clone()).on_pin(report_pins(events));
    for host in &args.accept_host_key {
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
    let artifacts = Artifacts::create(
        args.artifacts.join(format!("{}-check", kept.run_id)),
        events.secrets().clone(),
    )?;
    let ctx = RunContext::new(
        kept.run_id.clone(),
        Arc::new(loaded.scenario.clone()),
        provider,
        Remote::with_host_keys(key.clone(), loaded.scenario.user.clone(), keys),
        key,
        events.clone(),
        artifacts,
        steps::topology_spec(&loaded.scenario),
        kept.topology.clone(),
    );
    // The checks expect what the run had done when it was kept (a node it powered off is down,
    // not failed); a record from before that was kept assumes an installed cluster, all up.
    let expectations = kept
        .expectations
        .clone()
        .unwrap_or_else(Expectations::installed);
    events.progress(format!(
        "checking run {} as it was kept: {}",
        kept.run_id,
        expectations.describe()
    ));
    verify_host_keys(&ctx, kept, &expectations).await?;
    let report = checks::run_checkpoint(&ctx, "check", &expectations).await;
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
    let code = if report.passed() {
        exit_code::PASSED
    } else {
        exit_code::CHECK_FAILED
    };
    events.send(EventKind::RunFinished {
        outcome: if report.passed() {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        exit_code: code,
        message: (!report.passed()).then(|| report.failures.join("\n")),
    });
    Ok(code)
}

/// Every host the run left up must present the key it was kept with before any check talks to
/// it: a host that does not is not the host that was kept.
async fn verify_host_keys(
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

fn refused(kept: &KeptRun, refusal: HostKeyRefusal) -> Error {
    let host = &refusal.host;
    Error::Infrastructure(format!(
        "{refusal}\nif {host} was rebuilt on purpose, accept its new key: \
         acura-ha check --run {} --accept-host-key {host}",
        kept.run_id
    ))
}
