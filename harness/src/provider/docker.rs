//! The docker provider (bollard): a host is a container from a locally built image, with a fixed
//! address on a run-private network, its own hostname and a resolv.conf naming the run's DNS.
//! systemd is PID 1 in every container, so unit files and journalctl work as on a VM.
//!
//! Faults: `power_off` = SIGKILL (no shutdown runs), `pause` = cgroup freezer, `partition` =
//! disconnect from the run's network. Every container and the network carry the run id in
//! their labels; `gc` finds what dead runs left behind by those labels.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use async_trait::async_trait;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, ListNetworksOptions,
    RemoveContainerOptions, UploadToContainerOptions,
};
use bollard::Docker;
use futures::StreamExt;

use super::{run_dns, Provider, Released};
use crate::error::{Error, Result};
use crate::remote::RunKey;
use crate::topology::{Host, HostName, HostSpec, Network, Role, Topology, TopologySpec, DNS_OCTET};

/// Label keys. `RUN` is on everything a run creates.
pub const LABEL_RUN: &str = "acura-ha.run";
pub const LABEL_HOST: &str = "acura-ha.host";
pub const LABEL_ROLE: &str = "acura-ha.role";
/// The process that created the resource (`<hostname>:<pid>`), so `gc` can tell a live run from a dead one.
pub const LABEL_OWNER: &str = "acura-ha.owner";

/// The zone the run's DNS serves and the name C2 resolves.
pub const ZONE: &str = "acura.test";
pub const PROBE_NAME: &str = "probe.acura.test";

/// Run subnets are `10.213.<n>.0/24`; `n` starts from a hash of the run id and moves on when
/// docker reports an overlap (another run, or anything else on the machine, has it).
const SUBNET_PREFIX: [u8; 2] = [10, 213];

pub struct DockerProvider {
    docker: Docker,
    run_id: String,
    images: HashMap<Role, String>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    network: Option<(String, Network)>,
    specs: HashMap<HostName, HostSpec>,
    containers: HashMap<HostName, String>,
}

pub async fn connect() -> Result<Docker> {
    let docker = Docker::connect_with_local_defaults().map_err(|e| {
        Error::infra(format!(
            "cannot reach the docker daemon: {e}; is docker installed and running?"
        ))
    })?;
    let docker = docker.negotiate_version().await.map_err(|e| {
        Error::infra(format!(
            "cannot reach the docker daemon: {e}; is it running and is this user allowed to use it?"
        ))
    })?;
    Ok(docker)
}

pub fn owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{host}:{}", std::process::id())
}

fn docker_err(what: &str) -> impl Fn(bollard::errors::Error) -> Error + '_ {
    move |e| Error::infra(format!("docker: {what}: {e}"))
}

impl DockerProvider {
    /// `images` maps each role to the image tag its hosts run.
    pub fn new(docker: Docker, run_id: &str, images: HashMap<Role, String>) -> Self {
        DockerProvider {
            docker,
            run_id: run_id.to_owned(),
            images,
            state: Mutex::default(),
        }
    }

    fn labels(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (LABEL_RUN.to_owned(), self.run_id.clone()),
            (LABEL_OWNER.to_owned(), owner()),
        ]);
        for (k, v) in extra {
            labels.insert((*k).to_owned(), (*v).to_owned());
        }
        labels
    }

    fn network_name(&self) -> String {
        format!("acura-ha-{}", self.run_id)
    }

    fn container_name(&self, host: &HostName) -> String {
        format!("acura-ha-{}-{}", self.run_id, host)
    }

    async fn create_network(&self) -> Result<(String, Network)> {
        let start = self
            .run_id
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        let mut last_error = String::new();
        for attempt in 0..64u32 {
            let third = ((start + attempt * 7) % 240 + 8) as u8;
            let subnet = Ipv4Addr::new(SUBNET_PREFIX[0], SUBNET_PREFIX[1], third, 0);
            let gateway = Ipv4Addr::new(SUBNET_PREFIX[0], SUBNET_PREFIX[1], third, 1);
            let request = NetworkCreateRequest {
                name: self.network_name(),
                driver: Some("bridge".into()),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(format!("{subnet}/24")),
                        gateway: Some(gateway.to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                labels: Some(self.labels(&[])),
                ..Default::default()
            };
            match self.docker.create_network(request).await {
                Ok(created) => {
                    let network = Network {
                        subnet,
                        gateway,
                        dns: Ipv4Addr::new(SUBNET_PREFIX[0], SUBNET_PREFIX[1], third, DNS_OCTET),
                        zone: ZONE.into(),
                        probe_name: PROBE_NAME.into(),
                    };
                    return Ok((created.id, network));
                }
                Err(e) => {
                    let text = e.to_string();
                    if text.contains("overlap") || text.contains("in use") {
                        last_error = text;
                        continue;
                    }
                    return Err(Error::infra(format!("docker: create network: {text}")));
                }
            }
        }
        Err(Error::infra(format!(
            "docker: no free /24 under 10.213.0.0/16 for the run's network (last: {last_error})"
        )))
    }

    fn image_for(&self, role: Role) -> Result<&str> {
        self.images
            .get(&role)
            .map(String::as_str)
            .ok_or_else(|| Error::infra(format!("no image for role {role}")))
    }

    /// Create and start one host's container; files it needs at boot are put in before start.
    async fn create_host(
        &self,
        spec: &HostSpec,
        network: &Network,
        all: &[HostSpec],
        key: &RunKey,
    ) -> Result<(String, Host)> {
        let address = network.address(spec.octet);
        let name = self.container_name(&spec.name);
        let endpoint = EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: Some(address.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let host_config = HostConfig {
            network_mode: Some(self.network_name()),
            cap_add: Some(vec!["NET_ADMIN".into()]),
            tmpfs: Some(HashMap::from([
                ("/run".to_owned(), "rw,exec".to_owned()),
                ("/run/lock".to_owned(), "rw".to_owned()),
                ("/tmp".to_owned(), "rw,exec".to_owned()),
            ])),
            binds: Some(vec!["/sys/fs/cgroup:/sys/fs/cgroup:ro".into()]),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            hostname: Some(spec.hostname.clone()),
            image: Some(self.image_for(spec.role)?.to_owned()),
            cmd: Some(vec!["/sbin/init".into()]),
            labels: Some(self.labels(&[
                (LABEL_HOST, spec.name.as_str()),
                (LABEL_ROLE, spec.role.as_str()),
            ])),
            stop_signal: Some("SIGRTMIN+3".into()),
            env: Some(vec!["container=docker".into()]),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(self.network_name(), endpoint)])),
            }),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(docker_err("create container"))?;
        // Remember it at once: teardown must find it even if a later call fails.
        self.state
            .lock()
            .unwrap()
            .containers
            .insert(spec.name.clone(), created.id.clone());

        let mut files = vec![(
            "root/.ssh/authorized_keys".to_owned(),
            format!("{}\n", key.public_openssh).into_bytes(),
            0o600,
        )];
        if spec.role == Role::Dns {
            files.push((
                "etc/dnsmasq.d/acura-ha.conf".to_owned(),
                run_dns::dnsmasq_config(network, all).into_bytes(),
                0o644,
            ));
        }
        self.put_files(&created.id, &files).await?;
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(docker_err("start container"))?;
        self.write_resolv_conf(&created.id, spec, network).await?;
        Ok((
            created.id,
            Host {
                name: spec.name.clone(),
                role: spec.role,
                hostname: spec.hostname.clone(),
                address,
                ssh: SocketAddr::new(address.into(), 22),
            },
        ))
    }

    async fn put_files(&self, container: &str, files: &[(String, Vec<u8>, u32)]) -> Result<()> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut dirs: Vec<String> = Vec::new();
        for (path, _, _) in files {
            let mut parent = std::path::Path::new(path).parent();
            while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
                dirs.push(p.to_string_lossy().into_owned());
                parent = p.parent();
            }
        }
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(if dir.starts_with("root") {
                0o700
            } else {
                0o755
            });
            header.set_size(0);
            header.set_cksum();
            builder
                .append_data(&mut header, format!("{dir}/"), std::io::empty())
                .map_err(|e| Error::infra(format!("tar: {e}")))?;
        }
        for (path, data, mode) in files {
            let mut header = tar::Header::new_gnu();
            header.set_mode(*mode);
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder
                .append_data(&mut header, path, data.as_slice())
                .map_err(|e| Error::infra(format!("tar: {e}")))?;
        }
        let tar = builder
            .into_inner()
            .map_err(|e| Error::infra(format!("tar: {e}")))?;
        self.docker
            .upload_to_container(
                container,
                Some(UploadToContainerOptions {
                    path: "/".into(),
                    ..Default::default()
                }),
                bollard::body_full(tar.into()),
            )
            .await
            .map_err(docker_err("copy files into container"))
    }

    /// Docker writes its own resolv.conf (the embedded DNS); the run's hosts use the run's DNS,
    /// as the procedure's C1/C2 expect, so it is overwritten after start.
    async fn write_resolv_conf(
        &self,
        container: &str,
        spec: &HostSpec,
        network: &Network,
    ) -> Result<()> {
        let content = run_dns::resolv_conf(spec, network);
        self.exec(
            container,
            &format!("printf '%s' '{content}' > /etc/resolv.conf"),
        )
        .await
    }

    async fn exec(&self, container: &str, command: &str) -> Result<()> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", command]),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(docker_err("exec"))?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(docker_err("exec"))?
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(docker_err("exec"))?;
        match inspect.exit_code {
            Some(0) => Ok(()),
            code => Err(Error::infra(format!(
                "docker exec `{command}` failed ({code:?}): {output}"
            ))),
        }
    }

    fn container_of(&self, host: &HostName) -> Result<String> {
        self.state
            .lock()
            .unwrap()
            .containers
            .get(host)
            .cloned()
            .ok_or_else(|| Error::infra(format!("no container for host {host}")))
    }
}

#[async_trait]
impl Provider for DockerProvider {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn provision(&self, spec: &TopologySpec, key: &RunKey) -> Result<Topology> {
        let (net_id, network) = self.create_network().await?;
        {
            let mut state = self.state.lock().unwrap();
            state.network = Some((net_id, network.clone()));
            for h in &spec.hosts {
                state.specs.insert(h.name.clone(), h.clone());
            }
        }
        // DNS first, so the others resolve from their first boot.
        let mut hosts = Vec::new();
        let (dns, rest): (Vec<_>, Vec<_>) = spec.hosts.iter().partition(|h| h.role == Role::Dns);
        for h in &dns {
            hosts.push(self.create_host(h, &network, &spec.hosts, key).await?.1);
        }
        let created = futures::future::join_all(
            rest.iter()
                .map(|h| self.create_host(h, &network, &spec.hosts, key)),
        )
        .await;
        for result in created {
            hosts.push(result?.1);
        }
        // Keep spec order.
        hosts.sort_by_key(|h| spec.hosts.iter().position(|s| s.name == h.name));
        Ok(Topology { network, hosts })
    }

    async fn power_off(&self, host: &HostName) -> Result<()> {
        let id = self.container_of(host)?;
        self.docker
            .kill_container(
                &id,
                Some(KillContainerOptions {
                    signal: "SIGKILL".into(),
                }),
            )
            .await
            .map_err(docker_err("kill container"))
    }

    async fn pause(&self, host: &HostName) -> Result<()> {
        let id = self.container_of(host)?;
        self.docker
            .pause_container(&id)
            .await
            .map_err(docker_err("pause container"))
    }

    async fn resume(&self, host: &HostName) -> Result<()> {
        let id = self.container_of(host)?;
        self.docker
            .unpause_container(&id)
            .await
            .map_err(docker_err("unpause container"))
    }

    async fn partition(&self, host: &HostName) -> Result<()> {
        let id = self.container_of(host)?;
        self.docker
            .disconnect_network(
                &self.network_name(),
                NetworkDisconnectRequest {
                    container: id,
                    force: Some(true),
                },
            )
            .await
            .map_err(docker_err("disconnect from network"))
    }

    async fn heal(&self, host: &HostName) -> Result<()> {
        let id = self.container_of(host)?;
        let (octet, network) = {
            let state = self.state.lock().unwrap();
            let spec = state
                .specs
                .get(host)
                .ok_or_else(|| Error::infra(format!("unknown host {host}")))?;
            (spec.octet, state.network.clone().map(|n| n.1))
        };
        let network = network.ok_or_else(|| Error::infra("no network".to_owned()))?;
        self.docker
            .connect_network(
                &self.network_name(),
                NetworkConnectRequest {
                    container: id,
                    endpoint_config: Some(EndpointSettings {
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some(network.address(octet).to_string()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                },
            )
            .await
            .map_err(docker_err("reconnect to network"))
    }

    async fn replace(&self, spec: &HostSpec, key: &RunKey) -> Result<Host> {
        let (old, network, all) = {
            let mut state = self.state.lock().unwrap();
            state.specs.insert(spec.name.clone(), spec.clone());
            let mut all: Vec<HostSpec> = state.specs.values().cloned().collect();
            all.sort_by_key(|h| h.octet);
            (
                state.containers.remove(&spec.name),
                state.network.clone().map(|n| n.1),
                all,
            )
        };
        let network = network.ok_or_else(|| Error::infra("no network".to_owned()))?;
        if let Some(old) = old {
            self.docker
                .remove_container(
                    &old,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(docker_err("remove the replaced container"))?;
        }
        Ok(self.create_host(spec, &network, &all, key).await?.1)
    }

    async fn teardown(&self) -> Vec<Released> {
        teardown_run(&self.docker, &self.run_id).await
    }

    fn capabilities(&self) -> crate::scenario::Capabilities {
        crate::scenario::ProviderKind::Docker.capabilities()
    }

    fn keep_hint(&self, topology: &Topology) -> String {
        let mut out = format!(
            "the topology of run {} is kept. Reach a host with\n  ssh -i <key> root@<address>\n",
            self.run_id
        );
        for h in &topology.hosts {
            out.push_str(&format!(
                "  {:<9} {:<15} docker exec -it {} bash\n",
                h.name,
                h.address,
                self.container_name(&h.name)
            ));
        }
        out.push_str(&format!(
            "run checks against it with `acura-ha check --run {id}`; remove it with `acura-ha gc --run {id}`\n",
            id = self.run_id
        ));
        out
    }
}

/// Remove every container and the network labelled with `run_id`, each on its own: one failure
/// does not stop the rest. Found by label, so it also cleans up what a crashed run left.
pub async fn teardown_run(docker: &Docker, run_id: &str) -> Vec<Released> {
    let mut released = Vec::new();
    let filters = HashMap::from([("label".to_owned(), vec![format!("{LABEL_RUN}={run_id}")])]);
    match docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
    {
        Ok(containers) => {
            let removals = containers.into_iter().map(|c| async move {
                let id = c.id.unwrap_or_default();
                let name = c
                    .names
                    .and_then(|n| n.first().cloned())
                    .unwrap_or_else(|| id.clone())
                    .trim_start_matches('/')
                    .to_owned();
                let result = docker
                    .remove_container(
                        &id,
                        Some(RemoveContainerOptions {
                            force: true,
                            v: true,
                            ..Default::default()
                        }),
                    )
                    .await;
                Released {
                    kind: "container".into(),
                    name,
                    error: result.err().map(|e| e.to_string()),
                }
            });
            released.extend(futures::future::join_all(removals).await);
        }
        Err(e) => released.push(Released {
            kind: "container".into(),
            name: format!("(list for run {run_id})"),
            error: Some(e.to_string()),
        }),
    }
    match docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
    {
        Ok(networks) => {
            for n in networks {
                let name = n.name.clone().unwrap_or_default();
                let result = docker
                    .remove_network(n.id.as_deref().unwrap_or(&name))
                    .await;
                released.push(Released {
                    kind: "network".into(),
                    name,
                    error: result.err().map(|e| e.to_string()),
                });
            }
        }
        Err(e) => released.push(Released {
            kind: "network".into(),
            name: format!("(list for run {run_id})"),
            error: Some(e.to_string()),
        }),
    }
    released
}

/// One run found by its labels, for `gc`.
#[derive(Debug, Clone)]
pub struct FoundRun {
    pub run_id: String,
    pub owner: String,
    pub containers: usize,
    pub networks: usize,
}

/// Every run that has containers or networks on this docker daemon.
pub async fn find_runs(docker: &Docker) -> Result<Vec<FoundRun>> {
    let filters = HashMap::from([("label".to_owned(), vec![LABEL_RUN.to_owned()])]);
    let mut runs: HashMap<String, FoundRun> = HashMap::new();
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .map_err(docker_err("list containers"))?;
    for c in containers {
        let labels = c.labels.unwrap_or_default();
        if let Some(run) = labels.get(LABEL_RUN) {
            let entry = runs.entry(run.clone()).or_insert_with(|| FoundRun {
                run_id: run.clone(),
                owner: labels.get(LABEL_OWNER).cloned().unwrap_or_default(),
                containers: 0,
                networks: 0,
            });
            entry.containers += 1;
        }
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(docker_err("list networks"))?;
    for n in networks {
        let labels = n.labels.unwrap_or_default();
        if let Some(run) = labels.get(LABEL_RUN) {
            let entry = runs.entry(run.clone()).or_insert_with(|| FoundRun {
                run_id: run.clone(),
                owner: labels.get(LABEL_OWNER).cloned().unwrap_or_default(),
                containers: 0,
                networks: 0,
            });
            entry.networks += 1;
        }
    }
    let mut runs: Vec<FoundRun> = runs.into_values().collect();
    runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    Ok(runs)
}

/// Whether the process that owns a run is still alive on this machine.
pub fn owner_alive(owner: &str) -> bool {
    let Some((host, pid)) = owner.rsplit_once(':') else {
        return false;
    };
    let this_host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if host != this_host {
        // Another machine's run on a shared daemon: assume alive, never remove it implicitly.
        return true;
    }
    pid.parse::<u32>()
        .map(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_of_a_dead_process_is_not_alive() {
        assert!(owner_alive(&owner()));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert!(!owner_alive(&format!("{}:{}", host.trim(), u32::MAX - 1)));
        assert!(!owner_alive("garbage"));
    }
}
