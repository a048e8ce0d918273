//! `acura-ha check --run ID`: the checks alone against a kept topology.

use acura_ha::Result;

#[derive(clap::Args)]
pub struct Args {
    /// The kept run (see `acura-ha run --keep`).
    #[arg(long)]
    run: String,
}

pub async fn run(args: Args, _verbose: bool) -> Result<i32> {
    let kept = acura_ha::runner::kept::load(&args.run)?;
    Err(acura_ha::Error::infra(format!(
        "checks against kept run {} are not wired yet",
        kept.run_id
    )))
}
