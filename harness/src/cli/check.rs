//! `acura-ha check --run ID`: the checks alone against a topology kept with `run --keep`.

use acura_ha::runner::check::{self, KeptCheck};
use acura_ha::runner::reporting::Outputs;
use acura_ha::Result;

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
    /// Write the JSON record of the check here (also always written into its artifacts).
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Write a JUnit XML report here (also always written into its artifacts).
    #[arg(long)]
    junit: Option<std::path::PathBuf>,
}

pub async fn run(args: Args, verbose: bool) -> Result<i32> {
    check::check_kept(KeptCheck {
        run: args.run,
        artifacts_root: args.artifacts,
        accept_host_key: args.accept_host_key,
        outputs: Outputs {
            verbose,
            json: args.json,
            junit: args.junit,
        },
    })
    .await
}
