//! `acura-ha bench`: benchmarks that print ratios from one run (never timed tests).
//!
//! - `bench checks`: runs `scenarios/bench-checks.yaml` (install, then its `bench-checks`
//!   steps: healthy and with node-2 powered off) and prints, for each, the parallel check set's
//!   time, the guide's sequential shell checks' time and their ratio.
//! - `bench boot`: boots the QEMU topology under TCG, and KVM where it works, and prints the
//!   boot times per VM and for the whole topology.
//! - `bench scale`: the same scenario's install and healthy `bench-checks` on 3, 5 and 7 nodes:
//!   provisioning, install and the parallel check set, each with its ratio to 3 nodes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use acura_ha::checks::bench::BenchReport;
use acura_ha::provider::qemu::{self, QemuConfig};
use acura_ha::runner::run::{self, RunOptions};
use acura_ha::topology::TopologySpec;
use acura_ha::{scenario, Error, Result};

use super::run::ProviderArg;

/// What a benchmark that runs a scenario runs, and where.
#[derive(clap::Args)]
pub struct BenchRun {
    /// The scenario with the `bench-checks` steps to time (`scale`: its steps up to the first).
    #[arg(long, default_value = "scenarios/bench-checks.yaml")]
    scenario: PathBuf,
    #[arg(long, value_enum)]
    provider: Option<ProviderArg>,
    #[arg(long, default_value = "artifacts")]
    artifacts: PathBuf,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// The parallel check set against the guide's sequential shell checks, healthy and with a
    /// node powered off.
    Checks(BenchRun),
    /// Provisioning, install and the check set on several node counts, with the ratios to the
    /// first.
    Scale {
        /// The node counts, odd, from 3 to 7.
        #[arg(long, value_delimiter = ',', default_value = "3,5,7")]
        nodes: Vec<usize>,
        #[command(flatten)]
        run: BenchRun,
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
        Command::Checks(run) => checks(run, verbosity).await,
        Command::Scale { nodes, run } => scale(&nodes, run, verbosity).await,
        Command::Boot { nodes, artifacts } => boot(nodes, artifacts).await,
    }
}

/// The scenario, refused when it has no `bench-checks` step to time.
fn load_bench(scenario_file: &Path) -> Result<scenario::LoadedScenario> {
    let loaded = scenario::load(scenario_file)?;
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
    Ok(loaded)
}

fn options(
    provider: Option<ProviderArg>,
    artifacts: PathBuf,
    verbosity: super::Verbosity,
) -> RunOptions {
    let root = super::repo_root();
    RunOptions {
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
    }
}

async fn checks(bench: BenchRun, verbosity: super::Verbosity) -> Result<i32> {
    let loaded = load_bench(&bench.scenario)?;
    let summary = run::run(loaded, options(bench.provider, bench.artifacts, verbosity)).await;
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

async fn scale(counts: &[usize], bench: BenchRun, verbosity: super::Verbosity) -> Result<i32> {
    if let Some(&bad) = counts.iter().find(|&&n| {
        !(scenario::MIN_NODES..=scenario::MAX_NODES).contains(&n) || n.is_multiple_of(2)
    }) {
        return Err(Error::Invalid {
            rendered: format!(
                "error: --nodes: {bad} is not an odd node count from {} to {}",
                scenario::MIN_NODES,
                scenario::MAX_NODES
            ),
        });
    }
    let mut rows = Vec::new();
    let mut exit = 0;
    for &nodes in counts {
        let mut loaded = load_bench(&bench.scenario)?;
        let first = loaded
            .scenario
            .steps
            .iter()
            .position(|s| matches!(s, scenario::Step::BenchChecks))
            .expect("load_bench found one");
        loaded.scenario.steps.truncate(first + 1);
        loaded.scenario.topology.nodes = nodes;
        eprintln!("bench scale: {nodes} nodes");
        let options = options(bench.provider, bench.artifacts.clone(), verbosity);
        let summary = run::run(loaded, options).await;
        let row = ScaleRow::read(nodes, &summary.artifacts);
        if summary.exit_code != 0 || row.is_none() {
            outln!(
                "{nodes} nodes: the run failed (exit {}); see {}",
                summary.exit_code,
                summary.artifacts.display()
            );
            exit = 1;
        }
        rows.extend(row);
    }
    outln!();
    outln!("{}", ScaleRow::table(&rows));
    Ok(exit)
}

/// One node count's times, from its run record and its bench report.
struct ScaleRow {
    nodes: usize,
    provision: f64,
    install: f64,
    checks: f64,
    sequential: f64,
}

impl ScaleRow {
    fn read(nodes: usize, artifacts: &Path) -> Option<ScaleRow> {
        let record = acura_ha::run_record::read(&artifacts.join("run.json")).ok()?;
        let report = read_reports(&artifacts.join("bench")).into_iter().next()?;
        let install_end = record
            .steps
            .iter()
            .position(|s| s.name == "install-acura")?;
        let secs = |ms: u64| ms as f64 / 1000.0;
        Some(ScaleRow {
            nodes,
            provision: secs(record.steps.first()?.started_ms),
            install: secs(
                record.steps[..=install_end]
                    .iter()
                    .map(|s| s.duration_ms)
                    .sum(),
            ),
            checks: report.parallel.as_secs_f64(),
            sequential: report.sequential.as_secs_f64(),
        })
    }

    /// Each count's times and their ratio to the first count's.
    fn table(rows: &[ScaleRow]) -> String {
        let mut out = format!(
            "{:<6} {:>16} {:>16} {:>16} {:>16}\n",
            "nodes", "provision", "install", "check set", "guide, sequential"
        );
        let Some(base) = rows.first() else {
            return out + "no run finished";
        };
        let cell = |v: f64, b: f64| format!("{v:>6.1} s {:>5.2}×", v / b.max(1e-3));
        for r in rows {
            out += &format!(
                "{:<6} {:>16} {:>16} {:>16} {:>16}\n",
                r.nodes,
                cell(r.provision, base.provision),
                cell(r.install, base.install),
                cell(r.checks, base.checks),
                cell(r.sequential, base.sequential),
            );
        }
        out + &format!("(ratios to {} nodes)", base.nodes)
    }
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
