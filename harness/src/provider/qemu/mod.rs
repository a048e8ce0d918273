//! The QEMU provider: a host is a VM booted from a qcow2 overlay over a cached base image, given
//! its identity (run key, hostname, static addresses, resolver, role files) by a cloud-init
//! NoCloud seed written here. The VMs share an L2 network private to the run (see
//! [`network`]), with the same fixed addresses and DNS host as every provider.
//!
//! Faults go through QMP: `power_off` = `quit` (a power cut), `pause`/`resume` = `stop`/`cont`,
//! `partition`/`heal` = the run NIC's link down/up. Teardown presses the power button, waits,
//! then cuts power; nothing of a run — process, overlay, tap — outlives it, and `gc` finds
//! what a crashed run left by its folder and link aliases.
//!
//! KVM is used when a probe VM proves it works, TCG otherwise; the choice and its reason are in
//! [`QemuProvider::record`].

pub mod accel;
pub mod bench;
pub mod boot_progress;
pub mod cloud_config;
pub mod image;
pub mod network;
pub mod qmp;
pub mod run_dir;
pub mod seed;
pub mod vm;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::json;

use self::accel::{AccelChoice, AccelRequest};
use self::boot_progress::{BootLimits, BootProgress, ConsoleWatch, Milestone};
use self::cloud_config::{Identity, Nic};
use self::image::BaseImage;
use self::network::NetMode;
use self::run_dir::RunDirState;
use self::vm::{Backend, NicSpec, VmPaths, VmSpec, RUN_NIC};
use super::{Provider, Released};
use crate::error::{Error, Result};
use crate::events::{EventKind, EventSink};
use crate::images::ImageKind;
use crate::remote::{Remote, RunKey};
use crate::topology::{Host, HostName, HostSpec, Network, Role, Topology, TopologySpec, DNS_OCTET};

pub use self::bench::{bench_boot, BootReport};
pub use self::run_dir::{find_runs, teardown_run, FoundRun};

/// The zone and probe name, as every provider serves them.
pub const ZONE: &str = "acura.test";
pub const PROBE_NAME: &str = "probe.acura.test";

/// Receives progress lines (image builds, boots).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// How the provider runs its VMs. [`QemuConfig::from_env`] gives the defaults with the
/// `ACURA_HA_QEMU_*` overrides applied.
#[derive(Clone)]
pub struct QemuConfig {
    /// The repository's `vms/` folder.
    pub vms_dir: PathBuf,
    /// `debian-12` (built here) or a manifest under `vms/qemu/`.
    pub image: String,
    pub accel: AccelRequest,
    /// `None`: bridge when root, user-mode otherwise.
    pub net: Option<NetMode>,
    /// Where serial consoles and the provider's record go (inside the run's artifacts).
    pub artifacts_dir: PathBuf,
    pub qemu: PathBuf,
    pub qemu_img: PathBuf,
    /// From VM start to sshd accepting the run key and cloud-init done: as long as the VM's
    /// console shows progress, up to a ceiling (see [`boot_progress`]).
    pub boot_limits: BootLimits,
    /// How long teardown waits for a guest to shut down after the power button.
    pub shutdown_grace: Duration,
    pub progress: Progress,
    /// Where the provider's part of the run record goes ([`QemuRecord`] under `qemu`).
    pub events: Option<EventSink>,
}

impl QemuConfig {
    pub fn from_env(vms_dir: PathBuf, artifacts_dir: PathBuf) -> Result<QemuConfig> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let invalid = |rendered: String| Error::Invalid { rendered };
        let accel = match var("ACURA_HA_QEMU_ACCEL") {
            Some(v) => v
                .parse()
                .map_err(|e| invalid(format!("ACURA_HA_QEMU_ACCEL: {e}")))?,
            None => AccelRequest::Auto,
        };
        let net = match var("ACURA_HA_QEMU_NET") {
            Some(v) => Some(
                v.parse()
                    .map_err(|e| invalid(format!("ACURA_HA_QEMU_NET: {e}")))?,
            ),
            None => None,
        };
        let seconds = |name: &str, default: u64| match var(name) {
            Some(v) => v
                .parse()
                .map(Duration::from_secs)
                .map_err(|_| invalid(format!("{name}: `{v}` is not a number of seconds"))),
            None => Ok(Duration::from_secs(default)),
        };
        // Six VMs under TCG on two cores took 300-900 s to boot on machines of one kind; a
        // boot that shows progress is waited for, one silent for ten minutes is not.
        let boot_limits = BootLimits {
            stall: seconds("ACURA_HA_QEMU_BOOT_STALL", 600)?,
            ceiling: seconds("ACURA_HA_QEMU_BOOT_TIMEOUT", 3600)?,
        };
        Ok(QemuConfig {
            vms_dir,
            image: var("ACURA_HA_QEMU_IMAGE").unwrap_or_else(|| image::DEBIAN_12.into()),
            accel,
            net,
            artifacts_dir,
            qemu: find_tool("qemu-system-x86_64", "qemu-system-x86")?,
            qemu_img: find_tool("qemu-img", "qemu-utils")?,
            boot_limits,
            shutdown_grace: Duration::from_secs(60),
            progress: Arc::new(|line| tracing::info!("{line}")),
            events: None,
        })
    }

    /// Progress and the run record through the run's events.
    pub fn with_events(mut self, events: EventSink) -> QemuConfig {
        let sink = events.clone();
        self.progress = Arc::new(move |line| sink.progress(line.to_owned()));
        self.events = Some(events);
        self
    }

    /// Memory per role: what the stand-in and the procedure's tools need, no more (the
    /// machine runs six VMs at once).
    pub fn memory_mib(&self, role: Role) -> u32 {
        match role {
            Role::Node => 1024,
            Role::Deployer => 1024,
            Role::Lb => 512,
            Role::Dns => 384,
        }
    }
}

fn find_tool(name: &str, package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::MissingTool {
            tool: name.into(),
            hint: format!("install it with `apt-get install {package}`"),
        })
}

/// How long one host took to come up, and when it reached each milestone of its boot.
#[derive(Clone, Debug, Serialize)]
pub struct BootTime {
    pub host: HostName,
    #[serde(with = "crate::remote::millis")]
    pub ssh: Duration,
    #[serde(with = "crate::remote::millis")]
    pub ready: Duration,
    pub progress: BootProgress,
}

/// What the run record says about the provider.
#[derive(Clone, Debug, Serialize)]
pub struct QemuRecord {
    pub accel: AccelChoice,
    pub network: NetMode,
    pub image: String,
    pub boots: Vec<BootTime>,
}

struct Prepared {
    base: BaseImage,
    accel: AccelChoice,
    mode: NetMode,
    network: Network,
    run_dir: PathBuf,
}

#[derive(Default)]
struct State {
    prepared: Option<Arc<Prepared>>,
    specs: HashMap<HostName, HostSpec>,
    hosts: HashMap<HostName, Host>,
    boots: Vec<BootTime>,
}

pub struct QemuProvider {
    run_id: String,
    config: QemuConfig,
    state: Mutex<State>,
}

impl QemuProvider {
    pub fn new(run_id: &str, config: QemuConfig) -> Self {
        QemuProvider {
            run_id: run_id.to_owned(),
            config,
            state: Mutex::default(),
        }
    }

    /// The accelerator, network shape, image and boot times, once provisioned.
    pub fn record(&self) -> Option<QemuRecord> {
        let state = self.state.lock().unwrap();
        let prepared = state.prepared.as_ref()?;
        Some(QemuRecord {
            accel: prepared.accel.clone(),
            network: prepared.mode,
            image: prepared.base.name.clone(),
            boots: state.boots.clone(),
        })
    }

    fn progress(&self, line: &str) {
        (self.config.progress)(line)
    }

    fn prepared(&self) -> Result<Arc<Prepared>> {
        self.state
            .lock()
            .unwrap()
            .prepared
            .clone()
            .ok_or_else(|| Error::infra("qemu: the topology is not provisioned"))
    }

    fn paths(&self, prepared: &Prepared, host: &HostName) -> VmPaths {
        VmPaths::new(&prepared.run_dir, host.as_str())
    }

    fn console(&self, host: &HostName) -> PathBuf {
        self.config.artifacts_dir.join(format!("{host}.serial.log"))
    }

    /// Image, accelerator, network: everything before the first VM.
    async fn prepare(&self) -> Result<Arc<Prepared>> {
        let progress = self.config.progress.clone();
        let base = image::ensure(&self.config.vms_dir, &self.config.image, &move |l: &str| {
            progress(l)
        })
        .await?;
        let run_dir = run_dir::run_dir(&self.run_id)?;
        std::fs::create_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
        std::fs::create_dir_all(&self.config.artifacts_dir)
            .map_err(|e| Error::io(&self.config.artifacts_dir, e))?;
        // QMP and hub sockets live in the run's folder; a unix socket path is at most 107 bytes.
        let longest = run_dir.join("deployer").join("qmp.sock");
        if longest.as_os_str().len() > 100 {
            return Err(Error::infra(format!(
                "qemu: {} is too long for a unix socket; set XDG_CACHE_HOME to a shorter folder",
                longest.display()
            )));
        }

        let kernel = match &base.boot {
            image::Boot::Direct { kernel, .. } => Some(kernel.as_path()),
            image::Boot::Firmware => None,
        };
        let accel = accel::choose(self.config.accel, &self.config.qemu, &run_dir, kernel).await;
        self.progress(&format!(
            "qemu: accelerator {} ({})",
            accel.accel, accel.reason
        ));
        let mode = self.config.net.unwrap_or_else(NetMode::detect);
        let subnet = match mode {
            NetMode::Bridge => network::pick_subnet(&self.run_id, &network::routes()),
            NetMode::User => network::pick_subnet(&self.run_id, &[]),
        }
        .ok_or_else(|| {
            Error::infra("qemu: no free /24 under 10.214.0.0/16 for the run's network")
        })?;
        let [a, b, c, _] = subnet.octets();
        let network = Network {
            subnet,
            gateway: Ipv4Addr::new(a, b, c, 1),
            dns: Ipv4Addr::new(a, b, c, DNS_OCTET),
            zone: ZONE.into(),
            probe_name: PROBE_NAME.into(),
        };
        let bridge = (mode == NetMode::Bridge).then(|| network::bridge_name(&self.run_id));
        run_dir::write_state(
            &run_dir,
            &RunDirState {
                run_id: self.run_id.clone(),
                owner: super::docker::owner(),
                mode,
                subnet,
                bridge: bridge.clone(),
            },
        )?;
        let prepared = Arc::new(Prepared {
            base,
            accel,
            mode,
            network,
            run_dir,
        });
        // Teardown must find the run from here on, whatever fails next.
        self.state.lock().unwrap().prepared = Some(prepared.clone());
        if let Some(bridge) = bridge {
            network::create_bridge(&bridge, &self.run_id, prepared.network.gateway).await?;
        }
        Ok(prepared)
    }

    async fn start_hub(&self, prepared: &Prepared, octets: &[u8]) -> Result<()> {
        let dir = prepared.run_dir.join(run_dir::HUB);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let paths = VmPaths {
            dir: dir.clone(),
            disk: dir.join("none"),
            seed: dir.join("none"),
            qmp: dir.join("qmp.sock"),
            pidfile: dir.join("hub.pid"),
            log: dir.join("hub.log"),
        };
        let mut args: Vec<std::ffi::OsString> = network::hub_args(&dir, octets)
            .into_iter()
            .map(Into::into)
            .collect();
        for a in ["-pidfile", &paths.pidfile.to_string_lossy(), "-daemonize"] {
            args.push(a.into());
        }
        vm::start(&self.config.qemu, &args, &paths).await?;
        Ok(())
    }

    /// The NICs of a host: what QEMU attaches and what the guest configures.
    async fn nics(
        &self,
        prepared: &Prepared,
        spec: &HostSpec,
    ) -> Result<(Vec<NicSpec>, Vec<Nic>, SocketAddr)> {
        let network = &prepared.network;
        let address = network.address(spec.octet);
        let run_nic = Nic {
            name: "eth0".into(),
            mac: network::mac(network.subnet, spec.octet, 0),
            address,
            prefix: network::PREFIX_LEN,
            gateway: Some(network.gateway),
        };
        match prepared.mode {
            NetMode::Bridge => {
                let tap = network::tap_name(&self.run_id, spec.octet);
                let bridge = network::bridge_name(&self.run_id);
                if !Path::new("/sys/class/net").join(&tap).exists() {
                    network::create_tap(&tap, &self.run_id, &bridge).await?;
                }
                let qemu = vec![NicSpec {
                    id: RUN_NIC,
                    mac: run_nic.mac.clone(),
                    backend: Backend::Tap { ifname: tap },
                }];
                Ok((qemu, vec![run_nic], SocketAddr::new(address.into(), 22)))
            }
            NetMode::User => {
                let ssh = network::free_loopback_port()?;
                let mgmt = Nic {
                    name: "eth1".into(),
                    mac: network::mac(network.subnet, spec.octet, 1),
                    address: network::USER_NET_GUEST,
                    prefix: 24,
                    gateway: None,
                };
                let qemu = vec![
                    NicSpec {
                        id: RUN_NIC,
                        mac: run_nic.mac.clone(),
                        backend: Backend::Hub {
                            socket: network::hub_socket(
                                &prepared.run_dir.join(run_dir::HUB),
                                spec.octet,
                            ),
                        },
                    },
                    NicSpec {
                        id: "nic-ssh",
                        mac: mgmt.mac.clone(),
                        // An image that installs its packages at first boot needs the way out.
                        backend: Backend::User {
                            ssh_port: ssh.port(),
                            restrict: prepared.base.has_packages,
                        },
                    },
                ];
                Ok((qemu, vec![run_nic, mgmt], ssh))
            }
        }
    }

    /// Create one VM's files and start it; returns the host and when it started.
    async fn start_host(
        &self,
        prepared: &Prepared,
        spec: &HostSpec,
        all: &[HostSpec],
        key: &RunKey,
    ) -> Result<(Host, Instant)> {
        let paths = self.paths(prepared, &spec.name);
        if paths.dir.exists() {
            std::fs::remove_dir_all(&paths.dir).map_err(|e| Error::io(&paths.dir, e))?;
        }
        std::fs::create_dir_all(&paths.dir).map_err(|e| Error::io(&paths.dir, e))?;
        let (qemu_nics, guest_nics, ssh) = self.nics(prepared, spec).await?;
        let packages = if prepared.base.has_packages {
            Vec::new()
        } else {
            image::role_packages(&self.config.vms_dir, ImageKind::from(spec.role))?
        };
        let identity = Identity {
            // A fresh id for every VM made, so cloud-init runs as on a new machine.
            instance_id: format!("{}-{}-{}", self.run_id, spec.name, rand::random::<u32>()),
            spec,
            network: &prepared.network,
            hosts: all,
            authorized_key: &key.public_openssh,
            nics: guest_nics,
            packages,
            pace: prepared.accel.accel.pace(),
        };
        let meta_data = cloud_config::meta_data(&identity);
        let user_data = cloud_config::user_data(&identity);
        let network_config = cloud_config::network_config(&identity.nics);
        let iso = seed::iso9660(&[
            seed::SeedFile {
                name: "meta-data",
                contents: meta_data.as_bytes(),
            },
            seed::SeedFile {
                name: "user-data",
                contents: user_data.as_bytes(),
            },
            seed::SeedFile {
                name: "network-config",
                contents: network_config.as_bytes(),
            },
        ])
        .map_err(|e| Error::infra(format!("seed for {}: {e}", spec.name)))?;
        std::fs::write(&paths.seed, iso).map_err(|e| Error::io(&paths.seed, e))?;
        let gib = prepared.base.disk_gib;
        vm::create_overlay(&self.config.qemu_img, &prepared.base, &paths.disk, gib).await?;

        let console = self.console(&spec.name);
        let vm_spec = VmSpec {
            name: spec.name.as_str(),
            memory_mib: self.config.memory_mib(spec.role),
            cpus: 1,
            accel: prepared.accel.accel,
            base: &prepared.base,
            nics: &qemu_nics,
            console: &console,
            paths: &paths,
        };
        let started = Instant::now();
        vm::start(&self.config.qemu, &vm::qemu_args(&vm_spec), &paths)
            .await
            .map_err(|e| Error::infra(format!("{}: {e}", spec.name)))?;
        let host = Host {
            name: spec.name.clone(),
            role: spec.role,
            hostname: spec.hostname.clone(),
            address: prepared.network.address(spec.octet),
            ssh,
        };
        Ok((host, started))
    }

    /// Wait until the host's sshd accepts the run key and cloud-init has finished, for as long
    /// as its console shows progress. Each milestone is recorded in `progress` (and reported),
    /// so a failed boot of the topology can say where every VM stood.
    async fn wait_host(
        &self,
        remote: &Remote,
        host: &Host,
        started: Instant,
        progress: Arc<Mutex<BootProgress>>,
    ) -> Result<BootTime> {
        let limits = self.config.boot_limits;
        let console = self.console(&host.name);
        let mut watch = ConsoleWatch::new(&console, started, limits, progress.clone());
        let reach = |milestone| {
            progress.lock().unwrap().reach(milestone, started.elapsed());
        };
        let left = || limits.ceiling.saturating_sub(started.elapsed());
        let boot = async {
            remote.wait_ready(host, left()).await.map_err(|e| {
                let elapsed = started.elapsed();
                if elapsed >= limits.ceiling {
                    let ceiling = boot_progress::Stalled::Ceiling { after: elapsed };
                    format!("{ceiling} (the last ssh attempt: {e})")
                } else {
                    format!("no ssh: {e}")
                }
            })?;
            reach(Milestone::Ssh);
            let out = remote
                .exec(
                    host,
                    "cloud-init status --wait >/dev/null; cloud-init status --long",
                    left().max(Duration::from_secs(30)),
                )
                .await
                .map_err(|e| format!("cloud-init did not finish: {e}"))?;
            if !out.stdout.contains("status: done") {
                return Err(format!(
                    "cloud-init did not finish cleanly: {}",
                    out.stdout.trim()
                ));
            }
            reach(Milestone::Ready);
            Ok(())
        };
        let watching = async {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match watch.poll(Instant::now()) {
                    Ok(reached) => {
                        for m in reached {
                            self.progress(&format!(
                                "qemu: {} {} after {:.0} s",
                                host.name,
                                m.label(),
                                started.elapsed().as_secs_f64()
                            ));
                        }
                    }
                    Err(stalled) => return stalled.to_string(),
                }
            }
        };
        let outcome = tokio::select! {
            done = boot => done,
            stalled = watching => Err(stalled),
        };
        let snapshot = {
            let mut p = progress.lock().unwrap();
            if let Err(reason) = &outcome {
                p.failed = Some(reason.clone());
            }
            p.clone()
        };
        if let Err(reason) = outcome {
            let tail = std::fs::read_to_string(&console)
                .map(|t| boot_progress::tail(&t, 15))
                .unwrap_or_default();
            return Err(Error::infra(format!(
                "{}: {reason} (serial console: {}, its last lines below)\n{tail}",
                host.name,
                console.display()
            )));
        }
        let (ssh, ready) = (
            snapshot.at(Milestone::Ssh).unwrap_or_default(),
            snapshot.at(Milestone::Ready).unwrap_or_default(),
        );
        self.progress(&format!(
            "qemu: {} up (ssh after {:.1} s, ready after {:.1} s)",
            host.name,
            ssh.as_secs_f64(),
            ready.as_secs_f64()
        ));
        Ok(BootTime {
            host: host.name.clone(),
            ssh,
            ready,
            progress: snapshot,
        })
    }

    /// Boots the started VMs together; when one fails, the others are given up too and the
    /// error says how far each one got.
    async fn wait_hosts(
        &self,
        remote: &Remote,
        started: &[(Host, Instant)],
    ) -> Result<Vec<BootTime>> {
        let progress: Vec<Arc<Mutex<BootProgress>>> =
            started.iter().map(|_| Arc::default()).collect();
        let waits = started
            .iter()
            .zip(&progress)
            .map(|((host, at), p)| self.wait_host(remote, host, *at, p.clone()));
        futures::future::try_join_all(waits).await.map_err(|e| {
            let all: Vec<(String, BootProgress)> = started
                .iter()
                .zip(&progress)
                .map(|((host, _), p)| (host.name.to_string(), p.lock().unwrap().clone()))
                .collect();
            Error::infra(format!(
                "{e}\nhow far each VM got (time since its start):\n{}",
                boot_progress::summary(&all)
            ))
        })
    }

    /// Into the artifacts, and into the run record when the run's events are known.
    fn write_record(&self) {
        let Some(record) = self.record() else {
            return;
        };
        let value = json!(record);
        let path = self.config.artifacts_dir.join("provider.json");
        let _ = std::fs::write(
            path,
            serde_json::to_string_pretty(&value).unwrap_or_default(),
        );
        if let Some(events) = &self.config.events {
            events.send(EventKind::Record {
                key: "qemu".into(),
                value,
            });
        }
    }

    fn vm_of(&self, host: &HostName) -> Result<VmPaths> {
        let prepared = self.prepared()?;
        if !self.state.lock().unwrap().specs.contains_key(host) {
            return Err(Error::infra(format!("qemu: no VM for host {host}")));
        }
        Ok(self.paths(&prepared, host))
    }
}

#[async_trait]
impl Provider for QemuProvider {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn pace(&self) -> u32 {
        let state = self.state.lock().unwrap();
        state
            .prepared
            .as_ref()
            .map_or(1, |prepared| prepared.accel.accel.pace())
    }

    async fn provision(&self, spec: &TopologySpec, key: &RunKey) -> Result<Topology> {
        let prepared = self.prepare().await?;
        {
            let mut state = self.state.lock().unwrap();
            for h in &spec.hosts {
                state.specs.insert(h.name.clone(), h.clone());
            }
        }
        if prepared.mode == NetMode::User {
            let octets: Vec<u8> = spec.hosts.iter().map(|h| h.octet).collect();
            self.start_hub(&prepared, &octets).await?;
        }
        // DNS first, as with every provider; the rest boot together.
        let (dns, rest): (Vec<_>, Vec<_>) = spec.hosts.iter().partition(|h| h.role == Role::Dns);
        let mut started = Vec::new();
        for h in dns.iter().chain(rest.iter()) {
            self.progress(&format!(
                "qemu: starting {} ({})",
                h.name, prepared.accel.accel
            ));
            started.push(self.start_host(&prepared, h, &spec.hosts, key).await?);
        }
        let remote = Remote::new(key.clone(), "root");
        let boots = self.wait_hosts(&remote, &started).await?;
        let mut hosts = Vec::new();
        for ((host, _), boot) in started.into_iter().zip(boots) {
            let mut state = self.state.lock().unwrap();
            state.boots.push(boot);
            state.hosts.insert(host.name.clone(), host.clone());
            hosts.push(host);
        }
        hosts.sort_by_key(|h| spec.hosts.iter().position(|s| s.name == h.name));
        self.write_record();
        Ok(Topology {
            network: prepared.network.clone(),
            hosts,
        })
    }

    async fn power_off(&self, host: &HostName) -> Result<()> {
        vm::power_cut(&self.vm_of(host)?).await
    }

    async fn pause(&self, host: &HostName) -> Result<()> {
        vm::qmp(&self.vm_of(host)?, "stop", None).await.map(|_| ())
    }

    async fn resume(&self, host: &HostName) -> Result<()> {
        vm::qmp(&self.vm_of(host)?, "cont", None).await.map(|_| ())
    }

    async fn partition(&self, host: &HostName) -> Result<()> {
        vm::qmp(
            &self.vm_of(host)?,
            "set_link",
            Some(json!({"name": RUN_NIC, "up": false})),
        )
        .await
        .map(|_| ())
    }

    async fn heal(&self, host: &HostName) -> Result<()> {
        vm::qmp(
            &self.vm_of(host)?,
            "set_link",
            Some(json!({"name": RUN_NIC, "up": true})),
        )
        .await
        .map(|_| ())
    }

    async fn replace(&self, spec: &HostSpec, key: &RunKey) -> Result<Host> {
        let prepared = self.prepared()?;
        let all = {
            let mut state = self.state.lock().unwrap();
            state.specs.insert(spec.name.clone(), spec.clone());
            let mut all: Vec<HostSpec> = state.specs.values().cloned().collect();
            all.sort_by_key(|h| h.octet);
            all
        };
        let paths = self.paths(&prepared, &spec.name);
        // Whatever is left of the old VM goes: a power cut, then its files.
        if let Some(pid) = vm::read_pid(&paths.pidfile).filter(|p| vm::is_ours(*p, &paths.dir)) {
            if vm::power_cut(&paths).await.is_err() {
                vm::kill(pid);
            }
        }
        let (host, started) = self.start_host(&prepared, spec, &all, key).await?;
        let remote = Remote::new(key.clone(), "root");
        let boot = self
            .wait_hosts(&remote, &[(host.clone(), started)])
            .await?
            .remove(0);
        {
            let mut state = self.state.lock().unwrap();
            state.boots.push(boot);
            state.hosts.insert(host.name.clone(), host.clone());
        }
        self.write_record();
        Ok(host)
    }

    async fn teardown(&self) -> Vec<Released> {
        teardown_run(&self.run_id, self.config.shutdown_grace).await
    }

    fn capabilities(&self) -> crate::scenario::Capabilities {
        crate::scenario::ProviderKind::Qemu.capabilities()
    }

    fn keep_hint(&self, topology: &Topology) -> String {
        let run_dir = run_dir::run_dir(&self.run_id)
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let mut out = format!(
            "the VMs of run {} are kept. Reach a host with\n  ssh -i <key> -p <port> root@<address>\n",
            self.run_id
        );
        for h in &topology.hosts {
            out.push_str(&format!(
                "  {:<9} {:<15} ssh -p {} root@{}   console: {}\n",
                h.name,
                h.address,
                h.ssh.port(),
                h.ssh.ip(),
                self.console(&h.name).display()
            ));
        }
        out.push_str(&format!(
            "  QMP sockets: {run_dir}/<host>/qmp.sock\n\
             run checks against it with `acura-ha check --run {id}`; remove it with `acura-ha gc --run {id}`\n",
            id = self.run_id
        ));
        out
    }
}

#[cfg(test)]
mod tests;
