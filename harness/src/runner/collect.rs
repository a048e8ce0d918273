//! `acura-ha collect`: a site's (or a kept run's) state and what the checks make of it, in one
//! bundle. The
//! checks run first (their observations and diagnosis go into the bundle), then the hosts are
//! read for the rest. It exits 0 once the bundle is written, whatever the site's state:
//! collecting from a broken site is what it is for; the manifest says what could not be had.

use std::path::PathBuf;

use crate::bundle::collect::{self, Options};
use crate::error::{Error, Result};
use crate::events::{EventKind, Outcome};
use crate::exit_code;
use crate::remote::RunKey;
use crate::runner::reporting::{Outputs, Reporting};
use crate::runner::site::{self, Site};
use crate::runner::{check, kept, providers};
use crate::scenario;

/// Where to collect from.
pub enum Target {
    /// A site acura-ha did not build.
    Site(Site),
    /// A topology a run kept (`run --keep`).
    Kept(String),
}

pub struct Collect {
    pub target: Target,
    /// Where the bundle (and, masked, its map) is written.
    pub output_dir: PathBuf,
    pub since: String,
    pub mask_addresses: bool,
    pub artifacts_root: PathBuf,
    pub outputs: Outputs,
}

pub async fn collect(options: Collect) -> Result<i32> {
    let time = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let id = format!("collect-{time}");
    let artifacts_dir = options.artifacts_root.join(&id);
    let reporting = Reporting::start(&artifacts_dir, &options.outputs);
    let events = reporting.events().clone();
    let result: Result<i32> = async {
        let (ctx, checked, target, lb) = match &options.target {
            Target::Site(s) => {
                let ctx = site::connect(s, &id, &artifacts_dir, &events).await?;
                let checked = site::checkpoint(&ctx).await?;
                let target = format!(
                    "site of {} ({} nodes, LB {})",
                    s.inventory.display(),
                    ctx.topology().nodes().count(),
                    s.lb
                );
                (ctx, checked, target, s.lb.to_string())
            }
            Target::Kept(run) => {
                let kept = kept::load(run)?;
                let loaded = scenario::load(&kept.scenario_path)?;
                let provider = providers::kept(&kept.run_id, &kept.provider, kept.pace)?;
                let key = RunKey::from_openssh(&kept.private_key)?;
                let ctx = check::kept_context(
                    &kept,
                    &loaded,
                    provider,
                    key,
                    &events,
                    &artifacts_dir,
                    &[],
                )?;
                let expectations = check::kept_expectations(&kept, &events);
                check::verify_host_keys(&ctx, &kept, &expectations).await?;
                let checked = check::checkpoint(&ctx, &expectations).await;
                if let Some(refusal) = ctx.host_key_refusals().into_iter().next() {
                    return Err(check::refused(&kept, refusal));
                }
                let lb = ctx
                    .topology()
                    .lb()
                    .map(|h| h.address.to_string())
                    .unwrap_or_else(|| "no-lb".into());
                (ctx, checked, format!("kept run {}", kept.run_id), lb)
            }
        };
        events.progress("collecting what the hosts hold".to_owned());
        let (bundle, mask) = collect::collect(
            &ctx,
            &collect::Checked {
                report: &checked.report,
                diagnosis: &checked.diagnosis,
                expectations: &checked.expectations,
            },
            &Options {
                since: options.since.clone(),
                mask_addresses: options.mask_addresses,
                target,
            },
        )
        .await;
        let host = if options.mask_addresses {
            "site".to_owned()
        } else {
            lb
        };
        std::fs::create_dir_all(&options.output_dir)
            .map_err(|e| Error::io(&options.output_dir, e))?;
        let path = options
            .output_dir
            .join(format!("acura-ha-bundle-{host}-{time}.tar.gz"));
        bundle.write(&path)?;
        if !mask.is_empty() {
            // The map never goes into the bundle: it stays here, readable by its owner only.
            let map_path = path.with_extension("").with_extension("mask-map.json");
            let map = serde_json::to_string_pretty(&mask.map()).expect("a map serializes");
            std::fs::write(&map_path, map).map_err(|e| Error::io(&map_path, e))?;
            std::fs::set_permissions(
                &map_path,
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .map_err(|e| Error::io(&map_path, e))?;
            events.progress(format!(
                "the addresses' map (not in the bundle): {}",
                map_path.display()
            ));
        }
        let failed: Vec<String> = bundle
            .manifest
            .failed()
            .map(|e| {
                format!(
                    "{} from {}: {}",
                    e.path,
                    e.source,
                    e.error.as_deref().unwrap_or_default()
                )
            })
            .collect();
        events.progress(format!(
            "bundle written: {} ({} files, {} could not be collected{})",
            path.display(),
            bundle.manifest.entries.len(),
            failed.len(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(":\n  {}", failed.join("\n  "))
            }
        ));
        events.send(EventKind::RunFinished {
            outcome: Outcome::Passed,
            exit_code: exit_code::PASSED,
            message: Some(format!(
                "collected {}; {}",
                path.display(),
                checked
                    .diagnosis
                    .headline()
                    .unwrap_or_else(|| "the checks passed".into())
            )),
        });
        Ok(exit_code::PASSED)
    }
    .await;
    drop(events);
    reporting.end(&result).await;
    result
}
