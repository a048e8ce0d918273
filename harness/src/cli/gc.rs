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
    /// Write what was (or would be) removed and left as JSON here (`-`: stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<std::path::PathBuf>,
}

/// One leftover run as `gc --json` writes it.
#[derive(serde::Serialize)]
struct Decision {
    provider: &'static str,
    run_id: String,
    holds: String,
    kept: bool,
    /// Whether the process that made it is gone.
    orphaned: bool,
    /// `left`, `would remove` (dry run) or `removed`.
    action: &'static str,
    released: Vec<Released>,
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

    let quiet = super::json_to_stdout(&args.json);
    let say = |line: String| {
        if !quiet {
            outln!("{line}");
        }
    };
    let mut decisions = Vec::new();
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
        let mut decision = Decision {
            provider: leftover.provider,
            run_id: leftover.run_id.clone(),
            holds: leftover.holds.clone(),
            kept: is_kept,
            orphaned: dead,
            action: "left",
            released: Vec::new(),
        };
        if !args.removes(&leftover, is_kept, dead) {
            say(format!("leaving {what}"));
        } else if args.dry_run {
            say(format!("would remove {what}"));
            decision.action = "would remove";
        } else {
            say(format!("removing {what}"));
            decision.action = "removed";
            let released: Vec<Released> = providers::release(&leftover).await?;
            for r in &released {
                match &r.error {
                    None => say(format!("  removed {} {}", r.kind, r.name)),
                    Some(e) => {
                        failed = true;
                        say(format!("  FAILED {} {}: {e}", r.kind, r.name))
                    }
                }
            }
            decision.released = released;
            kept::forget(&leftover.run_id);
        }
        decisions.push(decision);
    }
    if let Some(path) = &args.json {
        #[derive(serde::Serialize)]
        struct Doc {
            dry_run: bool,
            runs: Vec<Decision>,
        }
        super::write_json(
            path,
            "gc",
            &Doc {
                dry_run: args.dry_run,
                runs: decisions,
            },
        )?;
    }
    Ok(if failed {
        exit_code::INFRASTRUCTURE
    } else {
        exit_code::PASSED
    })
}
