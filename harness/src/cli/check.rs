//! `acura-ha check --run ID`: the checks alone against a topology kept with `run --keep`.

use std::sync::Arc;

use acura_ha::artifacts::Artifacts;
use acura_ha::checks::{self, Expectations};
use acura_ha::events::{EventKind, EventSink, Outcome};
use acura_ha::provider::kept::KeptTopology;
use acura_ha::provider::Provider;
use acura_ha::remote::{Remote, RunKey};
use acura_ha::reporter::{self, HumanReporter, Reporter};
use acura_ha::runner::{kept, RunContext};
use acura_ha::{exit_code, scenario, steps, Result};

#[derive(clap::Args)]
pub struct Args {
    /// The kept run (see `acura-ha run --keep`).
    #[arg(long)]
    run: String,
    /// Where the checks' command outputs go.
    #[arg(long, default_value = "artifacts")]
    artifacts: std::path::PathBuf,
}

pub async fn run(args: Args, verbose: bool) -> Result<i32> {
    let kept = kept::load(&args.run)?;
    let loaded = scenario::load(&kept.scenario_path)?;
    // The hosts answer SSH whatever built them: the checks need only the pace they run at.
    let provider: Arc<dyn Provider> =
        Arc::new(KeptTopology::new(&kept.run_id, &kept.provider, kept.pace)?);
    let key = RunKey::from_openssh(&kept.private_key)?;
    let (events, rx) = EventSink::channel();
    let reporters: Vec<Box<dyn Reporter>> = vec![Box::new(HumanReporter::new(verbose))];
    let dispatcher = tokio::spawn(reporter::dispatch(rx, reporters));
    let artifacts = Artifacts::create(args.artifacts.join(format!("{}-check", kept.run_id)))?;
    let ctx = RunContext::new(
        kept.run_id.clone(),
        Arc::new(loaded.scenario.clone()),
        provider,
        Remote::new(key.clone(), loaded.scenario.user.clone()),
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
    let report = checks::run_checkpoint(&ctx, "check", &expectations).await;
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
    drop(ctx);
    drop(events);
    let _ = dispatcher.await;
    Ok(code)
}
