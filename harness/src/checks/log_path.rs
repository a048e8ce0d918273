//! The UDP log path end to end: GELF records, each with a unique nonce, sent from the harness
//! to LB:12201 (plain, gzip, zlib, and one big enough to be chunked) must be found through
//! Kibana within a deadline. The observation keeps how long each took.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::delivery::{self, Window};
use super::kibana::Kibanas;
use super::observation::{CheckName, Findings, Observation, Verdict};
use super::port_probe::ICMP_WAIT;
use super::scope::Scope;
use crate::gelf::{self, Encoding, GelfMessage};
use crate::topology::HostName;

pub use super::kibana::LOG_INDEX;

pub const DEADLINE: Duration = Duration::from_secs(60);
/// The longest a record may take from the LB to the log index: the delivery window's ceiling.
pub const DELIVERY: Duration = Duration::from_secs(45);
const PORT: u16 = 12201;
/// Big enough for several WAN-sized chunks, far from a chunk boundary whatever the nonce and
/// timestamp add.
const CHUNKED_TEXT: usize = 6000;

/// The ways a record travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Plain,
    Gzip,
    Zlib,
    Chunked,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::Plain,
        Variant::Gzip,
        Variant::Zlib,
        Variant::Chunked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Gzip => "gzip",
            Variant::Zlib => "zlib",
            Variant::Chunked => "chunked",
        }
    }

    /// The record and the datagrams that carry it.
    pub fn datagrams(self) -> (GelfMessage, Vec<Vec<u8>>) {
        let mut message =
            GelfMessage::with_nonce("acura-ha", format!("acura-ha log path {}", self.as_str()));
        let (encoding, size) = match self {
            Variant::Plain => (Encoding::Plain, gelf::LAN_CHUNK_SIZE),
            Variant::Gzip => (Encoding::Gzip, gelf::LAN_CHUNK_SIZE),
            Variant::Zlib => (Encoding::Zlib, gelf::LAN_CHUNK_SIZE),
            Variant::Chunked => {
                message.full_message = Some(filler(CHUNKED_TEXT));
                (Encoding::Plain, gelf::WAN_CHUNK_SIZE)
            }
        };
        let datagrams = message
            .datagrams(encoding, size, gelf::random_message_id())
            .expect("the record is valid and fits in 128 chunks");
        (message, datagrams)
    }
}

/// Text that does not compress to nothing, so the chunked record stays big on the wire.
fn filler(len: usize) -> String {
    let words = [
        "acura", "disaster", "recovery", "replica", "failover", "cutover", "snapshot",
    ];
    let mut out = String::with_capacity(len + 16);
    let mut i = 0usize;
    while out.len() < len {
        out.push_str(words[(i * 7 + i / 3) % words.len()]);
        out.push(' ');
        i += 1;
    }
    out.truncate(len);
    out
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub datagrams: usize,
    pub found: bool,
    /// From sending the record to finding it through Kibana.
    pub delay_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPathMeasured {
    pub nonces: BTreeMap<Cow<'static, str>, String>,
    /// Whose Kibana answered last.
    pub kibana: Option<HostName>,
    pub errors: Vec<String>,
    /// How long a missing record was waited for, and what sized it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPathFindings {
    /// `lb:12201/udp`
    pub via: String,
    pub records: BTreeMap<Cow<'static, str>, Delivery>,
    pub measured: LogPathMeasured,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    let Some(lb) = scope.topology.lb() else {
        return Observation::unfinished(CheckName::LogPath, "no LB in the topology".into(), None);
    };
    let credentials = &scope.ctx.scenario().product.kibana;
    let mut kibanas = Kibanas::on(
        &scope.expect.live_members(scope.topology),
        credentials,
        scope.ctx.pace(),
    );

    let mut findings = LogPathFindings {
        via: format!("{}:{PORT}/udp", lb.name),
        ..LogPathFindings::default()
    };
    let mut sent: BTreeMap<String, (Variant, Instant)> = BTreeMap::new();
    let mut refused = Vec::new();
    let mut outgoing = Vec::new();
    for variant in Variant::ALL {
        let (message, datagrams) = variant.datagrams();
        let nonce = message.nonce().expect("with_nonce sets one").to_owned();
        findings
            .measured
            .nonces
            .insert(variant.as_str().into(), nonce.clone());
        findings.records.insert(
            variant.as_str().into(),
            Delivery {
                datagrams: datagrams.len(),
                ..Delivery::default()
            },
        );
        outgoing.push((variant, nonce, datagrams));
    }
    scope.seen.set(format!(
        "sending {} records to {}",
        outgoing.len(),
        findings.via
    ));
    // All at once, each from its own socket. A closed port answers with an ICMP error, which
    // the socket reports whenever it comes: each socket is watched while Kibana is searched,
    // and a refused record is no longer waited for.
    let to = SocketAddr::from((lb.address, PORT));
    let refusals = Refusals::default();
    let results = futures::future::join_all(outgoing.into_iter().map(
        |(variant, nonce, datagrams)| async move {
            let at = Instant::now();
            (variant, nonce, at, open_and_send(to, &datagrams).await)
        },
    ))
    .await;
    let mut watchers = tokio::task::JoinSet::new();
    for (variant, nonce, at, result) in results {
        match result {
            Ok(socket) => {
                sent.insert(nonce.clone(), (variant, at));
                watchers.spawn(refusals.clone().watch(socket, nonce));
            }
            Err(e) => {
                refused.push(variant);
                findings
                    .measured
                    .errors
                    .push(format!("{}: {e}", variant.as_str()));
            }
        }
    }

    let sent_at: BTreeMap<String, Instant> =
        sent.iter().map(|(n, (_, at))| (n.clone(), *at)).collect();
    let limits = (scope.ctx.paced(delivery::FLOOR), scope.ctx.paced(DELIVERY));
    let delivered = kibanas
        .await_delivery(
            &sent_at,
            &scope.deliveries,
            limits,
            |nonce| refusals.contains(nonce),
            |found| {
                scope.seen.set(format!(
                    "{found} of {} records found through Kibana",
                    Variant::ALL.len()
                ))
            },
        )
        .await;
    watchers.abort_all();
    let mut heard = refusals.take();
    for variant in Variant::ALL {
        let nonce = &findings.measured.nonces[variant.as_str()];
        if let Some(e) = heard.remove(nonce) {
            if !delivered.found.contains_key(nonce) {
                refused.push(variant);
                findings
                    .measured
                    .errors
                    .push(format!("{}: {e}", variant.as_str()));
            }
        }
    }
    findings.measured.kibana = delivered.answered_by;
    findings.measured.window = Some(delivered.window);
    for e in delivered.errors {
        if !findings.measured.errors.contains(&e) {
            findings.measured.errors.push(e);
        }
    }
    for (nonce, delay) in delivered.found {
        if let Some((variant, _)) = sent.get(&nonce) {
            let d = findings
                .records
                .get_mut(variant.as_str())
                .expect("recorded above");
            d.found = true;
            d.delay_ms = Some(delay.as_millis() as u64);
        }
    }
    refused.sort();
    evaluate(findings, &refused, kibanas.is_empty(), &delivered.window)
}

/// The records whose datagrams a closed port refused (an ICMP error came back), with the
/// error, as the sockets' watchers heard them.
#[derive(Clone, Default)]
struct Refusals(Arc<Mutex<BTreeMap<String, String>>>);

impl Refusals {
    /// Wait for the socket's ICMP error (until aborted); a reply datagram is no refusal.
    async fn watch(self, socket: tokio::net::UdpSocket, nonce: String) {
        let mut buf = [0u8; 64];
        loop {
            if let Err(e) = socket.recv(&mut buf).await {
                self.0.lock().unwrap().insert(nonce, e.to_string());
                return;
            }
        }
    }

    fn contains(&self, nonce: &str) -> bool {
        self.0.lock().unwrap().contains_key(nonce)
    }

    fn take(&self) -> BTreeMap<String, String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Every datagram of one record from one socket (nginx keeps a UDP session's datagrams on one
/// upstream, so the chunks are reassembled in one place); the socket stays connected, to hear
/// an ICMP error.
async fn open_and_send(
    to: SocketAddr,
    datagrams: &[Vec<u8>],
) -> std::io::Result<tokio::net::UdpSocket> {
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
    socket.connect(to).await?;
    for d in datagrams {
        socket.send(d).await?;
    }
    Ok(socket)
}

/// Send one record's datagrams, then wait briefly for an ICMP error: a refused port is known
/// at once. For a single record sent outside a check (the durability markers).
pub(crate) async fn send(to: SocketAddr, datagrams: &[Vec<u8>]) -> std::io::Result<()> {
    let socket = open_and_send(to, datagrams).await?;
    let mut buf = [0u8; 64];
    match tokio::time::timeout(ICMP_WAIT, socket.recv(&mut buf)).await {
        Ok(Err(e)) => Err(e),
        _ => Ok(()),
    }
}

/// `window`: how long a missing record was waited for, and what sized it.
pub(crate) fn evaluate(
    findings: LogPathFindings,
    refused: &[Variant],
    no_kibana: bool,
    window: &Window,
) -> Observation {
    let mut reasons = Vec::new();
    // Without one answer from Kibana no record can be confirmed: say why once.
    let unsearchable = if no_kibana {
        Some("no live node to search Kibana on".to_owned())
    } else if findings.measured.kibana.is_none() && refused.len() < Variant::ALL.len() {
        // Kibana is asked only about records that went out; when the LB refused every one,
        // the last error is a refusal, not Kibana's.
        findings
            .measured
            .errors
            .last()
            .map(|e| format!("Kibana never answered: {e}"))
    } else {
        None
    };
    if let Some(why) = &unsearchable {
        reasons.push(why.clone());
    }
    for variant in Variant::ALL {
        let name = variant.as_str();
        if refused.contains(&variant) {
            reasons.push(format!("{name}: {} refused the datagram", findings.via));
            continue;
        }
        let found = findings.records.get(name).is_some_and(|d| d.found);
        if found {
            continue;
        }
        reasons.push(match unsearchable {
            Some(_) => format!("{name}: record sent to {} not confirmed", findings.via),
            None => format!(
                "{name}: record sent to {} not found through Kibana within {window}",
                findings.via,
            ),
        });
    }
    Observation::new(
        CheckName::LogPath,
        Findings::LogPath(findings),
        Verdict::from_reasons(reasons),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::h;

    fn findings(found: &[Variant]) -> LogPathFindings {
        let mut f = LogPathFindings {
            via: "lb:12201/udp".into(),
            ..LogPathFindings::default()
        };
        for v in Variant::ALL {
            let ok = found.contains(&v);
            f.records.insert(
                v.as_str().into(),
                Delivery {
                    datagrams: if v == Variant::Chunked { 5 } else { 1 },
                    found: ok,
                    delay_ms: ok.then_some(420),
                },
            );
        }
        f.measured.kibana = Some(h("node-1"));
        f
    }

    #[test]
    fn every_record_found_passes() {
        let o = evaluate(findings(&Variant::ALL), &[], false, &ceiling());
        assert!(o.passed(), "{:?}", o.verdict);
    }

    /// The window when nothing was delivered: the ceiling.
    fn ceiling() -> Window {
        Window::sized(None, 0, delivery::FLOOR, DELIVERY)
    }

    #[test]
    fn a_lost_record_names_its_encoding_and_the_window_really_waited() {
        // The window the deliveries sized: the message names it and what sized it.
        let window = Window::sized(
            Some(Duration::from_millis(640)),
            3,
            delivery::FLOOR * 5,
            DELIVERY * 5,
        );
        let o = evaluate(
            findings(&[Variant::Plain, Variant::Gzip, Variant::Zlib]),
            &[],
            false,
            &window,
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["chunked: record sent to lb:12201/udp not found through Kibana within 25.0 s (10× the slowest of 3 deliveries, 0.6 s, raised to the 25.0 s floor)"]
        );
    }

    #[test]
    fn when_every_record_is_refused_kibana_is_not_blamed() {
        let mut f = findings(&[]);
        f.measured.kibana = None;
        f.measured
            .errors
            .push("chunked: Connection refused (os error 111)".into());
        let o = evaluate(f, &Variant::ALL, false, &ceiling());
        assert_eq!(
            o.verdict.reasons,
            vec![
                "plain: lb:12201/udp refused the datagram",
                "gzip: lb:12201/udp refused the datagram",
                "zlib: lb:12201/udp refused the datagram",
                "chunked: lb:12201/udp refused the datagram",
            ]
        );
    }

    #[test]
    fn a_refused_port_and_a_silent_kibana_are_told_apart() {
        let mut f = findings(&[]);
        f.measured.kibana = None;
        f.measured.errors.push(
            "kibana at http://10.213.7.11:30081 answered 401: 401 Authorization Required".into(),
        );
        let o = evaluate(f, &[Variant::Plain], false, &ceiling());
        assert_eq!(
            o.verdict.reasons,
            vec![
                "Kibana never answered: kibana at http://10.213.7.11:30081 answered 401: 401 Authorization Required",
                "plain: lb:12201/udp refused the datagram",
                "gzip: record sent to lb:12201/udp not confirmed",
                "zlib: record sent to lb:12201/udp not confirmed",
                "chunked: record sent to lb:12201/udp not confirmed",
            ]
        );
    }

    #[test]
    fn only_the_chunked_record_is_chunked_and_compressed_ones_are_compressed() {
        for v in Variant::ALL {
            let (message, datagrams) = v.datagrams();
            assert!(message.nonce().is_some());
            match v {
                Variant::Chunked => {
                    assert_eq!(datagrams.len(), 5, "6000 bytes of text in 1420-byte chunks");
                    assert!(datagrams.iter().all(|d| d[..2] == gelf::CHUNK_MAGIC));
                }
                Variant::Gzip => assert_eq!(datagrams[0][..2], [0x1f, 0x8b]),
                Variant::Zlib => assert_eq!(datagrams[0][0], 0x78),
                Variant::Plain => assert_eq!(datagrams[0][0], b'{'),
            }
        }
    }

    #[test]
    fn snapshots_keep_found_and_drop_delays_and_nonces() {
        let v = serde_json::to_value(findings(&Variant::ALL)).unwrap();
        let n = crate::golden::Normalizer::new(&crate::checks::testing::topology()).normalize(&v);
        assert_eq!(
            n["records"]["chunked"],
            serde_json::json!({"datagrams": 5, "found": true})
        );
        assert!(n.get("measured").is_none());
    }
}
