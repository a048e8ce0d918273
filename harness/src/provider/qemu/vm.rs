//! One VM: its files (overlay, seed, QMP socket, pid file) in the run's folder, the QEMU
//! command line, start, power control and shutdown.
//!
//! QEMU daemonizes once the VM is set up, so a bad command line or a missing file fails the
//! start with QEMU's own message, and the VM does not depend on the harness process: a kept
//! run (`--keep`) goes on after the harness exits.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::accel::Accel;
use super::image::{BaseImage, Boot};
use super::qmp::{Qmp, QmpError};
use crate::error::{Error, Result};

/// The `-device` id of the NIC on the run's network: what `partition` takes down.
pub const RUN_NIC: &str = "nic-run";

/// Where a VM's files live, all under `<run dir>/<host>/`.
#[derive(Clone, Debug)]
pub struct VmPaths {
    pub dir: PathBuf,
    pub disk: PathBuf,
    pub seed: PathBuf,
    pub qmp: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
}

impl VmPaths {
    pub fn new(run_dir: &Path, host: &str) -> Self {
        let dir = run_dir.join(host);
        VmPaths {
            disk: dir.join("disk.qcow2"),
            seed: dir.join("seed.iso"),
            qmp: dir.join("qmp.sock"),
            pidfile: dir.join("qemu.pid"),
            log: dir.join("qemu.log"),
            dir,
        }
    }
}

/// How a NIC reaches its network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Tap {
        ifname: String,
    },
    /// A port of the run's hub.
    Hub {
        socket: PathBuf,
    },
    /// User-mode networking with the guest's SSH forwarded to `ssh_port` on loopback.
    /// `restrict` cuts the guest off from the host and the outside.
    User {
        ssh_port: u16,
        restrict: bool,
    },
}

#[derive(Clone, Debug)]
pub struct NicSpec {
    pub id: &'static str,
    pub mac: String,
    pub backend: Backend,
}

/// Everything the command line is made from.
pub struct VmSpec<'a> {
    pub name: &'a str,
    pub memory_mib: u32,
    pub cpus: u32,
    pub accel: Accel,
    pub base: &'a BaseImage,
    pub nics: &'a [NicSpec],
    pub console: &'a Path,
    pub paths: &'a VmPaths,
}

/// The kernel command line for direct boot. `net.ifnames=0` keeps NICs named in PCI order,
/// which is how the seed's network config names them.
pub const KERNEL_CMDLINE: &str = "root=/dev/vda rw console=ttyS0,115200n8 net.ifnames=0 panic=-1";

pub fn qemu_args(spec: &VmSpec<'_>) -> Vec<OsString> {
    let p = spec.paths;
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |a: &str| args.push(a.into());
    push("-name");
    push(&format!("guest={},debug-threads=on", spec.name));
    push("-machine");
    push("pc");
    for a in spec.accel.qemu_args() {
        push(a);
    }
    push("-smp");
    push(&spec.cpus.to_string());
    push("-m");
    push(&spec.memory_mib.to_string());
    push("-nodefaults");
    push("-no-user-config");
    push("-display");
    push("none");
    if let Boot::Direct { kernel, initrd } = &spec.base.boot {
        push("-kernel");
        push(&kernel.to_string_lossy());
        push("-initrd");
        push(&initrd.to_string_lossy());
        push("-append");
        push(KERNEL_CMDLINE);
    }
    // The guest's flushes stop at the host's page cache (`cache=unsafe`): etcd fsyncs every
    // write, and under TCG a real flush of the overlay each time makes etcd time out. QMP
    // `quit` still writes the cache out, so a power cut loses nothing the guest wrote; only a
    // crash of the host would, and the overlay does not outlive the run anyway.
    push("-drive");
    push(&format!(
        "file={},if=virtio,format=qcow2,discard=unmap,cache=unsafe",
        p.disk.display()
    ));
    push("-drive");
    push(&format!(
        "file={},if=virtio,format=raw,readonly=on",
        p.seed.display()
    ));
    // The guest makes its SSH host keys at first boot: without a source of entropy that
    // alone can take minutes under TCG.
    push("-device");
    push("virtio-rng-pci");
    for nic in spec.nics {
        let netdev = format!("net-{}", nic.id.trim_start_matches("nic-"));
        let backend = match &nic.backend {
            Backend::Tap { ifname } => {
                format!("tap,id={netdev},ifname={ifname},script=no,downscript=no")
            }
            Backend::Hub { socket } => format!(
                "stream,id={netdev},server=off,addr.type=unix,addr.path={}",
                socket.display()
            ),
            Backend::User { ssh_port, restrict } => format!(
                "user,id={netdev},restrict={},hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
                if *restrict { "on" } else { "off" }
            ),
        };
        push("-netdev");
        push(&backend);
        push("-device");
        push(&format!(
            "virtio-net-pci,netdev={netdev},id={},mac={}",
            nic.id, nic.mac
        ));
    }
    push("-chardev");
    push(&format!(
        "file,id=console,path={},append=on",
        spec.console.display()
    ));
    push("-serial");
    push("chardev:console");
    push("-qmp");
    push(&format!("unix:{},server=on,wait=off", p.qmp.display()));
    push("-pidfile");
    push(&p.pidfile.to_string_lossy());
    push("-daemonize");
    args
}

/// A copy-on-write overlay over the base image, `gib` large.
pub async fn create_overlay(
    qemu_img: &Path,
    base: &BaseImage,
    disk: &Path,
    gib: u32,
) -> Result<()> {
    let out = tokio::process::Command::new(qemu_img)
        .args(["create", "-q", "-f", "qcow2", "-F", base.format, "-b"])
        .arg(&base.disk)
        .arg(disk)
        .arg(format!("{gib}G"))
        .output()
        .await
        .map_err(|e| Error::infra(format!("cannot run {}: {e}", qemu_img.display())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::infra(format!(
            "qemu-img create {}: {}",
            disk.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Start QEMU under `nice` (the machine has few cores and the harness must stay responsive);
/// returns the VM's pid once QEMU has daemonized.
pub async fn start(qemu: &Path, args: &[OsString], paths: &VmPaths) -> Result<u32> {
    let _ = std::fs::remove_file(&paths.pidfile);
    let _ = std::fs::remove_file(&paths.qmp);
    let log = std::fs::File::create(&paths.log).map_err(|e| Error::io(&paths.log, e))?;
    let status = tokio::process::Command::new("nice")
        .args(["-n", "5"])
        .arg(qemu)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(|e| Error::io(&paths.log, e))?)
        .stderr(log)
        .status()
        .await
        .map_err(|e| Error::infra(format!("cannot start {}: {e}", qemu.display())))?;
    let output = std::fs::read_to_string(&paths.log).unwrap_or_default();
    if !status.success() {
        return Err(Error::infra(format!(
            "qemu did not start ({status}): {}",
            output.trim()
        )));
    }
    read_pid(&paths.pidfile).ok_or_else(|| {
        Error::infra(format!(
            "qemu started but wrote no pid to {}",
            paths.pidfile.display()
        ))
    })
}

pub fn read_pid(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live process whose command line mentions `marker` (the VM's folder):
/// a pid file left behind may name a pid that now belongs to something else.
pub fn is_ours(pid: u32, marker: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let marker = marker.to_string_lossy();
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !cmdline.contains(marker.as_ref()) {
        return false;
    }
    // A zombie has finished: it only waits for its parent.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    state != Some("Z")
}

pub fn kill(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// Every process whose command line mentions `marker`, for runs whose pid files are lost.
pub fn processes_mentioning(marker: &Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id() && is_ours(*pid, marker))
        .collect()
}

async fn wait_gone(pid: u32, marker: &Path, deadline: Duration) -> bool {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if !is_ours(pid, marker) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    !is_ours(pid, marker)
}

/// Run one QMP command on the VM.
pub async fn qmp(
    paths: &VmPaths,
    command: &str,
    arguments: Option<serde_json::Value>,
) -> Result<serde_json::Value> {
    let mut session = Qmp::connect(&paths.qmp).await.map_err(qmp_err)?;
    session
        .execute_within(command, arguments, Duration::from_secs(10))
        .await
        .map_err(qmp_err)
}

fn qmp_err(e: QmpError) -> Error {
    Error::infra(e.to_string())
}

/// A power cut: QEMU quits at once, the guest gets no chance to shut down.
pub async fn power_cut(paths: &VmPaths) -> Result<()> {
    let pid = read_pid(&paths.pidfile);
    let mut session = Qmp::connect(&paths.qmp).await.map_err(qmp_err)?;
    session.quit().await.map_err(qmp_err)?;
    if let Some(pid) = pid {
        if !wait_gone(pid, &paths.dir, Duration::from_secs(10)).await {
            kill(pid);
        }
    }
    Ok(())
}

/// ACPI power button, up to `grace` for the guest to shut down, then a power cut, then
/// SIGKILL. Returns how it ended, for the teardown report.
pub async fn shut_down(
    paths: &VmPaths,
    grace: Duration,
) -> std::result::Result<&'static str, String> {
    let Some(pid) = read_pid(&paths.pidfile).filter(|pid| is_ours(*pid, &paths.dir)) else {
        return Ok("not running");
    };
    if let Ok(mut session) = Qmp::connect(&paths.qmp).await {
        if session
            .execute_within("system_powerdown", None, Duration::from_secs(5))
            .await
            .is_ok()
            && wait_gone(pid, &paths.dir, grace).await
        {
            return Ok("shut down");
        }
    }
    if let Ok(mut session) = Qmp::connect(&paths.qmp).await {
        let _ = session.quit().await;
        if wait_gone(pid, &paths.dir, Duration::from_secs(5)).await {
            return Ok("powered off after the shutdown grace period");
        }
    }
    kill(pid);
    if wait_gone(pid, &paths.dir, Duration::from_secs(5)).await {
        Ok("killed")
    } else {
        Err(format!("qemu process {pid} survives SIGKILL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BaseImage {
        BaseImage {
            name: "debian-12-abc".into(),
            disk: "/cache/vm.qcow2".into(),
            format: "qcow2",
            boot: Boot::Direct {
                kernel: "/cache/vm.vmlinuz".into(),
                initrd: "/cache/vm.initrd.img".into(),
            },
            has_packages: true,
            disk_gib: 8,
        }
    }

    fn joined(args: &[OsString]) -> String {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_command_line_boots_the_kernel_with_seed_console_and_qmp() {
        let paths = VmPaths::new(Path::new("/runs/r1"), "node-1");
        let nics = [NicSpec {
            id: RUN_NIC,
            mac: "52:54:00:d6:09:0b".into(),
            backend: Backend::Tap {
                ifname: "ahq1234abcdt11".into(),
            },
        }];
        let image = base();
        let spec = VmSpec {
            name: "node-1",
            memory_mib: 1024,
            cpus: 1,
            accel: Accel::Tcg,
            base: &image,
            nics: &nics,
            console: Path::new("/artifacts/qemu/node-1.serial.log"),
            paths: &paths,
        };
        let line = joined(&qemu_args(&spec));
        assert!(line.contains("-accel tcg,thread=multi -cpu max"), "{line}");
        assert!(line.contains(
            "-kernel /cache/vm.vmlinuz -initrd /cache/vm.initrd.img -append root=/dev/vda rw"
        ));
        assert!(line.contains("file=/runs/r1/node-1/disk.qcow2,if=virtio,format=qcow2"));
        assert!(line.contains("file=/runs/r1/node-1/seed.iso,if=virtio,format=raw,readonly=on"));
        assert!(
            line.contains("-netdev tap,id=net-run,ifname=ahq1234abcdt11,script=no,downscript=no")
        );
        assert!(
            line.contains("-device virtio-net-pci,netdev=net-run,id=nic-run,mac=52:54:00:d6:09:0b")
        );
        assert!(line.contains("path=/artifacts/qemu/node-1.serial.log,append=on"));
        assert!(line.contains("-qmp unix:/runs/r1/node-1/qmp.sock,server=on,wait=off"));
        assert!(line.ends_with("-pidfile /runs/r1/node-1/qemu.pid -daemonize"));
    }

    #[test]
    fn user_mode_forwards_ssh_to_loopback_only_and_firmware_boot_has_no_kernel() {
        let paths = VmPaths::new(Path::new("/runs/r1"), "lb");
        let nics = [
            NicSpec {
                id: RUN_NIC,
                mac: "52:54:00:d6:09:0a".into(),
                backend: Backend::Hub {
                    socket: "/runs/r1/hub/port-10.sock".into(),
                },
            },
            NicSpec {
                id: "nic-ssh",
                mac: "52:54:01:d6:09:0a".into(),
                backend: Backend::User {
                    ssh_port: 40022,
                    restrict: true,
                },
            },
        ];
        let mut image = base();
        image.boot = Boot::Firmware;
        let spec = VmSpec {
            name: "lb",
            memory_mib: 512,
            cpus: 1,
            accel: Accel::Kvm,
            base: &image,
            nics: &nics,
            console: Path::new("/a/lb.serial.log"),
            paths: &paths,
        };
        let line = joined(&qemu_args(&spec));
        assert!(line.contains("-netdev stream,id=net-run,server=off,addr.type=unix,addr.path=/runs/r1/hub/port-10.sock"));
        assert!(
            line.contains("-netdev user,id=net-ssh,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22")
        );
        assert!(!line.contains("-kernel"));
        assert!(line.contains("-accel kvm -cpu host"));
    }

    #[test]
    fn a_pid_is_ours_only_with_the_marker_in_its_command_line() {
        let me = std::process::id();
        let exe = std::env::current_exe().unwrap();
        assert!(is_ours(me, exe.parent().unwrap()));
        assert!(!is_ours(me, Path::new("/no/such/run/dir")));
        assert!(!is_ours(u32::MAX - 1, Path::new("/")));
    }
}
