//! A small QMP client: JSON objects, one per line, over the VM's unix socket.
//!
//! QEMU greets, the client negotiates capabilities, then every command gets a reply carrying
//! the command's `id`. Asynchronous events (`STOP`, `SHUTDOWN`, …) may arrive between a command
//! and its reply; they are kept for the caller instead of being taken for the reply.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    #[error("qmp socket {path}: {source}")]
    Connect {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("qmp: {0}")]
    Io(#[from] std::io::Error),
    #[error("qmp: unexpected message: {0}")]
    Protocol(String),
    #[error("qmp: `{command}` failed: {class}: {desc}")]
    Command {
        command: String,
        class: String,
        desc: String,
    },
    #[error("qmp: the connection closed before `{0}` was answered")]
    Closed(String),
    #[error("qmp: no answer to `{command}` within {deadline:?}")]
    Deadline { command: String, deadline: Duration },
}

/// One message from QEMU, classified.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Greeting {
        version: String,
    },
    Return {
        id: Option<Value>,
        value: Value,
    },
    Error {
        id: Option<Value>,
        class: String,
        desc: String,
    },
    Event {
        name: String,
        data: Value,
    },
}

impl Message {
    pub fn parse(line: &str) -> Result<Message, QmpError> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| QmpError::Protocol(format!("{e}: {line}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| QmpError::Protocol(line.to_owned()))?;
        let id = object.get("id").cloned();
        if let Some(greeting) = object.get("QMP") {
            let v = &greeting["version"]["qemu"];
            let version = format!("{}.{}.{}", v["major"], v["minor"], v["micro"]);
            return Ok(Message::Greeting { version });
        }
        if let Some(value) = object.get("return") {
            return Ok(Message::Return {
                id,
                value: value.clone(),
            });
        }
        if let Some(error) = object.get("error") {
            let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
            return Ok(Message::Error {
                id,
                class: text("class"),
                desc: text("desc"),
            });
        }
        if let Some(name) = object.get("event").and_then(Value::as_str) {
            return Ok(Message::Event {
                name: name.to_owned(),
                data: object.get("data").cloned().unwrap_or(Value::Null),
            });
        }
        Err(QmpError::Protocol(line.to_owned()))
    }
}

/// A negotiated QMP session.
pub struct Qmp<S> {
    stream: BufReader<S>,
    next_id: u64,
    /// Events received so far, oldest first.
    pub events: Vec<(String, Value)>,
    pub version: String,
}

impl Qmp<tokio::net::UnixStream> {
    /// Connect to the VM's QMP socket and negotiate.
    pub async fn connect(path: &Path) -> Result<Self, QmpError> {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|source| QmpError::Connect {
                path: path.display().to_string(),
                source,
            })?;
        Qmp::handshake(stream).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Qmp<S> {
    pub async fn handshake(stream: S) -> Result<Self, QmpError> {
        let mut qmp = Qmp {
            stream: BufReader::new(stream),
            next_id: 1,
            events: Vec::new(),
            version: String::new(),
        };
        match qmp.read().await? {
            Some(Message::Greeting { version }) => qmp.version = version,
            Some(other) => {
                return Err(QmpError::Protocol(format!(
                    "expected a greeting, got {other:?}"
                )))
            }
            None => return Err(QmpError::Closed("greeting".into())),
        }
        qmp.execute("qmp_capabilities", None).await?;
        Ok(qmp)
    }

    async fn read(&mut self) -> Result<Option<Message>, QmpError> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Ok(None);
            }
            if !line.trim().is_empty() {
                return Message::parse(line.trim()).map(Some);
            }
        }
    }

    /// Run `command` and return its `return` value.
    pub async fn execute(
        &mut self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({ "execute": command, "id": id });
        if let Some(arguments) = arguments {
            request["arguments"] = arguments;
        }
        let mut text = request.to_string();
        text.push('\n');
        self.stream.get_mut().write_all(text.as_bytes()).await?;
        self.stream.get_mut().flush().await?;
        loop {
            match self.read().await? {
                None => return Err(QmpError::Closed(command.to_owned())),
                Some(Message::Event { name, data }) => self.events.push((name, data)),
                Some(Message::Return { id: reply, value }) if answers(&reply, id) => {
                    return Ok(value)
                }
                Some(Message::Error {
                    id: reply,
                    class,
                    desc,
                }) if answers(&reply, id) => {
                    return Err(QmpError::Command {
                        command: command.to_owned(),
                        class,
                        desc,
                    })
                }
                Some(other) => {
                    return Err(QmpError::Protocol(format!(
                        "reply to `{command}` (id {id}) expected, got {other:?}"
                    )))
                }
            }
        }
    }

    /// Like [`Qmp::execute`], bounded by `deadline`.
    pub async fn execute_within(
        &mut self,
        command: &str,
        arguments: Option<Value>,
        deadline: Duration,
    ) -> Result<Value, QmpError> {
        tokio::time::timeout(deadline, self.execute(command, arguments))
            .await
            .map_err(|_| QmpError::Deadline {
                command: command.to_owned(),
                deadline,
            })?
    }

    /// `quit` ends QEMU at once; its reply may be lost with the connection, which is success too.
    pub async fn quit(&mut self) -> Result<(), QmpError> {
        match self.execute("quit", None).await {
            Ok(_) | Err(QmpError::Closed(_)) => Ok(()),
            Err(QmpError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the guest's vCPUs run (`query-status`).
    pub async fn running(&mut self) -> Result<bool, QmpError> {
        let status = self.execute("query-status", None).await?;
        Ok(status["running"].as_bool().unwrap_or(false))
    }

    /// Wait for the event `name` (already received or still to come), up to `deadline`.
    pub async fn wait_event(&mut self, name: &str, deadline: Duration) -> Result<Value, QmpError> {
        if let Some(pos) = self.events.iter().position(|(n, _)| n == name) {
            return Ok(self.events.remove(pos).1);
        }
        let wait = async {
            loop {
                match self.read().await? {
                    None => return Err(QmpError::Closed(format!("event {name}"))),
                    Some(Message::Event { name: n, data }) if n == name => return Ok(data),
                    Some(Message::Event { name: n, data }) => self.events.push((n, data)),
                    Some(other) => return Err(QmpError::Protocol(format!("{other:?}"))),
                }
            }
        };
        tokio::time::timeout(deadline, wait)
            .await
            .map_err(|_| QmpError::Deadline {
                command: format!("event {name}"),
                deadline,
            })?
    }
}

/// Replies carry the request's id; QEMU leaves it out only for replies to unparsable input.
fn answers(reply: &Option<Value>, id: u64) -> bool {
    reply.as_ref().and_then(Value::as_u64) == Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncBufReadExt, AsyncWriteExt, BufReader};

    const GREETING: &str = r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18"}, "capabilities": ["oob"]}}"#;

    #[test]
    fn messages_are_classified() {
        assert_eq!(
            Message::parse(GREETING).unwrap(),
            Message::Greeting {
                version: "7.2.22".into()
            }
        );
        assert_eq!(
            Message::parse(r#"{"return": {}, "id": 3}"#).unwrap(),
            Message::Return {
                id: Some(json!(3)),
                value: json!({})
            }
        );
        assert_eq!(
            Message::parse(
                r#"{"id": 4, "error": {"class": "DeviceNotFound", "desc": "Device 'nope' not found"}}"#
            )
            .unwrap(),
            Message::Error {
                id: Some(json!(4)),
                class: "DeviceNotFound".into(),
                desc: "Device 'nope' not found".into()
            }
        );
        let event = r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}"#;
        assert_eq!(
            Message::parse(event).unwrap(),
            Message::Event {
                name: "STOP".into(),
                data: Value::Null
            }
        );
        assert!(matches!(Message::parse("[1]"), Err(QmpError::Protocol(_))));
        assert!(matches!(
            Message::parse("{\"return\""),
            Err(QmpError::Protocol(_))
        ));
        assert!(matches!(
            Message::parse(r#"{"hello": 1}"#),
            Err(QmpError::Protocol(_))
        ));
    }

    /// A scripted QEMU: answers each request line with the next canned reply (after
    /// substituting the request's id), checking the request is the one expected.
    async fn fake_qemu(
        server: tokio::io::DuplexStream,
        script: Vec<(&'static str, Vec<&'static str>)>,
    ) -> Vec<Value> {
        let (read, mut write) = tokio::io::split(server);
        let mut lines = BufReader::new(read).lines();
        write
            .write_all(format!("{GREETING}\r\n").as_bytes())
            .await
            .unwrap();
        let mut seen = Vec::new();
        for (expected, replies) in script {
            let Some(line) = lines.next_line().await.unwrap() else {
                break;
            };
            let request: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(request["execute"], expected, "{line}");
            let id = request["id"].to_string();
            for reply in replies {
                write
                    .write_all(format!("{}\r\n", reply.replace("$ID", &id)).as_bytes())
                    .await
                    .unwrap();
            }
            seen.push(request);
        }
        seen
    }

    #[tokio::test]
    async fn events_before_a_reply_are_kept_and_errors_surface() {
        let (client, server) = duplex(4096);
        let server = tokio::spawn(fake_qemu(
            server,
            vec![
                ("qmp_capabilities", vec![r#"{"return": {}, "id": $ID}"#]),
                (
                    "stop",
                    vec![
                        r#"{"timestamp": {"seconds": 5, "microseconds": 0}, "event": "STOP"}"#,
                        r#"{"return": {}, "id": $ID}"#,
                    ],
                ),
                (
                    "query-status",
                    vec![r#"{"return": {"status": "paused", "running": false}, "id": $ID}"#],
                ),
                (
                    "set_link",
                    vec![
                        r#"{"error": {"class": "DeviceNotFound", "desc": "Device 'eth9' not found"}, "id": $ID}"#,
                    ],
                ),
            ],
        ));
        let mut qmp = Qmp::handshake(client).await.unwrap();
        assert_eq!(qmp.version, "7.2.22");
        qmp.execute("stop", None).await.unwrap();
        assert_eq!(qmp.events.len(), 1);
        assert!(!qmp.running().await.unwrap());
        let err = qmp
            .execute("set_link", Some(json!({"name": "eth9", "up": false})))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("DeviceNotFound: Device 'eth9' not found"),
            "{err}"
        );
        assert!(qmp
            .wait_event("STOP", Duration::from_millis(10))
            .await
            .is_ok());
        let requests = server.await.unwrap();
        assert_eq!(
            requests[3]["arguments"],
            json!({"name": "eth9", "up": false})
        );
        // Ids increase, so a late reply is never taken for a newer command's.
        let ids: Vec<u64> = requests.iter().map(|r| r["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn quit_accepts_the_connection_closing() {
        let (client, server) = duplex(4096);
        let server = tokio::spawn(fake_qemu(
            server,
            vec![
                ("qmp_capabilities", vec![r#"{"return": {}, "id": $ID}"#]),
                ("quit", vec![]),
            ],
        ));
        let mut qmp = Qmp::handshake(client).await.unwrap();
        let quit = tokio::spawn(async move { qmp.quit().await });
        server.await.unwrap();
        assert!(quit.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_reply_with_another_id_is_a_protocol_error() {
        let (client, server) = duplex(4096);
        tokio::spawn(fake_qemu(
            server,
            vec![("qmp_capabilities", vec![r#"{"return": {}, "id": 77}"#])],
        ));
        let err = Qmp::handshake(client).await.err().unwrap();
        assert!(matches!(err, QmpError::Protocol(_)), "{err}");
    }
}
