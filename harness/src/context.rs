//! What every step and check gets: the topology, the provider, the SSH client, the event sink,
//! the secrets registry and the artifacts folder. Steps never reach a host any other way.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::artifacts::Artifacts;
use crate::error::{Error, Result};
use crate::events::{EventKind, EventSink};
use crate::golden::Goldens;
use crate::procedure::{CommandId, PlannedCommand, Reveals};
use crate::provider::Provider;
use crate::remote::{Output, Remote, RunKey};
use crate::scenario::Scenario;
use crate::secrets::Secrets;
use crate::topology::{Host, HostName, Topology, TopologySpec};
use crate::wait::{self, Poll};

pub struct RunContext {
    run_id: String,
    scenario: Arc<Scenario>,
    provider: Arc<dyn Provider>,
    remote: Remote,
    key: RunKey,
    events: EventSink,
    /// The event sink's secrets: registering one here redacts it from every later event too.
    secrets: Arc<Secrets>,
    artifacts: Artifacts,
    topology: RwLock<Topology>,
    spec: RwLock<TopologySpec>,
    /// Where checkpoints compare their observations; none for `check`, which has no golden.
    goldens: Option<Goldens>,
}

impl RunContext {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        run_id: String,
        scenario: Arc<Scenario>,
        provider: Arc<dyn Provider>,
        remote: Remote,
        key: RunKey,
        events: EventSink,
        artifacts: Artifacts,
        spec: TopologySpec,
        topology: Topology,
    ) -> Self {
        // The secrets the run knows before any command: its key and the scenario's own.
        let secrets = events.secrets().clone();
        secrets.register(&key.private_openssh, "private-key");
        secrets.register(&scenario.product.kibana.password, "kibana-password");
        RunContext {
            run_id,
            scenario,
            provider,
            remote,
            key,
            events,
            secrets,
            artifacts,
            topology: RwLock::new(topology),
            spec: RwLock::new(spec),
            goldens: None,
        }
    }

    /// A context whose checkpoints compare with (or write) these golden snapshots.
    pub fn with_goldens(mut self, goldens: Goldens) -> Self {
        self.goldens = Some(goldens);
        self
    }

    /// The run's golden snapshots.
    pub fn goldens(&self) -> Result<&Goldens> {
        self.goldens
            .as_ref()
            .ok_or_else(|| Error::infra("this run compares with no golden snapshots"))
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The run's key: what every host accepts, and what the deploy host gets for ansible.
    pub fn key(&self) -> &RunKey {
        &self.key
    }

    pub fn events(&self) -> &EventSink {
        &self.events
    }

    /// The run's secrets (the event sink's): what is registered here is redacted everywhere.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    pub fn artifacts(&self) -> &Artifacts {
        &self.artifacts
    }

    /// The provider's lifecycle and faults (power off, pause, partition, …).
    pub fn provider(&self) -> &dyn Provider {
        self.provider.as_ref()
    }

    /// How many times slower than a real machine the hosts run (see [`Provider::pace`]).
    pub fn pace(&self) -> u32 {
        self.provider.pace()
    }

    /// A host went away (a power cut): its session is dropped, its pinned key kept.
    pub fn host_lost(&self, host: &HostName) {
        self.remote.disconnect(host);
    }

    /// A fresh machine in place of `spec`'s host, same name and address: its new host key is
    /// pinned on its first contact (and said so), and the run's topology points at it.
    pub async fn replace_host(&self, spec: &crate::topology::HostSpec) -> Result<Host> {
        let host = self.provider.replace(spec, &self.key).await?;
        self.remote.replaced(&host.name);
        self.remote
            .wait_ready(&host, self.paced(Duration::from_secs(180)))
            .await?;
        self.update_host(host.clone());
        Ok(host)
    }

    /// Until every host answers SSH (`deadline` stretched by the pace), its key pinned.
    pub async fn wait_hosts_ready(&self, deadline: Duration) -> Result<()> {
        let hosts = self.topology().hosts;
        let waits = hosts
            .iter()
            .map(|h| self.remote.wait_ready(h, self.paced(deadline)));
        for ready in futures::future::join_all(waits).await {
            ready?;
        }
        Ok(())
    }

    /// Connections refused so far because a host presented another key than it must.
    pub fn host_key_refusals(&self) -> Vec<crate::remote::HostKeyRefusal> {
        self.remote.host_key_refusals()
    }

    /// Each host's pinned key.
    pub fn pinned_host_keys(&self) -> std::collections::BTreeMap<HostName, String> {
        self.remote.pinned()
    }

    /// The product archive the scenario installs (resolved against the scenario file).
    pub fn scenario_archive(&self) -> std::path::PathBuf {
        self.scenario.product.archive.clone()
    }

    /// A snapshot of the topology as it is now (hosts change on `replace-node`).
    pub fn topology(&self) -> Topology {
        self.topology.read().unwrap().clone()
    }

    pub fn spec(&self) -> TopologySpec {
        self.spec.read().unwrap().clone()
    }

    pub fn update_host(&self, host: Host) {
        self.topology.write().unwrap().upsert(host);
    }

    pub fn host(&self, name: &HostName) -> Result<Host> {
        self.topology
            .read()
            .unwrap()
            .host(name)
            .cloned()
            .ok_or_else(|| Error::infra(format!("no host named {name} in this run")))
    }

    /// Run one of the procedure's numbered commands on `host`. The output comes back whatever the
    /// exit status (the step decides what failure means); `Err` only when the host could not be
    /// reached or the deadline passed.
    pub async fn procedure(
        &self,
        id: CommandId,
        host: &HostName,
        command: &str,
        deadline: Duration,
    ) -> Result<Output> {
        self.execute(Some(id), id.reveals(), host, command, deadline)
            .await
    }

    /// Issue a command a step planned (see [`PlannedCommand`]): numbered or the harness's own.
    pub async fn issue(&self, planned: &PlannedCommand, deadline: Duration) -> Result<Output> {
        match planned.id() {
            Some(id) => {
                self.procedure(id, &planned.host, &planned.command, deadline)
                    .await
            }
            None => self.run(&planned.host, &planned.command, deadline).await,
        }
    }

    /// Run an auxiliary command (not one of the procedure's numbered commands).
    pub async fn run(&self, host: &HostName, command: &str, deadline: Duration) -> Result<Output> {
        self.execute(None, None, host, command, deadline).await
    }

    /// Run an auxiliary command whose output carries a secret (a join command, a certificate
    /// key): it is registered before the output reaches an artifact or an event.
    pub async fn run_revealing(
        &self,
        host: &HostName,
        command: &str,
        deadline: Duration,
        reveals: Reveals,
    ) -> Result<Output> {
        self.execute(None, Some(reveals), host, command, deadline)
            .await
    }

    async fn execute(
        &self,
        id: Option<CommandId>,
        reveals: Option<Reveals>,
        name: &HostName,
        command: &str,
        deadline: Duration,
    ) -> Result<Output> {
        let host = self.host(name)?;
        // Events and artifacts redact what they carry; nothing here needs to.
        self.events.send(EventKind::CommandStarted {
            id,
            host: name.clone(),
            command: command.to_owned(),
        });
        let label = id
            .map(|i| i.to_string())
            .unwrap_or_else(|| first_word(command));
        let deadline = self.paced(deadline);
        let result = self.remote.exec(&host, command, deadline).await;
        if let (Ok(out), Some(reveals)) = (&result, reveals) {
            self.learn_secrets(reveals, out);
        }
        let excerpt = excerpt(
            &result
                .as_ref()
                .map_or_else(|e| e.to_string(), |out| out.tail(EXCERPT_LINES)),
        );
        let (record, passed, exit_status, duration) = match &result {
            Ok(out) => (
                format!(
                    "$ {command}\n# host {name}, {}, {} ms\n--- stdout\n{}\n--- stderr\n{}\n",
                    out.status_text(),
                    out.duration.as_millis(),
                    out.stdout,
                    out.stderr
                ),
                out.success(),
                out.exit_status,
                out.duration,
            ),
            Err(e) => (
                format!("$ {command}\n# host {name}\n--- error\n{e}\n"),
                false,
                None,
                deadline,
            ),
        };
        let artifact = self.artifacts.write_command(name.as_str(), &label, &record);
        self.events.send(EventKind::CommandFinished {
            id,
            host: name.clone(),
            command: command.to_owned(),
            exit_status,
            passed,
            duration,
            artifact,
            excerpt,
        });
        result.map_err(Error::from)
    }

    /// `deadline` stretched by the provider's pace: the hosts of a VM without hardware
    /// acceleration need several times as long for the same work.
    pub fn paced(&self, deadline: Duration) -> Duration {
        deadline * self.provider.pace()
    }

    /// A step's wait for the hosts to reach a state: [`wait::until`] with `deadline` (what a
    /// machine at full speed needs) stretched by the provider's pace.
    pub async fn wait_until<T, F, Fut>(
        &self,
        what: &str,
        deadline: Duration,
        interval: Duration,
        probe: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Poll<T>>>,
    {
        wait::until(what, self.paced(deadline), interval, probe).await
    }

    /// Mark the last run of procedure command `id` on `host` as failed although it exited 0.
    pub fn reject(&self, id: CommandId, host: &HostName, reason: impl Into<String>) {
        self.events.send(EventKind::CommandRejected {
            id,
            host: host.clone(),
            reason: reason.into(),
        });
    }

    /// The parse of a procedure command's output: when the output does not have the shape the
    /// guide shows, the command is rejected (the tally counts it failed) and the step fails.
    pub fn shaped<T, E: std::fmt::Display>(
        &self,
        id: CommandId,
        host: &HostName,
        parsed: std::result::Result<T, E>,
    ) -> Result<T> {
        parsed.map_err(|e| {
            let reason = e.to_string();
            self.reject(
                id,
                host,
                format!("output not as the guide shows it: {reason}"),
            );
            Error::CheckFailed(format!("{id}: {reason}"))
        })
    }

    /// Register the secrets a command printed (C26's join token, C27's certificate key)
    /// before the output reaches an artifact or an event.
    fn learn_secrets(&self, reveals: Reveals, out: &Output) {
        match reveals {
            Reveals::JoinCommand => {
                if let Ok(join) = crate::parse::join_command::parse(&out.stdout) {
                    let token = join.token.expose();
                    self.secrets.register(token, "token");
                    if let Some((token_id, _)) = token.split_once('.') {
                        self.secrets.register(token_id, "token-id");
                    }
                }
            }
            Reveals::CertificateKey => {
                if let Ok(key) = crate::parse::upload_certs::parse(&out.stdout) {
                    self.secrets.register(key.expose(), "certificate-key");
                }
            }
        }
    }

    /// Upload a file to a host: recorded as a command (`upload PATH`) with an artifact, its
    /// contents not logged.
    pub async fn upload(
        &self,
        name: &HostName,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<()> {
        let host = self.host(name)?;
        let shown = format!("upload {path} ({} bytes, mode {mode:o})", contents.len());
        self.events.send(EventKind::CommandStarted {
            id: None,
            host: name.clone(),
            command: shown.clone(),
        });
        let deadline = self.paced(Duration::from_secs(120));
        let started = std::time::Instant::now();
        let result = self
            .remote
            .upload(&host, path, contents, mode, deadline)
            .await;
        let record = match &result {
            Ok(()) => format!("$ {shown}\n# host {name}, written\n"),
            Err(e) => format!("$ {shown}\n# host {name}\n--- error\n{e}\n"),
        };
        let artifact = self
            .artifacts
            .write_command(name.as_str(), "upload", &record);
        self.events.send(EventKind::CommandFinished {
            id: None,
            host: name.clone(),
            command: shown,
            exit_status: result.as_ref().ok().map(|()| 0),
            passed: result.is_ok(),
            duration: started.elapsed(),
            artifact,
            excerpt: result.as_ref().err().and_then(|e| excerpt(&e.to_string())),
        });
        result.map_err(Error::from)
    }
}

/// How many of a command's last output lines its event carries (reports show them).
const EXCERPT_LINES: usize = 6;

/// A command's last lines, each cut to 200 characters; `None` when it printed nothing.
fn excerpt(text: &str) -> Option<String> {
    const WIDTH: usize = 200;
    let lines: Vec<String> = text
        .lines()
        .map(|l| match l.char_indices().nth(WIDTH) {
            Some((at, _)) => format!("{}…", &l[..at]),
            None => l.to_owned(),
        })
        .collect();
    let text = lines.join("\n");
    (!text.trim().is_empty()).then_some(text)
}

fn first_word(command: &str) -> String {
    command
        .split_whitespace()
        .find(|w| !w.contains('='))
        .unwrap_or("command")
        .rsplit('/')
        .next()
        .unwrap_or("command")
        .to_owned()
}
