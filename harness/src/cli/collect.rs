//! `acura-ha collect --inventory ha_env_file --lb ADDRESS` (or `--run ID`): a site's state in
//! one bundle.

use std::path::PathBuf;

use acura_ha::runner::collect::{self, Collect, Target};
use acura_ha::{Error, Result};

use super::check::SiteArgs;

#[derive(clap::Args)]
pub struct Args {
    /// A topology kept with `run --keep`, instead of a site.
    #[arg(
        long,
        required_unless_present = "inventory",
        conflicts_with = "inventory"
    )]
    run: Option<String>,
    #[command(flatten)]
    site: SiteArgs,
    /// Where the bundle is written.
    #[arg(long, short, default_value = ".")]
    output: PathBuf,
    /// How far back the services' logs go (journalctl's `--since -<SINCE>`: `2h`, `30min`).
    #[arg(long, default_value = "2h")]
    since: String,
    /// Replace every address and hostname of the site by a placeholder; the map is written
    /// next to the bundle, never into it.
    #[arg(long)]
    mask_addresses: bool,
    /// Where the checks' command outputs go.
    #[arg(long, default_value = "artifacts")]
    artifacts: PathBuf,
    #[command(flatten)]
    reports: super::ReportArgs,
}

pub async fn run(args: Args, verbosity: super::Verbosity) -> Result<i32> {
    let target = match (args.run, args.site.site()) {
        (Some(run), _) => Target::Kept(run),
        (None, Some(site)) => Target::Site(site),
        (None, None) => return Err(Error::Invalid {
            rendered:
                "error: collect needs --run ID, or the site: --inventory HA_ENV_FILE --lb ADDRESS"
                    .into(),
        }),
    };
    collect::collect(Collect {
        target,
        output_dir: args.output,
        since: args.since,
        mask_addresses: args.mask_addresses,
        artifacts_root: args.artifacts,
        outputs: args.reports.outputs(verbosity)?,
    })
    .await
}
