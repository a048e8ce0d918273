//! `acura-ha reproduce BUNDLE`: a scenario that rebuilds the bundle's site here, written to
//! `scenarios/customer/<name>.yaml`, then run; it says whether the reproduction shows the same
//! causes ("reproduced 2 of 2 causes") and names those it cannot produce.

use std::path::{Path, PathBuf};

use acura_ha::bundle::reproduction;
use acura_ha::bundle::Bundle;
use acura_ha::runner::run::{self, RunOptions};
use acura_ha::scenario::{self, ProviderKind};
use acura_ha::{Error, Result};

use super::run::ProviderArg;

#[derive(clap::Args)]
pub struct Args {
    /// A bundle written by `acura-ha collect`.
    bundle: PathBuf,
    /// Where the reproduction runs.
    #[arg(long, value_enum, default_value = "docker")]
    provider: ProviderArg,
    /// The scenario's name (default: from the bundle's file name).
    #[arg(long)]
    name: Option<String>,
    /// Where the scenario is written.
    #[arg(long, default_value = "scenarios/customer")]
    scenarios: PathBuf,
    /// The product archive the reproduction installs (default: the stand-in's).
    #[arg(long)]
    archive: Option<PathBuf>,
    /// Write the scenario only; do not run it.
    #[arg(long)]
    write_only: bool,
    /// Where per-run artifact folders go.
    #[arg(long, default_value = "artifacts")]
    artifacts: PathBuf,
    #[command(flatten)]
    reports: super::ReportArgs,
}

pub async fn run(args: Args, verbosity: super::Verbosity) -> Result<i32> {
    let bundle = Bundle::read(&args.bundle)?;
    let evidence = bundle.evidence(&args.bundle)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| default_name(&args.bundle));
    let root = super::repo_root();
    let dir = if args.scenarios.is_relative() {
        root.join(&args.scenarios)
    } else {
        args.scenarios.clone()
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let archive = match &args.archive {
        Some(a) => std::path::absolute(a).map_err(|e| Error::io(a, e))?,
        None => root.join("fixtures/acura-sim/dist/hystax-ha-archive.tar.gz"),
    };
    let provider: ProviderKind = args.provider.into();
    let made = reproduction::scenario(
        &bundle,
        &evidence,
        &name,
        provider,
        &relative_to(&archive, &dir).display().to_string(),
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, &made.yaml).map_err(|e| Error::io(&path, e))?;
    eprintln!(
        "wrote {}: {} nodes; causes to reproduce: {}",
        path.display(),
        evidence.topology.nodes().count(),
        if made.causes.is_empty() {
            "none".to_owned()
        } else {
            made.causes.join(", ")
        }
    );
    for (rule, why) in &made.cannot {
        eprintln!("cannot produce {rule} here: {why}");
    }
    // What was written must be a valid scenario, read as any other.
    let loaded = scenario::load(&path)?;
    if args.write_only {
        return Ok(acura_ha::exit_code::PASSED);
    }
    let options = RunOptions {
        provider: Some(provider),
        keep: false,
        update_golden: false,
        artifacts_root: args.artifacts,
        outputs: args.reports.outputs(verbosity)?,
        vms_dir: root.join("vms"),
        golden_dir: root.join("fixtures/golden"),
    };
    let summary = run::run(loaded, options).await;
    let record = summary.artifacts.join("run.json");
    let verdict = std::fs::read_to_string(&record)
        .ok()
        .and_then(|t| serde_json::from_str::<acura_ha::run_record::RunRecord>(&t).ok())
        .and_then(|r| {
            r.records
                .get(acura_ha::steps::diagnose::RECORD)
                .and_then(|v| v.get("summary"))
                .and_then(|s| s.as_str().map(str::to_owned))
        });
    let cannot = if made.cannot.is_empty() {
        String::new()
    } else {
        format!(
            "; cannot be produced here: {}",
            made.cannot
                .iter()
                .map(|(r, _)| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match verdict {
        Some(v) => eprintln!("{v}{cannot}"),
        None => eprintln!("the reproduction did not reach its diagnosis{cannot}"),
    }
    eprintln!("artifacts: {}", summary.artifacts.display());
    Ok(summary.exit_code)
}

/// `acura-ha-bundle-10.0.0.10-20261207-101500.tar.gz` → `site-10-0-0-10-20261207-101500`.
fn default_name(bundle: &Path) -> String {
    let stem = bundle
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = stem
        .trim_end_matches(".tar.gz")
        .trim_start_matches("acura-ha-bundle-");
    let name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("site-{}", name.trim_matches('-'))
}

/// `path` as seen from `dir` (both absolute), `..` where needed.
fn relative_to(path: &Path, dir: &Path) -> PathBuf {
    let path: Vec<_> = path.components().collect();
    let dir: Vec<_> = dir.components().collect();
    let common = path.iter().zip(&dir).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..dir.len() {
        out.push("..");
    }
    for c in &path[common..] {
        out.push(c);
    }
    out
}
