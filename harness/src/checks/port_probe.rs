//! Probing many ports at once, from a host or from the harness. On a host: one command, a
//! small python3 script that connects to every target concurrently and prints JSON, so a row
//! of the matrix costs one SSH round trip. From the harness: tokio sockets with timeouts.
//!
//! A UDP probe sends a real GELF datagram; all it can tell by itself is "refused" (an ICMP
//! port-unreachable came back) or "sent". Whether the datagram arrived is for the log index
//! to say (see the reachability check), never assumed.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::ports::Protocol;
use crate::remote::shell_quote;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub id: usize,
    pub host: Ipv4Addr,
    pub port: u16,
    #[serde(rename = "proto")]
    pub protocol: Protocol,
    /// The datagram a UDP probe sends (a GELF record, UTF-8 JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// What one probe saw by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Seen {
    #[serde(rename = "open")]
    Open,
    #[serde(rename = "refused")]
    Refused,
    #[serde(rename = "timed out")]
    TimedOut,
    /// The network said the host cannot be reached (no route, host unreachable).
    #[serde(rename = "unreachable")]
    Unreachable,
    /// UDP: the datagram left and nothing came back.
    #[serde(rename = "sent")]
    Sent,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Probed {
    pub id: usize,
    pub state: Seen,
    /// Milliseconds from the start of the probe to its outcome.
    pub ms: f64,
    #[serde(default)]
    pub detail: String,
}

/// How long a host may take to accept a connection (the guide's `nc -w 2`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest wait for an ICMP error after a datagram: when no TCP connect to the same host
/// answered, so its round trip is unknown.
pub const ICMP_WAIT: Duration = Duration::from_secs(1);
/// The shortest wait for an ICMP error.
pub const ICMP_MIN: Duration = Duration::from_millis(50);
/// A datagram waits this many round trips (of a TCP connect to the same host) for its error.
pub const ICMP_ROUNDS: u32 = 10;

/// How long a datagram waits for an ICMP error, given the round trip of a TCP connect to the
/// same host (`None`: none answered).
pub fn icmp_wait(rtt: Option<Duration>) -> Duration {
    match rtt {
        Some(r) => (r * ICMP_ROUNDS).clamp(ICMP_MIN, ICMP_WAIT),
        None => ICMP_WAIT,
    }
}

const SCRIPT: &str = r#"import errno, json, socket, sys, threading, time
targets = json.loads(sys.argv[1])
timeout, icmp_cap, icmp_min, rounds = (float(a) for a in sys.argv[2:6])
results = {}
# A closed UDP port's ICMP error comes back within a round trip. A datagram waits for it
# `rounds` round trips of the first TCP connect to the same host that answered (icmp_min at
# least, icmp_cap at most, and icmp_cap when no connect to that host answered).
lock = threading.Lock()
rtt, tcp_left, settled = {}, {}, {}
for t in targets:
    if t["proto"] == "tcp":
        tcp_left[t["host"]] = tcp_left.get(t["host"], 0) + 1
        settled.setdefault(t["host"], threading.Event())
def tcp_done(host, seconds):
    with lock:
        if seconds is not None and host not in rtt:
            rtt[host] = seconds
            settled[host].set()
        tcp_left[host] -= 1
        if tcp_left[host] == 0:
            settled[host].set()
def icmp_wait(host, sent):
    if host in settled:
        settled[host].wait(max(0.0, sent + icmp_cap - time.monotonic()))
    with lock:
        r = rtt.get(host)
    wait = icmp_cap if r is None else min(icmp_cap, max(icmp_min, rounds * r))
    return max(0.0, sent + wait - time.monotonic())
def probe(t):
    started = time.monotonic()
    udp = t["proto"] == "udp"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    s.settimeout(timeout)
    state, detail, answered = "open", "", False
    try:
        s.connect((t["host"], t["port"]))
        answered = True
        if udp:
            s.send(t["payload"].encode())
            # A closed port answers with ICMP port unreachable, which recv reports as refused.
            s.settimeout(icmp_wait(t["host"], time.monotonic()))
            try:
                s.recv(65535)
            except socket.timeout:
                pass
            state = "sent"
    except socket.timeout:
        state = "timed out"
    except ConnectionRefusedError:
        state, answered = "refused", True
    except OSError as e:
        state = "unreachable"
        detail = "%s: %s" % (errno.errorcode.get(e.errno, e.errno), e.strerror)
    finally:
        s.close()
    elapsed = time.monotonic() - started
    if not udp:
        tcp_done(t["host"], elapsed if answered else None)
    results[t["id"]] = {"id": t["id"], "state": state, "detail": detail,
                        "ms": round(elapsed * 1000, 1)}
threads = [threading.Thread(target=probe, args=(t,)) for t in targets]
for th in threads:
    th.start()
for th in threads:
    th.join()
print(json.dumps([results[t["id"]] for t in targets]))
"#;

/// The one command that probes every target from a host.
pub fn command(targets: &[Target]) -> String {
    let targets = serde_json::to_string(targets).expect("targets serialize");
    format!(
        "python3 - {} {} {} {} {ICMP_ROUNDS} <<'ACURA_HA_PROBE'\n{SCRIPT}ACURA_HA_PROBE",
        shell_quote(&targets),
        CONNECT_TIMEOUT.as_secs_f64(),
        ICMP_WAIT.as_secs_f64(),
        ICMP_MIN.as_secs_f64(),
    )
}

/// The script's output; every target must have its result.
pub fn parse(output: &str, targets: &[Target]) -> Result<Vec<Probed>, String> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .ok_or_else(|| "the probe printed no result".to_owned())?;
    let probed: Vec<Probed> =
        serde_json::from_str(line).map_err(|e| format!("the probe's result is not JSON: {e}"))?;
    if let Some(missing) = targets
        .iter()
        .find(|t| !probed.iter().any(|p| p.id == t.id))
    {
        return Err(format!("the probe has no result for target {}", missing.id));
    }
    Ok(probed)
}

/// Probe every target from the harness itself, concurrently. A datagram waits for its ICMP
/// error as long as [`icmp_wait`] says for the round trip of the first TCP connect to the same
/// host that answered (the script on a host does the same).
pub async fn from_harness(targets: &[Target]) -> Vec<Probed> {
    let trips = RoundTrips::of(targets);
    join_all(targets.iter().map(|t| probe_one(t, &trips))).await
}

/// The first answered TCP connect's round trip per host, as the row's probes learn it.
struct RoundTrips {
    /// Per host: its round trip once known, and how many of its TCP probes are still out.
    hosts: std::sync::Mutex<std::collections::HashMap<Ipv4Addr, (Option<Duration>, usize)>>,
    changed: tokio::sync::Notify,
}

impl RoundTrips {
    fn of(targets: &[Target]) -> RoundTrips {
        let mut hosts = std::collections::HashMap::new();
        for t in targets.iter().filter(|t| t.protocol == Protocol::Tcp) {
            hosts.entry(t.host).or_insert((None, 0)).1 += 1;
        }
        RoundTrips {
            hosts: std::sync::Mutex::new(hosts),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// A TCP probe to `host` ended; `rtt` when the host answered it.
    fn tcp_done(&self, host: Ipv4Addr, rtt: Option<Duration>) {
        if let Some(entry) = self.hosts.lock().unwrap().get_mut(&host) {
            entry.0 = entry.0.or(rtt);
            entry.1 -= 1;
        }
        self.changed.notify_waiters();
    }

    /// `Some(rtt)` once known, `Some(None)` once no TCP probe to `host` is left to tell it.
    fn settled(&self, host: Ipv4Addr) -> Option<Option<Duration>> {
        match self.hosts.lock().unwrap().get(&host) {
            None => Some(None),
            Some((Some(rtt), _)) => Some(Some(*rtt)),
            Some((None, 0)) => Some(None),
            Some((None, _)) => None,
        }
    }

    /// How long a datagram sent to `host` at `sent` waits for its ICMP error.
    async fn icmp_deadline(&self, host: Ipv4Addr, sent: Instant) -> Instant {
        let cap = sent + ICMP_WAIT;
        let rtt = loop {
            let changed = self.changed.notified();
            if let Some(rtt) = self.settled(host) {
                break rtt;
            }
            if tokio::time::timeout_at(cap.into(), changed).await.is_err() {
                break None;
            }
        };
        sent + icmp_wait(rtt)
    }
}

async fn probe_one(t: &Target, trips: &RoundTrips) -> Probed {
    let started = Instant::now();
    let addr = SocketAddr::from((t.host, t.port));
    let (state, detail) = match t.protocol {
        Protocol::Tcp => {
            let outcome =
                tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await;
            let answered = matches!(&outcome, Ok(Ok(_)))
                || matches!(&outcome, Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused);
            trips.tcp_done(t.host, answered.then(|| started.elapsed()));
            match outcome {
                Err(_) => (Seen::TimedOut, String::new()),
                Ok(Ok(_)) => (Seen::Open, String::new()),
                Ok(Err(e)) => classify(&e),
            }
        }
        Protocol::Udp => {
            match send_datagram(addr, t.payload.as_deref().unwrap_or_default(), trips).await {
                Ok(state) => (state, String::new()),
                Err(e) => classify(&e),
            }
        }
    };
    Probed {
        id: t.id,
        state,
        ms: started.elapsed().as_secs_f64() * 1000.0,
        detail,
    }
}

async fn send_datagram(
    addr: SocketAddr,
    payload: &str,
    trips: &RoundTrips,
) -> std::io::Result<Seen> {
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
    socket.connect(addr).await?;
    let sent = Instant::now();
    socket.send(payload.as_bytes()).await?;
    let host = match addr.ip() {
        std::net::IpAddr::V4(ip) => ip,
        std::net::IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    };
    let deadline = trips.icmp_deadline(host, sent).await;
    let mut buf = [0u8; 512];
    match tokio::time::timeout_at(deadline.into(), socket.recv(&mut buf)).await {
        Err(_) | Ok(Ok(_)) => Ok(Seen::Sent),
        Ok(Err(e)) => Err(e),
    }
}

fn classify(e: &std::io::Error) -> (Seen, String) {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => (Seen::Refused, String::new()),
        std::io::ErrorKind::TimedOut => (Seen::TimedOut, String::new()),
        _ => (Seen::Unreachable, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::recorded;

    fn targets() -> Vec<Target> {
        vec![
            Target {
                id: 0,
                host: "10.213.7.11".parse().unwrap(),
                port: 22,
                protocol: Protocol::Tcp,
                payload: None,
            },
            Target {
                id: 1,
                host: "10.213.7.12".parse().unwrap(),
                port: 22,
                protocol: Protocol::Tcp,
                payload: None,
            },
            Target {
                id: 2,
                host: "10.213.7.10".parse().unwrap(),
                port: 12201,
                protocol: Protocol::Udp,
                payload: Some(
                    r#"{"version":"1.1","host":"deployer","short_message":"it's a probe"}"#.into(),
                ),
            },
        ]
    }

    #[test]
    fn a_recorded_run_parses_with_one_result_per_target() {
        let probed = parse(recorded!("probe-deployer.json"), &targets()).unwrap();
        assert_eq!(probed[0].state, Seen::Open);
        assert_eq!(probed[1].state, Seen::Unreachable);
        assert_eq!(probed[1].detail, "EHOSTUNREACH: No route to host");
        assert_eq!(probed[2].state, Seen::Sent);
    }

    #[test]
    fn a_datagram_waits_ten_round_trips_for_its_icmp_error_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(icmp_wait(Some(ms(1))), ICMP_MIN);
        assert_eq!(icmp_wait(Some(ms(30))), ms(300));
        assert_eq!(icmp_wait(Some(ms(400))), ICMP_WAIT);
        assert_eq!(icmp_wait(None), ICMP_WAIT);
    }

    #[test]
    fn a_result_missing_a_target_is_an_error() {
        let err = parse(r#"[{"id": 0, "state": "open", "ms": 1.0}]"#, &targets()).unwrap_err();
        assert_eq!(err, "the probe has no result for target 1");
    }

    #[test]
    fn the_command_quotes_payloads_for_the_shell() {
        let cmd = command(&targets());
        assert!(cmd.starts_with("python3 - '[{\"id\":0,"), "{cmd}");
        assert!(cmd.contains(r#"it'\''s a probe"#), "{cmd}");
        assert!(cmd.ends_with("\nACURA_HA_PROBE"), "{cmd}");
    }

    /// The script really probes: run it here against a listening and a closed port. The
    /// machine running the tests needs python3, as every host the script runs on has it.
    #[tokio::test]
    async fn the_script_tells_open_from_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let udp_closed = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let local = "127.0.0.1".parse().unwrap();
        let targets = vec![
            Target {
                id: 0,
                host: local,
                port: open,
                protocol: Protocol::Tcp,
                payload: None,
            },
            Target {
                id: 1,
                host: local,
                port: closed,
                protocol: Protocol::Tcp,
                payload: None,
            },
            Target {
                id: 2,
                host: local,
                port: udp_closed,
                protocol: Protocol::Udp,
                payload: Some("{}".into()),
            },
        ];
        let out = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command(&targets))
            .output()
            .await
            .expect("sh runs");
        assert!(
            out.status.success(),
            "the probe script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let probed = parse(&String::from_utf8_lossy(&out.stdout), &targets).unwrap();
        let states: Vec<Seen> = probed.iter().map(|p| p.state).collect();
        assert_eq!(states, vec![Seen::Open, Seen::Refused, Seen::Refused]);
        let from_here: Vec<Seen> = from_harness(&targets)
            .await
            .iter()
            .map(|p| p.state)
            .collect();
        assert_eq!(
            from_here, states,
            "the harness's own probe agrees with the script"
        );
    }
}
