//! SSH sessions to the run's hosts. One russh connection per host, opened on first use and
//! reused by every command; a connection that died (host powered off, replaced) is reopened on
//! the next command. Host keys follow [`HostKeys`]: a key differing from the pinned one aborts
//! with [`RemoteError::HostKeyChanged`] unless the host was replaced ([`Remote::replaced`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelMsg;
use tokio::sync::Mutex as AsyncMutex;

use super::host_keys::{fingerprint, HostKeys, Verdict};
use super::{Output, RunKey};
use crate::topology::{Host, HostName};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{host}: cannot connect to ssh at {addr}: {reason}")]
    Connect {
        host: HostName,
        addr: SocketAddr,
        reason: String,
    },
    #[error("{host}: ssh key of user {user} was refused")]
    AuthRefused { host: HostName, user: String },
    #[error(
        "{host}: host key changed (recorded {pinned}, presented {presented}); refusing to talk \
         to a host that may not be the one acura-ha built or was pointed at"
    )]
    HostKeyChanged {
        host: HostName,
        pinned: String,
        presented: String,
    },
    #[error("{host}: host key {presented} is not in the known hosts given; refusing to connect")]
    HostKeyUnknown { host: HostName, presented: String },
    #[error("{host}: `{command}` did not finish within {deadline:?}")]
    Deadline {
        host: HostName,
        command: String,
        deadline: Duration,
    },
    #[error("{host}: ssh channel failed: {reason}")]
    Channel { host: HostName, reason: String },
}

impl RemoteError {
    /// The host presented a key other than the one it must: never a check's failure, always
    /// the run's (exit 3).
    pub fn is_host_key(&self) -> bool {
        matches!(
            self,
            RemoteError::HostKeyChanged { .. } | RemoteError::HostKeyUnknown { .. }
        )
    }
}

impl From<RemoteError> for crate::Error {
    fn from(e: RemoteError) -> Self {
        crate::Error::Infrastructure(e.to_string())
    }
}

/// A connection refused because the host presented another key than it must: which host,
/// and the error as it said it (both fingerprints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostKeyRefusal {
    pub host: HostName,
    pub message: String,
}

impl std::fmt::Display for HostKeyRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

struct Client {
    host: HostName,
    keys: HostKeys,
    /// Set when the presented key was refused, to report why.
    refused: Arc<Mutex<Option<Verdict>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let presented = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => fingerprint(key.key_data()),
            PublicKeyOrCertificate::Certificate(cert) => fingerprint(cert.public_key()),
        };
        match self.keys.check(&self.host, &presented) {
            Verdict::Accepted => Ok(true),
            refused => {
                *self.refused.lock().unwrap() = Some(refused);
                Ok(false)
            }
        }
    }
}

struct Connection {
    addr: SocketAddr,
    handle: Handle<Client>,
}

/// How long a failed attempt to connect stands for the commands that come right after it.
const SHARED_FAILURE: Duration = Duration::from_secs(2);

/// One host's connection, and the last attempt to make one that failed: a command that
/// waited for that attempt, or comes within [`SHARED_FAILURE`] of its end, shares its failure
/// instead of queueing a fresh attempt of its own (a silent host would otherwise cost every
/// queued command a full timeout, one after the other).
#[derive(Default)]
struct Slot {
    connection: Option<Connection>,
    failed: Option<(Instant, SocketAddr, String)>,
}

/// The run's SSH client: every command to every host goes through here.
pub struct Remote {
    key: RunKey,
    user: String,
    config: Arc<client::Config>,
    keys: HostKeys,
    connections: Mutex<HashMap<HostName, Arc<AsyncMutex<Slot>>>>,
    /// Every connection refused for its host key, once each.
    refusals: Mutex<Vec<HostKeyRefusal>>,
}

impl Remote {
    /// A client that pins every host's key on first contact.
    pub fn new(key: RunKey, user: impl Into<String>) -> Self {
        Remote::with_host_keys(key, user, HostKeys::trust_on_first_use())
    }

    /// A client under the given host-key policy (a kept run's pins, a `known_hosts` file).
    pub fn with_host_keys(key: RunKey, user: impl Into<String>, keys: HostKeys) -> Self {
        let config = client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(5)),
            keepalive_max: 3,
            nodelay: true,
            ..Default::default()
        };
        Remote {
            key,
            user: user.into(),
            config: Arc::new(config),
            keys,
            connections: Mutex::default(),
            refusals: Mutex::default(),
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Host key fingerprints pinned so far, by host (for the kept record and the run's
    /// known-hosts artifact).
    pub fn pinned(&self) -> std::collections::BTreeMap<HostName, String> {
        self.keys.pinned()
    }

    pub fn host_keys(&self) -> &HostKeys {
        &self.keys
    }

    /// The connections refused so far because a host presented another key than it must.
    pub fn host_key_refusals(&self) -> Vec<HostKeyRefusal> {
        self.refusals.lock().unwrap().clone()
    }

    /// The host was replaced by a new machine: drop its connection, and pin the key the new
    /// machine presents on its first contact in place of the old one.
    pub fn replaced(&self, host: &HostName) {
        self.connections.lock().unwrap().remove(host);
        self.keys.expect_new(host);
    }

    /// Drop the connection (not the pin) of a host, e.g. after a power cut.
    pub fn disconnect(&self, host: &HostName) {
        self.connections.lock().unwrap().remove(host);
    }

    fn slot(&self, host: &HostName) -> Arc<AsyncMutex<Slot>> {
        self.connections
            .lock()
            .unwrap()
            .entry(host.clone())
            .or_default()
            .clone()
    }

    async fn connect(&self, host: &Host, deadline: Duration) -> Result<Connection, RemoteError> {
        let refused = Arc::new(Mutex::new(None));
        let handler = Client {
            host: host.name.clone(),
            keys: self.keys.clone(),
            refused: refused.clone(),
        };
        let connect = client::connect(self.config.clone(), host.ssh, handler);
        let mut handle = match tokio::time::timeout(deadline, connect).await {
            Err(_) => {
                return Err(RemoteError::Connect {
                    host: host.name.clone(),
                    addr: host.ssh,
                    reason: format!("timed out after {deadline:?}"),
                })
            }
            Ok(Err(e)) => {
                let refusal = match refused.lock().unwrap().take() {
                    Some(Verdict::Changed { pinned, presented }) => {
                        Some(RemoteError::HostKeyChanged {
                            host: host.name.clone(),
                            pinned,
                            presented,
                        })
                    }
                    Some(Verdict::Unknown { presented }) => Some(RemoteError::HostKeyUnknown {
                        host: host.name.clone(),
                        presented,
                    }),
                    Some(Verdict::Accepted) | None => None,
                };
                if let Some(refusal) = refusal {
                    let mut refusals = self.refusals.lock().unwrap();
                    let said = HostKeyRefusal {
                        host: host.name.clone(),
                        message: refusal.to_string(),
                    };
                    if !refusals.contains(&said) {
                        refusals.push(said);
                    }
                    return Err(refusal);
                }
                return Err(RemoteError::Connect {
                    host: host.name.clone(),
                    addr: host.ssh,
                    reason: e.to_string(),
                });
            }
            Ok(Ok(handle)) => handle,
        };
        let key = PrivateKeyWithHashAlg::new(self.key.private_key(), None);
        let auth = tokio::time::timeout(deadline, handle.authenticate_publickey(&self.user, key))
            .await
            .map_err(|_| RemoteError::Connect {
                host: host.name.clone(),
                addr: host.ssh,
                reason: "authentication timed out".into(),
            })?
            .map_err(|e| RemoteError::Connect {
                host: host.name.clone(),
                addr: host.ssh,
                reason: e.to_string(),
            })?;
        if !auth.success() {
            return Err(RemoteError::AuthRefused {
                host: host.name.clone(),
                user: self.user.clone(),
            });
        }
        Ok(Connection {
            addr: host.ssh,
            handle,
        })
    }

    /// Open a channel on the host's connection, connecting (again) when needed.
    async fn channel(
        &self,
        host: &Host,
        deadline: Duration,
    ) -> Result<russh::Channel<client::Msg>, RemoteError> {
        let asked = Instant::now();
        let slot = self.slot(&host.name);
        let mut slot = slot.lock().await;
        let conn = &mut slot.connection;
        if let Some(c) = conn.as_ref() {
            if c.handle.is_closed() || c.addr != host.ssh {
                *conn = None;
            }
        }
        if let Some(c) = conn.as_ref() {
            match c.handle.channel_open_session().await {
                Ok(ch) => return Ok(ch),
                Err(_) => *conn = None,
            }
        }
        if let Some((at, addr, reason)) = &slot.failed {
            if (*at > asked || at.elapsed() < SHARED_FAILURE) && *addr == host.ssh {
                return Err(RemoteError::Connect {
                    host: host.name.clone(),
                    addr: *addr,
                    reason: format!("{reason} (the attempt before this command)"),
                });
            }
        }
        let fresh = match self.connect(host, deadline).await {
            Ok(fresh) => fresh,
            Err(e) => {
                if let RemoteError::Connect { reason, .. } = &e {
                    slot.failed = Some((Instant::now(), host.ssh, reason.clone()));
                }
                return Err(e);
            }
        };
        slot.failed = None;
        let ch = fresh
            .handle
            .channel_open_session()
            .await
            .map_err(|e| RemoteError::Channel {
                host: host.name.clone(),
                reason: e.to_string(),
            })?;
        slot.connection = Some(fresh);
        Ok(ch)
    }

    /// Run `command` through the remote user's shell and collect its output, within `deadline`
    /// (connection included).
    pub async fn exec(
        &self,
        host: &Host,
        command: &str,
        deadline: Duration,
    ) -> Result<Output, RemoteError> {
        self.exec_with_stdin(host, command, None, deadline).await
    }

    pub async fn exec_with_stdin(
        &self,
        host: &Host,
        command: &str,
        stdin: Option<&[u8]>,
        deadline: Duration,
    ) -> Result<Output, RemoteError> {
        let started = Instant::now();
        let work = async {
            let mut channel = self.channel(host, deadline).await?;
            let fail = |e: russh::Error| RemoteError::Channel {
                host: host.name.clone(),
                reason: e.to_string(),
            };
            channel.exec(true, command.as_bytes()).await.map_err(fail)?;
            if let Some(data) = stdin {
                channel.data(data).await.map_err(fail)?;
            }
            channel.eof().await.map_err(fail)?;
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            let mut exit_status = None;
            let mut exit_signal = None;
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
                    ChannelMsg::ExitStatus { exit_status: s } => exit_status = Some(s),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        exit_signal = Some(format!("{signal_name:?}"))
                    }
                    _ => {}
                }
            }
            Ok(Output {
                exit_status,
                exit_signal,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
                duration: started.elapsed(),
            })
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(RemoteError::Deadline {
                host: host.name.clone(),
                command: command.to_owned(),
                deadline,
            }),
        }
    }

    /// Write `contents` to `path` on the host (parent directories created), with `mode`.
    pub async fn upload(
        &self,
        host: &Host,
        path: &str,
        contents: &[u8],
        mode: u32,
        deadline: Duration,
    ) -> Result<(), RemoteError> {
        let quoted = shell_quote(path);
        let command = format!(
            "umask 077 && mkdir -p \"$(dirname {quoted})\" && cat > {quoted}.acura-ha-part && \
             chmod {mode:o} {quoted}.acura-ha-part && mv -f {quoted}.acura-ha-part {quoted}"
        );
        let out = self
            .exec_with_stdin(host, &command, Some(contents), deadline)
            .await?;
        if out.success() {
            Ok(())
        } else {
            Err(RemoteError::Channel {
                host: host.name.clone(),
                reason: format!(
                    "upload of {path} failed ({}): {}",
                    out.status_text(),
                    out.tail(3)
                ),
            })
        }
    }

    /// Poll until the host's sshd accepts the run key, or `deadline` passes. The error is the
    /// last attempt's.
    pub async fn wait_ready(&self, host: &Host, deadline: Duration) -> Result<(), RemoteError> {
        let until = Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let attempt = self
                .exec(
                    host,
                    "true",
                    left.min(Duration::from_secs(5))
                        .max(Duration::from_millis(500)),
                )
                .await;
            match attempt {
                Ok(out) if out.success() => return Ok(()),
                Err(e) if e.is_host_key() => return Err(e),
                Err(e) if Instant::now() >= until => return Err(e),
                Ok(out) if Instant::now() >= until => {
                    return Err(RemoteError::Channel {
                        host: host.name.clone(),
                        reason: format!("`true` failed: {}", out.status_text()),
                    })
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
}

/// Quote a string for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting() {
        assert_eq!(
            shell_quote("/etc/nginx/nginx.conf"),
            "/etc/nginx/nginx.conf"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
