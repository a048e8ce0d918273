//! `acura-ha gc`: remove the containers and networks of runs whose process is gone (or of the
//! named run). Kept runs (`run --keep`) stay unless named or `--all` is given.

use acura_ha::provider::docker;
use acura_ha::runner::kept;
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

pub async fn run(args: Args) -> Result<i32> {
    let client = docker::connect().await?;
    let kept_runs = kept::list();
    let mut failed = false;
    for found in docker::find_runs(&client).await? {
        let named = args.run.as_deref() == Some(found.run_id.as_str());
        let is_kept = kept_runs.contains(&found.run_id);
        let dead = !docker::owner_alive(&found.owner);
        let remove = named || (args.run.is_none() && dead && (!is_kept || args.all));
        let what = format!(
            "run {} ({} containers, {} networks{}{})",
            found.run_id,
            found.containers,
            found.networks,
            if is_kept { ", kept" } else { "" },
            if dead { "" } else { ", still running" }
        );
        if !remove {
            println!("leaving {what}");
            continue;
        }
        if args.dry_run {
            println!("would remove {what}");
            continue;
        }
        println!("removing {what}");
        for r in docker::teardown_run(&client, &found.run_id).await {
            match r.error {
                None => println!("  removed {} {}", r.kind, r.name),
                Some(e) => {
                    failed = true;
                    println!("  FAILED {} {}: {e}", r.kind, r.name)
                }
            }
        }
        kept::forget(&found.run_id);
    }
    for found in acura_ha::provider::qemu::find_runs()? {
        let named = args.run.as_deref() == Some(found.run_id.as_str());
        let is_kept = kept_runs.contains(&found.run_id);
        let dead = !docker::owner_alive(&found.owner);
        let remove = named || (args.run.is_none() && dead && (!is_kept || args.all));
        let what = format!(
            "qemu run {} ({} VMs, {} links)",
            found.run_id, found.vms, found.links
        );
        if !remove {
            println!("leaving {what}");
            continue;
        }
        if args.dry_run {
            println!("would remove {what}");
            continue;
        }
        println!("removing {what}");
        let grace = std::time::Duration::from_secs(30);
        for r in acura_ha::provider::qemu::teardown_run(&found.run_id, grace).await {
            match r.error {
                None => println!("  removed {} {}", r.kind, r.name),
                Some(e) => {
                    failed = true;
                    println!("  FAILED {} {}: {e}", r.kind, r.name)
                }
            }
        }
        kept::forget(&found.run_id);
    }
    Ok(if failed {
        exit_code::INFRASTRUCTURE
    } else {
        exit_code::PASSED
    })
}
