//! `acura-ha analyze BUNDLE`: the diagnosis from a bundle alone, offline.

use std::path::PathBuf;

use acura_ha::runner::analyze::{self, Analyze};
use acura_ha::Result;

#[derive(clap::Args)]
pub struct Args {
    /// A bundle written by `acura-ha collect`.
    bundle: PathBuf,
    /// Where the analysis's record goes.
    #[arg(long, default_value = "artifacts")]
    artifacts: PathBuf,
    #[command(flatten)]
    reports: super::ReportArgs,
}

pub async fn run(args: Args, verbosity: super::Verbosity) -> Result<i32> {
    analyze::analyze(Analyze {
        bundle: args.bundle,
        artifacts_root: args.artifacts,
        outputs: args.reports.outputs(verbosity)?,
    })
    .await
}
