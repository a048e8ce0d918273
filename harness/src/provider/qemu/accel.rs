//! KVM or TCG. `/dev/kvm` existing proves little (nested virtualisation, a module without
//! hardware support, a device the user may not open), and even a KVM that runs the firmware
//! may hang the moment a 64-bit kernel switches to long mode. So the probe boots the base
//! image's own kernel under KVM (no disk, console on a file) and accepts KVM only if the
//! firmware said it runs on KVM and the kernel printed its banner. Anything else is TCG, with
//! the reason kept for the run record.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    /// How many times slower than a real machine the guest runs, for the stand-in's timings
    /// (its `/etc/acura/pace`). Under TCG every instruction is translated, and on a small
    /// host six VMs share a few cores: heartbeats and etcd requests that take milliseconds
    /// on a real machine take seconds, and the cluster's liveness timings must stretch with
    /// them or nodes flap NotReady under the first burst of work.
    pub fn pace(self) -> u32 {
        match self {
            Accel::Kvm => 1,
            Accel::Tcg => 5,
        }
    }

    /// QEMU's `-accel` argument and the CPU model that goes with it.
    pub fn qemu_args(self) -> [&'static str; 4] {
        match self {
            Accel::Kvm => ["-accel", "kvm", "-cpu", "host"],
            // One translation thread per vCPU; `max` gives the guest every feature TCG emulates.
            Accel::Tcg => ["-accel", "tcg,thread=multi", "-cpu", "max"],
        }
    }
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the user asked for (`ACURA_HA_QEMU_ACCEL`, or the provider's config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccelRequest {
    #[default]
    Auto,
    Kvm,
    Tcg,
}

impl std::str::FromStr for AccelRequest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" | "" => Ok(AccelRequest::Auto),
            "kvm" => Ok(AccelRequest::Kvm),
            "tcg" => Ok(AccelRequest::Tcg),
            other => Err(format!(
                "unknown accelerator `{other}` (expected auto, kvm or tcg)"
            )),
        }
    }
}

/// The accelerator the run uses and why: goes into the run record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccelChoice {
    pub accel: Accel,
    pub reason: String,
}

/// What the probe VM did.
#[derive(Clone, Debug, Default)]
pub struct ProbeRun {
    /// The firmware's debug console output.
    pub firmware: String,
    /// The serial console: the kernel's output when the probe booted one.
    pub console: String,
    /// Whether the probe booted a kernel (otherwise the firmware alone).
    pub kernel: bool,
    pub stderr: String,
    /// Some when QEMU ended by itself within the probe's time.
    pub exit_code: Option<Option<i32>>,
    pub elapsed: Duration,
}

/// SeaBIOS prints these on its debug port: the first only when it finds itself under KVM,
/// the second at the end of POST, when it has run long enough to prove the vCPU works.
const ON_KVM: &str = "Running on KVM";
const POST_DONE: [&str; 2] = ["No bootable device", "Booting from"];
/// The kernel prints its banner once it runs in long mode.
const KERNEL_BANNER: &str = "Linux version";

/// The decision, from what could be learned. Pure, so every path is tested.
pub fn decide(
    request: AccelRequest,
    device: Result<(), String>,
    probe: Option<&ProbeRun>,
) -> AccelChoice {
    let tcg = |reason: String| AccelChoice {
        accel: Accel::Tcg,
        reason,
    };
    match request {
        AccelRequest::Tcg => return tcg("TCG requested".into()),
        AccelRequest::Kvm => {
            return AccelChoice {
                accel: Accel::Kvm,
                reason: "KVM requested (not probed)".into(),
            }
        }
        AccelRequest::Auto => {}
    }
    if let Err(e) = device {
        return tcg(format!("/dev/kvm unusable: {e}"));
    }
    let Some(probe) = probe else {
        return tcg("the KVM probe could not start".into());
    };
    let ran = probe.firmware.contains(ON_KVM);
    let finished = if probe.kernel {
        probe.console.contains(KERNEL_BANNER)
    } else {
        POST_DONE.iter().any(|m| probe.firmware.contains(m))
    };
    let what = if probe.kernel {
        "booted the kernel"
    } else {
        "ran its firmware"
    };
    if ran && finished {
        return AccelChoice {
            accel: Accel::Kvm,
            reason: format!("KVM probe VM {what} in {} ms", probe.elapsed.as_millis()),
        };
    }
    let stderr = probe
        .stderr
        .lines()
        .rfind(|l| !l.contains("warning:"))
        .unwrap_or("")
        .trim();
    let why = match (probe.exit_code, ran) {
        (Some(code), _) => format!(
            "the KVM probe VM exited ({}){}",
            code.map(|c| format!("status {c}"))
                .unwrap_or_else(|| "killed".into()),
            if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            }
        ),
        (None, true) if probe.kernel => format!(
            "the KVM probe VM ran its firmware but its kernel printed nothing in {} s",
            probe.elapsed.as_secs()
        ),
        (None, true) => "the KVM probe VM started but its firmware did not finish".into(),
        (None, false) => "the KVM probe VM ran no guest code".into(),
    };
    tcg(why)
}

fn open_device() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Start the probe VM under KVM for at most `limit`: the firmware, then `kernel` (without a
/// root file system: the banner is all the probe waits for) when given.
pub async fn probe_kvm(
    qemu: &Path,
    scratch: &Path,
    kernel: Option<&Path>,
    limit: Duration,
) -> Option<ProbeRun> {
    let debug = scratch.join("kvm-probe.firmware.log");
    let console = scratch.join("kvm-probe.console.log");
    for f in [&debug, &console] {
        let _ = std::fs::remove_file(f);
    }
    let started = Instant::now();
    let mut command = tokio::process::Command::new(qemu);
    command
        .args([
            "-accel",
            "kvm",
            "-cpu",
            "host",
            "-machine",
            "pc",
            "-m",
            "128",
            "-nodefaults",
            "-display",
            "none",
        ])
        .arg("-chardev")
        .arg(format!("file,id=firmware,path={}", debug.display()))
        .args([
            "-device",
            "isa-debugcon,iobase=0x402,chardev=firmware",
            "-no-reboot",
        ])
        .arg("-serial")
        .arg(format!("file:{}", console.display()));
    if let Some(kernel) = kernel {
        command
            .arg("-kernel")
            .arg(kernel)
            .args(["-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1"]);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let mut stderr = child.stderr.take()?;
    let read_stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let done = |firmware: &str, console: &str| match kernel {
        Some(_) => console.contains(KERNEL_BANNER),
        None => POST_DONE.iter().any(|m| firmware.contains(m)),
    };
    let mut exit_code = None;
    while started.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            exit_code = Some(status.code());
            break;
        }
        let firmware = std::fs::read_to_string(&debug).unwrap_or_default();
        let output = std::fs::read_to_string(&console).unwrap_or_default();
        if done(&firmware, &output) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    if exit_code.is_none() {
        let _ = child.kill().await;
    }
    let stderr = read_stderr.await.unwrap_or_default();
    let firmware = std::fs::read_to_string(&debug).unwrap_or_default();
    let output = std::fs::read_to_string(&console).unwrap_or_default();
    for f in [&debug, &console] {
        let _ = std::fs::remove_file(f);
    }
    Some(ProbeRun {
        firmware,
        console: output,
        kernel: kernel.is_some(),
        stderr,
        exit_code,
        elapsed,
    })
}

/// Probe (unless the request settles it) and decide.
pub async fn choose(
    request: AccelRequest,
    qemu: &Path,
    scratch: &Path,
    kernel: Option<&Path>,
) -> AccelChoice {
    if request != AccelRequest::Auto {
        return decide(request, Ok(()), None);
    }
    let device = open_device();
    let probe = if device.is_ok() {
        probe_kvm(qemu, scratch, kernel, Duration::from_secs(20)).await
    } else {
        None
    };
    decide(request, device, probe.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(firmware: &str, stderr: &str, exit_code: Option<Option<i32>>) -> ProbeRun {
        ProbeRun {
            firmware: firmware.into(),
            console: String::new(),
            kernel: false,
            stderr: stderr.into(),
            exit_code,
            elapsed: Duration::from_millis(420),
        }
    }

    const SEABIOS_KVM: &str =
        "SeaBIOS (version 1.16.2)\nRunning on QEMU (i440fx)\nRunning on KVM\n\
                               Boot failed: could not read the boot disk\nNo bootable device.\n";

    #[test]
    fn kvm_only_when_the_firmware_ran_under_it() {
        let choice = decide(
            AccelRequest::Auto,
            Ok(()),
            Some(&run(SEABIOS_KVM, "", None)),
        );
        assert_eq!(choice.accel, Accel::Kvm);
        assert!(choice.reason.contains("420 ms"), "{}", choice.reason);
    }

    /// What this project's CI machine does: the firmware runs under KVM, the kernel hangs
    /// as soon as it leaves real mode.
    #[test]
    fn a_kvm_that_runs_the_firmware_but_not_the_kernel_is_refused() {
        let mut hung = run(SEABIOS_KVM, "", None);
        hung.kernel = true;
        hung.console = "Probing EDD (edd=off to disable)... ok\n".into();
        hung.elapsed = Duration::from_secs(20);
        let choice = decide(AccelRequest::Auto, Ok(()), Some(&hung));
        assert_eq!(choice.accel, Accel::Tcg);
        assert_eq!(
            choice.reason,
            "the KVM probe VM ran its firmware but its kernel printed nothing in 20 s"
        );

        let mut booted = hung.clone();
        booted
            .console
            .push_str("[    0.000000] Linux version 6.1.0-57-cloud-amd64\n");
        booted.elapsed = Duration::from_millis(900);
        let choice = decide(AccelRequest::Auto, Ok(()), Some(&booted));
        assert_eq!(choice.accel, Accel::Kvm);
        assert_eq!(choice.reason, "KVM probe VM booted the kernel in 900 ms");
    }

    #[test]
    fn firmware_under_tcg_is_not_kvm() {
        let tcg_boot = "SeaBIOS (version 1.16.2)\nRunning on QEMU (i440fx)\nNo bootable device.\n";
        let choice = decide(AccelRequest::Auto, Ok(()), Some(&run(tcg_boot, "", None)));
        assert_eq!(choice.accel, Accel::Tcg);
        assert_eq!(choice.reason, "the KVM probe VM ran no guest code");
    }

    #[test]
    fn a_probe_that_dies_reports_qemus_error() {
        let stderr = "qemu-system-x86_64: warning: host doesn't support requested feature\n\
                      qemu-system-x86_64: failed to initialize kvm: Permission denied\n";
        let choice = decide(
            AccelRequest::Auto,
            Ok(()),
            Some(&run("", stderr, Some(Some(1)))),
        );
        assert_eq!(choice.accel, Accel::Tcg);
        assert_eq!(
            choice.reason,
            "the KVM probe VM exited (status 1): qemu-system-x86_64: failed to initialize kvm: Permission denied"
        );
    }

    #[test]
    fn a_hung_probe_and_a_missing_device_fall_back() {
        let hung = decide(
            AccelRequest::Auto,
            Ok(()),
            Some(&run("Running on KVM\n", "", None)),
        );
        assert_eq!(hung.accel, Accel::Tcg);
        assert!(hung.reason.contains("did not finish"));
        let missing = decide(
            AccelRequest::Auto,
            Err("No such file or directory (os error 2)".into()),
            None,
        );
        assert_eq!(missing.accel, Accel::Tcg);
        assert!(missing
            .reason
            .starts_with("/dev/kvm unusable: No such file"));
    }

    #[test]
    fn an_explicit_request_wins() {
        assert_eq!(
            decide(AccelRequest::Tcg, Ok(()), Some(&run(SEABIOS_KVM, "", None))).accel,
            Accel::Tcg
        );
        assert_eq!(
            decide(AccelRequest::Kvm, Err("x".into()), None).accel,
            Accel::Kvm
        );
        assert_eq!("tcg".parse::<AccelRequest>(), Ok(AccelRequest::Tcg));
        assert!("xen".parse::<AccelRequest>().is_err());
    }
}
