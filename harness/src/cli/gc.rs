//! `acura-ha gc`: remove what runs whose process is gone left behind (or what the named run
//! left): containers and networks on docker, VMs, links and run folders of QEMU. Kept runs
//! (`run --keep`) stay unless named or `--all` is given.

use acura_ha::events::Released;
use acura_ha::runner::kept;
use acura_ha::runner::providers::{self, Leftover};
use acura_ha::{exit_code, Result};

#[derive(clap::Args)]
pub struct Args {
    /// Remove this run (kept or not, alive or not).
    #[arg(long)]
    run: Option<String>,
    /// Remove kept runs too.
    #[arg(long)]
    all: bool,
    /// Only list what would be removed.
    #[arg(long)]
    dry_run: bool,
}

impl Args {
    /// Named runs go whatever their state; otherwise only runs whose owner is dead, and kept
    /// ones only with `--all`.
    fn removes(&self, leftover: &Leftover, is_kept: bool, dead: bool) -> bool {
        match &self.run {
            Some(named) => *named == leftover.run_id,
            None => dead && (!is_kept || self.all),
        }
    }
}

pub async fn run(args: Args) -> Result<i32> {
    let kept_runs = kept::list();
    let leftovers = providers::leftovers().await?;

    let mut failed = false;
    for leftover in leftovers {
        let is_kept = kept_runs.contains(&leftover.run_id);
        let dead = leftover.orphaned();
        let what = format!(
            "{} run {} ({}{}{})",
            leftover.provider,
            leftover.run_id,
            leftover.holds,
            if is_kept { ", kept" } else { "" },
            if dead { "" } else { ", still running" }
        );
        if !args.removes(&leftover, is_kept, dead) {
            outln!("leaving {what}");
            continue;
        }
        if args.dry_run {
            outln!("would remove {what}");
            continue;
        }
        outln!("removing {what}");
        let released: Vec<Released> = providers::release(&leftover).await?;
        for r in released {
            match r.error {
                None => outln!("  removed {} {}", r.kind, r.name),
                Some(e) => {
                    failed = true;
                    outln!("  FAILED {} {}: {e}", r.kind, r.name)
                }
            }
        }
        kept::forget(&leftover.run_id);
    }
    Ok(if failed {
        exit_code::INFRASTRUCTURE
    } else {
        exit_code::PASSED
    })
}
