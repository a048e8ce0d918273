//! The reachability matrix: from the harness (outside), the deploy host and every node, to
//! every port of the security-group table on every node and on the LB, plus node ↔ node etcd.
//! One table, a cell per (source, destination, port, protocol).
//!
//! A TCP cell is open when a connection is accepted. A UDP cell is open only when the GELF
//! record it sent is found in the log index: a datagram that merely left proves nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use super::delivery::{self, Window};
use super::expectations::{Expectations, Stage};
use super::kibana::Kibanas;
use super::observation::{CheckName, Findings, Observation, Verdict};
use super::port_probe::{self, Probed, Seen, Target};
use super::ports::{Protocol, SECURITY_GROUP};
use super::scope::Scope;
use crate::gelf::{Encoding, GelfMessage};
use crate::topology::{HostName, Role, Topology};

pub const DEADLINE: Duration = Duration::from_secs(45);
const ROW: Duration = Duration::from_secs(20);
/// The longest a UDP cell's record may take to show up in the log index on a real machine
/// (the delivery window's ceiling, stretched by the provider's pace).
const DELIVERY: Duration = Duration::from_secs(20);

/// Where a probe starts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Vantage {
    /// The machine running acura-ha: outside the topology.
    Harness,
    Host(HostName),
}

impl fmt::Display for Vantage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vantage::Harness => f.write_str("harness"),
            Vantage::Host(h) => write!(f, "{h}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellState {
    Open,
    Refused,
    /// Nothing answered in time, or the network reported the host unreachable (which of the
    /// two is in the cell's detail: it depends on ARP timing, not on the cluster).
    TimedOut,
    /// The probe could not run, or a UDP record could not be looked for.
    Unverified,
}

impl CellState {
    pub fn as_str(self) -> &'static str {
        match self {
            CellState::Open => "open",
            CellState::Refused => "refused",
            CellState::TimedOut => "timed out",
            CellState::Unverified => "unverified",
        }
    }
}

impl fmt::Display for CellState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CellState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CellState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        [
            CellState::Open,
            CellState::Refused,
            CellState::TimedOut,
            CellState::Unverified,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a cell state")))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub source: Vantage,
    pub destination: HostName,
    pub port: u16,
    pub protocol: Protocol,
    pub state: CellState,
    pub latency_ms: Option<u64>,
    pub detail: Option<String>,
}

impl Cell {
    /// `deployer → node-2:30081/tcp`
    pub fn label(&self) -> String {
        format!(
            "{} → {}:{}/{}",
            self.source, self.destination, self.port, self.protocol
        )
    }

    /// The cell a label names (`deployer → node-2:30081/tcp`), in `state`: what a bundle's
    /// matrix is read back from.
    pub fn from_label(label: &str, state: CellState) -> Option<Cell> {
        let (source, target) = label.split_once(" → ")?;
        let (destination, port) = target.rsplit_once(':')?;
        let (port, protocol) = port.split_once('/')?;
        Some(Cell {
            source: match source {
                "harness" => Vantage::Harness,
                host => Vantage::Host(HostName(host.to_owned())),
            },
            destination: HostName(destination.to_owned()),
            port: port.parse().ok()?,
            protocol: match protocol {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                _ => return None,
            },
            state,
            latency_ms: None,
            detail: None,
        })
    }
}

/// Serialized as three maps keyed by the cell's label: `cells` (the state, what snapshots
/// keep), `latency_ms` and `measured` (the detail), which they drop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReachabilityFindings {
    pub cells: Vec<Cell>,
}

impl ReachabilityFindings {
    pub fn cell(&self, label: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.label() == label)
    }
}

impl Serialize for ReachabilityFindings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let states: BTreeMap<String, CellState> =
            self.cells.iter().map(|c| (c.label(), c.state)).collect();
        let latency: BTreeMap<String, u64> = self
            .cells
            .iter()
            .filter_map(|c| Some((c.label(), c.latency_ms?)))
            .collect();
        let detail: BTreeMap<String, &str> = self
            .cells
            .iter()
            .filter_map(|c| Some((c.label(), c.detail.as_deref()?)))
            .collect();
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("cells", &states)?;
        map.serialize_entry("latency_ms", &latency)?;
        map.serialize_entry("measured", &detail)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for ReachabilityFindings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Maps {
            cells: BTreeMap<String, CellState>,
            #[serde(default)]
            latency_ms: BTreeMap<String, u64>,
            #[serde(default)]
            measured: BTreeMap<String, String>,
        }
        let maps = Maps::deserialize(d)?;
        let mut cells = Vec::with_capacity(maps.cells.len());
        for (label, state) in maps.cells {
            let mut cell = Cell::from_label(&label, state).ok_or_else(|| {
                serde::de::Error::custom(format!("`{label}` is not a cell's label"))
            })?;
            cell.latency_ms = maps.latency_ms.get(&label).copied();
            cell.detail = maps.measured.get(&label).cloned();
            cells.push(cell);
        }
        Ok(ReachabilityFindings { cells })
    }
}

/// One cell to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Planned {
    pub destination: HostName,
    pub address: Ipv4Addr,
    pub port: u16,
    pub protocol: Protocol,
}

/// Every row of the matrix the topology and the run's expectations call for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub rows: Vec<(Vantage, Vec<Planned>)>,
    pub notes: Vec<String>,
}

pub(crate) fn plan(topology: &Topology, expect: &Expectations) -> Plan {
    let mut notes = Vec::new();
    let mut sources = vec![Vantage::Harness];
    for host in &topology.hosts {
        let source = match host.role {
            Role::Deployer => true,
            Role::Node => expect.in_cluster(&host.name),
            Role::Lb | Role::Dns => false,
        };
        if !source {
            continue;
        }
        if expect.is_up(&host.name) {
            sources.push(Vantage::Host(host.name.clone()));
        } else {
            notes.push(format!("{} is down: no probes from it", host.name));
        }
    }
    let mut destinations = Vec::new();
    for host in &topology.hosts {
        let lb = match host.role {
            Role::Lb => true,
            Role::Node => false,
            Role::Deployer | Role::Dns => continue,
        };
        if !expect.is_up(&host.name) {
            notes.push(format!("{} is down: no probes to it", host.name));
            continue;
        }
        // A node outside the cluster (replaced, not joined) runs nothing of the product yet.
        let stage = if lb || expect.in_cluster(&host.name) {
            expect.stage
        } else {
            Stage::Provisioned
        };
        destinations.push((host, lb, stage));
    }
    let rows = sources
        .into_iter()
        .map(|source| {
            let from_member = matches!(&source, Vantage::Host(h)
                if topology.host(h).is_some_and(|h| h.role == Role::Node));
            let mut cells = Vec::new();
            for &(host, lb, stage) in &destinations {
                if source == Vantage::Host(host.name.clone()) {
                    continue;
                }
                for port in SECURITY_GROUP {
                    if !port.listens(lb, stage) || (port.group_only && !from_member) {
                        continue;
                    }
                    // Delivery of a datagram is proven through Kibana, which comes with C16.
                    if port.protocol == Protocol::Udp && expect.stage < Stage::AcuraInstalled {
                        continue;
                    }
                    cells.push(Planned {
                        destination: host.name.clone(),
                        address: host.address,
                        port: port.number,
                        protocol: port.protocol,
                    });
                }
            }
            (source, cells)
        })
        .collect();
    Plan { rows, notes }
}

/// A row's probes, sent.
struct Row {
    source: Vantage,
    planned: Vec<Planned>,
    /// Per planned cell: what the probe saw, or why the row could not run.
    probed: Result<Vec<Probed>, String>,
    nonces: Vec<Option<String>>,
    sent_at: Instant,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    let plan = plan(scope.topology, scope.expect);
    scope.seen.set("probing every row of the matrix");
    let rows = join_all(
        plan.rows
            .into_iter()
            .map(|(source, planned)| probe_row(scope, source, planned)),
    )
    .await;
    let mut pending: BTreeMap<String, (Instant, Option<u64>)> = BTreeMap::new();
    for row in &rows {
        if let Ok(probed) = &row.probed {
            for (p, nonce) in probed.iter().zip(&row.nonces) {
                if let (Seen::Sent, Some(n)) = (p.state, nonce) {
                    pending.insert(n.clone(), (row.sent_at, None));
                }
            }
        }
    }
    let limits = (scope.ctx.paced(delivery::FLOOR), scope.ctx.paced(DELIVERY));
    let (lookup, window) = if pending.is_empty() {
        (Ok(()), scope.deliveries.window(limits.0, limits.1))
    } else {
        await_delivery(scope, &mut pending, limits).await
    };
    let delivered: BTreeMap<String, u64> = pending
        .iter()
        .filter_map(|(n, (_, delay))| Some((n.clone(), (*delay)?)))
        .collect();
    let unprobed: BTreeMap<Vantage, String> = rows
        .iter()
        .filter_map(|r| Some((r.source.clone(), r.probed.as_ref().err()?.clone())))
        .collect();
    let cells = rows
        .into_iter()
        .flat_map(|row| cells_of(row, &delivered, lookup.as_ref().err(), &window))
        .collect();
    evaluate(ReachabilityFindings { cells }, &unprobed, plan.notes)
}

async fn probe_row(scope: &Scope<'_>, source: Vantage, planned: Vec<Planned>) -> Row {
    let mut targets = Vec::new();
    let mut nonces = Vec::new();
    for (id, p) in planned.iter().enumerate() {
        let mut payload = None;
        let mut nonce = None;
        if p.protocol == Protocol::Udp {
            let label = format!("{source} → {}:{}/udp", p.destination, p.port);
            let message = GelfMessage::with_nonce(
                source.to_string(),
                format!("acura-ha reachability {label}"),
            );
            nonce = message.nonce().map(str::to_owned);
            let bytes = message
                .payload(Encoding::Plain)
                .expect("a record with a host and a message is valid");
            payload = Some(String::from_utf8(bytes).expect("plain GELF is JSON text"));
        }
        nonces.push(nonce);
        targets.push(Target {
            id,
            host: p.address,
            port: p.port,
            protocol: p.protocol,
            payload,
        });
    }
    let sent_at = Instant::now();
    let probed = match &source {
        Vantage::Harness => Ok(port_probe::from_harness(&targets).await),
        Vantage::Host(_) if targets.is_empty() => Ok(Vec::new()),
        Vantage::Host(host) => match scope.run(host, &port_probe::command(&targets), ROW).await {
            Ok(out) if out.success() => port_probe::parse(&out.stdout, &targets),
            Ok(out) => Err(format!(
                "the probe failed ({}): {}",
                out.status_text(),
                out.tail(3)
            )),
            Err(e) => Err(e.to_string()),
        },
    };
    Row {
        source,
        planned,
        probed,
        nonces,
        sent_at,
    }
}

/// Search the log index until every pending nonce is found or has waited the delivery window
/// (sized within `limits`); fill in each found record's delay. `Err` when the index could never
/// be asked; beside it, the window as it stood at the end.
async fn await_delivery(
    scope: &Scope<'_>,
    pending: &mut BTreeMap<String, (Instant, Option<u64>)>,
    limits: (Duration, Duration),
) -> (Result<(), String>, Window) {
    let credentials = &scope.ctx.scenario().product.kibana;
    let mut kibanas = Kibanas::on(
        &scope.expect.live_members(scope.topology),
        credentials,
        scope.ctx.pace(),
    );
    if kibanas.is_empty() {
        let window = scope.deliveries.window(limits.0, limits.1);
        return (Err("no live node to ask Kibana on".into()), window);
    }
    let sent: BTreeMap<String, Instant> = pending
        .iter()
        .filter(|(_, (_, delay))| delay.is_none())
        .map(|(n, (at, _))| (n.clone(), *at))
        .collect();
    let total = pending.len();
    let delivered = kibanas
        .await_delivery(
            &sent,
            &scope.deliveries,
            limits,
            |_| false,
            |found| {
                scope.seen.set(format!(
                    "{found} of {total} datagrams found in the log index"
                ))
            },
        )
        .await;
    for (nonce, delay) in &delivered.found {
        if let Some((_, d)) = pending.get_mut(nonce) {
            *d = Some(delay.as_millis() as u64);
        }
    }
    let lookup = match (delivered.answered_by, delivered.errors.last()) {
        (None, Some(e)) => Err(e.clone()),
        _ => Ok(()),
    };
    (lookup, delivered.window)
}

/// `window`: how long a missing record was waited for, and what sized it.
fn cells_of(
    row: Row,
    delivered: &BTreeMap<String, u64>,
    lookup_error: Option<&String>,
    window: &Window,
) -> Vec<Cell> {
    let Row {
        source,
        planned,
        probed,
        nonces,
        ..
    } = row;
    planned
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut cell = Cell {
                source: source.clone(),
                destination: p.destination,
                port: p.port,
                protocol: p.protocol,
                state: CellState::Unverified,
                latency_ms: None,
                detail: None,
            };
            let probe = match &probed {
                Ok(all) => all.iter().find(|x| x.id == i),
                Err(e) => {
                    cell.detail = Some(e.clone());
                    return cell;
                }
            };
            let Some(probe) = probe else { return cell };
            let nonce = nonces.get(i).cloned().flatten();
            (cell.state, cell.latency_ms, cell.detail) = match probe.state {
                Seen::Open => (CellState::Open, Some(probe.ms as u64), None),
                Seen::Refused => (CellState::Refused, Some(probe.ms as u64), None),
                Seen::TimedOut => (CellState::TimedOut, None, None),
                Seen::Unreachable => (CellState::TimedOut, None, Some(probe.detail.clone())),
                Seen::Sent => match nonce.as_ref().and_then(|n| delivered.get(n)) {
                    Some(delay) => (CellState::Open, Some(*delay), None),
                    None => match lookup_error {
                        Some(e) => (CellState::Unverified, None, Some(format!("log index: {e}"))),
                        None => (
                            CellState::TimedOut,
                            None,
                            Some(format!("record not in the log index within {window}")),
                        ),
                    },
                },
            };
            cell
        })
        .collect()
}

/// `unprobed`: rows that could not run at all, and why; each fails once, not once per cell.
pub(crate) fn evaluate(
    findings: ReachabilityFindings,
    unprobed: &BTreeMap<Vantage, String>,
    notes: Vec<String>,
) -> Observation {
    let mut reasons: Vec<String> = unprobed
        .iter()
        .map(|(source, why)| format!("{source}: could not probe: {why}"))
        .collect();
    // Datagrams that could not be looked for share one cause: report it once.
    let mut unverified: BTreeMap<&str, usize> = BTreeMap::new();
    for cell in &findings.cells {
        if cell.state == CellState::Open || unprobed.contains_key(&cell.source) {
            continue;
        }
        if cell.state == CellState::Unverified && cell.protocol == Protocol::Udp {
            *unverified
                .entry(cell.detail.as_deref().unwrap_or("no result"))
                .or_default() += 1;
            continue;
        }
        let ssh_from_deployer = cell.port == 22
            && cell.source == Vantage::Host(HostName::deployer())
            && cell.state == CellState::TimedOut;
        let hint = if ssh_from_deployer {
            " (the guide: check the security group rule for TCP/22)"
        } else {
            ""
        };
        reasons.push(format!(
            "{}: {}, expected open{hint}",
            cell.label(),
            cell.state
        ));
    }
    for (why, n) in unverified {
        reasons.push(format!(
            "{n} udp cell{} unverified, expected open: {why}",
            if n == 1 { "" } else { "s" }
        ));
    }
    Observation::new(
        CheckName::Reachability,
        Findings::Reachability(findings),
        Verdict::from_reasons(reasons).with_notes(notes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{h, topology};

    /// The window when nothing was delivered: the ceiling.
    fn ceiling() -> Window {
        Window::sized(None, 0, delivery::FLOOR, DELIVERY)
    }

    fn labels(plan: &Plan, source: &str) -> Vec<String> {
        let row = plan
            .rows
            .iter()
            .find(|(s, _)| s.to_string() == source)
            .map(|(_, cells)| cells.clone())
            .unwrap_or_default();
        row.iter()
            .map(|p| format!("{}:{}/{}", p.destination, p.port, p.protocol))
            .collect()
    }

    #[test]
    fn the_healthy_matrix_has_every_source_and_port() {
        let plan = plan(&topology(), &Expectations::installed());
        let sources: Vec<String> = plan.rows.iter().map(|(s, _)| s.to_string()).collect();
        assert_eq!(
            sources,
            vec!["harness", "deployer", "node-1", "node-2", "node-3"]
        );
        let harness = labels(&plan, "harness");
        // 7 LB ports + 3 nodes × 10 ports (no etcd from outside the group).
        assert_eq!(harness.len(), 37, "{harness:?}");
        assert!(harness.contains(&"lb:12201/udp".to_owned()));
        assert!(!harness.iter().any(|l| l.ends_with(":2379/tcp")));
        let node1 = labels(&plan, "node-1");
        assert!(node1.contains(&"node-2:2379/tcp".to_owned()));
        assert!(node1.contains(&"node-3:2380/tcp".to_owned()));
        assert!(
            !node1.iter().any(|l| l.starts_with("node-1:")),
            "no cell to itself"
        );
        assert_eq!(node1.len(), 7 + 2 * 12);
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn a_powered_off_node_is_neither_source_nor_destination() {
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        let plan = plan(&topology(), &e);
        assert!(labels(&plan, "node-2").is_empty());
        assert!(!labels(&plan, "deployer")
            .iter()
            .any(|l| l.starts_with("node-2:")));
        assert_eq!(
            plan.notes,
            vec![
                "node-2 is down: no probes from it",
                "node-2 is down: no probes to it"
            ]
        );
    }

    #[test]
    fn a_replaced_node_before_its_join_is_probed_for_ssh_only() {
        let mut e = Expectations::installed();
        e.removed.insert(h("node-2"));
        let plan = plan(&topology(), &e);
        let deployer = labels(&plan, "deployer");
        assert!(deployer.contains(&"node-2:22/tcp".to_owned()));
        assert!(!deployer.contains(&"node-2:443/tcp".to_owned()));
        assert!(
            labels(&plan, "node-2").is_empty(),
            "not a member: no row of its own"
        );
    }

    #[test]
    fn before_install_only_ssh_and_the_lbs_listeners_are_probed() {
        let mut e = Expectations::installed();
        e.stage = Stage::LbConfigured;
        let plan = plan(&topology(), &e);
        let mut harness = labels(&plan, "harness");
        harness.sort();
        assert_eq!(
            harness,
            vec![
                "lb:15000/tcp",
                "lb:22/tcp",
                "lb:443/tcp",
                "lb:4443/tcp",
                "lb:6443/tcp",
                "lb:80/tcp",
                "node-1:22/tcp",
                "node-2:22/tcp",
                "node-3:22/tcp",
            ]
        );
    }

    fn row(
        source: Vantage,
        planned: Vec<Planned>,
        probed: Result<Vec<Probed>, String>,
        nonces: Vec<Option<String>>,
    ) -> Row {
        Row {
            source,
            planned,
            probed,
            nonces,
            sent_at: Instant::now(),
        }
    }

    fn planned(dest: &str, octet: u8, port: u16, protocol: Protocol) -> Planned {
        Planned {
            destination: h(dest),
            address: Ipv4Addr::new(10, 213, 7, octet),
            port,
            protocol,
        }
    }

    fn probed(id: usize, state: Seen, ms: f64, detail: &str) -> Probed {
        Probed {
            id,
            state,
            ms,
            detail: detail.into(),
        }
    }

    #[test]
    fn a_datagram_counts_as_open_only_once_found_in_the_log_index() {
        let r = row(
            Vantage::Host(h("deployer")),
            vec![
                planned("lb", 10, 12201, Protocol::Udp),
                planned("node-1", 11, 12201, Protocol::Udp),
                planned("node-2", 12, 12201, Protocol::Udp),
            ],
            Ok(vec![
                probed(0, Seen::Sent, 1000.0, ""),
                probed(1, Seen::Sent, 1000.0, ""),
                probed(2, Seen::Refused, 0.3, ""),
            ]),
            vec![Some("n-lb".into()), Some("n-1".into()), Some("n-2".into())],
        );
        let delivered = [("n-lb".to_owned(), 850)].into();
        let cells = cells_of(r, &delivered, None, &ceiling());
        let states: Vec<(String, CellState)> = cells.iter().map(|c| (c.label(), c.state)).collect();
        assert_eq!(
            states,
            vec![
                ("deployer → lb:12201/udp".to_owned(), CellState::Open),
                (
                    "deployer → node-1:12201/udp".to_owned(),
                    CellState::TimedOut
                ),
                ("deployer → node-2:12201/udp".to_owned(), CellState::Refused),
            ]
        );
        assert_eq!(cells[0].latency_ms, Some(850));
        let o = evaluate(ReachabilityFindings { cells }, &BTreeMap::new(), vec![]);
        assert_eq!(
            o.verdict.reasons,
            vec![
                "deployer → node-1:12201/udp: timed out, expected open",
                "deployer → node-2:12201/udp: refused, expected open",
            ]
        );
    }

    #[test]
    fn without_a_log_index_a_datagram_stays_unverified_and_fails() {
        let r = row(
            Vantage::Harness,
            vec![planned("lb", 10, 12201, Protocol::Udp)],
            Ok(vec![probed(0, Seen::Sent, 1000.0, "")]),
            vec![Some("n".into())],
        );
        let cells = cells_of(
            r,
            &BTreeMap::new(),
            Some(&"kibana at http://10.213.7.11:30081 answered 401".to_owned()),
            &ceiling(),
        );
        assert_eq!(cells[0].state, CellState::Unverified);
        let o = evaluate(ReachabilityFindings { cells }, &BTreeMap::new(), vec![]);
        assert_eq!(
            o.verdict.reasons,
            vec!["1 udp cell unverified, expected open: log index: kibana at http://10.213.7.11:30081 answered 401"]
        );
    }

    #[test]
    fn unreachable_reads_as_timed_out_and_ssh_gets_the_guides_advice() {
        let r = row(
            Vantage::Host(h("deployer")),
            vec![
                planned("node-3", 13, 22, Protocol::Tcp),
                planned("node-3", 13, 443, Protocol::Tcp),
            ],
            Ok(vec![
                probed(0, Seen::Unreachable, 0.9, "EHOSTUNREACH: No route to host"),
                probed(1, Seen::Open, 0.8, ""),
            ]),
            vec![None, None],
        );
        let cells = cells_of(r, &BTreeMap::new(), None, &ceiling());
        assert_eq!(cells[0].state, CellState::TimedOut);
        assert_eq!(
            cells[0].detail.as_deref(),
            Some("EHOSTUNREACH: No route to host")
        );
        let o = evaluate(ReachabilityFindings { cells }, &BTreeMap::new(), vec![]);
        assert_eq!(
            o.verdict.reasons,
            vec!["deployer → node-3:22/tcp: timed out, expected open (the guide: check the security group rule for TCP/22)"]
        );
    }

    #[test]
    fn a_row_that_could_not_run_fails_once() {
        let r = row(
            Vantage::Host(h("node-1")),
            vec![
                planned("node-2", 12, 22, Protocol::Tcp),
                planned("node-2", 12, 2379, Protocol::Tcp),
            ],
            Err("node-1: cannot connect to ssh".into()),
            vec![None, None],
        );
        let cells = cells_of(r, &BTreeMap::new(), None, &ceiling());
        assert!(cells.iter().all(|c| c.state == CellState::Unverified));
        let unprobed = [(
            Vantage::Host(h("node-1")),
            "node-1: cannot connect to ssh".to_owned(),
        )]
        .into();
        let o = evaluate(ReachabilityFindings { cells }, &unprobed, vec![]);
        assert_eq!(
            o.verdict.reasons,
            vec!["node-1: could not probe: node-1: cannot connect to ssh"]
        );
    }

    #[test]
    fn snapshots_see_states_and_drop_latencies() {
        let findings = ReachabilityFindings {
            cells: vec![Cell {
                source: Vantage::Harness,
                destination: h("lb"),
                port: 443,
                protocol: Protocol::Tcp,
                state: CellState::Open,
                latency_ms: Some(3),
                detail: None,
            }],
        };
        let v = serde_json::to_value(&findings).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"cells": {"harness → lb:443/tcp": "open"}, "latency_ms": {"harness → lb:443/tcp": 3}, "measured": {}})
        );
    }
}
