//! `acura-ha bench`: benchmarks that print ratios from one run (never timed tests).
//!
//! - `bench checks`: runs `scenarios/bench-checks.yaml` (install, then its `bench-checks`
//!   steps: healthy and with node-2 powered off) and prints, for each, the parallel check set's
//!   time, the guide's sequential shell checks' time and their ratio.
//! - `bench boot`: boots the QEMU topology under TCG, and KVM where it works, and prints the
//!   boot times per VM and for the whole topology.

use std::path::PathBuf;
use std::sync::Arc;

use acura_ha::checks::bench::BenchReport;
use acura_ha::provider::qemu::{self, QemuConfig};
use acura_ha::runner::run::{self, RunOptions};
use acura_ha::topology::TopologySpec;
use acura_ha::{scenario, Error, Result};

use super::run::ProviderArg;

#[derive(clap::Subcommand)]
pub enum Command {
    /// The parallel check set against the guide's sequential shell checks, healthy and with a
    /// node powered off.
    Checks {
        /// The scenario whose `bench-checks` steps are timed.
        #[arg(long, default_value = "scenarios/bench-checks.yaml")]
        scenario: PathBuf,
        #[arg(long, value_enum)]
        provider: Option<ProviderArg>,
        #[arg(long, default_value = "artifacts")]
        artifacts: PathBuf,
    },
    /// QEMU boot times per VM and for the topology, TCG and (where it works) KVM.
    Boot {
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        #[arg(long, default_value = "artifacts")]
        artifacts: PathBuf,
    },
}

pub async fn run(cmd: Command, verbosity: super::Verbosity) -> Result<i32> {
    match cmd {
        Command::Checks {
            scenario,
            provider,
            artifacts,
        } => checks(scenario, provider, artifacts, verbosity).await,
        Command::Boot { nodes, artifacts } => boot(nodes, artifacts).await,
    }
}

async fn checks(
    scenario_file: PathBuf,
    provider: Option<ProviderArg>,
    artifacts: PathBuf,
    verbosity: super::Verbosity,
) -> Result<i32> {
    let loaded = scenario::load(&scenario_file)?;
    if !loaded
        .scenario
        .steps
        .iter()
        .any(|s| matches!(s, scenario::Step::BenchChecks))
    {
        return Err(Error::Invalid {
            rendered: format!(
                "{}: the scenario has no `bench-checks` step to time",
                scenario_file.display()
            ),
        });
    }
    let root = super::repo_root();
    let options = RunOptions {
        provider: provider.map(Into::into),
        keep: false,
        update_golden: false,
        artifacts_root: artifacts,
        outputs: acura_ha::runner::reporting::Outputs {
            verbose: verbosity.verbose,
            quiet: verbosity.quiet,
            ..Default::default()
        },
        vms_dir: root.join("vms"),
        golden_dir: root.join("fixtures/golden"),
    };
    let summary = run::run(loaded, options).await;
    let reports = read_reports(&summary.artifacts.join("bench"));
    outln!();
    if reports.is_empty() {
        outln!("no benchmark finished; see {}", summary.artifacts.display());
    }
    for r in &reports {
        outln!("{r}\n");
    }
    if !reports.is_empty() {
        outln!(
            "{:<22} {:>10} {:>12} {:>8}",
            "",
            "parallel",
            "sequential",
            "ratio"
        );
        for r in &reports {
            outln!(
                "{:<22} {:>8.1} s {:>10.1} s {:>7.1}×",
                r.label,
                r.parallel.as_secs_f64(),
                r.sequential.as_secs_f64(),
                r.ratio()
            );
        }
    }
    eprintln!("artifacts: {}", summary.artifacts.display());
    Ok(summary.exit_code)
}

/// The reports the run's `bench-checks` steps kept, in the order they were written.
fn read_reports(dir: &std::path::Path) -> Vec<BenchReport> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, p)| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
        .collect()
}

async fn boot(nodes: usize, artifacts: PathBuf) -> Result<i32> {
    let root = super::repo_root();
    let dir = artifacts.join(format!("bench-boot-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::infra(format!("{}: {e}", dir.display())))?;
    let mut config = QemuConfig::from_env(root.join("vms"), dir.clone())?;
    config.progress = Arc::new(|line| eprintln!("{line}"));
    let report = qemu::bench_boot(&config, &TopologySpec::standard(nodes)).await?;
    outln!("{report}");
    eprintln!("serial consoles: {}", dir.display());
    Ok(0)
}
