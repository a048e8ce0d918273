//! Boot times of a topology: each accelerator that works here (TCG always, KVM when the
//! probe accepts it) boots the whole topology once, timing every VM from its start to sshd
//! accepting the run key and to cloud-init done, and the topology from the first start to the
//! last VM ready. The image is built (or found) before any clock starts.

use std::fmt;
use std::time::{Duration, Instant};

use super::accel::{self, Accel, AccelChoice, AccelRequest};
use super::{image, BootTime, QemuConfig, QemuProvider};
use crate::error::Result;
use crate::provider::Provider;
use crate::remote::RunKey;
use crate::topology::TopologySpec;

#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchRun {
    pub accel: AccelChoice,
    pub vms: Vec<BootTime>,
    #[serde(with = "crate::remote::millis")]
    pub topology: Duration,
    pub error: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct BootReport {
    pub image: String,
    pub runs: Vec<BenchRun>,
    /// Why an accelerator was not measured.
    pub skipped: Vec<(Accel, String)>,
}

impl fmt::Display for BootReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "boot times, image {}", self.image)?;
        for run in &self.runs {
            writeln!(f, "\n{} ({})", run.accel.accel, run.accel.reason)?;
            writeln!(f, "  {:<10} {:>9} {:>9}", "host", "ssh", "ready")?;
            for vm in &run.vms {
                writeln!(
                    f,
                    "  {:<10} {:>8.1}s {:>8.1}s",
                    vm.host.as_str(),
                    vm.ssh.as_secs_f64(),
                    vm.ready.as_secs_f64()
                )?;
            }
            writeln!(
                f,
                "  {:<10} {:>9} {:>8.1}s",
                "topology",
                "",
                run.topology.as_secs_f64()
            )?;
            if let Some(e) = &run.error {
                writeln!(f, "  failed: {e}")?;
            }
        }
        for (accel, why) in &self.skipped {
            writeln!(f, "\n{accel}: not measured: {why}")?;
        }
        Ok(())
    }
}

/// Boot `spec` under each working accelerator, one topology at a time, and tear it down.
pub async fn bench_boot(config: &QemuConfig, spec: &TopologySpec) -> Result<BootReport> {
    let progress = config.progress.clone();
    let base = image::ensure(&config.vms_dir, &config.image, &move |l: &str| progress(l)).await?;
    let mut report = BootReport {
        image: base.name.clone(),
        runs: Vec::new(),
        skipped: Vec::new(),
    };
    let scratch = std::env::temp_dir();
    let kernel = match &base.boot {
        image::Boot::Direct { kernel, .. } => Some(kernel.as_path()),
        image::Boot::Firmware => None,
    };
    let kvm = accel::choose(AccelRequest::Auto, &config.qemu, &scratch, kernel).await;
    let mut accels = vec![AccelRequest::Tcg];
    if kvm.accel == Accel::Kvm {
        accels.push(AccelRequest::Kvm);
    } else {
        report.skipped.push((Accel::Kvm, kvm.reason.clone()));
    }
    for request in accels {
        let run_id = format!(
            "bench-{}-{:08x}",
            if request == AccelRequest::Kvm {
                "kvm"
            } else {
                "tcg"
            },
            rand::random::<u32>()
        );
        let mut run_config = config.clone();
        run_config.accel = request;
        run_config.artifacts_dir = config.artifacts_dir.join(&run_id);
        let provider = QemuProvider::new(&run_id, run_config);
        let key = RunKey::generate("acura-ha-bench")?;
        let started = Instant::now();
        let result = provider.provision(spec, &key).await;
        let topology = started.elapsed();
        let record = provider.record();
        let released = provider.teardown().await;
        for r in released.iter().filter(|r| r.error.is_some()) {
            (config.progress)(&format!(
                "bench: teardown of {} {}: {:?}",
                r.kind, r.name, r.error
            ));
        }
        let accel = record
            .as_ref()
            .map(|r| r.accel.clone())
            .unwrap_or_else(|| accel::decide(request, Ok(()), None));
        let mut vms = record.map(|r| r.boots).unwrap_or_default();
        vms.sort_by_key(|b| spec.hosts.iter().position(|h| h.name == b.host));
        report.runs.push(BenchRun {
            accel,
            vms,
            topology,
            error: result.err().map(|e| e.to_string()),
        });
    }
    Ok(report)
}
