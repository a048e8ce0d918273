//! `acura-ha run [SCENARIO]`.

use std::path::PathBuf;

use acura_ha::runner::run::{self, RunOptions};
use acura_ha::scenario::{self, ProviderKind};
use acura_ha::Result;

#[derive(clap::Args)]
pub struct Args {
    /// The scenario file.
    #[arg(default_value = "scenarios/lifecycle.yaml")]
    scenario: PathBuf,
    /// Run on this provider instead of the scenario's.
    #[arg(long, value_enum)]
    provider: Option<ProviderArg>,
    /// Leave the topology up afterwards and print how to reach it.
    #[arg(long)]
    keep: bool,
    /// Accept the observed state as the new golden snapshots.
    #[arg(long)]
    update_golden: bool,
    #[command(flatten)]
    reports: super::ReportArgs,
    /// Where per-run artifact folders go.
    #[arg(long, default_value = "artifacts")]
    artifacts: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ProviderArg {
    Docker,
    Qemu,
    Static,
}

impl From<ProviderArg> for ProviderKind {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Docker => ProviderKind::Docker,
            ProviderArg::Qemu => ProviderKind::Qemu,
            ProviderArg::Static => ProviderKind::Static,
        }
    }
}

pub async fn run(args: Args, verbosity: super::Verbosity) -> Result<i32> {
    let loaded = scenario::load(&super::resolve(&args.scenario))?;
    let root = super::repo_root();
    let options = RunOptions {
        provider: args.provider.map(Into::into),
        keep: args.keep,
        update_golden: args.update_golden,
        artifacts_root: args.artifacts,
        outputs: args.reports.outputs(verbosity)?,
        vms_dir: root.join("vms"),
        golden_dir: root.join("fixtures/golden"),
    };
    let summary = run::run(loaded, options).await;
    eprintln!("artifacts: {}", summary.artifacts.display());
    Ok(summary.exit_code)
}
