//! The typed scenario: what a YAML file under `scenarios/` means once loaded and validated.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::topology::{HostName, Resolver};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub provider: ProviderKind,
    #[serde(default)]
    pub topology: TopologyConfig,
    pub product: Product,
    #[serde(default)]
    pub requirements: RequirementProfile,
    /// The SSH user of the procedure's `ansible_ssh_user=<USER>`.
    #[serde(default = "default_user")]
    pub user: String,
    /// For `provider: static`: the existing hosts.
    #[serde(default)]
    pub inventory: Option<StaticInventory>,
    pub steps: Vec<Step>,
}

fn default_user() -> String {
    "root".into()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    #[default]
    Docker,
    Qemu,
    Static,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Docker => "docker",
            ProviderKind::Qemu => "qemu",
            ProviderKind::Static => "static",
        }
    }

    /// What this kind of provider can do to its hosts.
    pub fn capabilities(self) -> Capabilities {
        match self {
            ProviderKind::Docker | ProviderKind::Qemu => Capabilities {
                faults: true,
                replace: true,
                outlives_run: false,
            },
            ProviderKind::Static => Capabilities::EXISTING_HOSTS,
        }
    }
}

/// What a provider can do to its hosts: what steps and validation consult, never its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Power off, pause and partition a host (and bring it back).
    pub faults: bool,
    /// Destroy a host and make a fresh one with the same name and address.
    pub replace: bool,
    /// The hosts were there before the run and stay after it: what a run broke on purpose
    /// must be undone at its end.
    pub outlives_run: bool,
}

impl Capabilities {
    /// Hosts acura-ha did not make: it may run commands there, nothing more.
    pub const EXISTING_HOSTS: Capabilities = Capabilities {
        faults: false,
        replace: false,
        outlives_run: true,
    };

    /// Why a provider with these capabilities cannot run `step`, if it cannot.
    pub fn refuses(self, step: &Step) -> Option<String> {
        match step {
            Step::Fault(fault) if !self.faults => Some(format!(
                "this provider cannot {} hosts",
                fault.keyword().replace('_', " ")
            )),
            Step::ReplaceNode(_) if !self.replace => {
                Some("this provider cannot replace a host with a fresh one".into())
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    #[serde(default = "default_nodes")]
    pub nodes: usize,
    #[serde(default = "default_true")]
    pub lb: bool,
    /// Per-host overrides, for scenarios that inject a misconfiguration at provisioning.
    #[serde(default)]
    pub hosts: BTreeMap<HostName, HostOverride>,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            nodes: default_nodes(),
            lb: true,
            hosts: BTreeMap::new(),
        }
    }
}

fn default_nodes() -> usize {
    3
}
fn default_true() -> bool {
    true
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostOverride {
    /// Hostname set inside the host (e.g. an FQDN, which preflight must reject).
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub resolver: Option<Resolver>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// `hystax-ha-archive.tar.gz`, relative to the scenario file.
    pub archive: PathBuf,
    #[serde(default)]
    pub flavor: Flavor,
    /// Kibana's basic-auth account (port 30081), used by the UDP log-path check.
    #[serde(default)]
    pub kibana: Credentials,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            user: "acura".into(),
            password: "acura".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    #[default]
    Dr,
    Migration,
}

impl Flavor {
    /// The overlay that selects the flavor in C16's overlay list.
    pub fn distr_overlay(self) -> &'static str {
        match self {
            Flavor::Dr => "overlay/distr-dr.yaml",
            Flavor::Migration => "overlay/distr-migration.yaml",
        }
    }
}

/// Which sizing preflight demands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequirementProfile {
    /// What a laptop or CI machine's topology can meet.
    #[default]
    Local,
    /// The guide's: 200 GB single-partition root, 16 GB RAM, 8 vCPU, Ubuntu 24.04.
    Doc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticInventory {
    /// The procedure's `ha_env_file` (`<HOSTNAME> ansible_ssh_host=<IP>` per line).
    pub ha_env_file: PathBuf,
    pub lb: std::net::Ipv4Addr,
    /// The deploy host; without one, nothing is probed from it (a site checked from outside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<std::net::Ipv4Addr>,
    /// Private key the harness uses for every host.
    pub ssh_key: PathBuf,
    /// The keys the hosts must present (an OpenSSH `known_hosts` file, by address or name);
    /// a host it lacks, or one presenting another key, is refused. Without it, each host's
    /// first key is pinned and printed (trust on first use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
}

/// One step of a scenario, in the procedure's vocabulary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// C1–C4, resources and OS on every host.
    Preflight,
    /// nginx.conf from the current node list, C5, C6, reload.
    ConfigureLb,
    /// C7–C14.
    PrepareDeployer,
    /// C15.
    InstallMasters,
    /// C16, C17, C18.
    InstallAcura,
    /// C19–C21.
    Update(Update),
    /// Run every check and compare with `fixtures/golden/<scenario>/<name>.snap`.
    Checkpoint(String),
    /// Write durability markers (an app-etcd key and a GELF record through the LB).
    WriteMarkers,
    /// Prove the markers written earlier are still there.
    VerifyMarkers,
    Fault(Fault),
    Expect(Expect),
    /// C22–C25.
    RemoveDeadNode(HostName),
    /// A fresh host with the same name and address; the LB is reconfigured.
    ReplaceNode(HostName),
    /// C26–C28.
    JoinNode(HostName),
    /// C28 with a token the cluster must not accept: the add-node playbook fails with
    /// kubeadm's words, and the nodes and etcd members stay as they were.
    JoinNodeRefused(JoinRefusal),
    /// Hand the control-plane etcd's leadership to this node (`etcdctl move-leader`).
    MoveEtcdLeader(HostName),
    /// Move one pod off a node the way an operator does: `kubectl cordon` the node, delete
    /// the pod so its controller creates it again elsewhere, wait until it is Ready on another
    /// node, `kubectl uncordon`. A scenario that must lose a node *without* the pod on it
    /// (the log pipeline's `default/elk-0`, say) places the pod this way, so the run does not
    /// depend on where the scheduler put it.
    MovePod(MovePod),
    /// Break one thing on purpose, the way a customer's environment gets broken, so that a
    /// `checkpoint-failing` can show the checks catch it. `repair` undoes it.
    Misconfigure(Misconfiguration),
    /// Undo every `misconfigure` still in effect, newest first.
    Repair,
    /// Time the full parallel check set against the guide's sequential shell checks.
    BenchChecks,
    /// Every check, expecting exactly `failing` to fail; what changed against the golden
    /// snapshot of `baseline` is itself the golden snapshot of this checkpoint.
    CheckpointFailing(FailingCheckpoint),
    /// Every check, then the diagnosis: each of `causes` (rule ids) must be among its
    /// findings. What `reproduce` ends a site's reproduction with.
    Diagnose(DiagnoseStep),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovePod {
    /// `namespace/name`, as `kubectl get pods -A` lists it.
    pub pod: String,
    /// The node the pod must leave (and that is cordoned while it does).
    pub off: HostName,
}

impl MovePod {
    /// `(namespace, name)`, or `None` when `pod` is not `namespace/name`.
    pub fn split(&self) -> Option<(&str, &str)> {
        self.pod
            .split_once('/')
            .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseStep {
    pub causes: Vec<String>,
}

/// What `misconfigure` breaks. Keys are snake_case like `fault`'s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Misconfiguration {
    /// A firewall rule inside the host drops what arrives at this port from other hosts.
    BlockPort(BlockPort),
    /// The host's nameserver stops answering it (its DNS queries are dropped on the way out).
    DnsDown(HostName),
    /// The ingress certificate is issued again for another load-balancer address, so it no
    /// longer names the LB.
    CertificateWithoutLb(CertificateReissue),
    /// The LB's nginx.conf loses its GELF path: the `listen 12201 udp` server and its upstream.
    LbWithoutUdp,
    /// A deployment's image is set to one that cannot be pulled: its rollout's new pod never
    /// becomes Ready while the old pods keep serving.
    PodNeverReady(PodNeverReady),
    /// A service of a host is stopped (`systemctl stop`): etcd on a node, dnsmasq on the DNS
    /// server, nginx on the LB, …; `repair` starts it again.
    StopService(StopService),
    /// The LB's nginx.conf replaced by this one (a site's, written by `reproduce`), its
    /// `{node-1}`… and `{lb}` placeholders filled with the run's addresses; `repair` writes the
    /// guide's config again.
    LbConf(LbConf),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LbConf {
    pub nginx_conf: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopService {
    pub host: HostName,
    /// The systemd unit, as `systemctl` names it.
    pub service: String,
}

impl Misconfiguration {
    /// The key the misconfiguration has in YAML.
    pub fn keyword(&self) -> &'static str {
        match self {
            Misconfiguration::BlockPort(_) => "block_port",
            Misconfiguration::DnsDown(_) => "dns_down",
            Misconfiguration::CertificateWithoutLb(_) => "certificate_without_lb",
            Misconfiguration::LbWithoutUdp => "lb_without_udp",
            Misconfiguration::PodNeverReady(_) => "pod_never_ready",
            Misconfiguration::StopService(_) => "stop_service",
            Misconfiguration::LbConf(_) => "lb_conf",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockPort {
    pub host: HostName,
    pub port: u16,
    #[serde(default)]
    pub protocol: crate::topology::Protocol,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodNeverReady {
    pub deployment: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

fn default_namespace() -> String {
    "default".into()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRefusal {
    pub node: HostName,
    pub token: BadToken,
}

/// The token C28 presents in `join-node-refused`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadToken {
    /// The id of a token the cluster issued, with another secret (a mistyped token).
    Wrong,
    /// A token C26 issued with a one-second TTL, presented after it ran out (an old join
    /// command kept for later).
    Expired,
}

impl BadToken {
    pub fn as_str(self) -> &'static str {
        match self {
            BadToken::Wrong => "wrong",
            BadToken::Expired => "expired",
        }
    }
}

/// How the appliance issues its ingress certificate: that is the product's business, so the
/// scenario says it (the harness knows no product's internals).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateReissue {
    /// Run on a live node; `{lb_address}` is replaced by the address to issue it for (another
    /// one to break it, the LB's again to repair it).
    pub issue_with: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailingCheckpoint {
    /// Names the golden file of the expected changes.
    pub name: String,
    /// An earlier checkpoint of the scenario whose golden snapshot is the healthy state.
    pub baseline: String,
    /// The checks that must fail; every other one must pass.
    pub failing: Vec<crate::check_name::CheckName>,
    /// The rules (`port-dropped`, `dns-server-down`, …) the diagnosis must name, in its
    /// order, with nothing left unexplained. Empty: the diagnosis is only recorded.
    #[serde(default)]
    pub causes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    #[serde(default)]
    pub add_overlays: Vec<String>,
    #[serde(default)]
    pub remove_overlays: Vec<String>,
}

/// Keys are snake_case like the other mappings inside a step (`fault: { power_off: node-2 }`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    PowerOff(HostName),
    Pause(HostName),
    Resume(HostName),
    Partition(HostName),
    Heal(HostName),
}

impl Fault {
    /// The key the fault has in YAML.
    pub fn keyword(&self) -> &'static str {
        match self {
            Fault::PowerOff(_) => "power_off",
            Fault::Pause(_) => "pause",
            Fault::Resume(_) => "resume",
            Fault::Partition(_) => "partition",
            Fault::Heal(_) => "heal",
        }
    }

    pub fn host(&self) -> &HostName {
        match self {
            Fault::PowerOff(h)
            | Fault::Pause(h)
            | Fault::Resume(h)
            | Fault::Partition(h)
            | Fault::Heal(h) => h,
        }
    }
}

/// A state the cluster must reach (polled with a deadline).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub nodes_ready: Option<Vec<HostName>>,
    #[serde(default)]
    pub nodes_not_ready: Option<Vec<HostName>>,
    #[serde(default)]
    pub etcd_members: Option<usize>,
    #[serde(default)]
    pub available_through_lb: Option<bool>,
    /// Seconds to wait for the state on a machine at full speed (default 60); a slow provider
    /// (QEMU under TCG) stretches it by its pace.
    #[serde(default)]
    pub within: Option<u64>,
}

impl Step {
    /// The kebab-case keyword the step has in YAML.
    pub fn keyword(&self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::ConfigureLb => "configure-lb",
            Step::PrepareDeployer => "prepare-deployer",
            Step::InstallMasters => "install-masters",
            Step::InstallAcura => "install-acura",
            Step::Update(_) => "update",
            Step::Checkpoint(_) => "checkpoint",
            Step::WriteMarkers => "write-markers",
            Step::VerifyMarkers => "verify-markers",
            Step::Fault(_) => "fault",
            Step::Expect(_) => "expect",
            Step::RemoveDeadNode(_) => "remove-dead-node",
            Step::ReplaceNode(_) => "replace-node",
            Step::JoinNode(_) => "join-node",
            Step::JoinNodeRefused(_) => "join-node-refused",
            Step::MoveEtcdLeader(_) => "move-etcd-leader",
            Step::MovePod(_) => "move-pod",
            Step::Misconfigure(_) => "misconfigure",
            Step::Repair => "repair",
            Step::BenchChecks => "bench-checks",
            Step::CheckpointFailing(_) => "checkpoint-failing",
            Step::Diagnose(_) => "diagnose",
        }
    }
}
