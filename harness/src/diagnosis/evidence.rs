//! What every rule looks at: the symptoms (each failing check's reasons), the checks'
//! findings, the facts gathered with them (the LB's nginx.conf parsed), the topology and what
//! the run expects. Helpers here say which symptoms concern a host, a cell or a port, so the
//! rules say what they claim, not how to find it.

use std::collections::BTreeMap;

use crate::checks::facts::{Facts, HostFacts};
use crate::checks::{
    Cell, CellState, CheckName, DnsFindings, EtcdFindings, Expectations, Findings, HttpsFindings,
    LogPathFindings, Observation, PodFindings, ReachabilityFindings, Vantage,
};
use crate::finding::Symptom;
use crate::parse::nginx_conf::{self, NginxConf};
use crate::topology::{Host, HostName, Protocol, Topology};

pub struct Evidence<'a> {
    pub symptoms: Vec<Symptom>,
    pub observations: &'a [Observation],
    pub facts: &'a Facts,
    /// The LB's nginx.conf, parsed; none when it could not be read or parsed.
    pub lb_conf: Option<NginxConf>,
    pub topology: &'a Topology,
    pub expectations: &'a Expectations,
}

impl<'a> Evidence<'a> {
    pub fn new(
        observations: &'a [Observation],
        facts: &'a Facts,
        topology: &'a Topology,
        expectations: &'a Expectations,
    ) -> Self {
        let symptoms = observations
            .iter()
            .filter(|o| !o.passed())
            .flat_map(|o| {
                o.verdict.reasons.iter().map(|r| Symptom {
                    check: o.check.as_str().to_owned(),
                    text: r.clone(),
                })
            })
            .collect();
        Evidence {
            symptoms,
            observations,
            facts,
            lb_conf: facts
                .lb_conf
                .as_deref()
                .and_then(|text| nginx_conf::parse(text).ok()),
            topology,
            expectations,
        }
    }

    fn findings(&self, check: CheckName) -> Option<&'a Findings> {
        self.observations
            .iter()
            .find(|o| o.check == check)
            .and_then(|o| o.findings.as_ref())
    }

    pub fn reachability(&self) -> Option<&'a ReachabilityFindings> {
        match self.findings(CheckName::Reachability)? {
            Findings::Reachability(f) => Some(f),
            _ => None,
        }
    }

    pub fn dns(&self) -> Option<&'a DnsFindings> {
        match self.findings(CheckName::Dns)? {
            Findings::Dns(f) => Some(f),
            _ => None,
        }
    }

    pub fn etcd(&self) -> Option<&'a EtcdFindings> {
        match self.findings(CheckName::Etcd)? {
            Findings::Etcd(f) => Some(f),
            _ => None,
        }
    }

    pub fn https(&self) -> Option<&'a HttpsFindings> {
        match self.findings(CheckName::Https)? {
            Findings::Https(f) => Some(f),
            _ => None,
        }
    }

    pub fn log_path(&self) -> Option<&'a LogPathFindings> {
        match self.findings(CheckName::LogPath)? {
            Findings::LogPath(f) => Some(f),
            _ => None,
        }
    }

    pub fn pods(&self) -> Option<&'a PodFindings> {
        match self.findings(CheckName::Pods)? {
            Findings::Pods(f) => Some(f),
            _ => None,
        }
    }

    /// Whether `check` failed at this checkpoint.
    pub fn failed(&self, check: CheckName) -> bool {
        self.observations
            .iter()
            .any(|o| o.check == check && !o.passed())
    }

    pub fn host_facts(&self, host: &HostName) -> Option<&'a HostFacts> {
        self.facts.hosts.get(host)
    }

    /// The node an nginx upstream's `server` names, by address or by name.
    pub fn node_at(&self, address: &str) -> Option<&'a Host> {
        self.topology
            .nodes()
            .find(|n| n.address.to_string() == address || n.name.as_str() == address)
    }

    /// Whether nothing of `host` answers: the run took it down, or SSH cannot reach it.
    pub fn is_down(&self, host: &HostName) -> bool {
        !self.expectations.is_up(host)
            || self
                .host_facts(host)
                .is_some_and(|f| f.unreachable.is_some())
    }

    /// The probed cells, none when the matrix did not finish.
    pub fn cells(&self) -> &'a [Cell] {
        self.reachability()
            .map(|r| r.cells.as_slice())
            .unwrap_or(&[])
    }

    /// Cells to `destination`.
    pub fn cells_to<'s>(
        &'s self,
        destination: &'s HostName,
    ) -> impl Iterator<Item = &'a Cell> + 's {
        self.cells()
            .iter()
            .filter(move |c| &c.destination == destination)
    }

    /// The indices of the symptoms `keep` accepts.
    pub fn claim(&self, keep: impl Fn(&Symptom) -> bool) -> Vec<usize> {
        self.symptoms
            .iter()
            .enumerate()
            .filter(|(_, s)| keep(s))
            .map(|(i, _)| i)
            .collect()
    }

    /// The symptom that reports `cell` (the matrix names a failing cell by its label).
    pub fn is_cell(symptom: &Symptom, cell: &Cell) -> bool {
        symptom.check == CheckName::Reachability.as_str()
            && symptom.text.starts_with(&format!("{}: ", cell.label()))
    }

    /// The cells the symptom reports, when it is one of the matrix's cells.
    pub fn cell_of(&self, symptom: &Symptom) -> Option<&'a Cell> {
        if symptom.check != CheckName::Reachability.as_str() {
            return None;
        }
        self.cells().iter().find(|c| Self::is_cell(symptom, c))
    }

    /// Whether the symptom's text names `host`: its name, its hostname or its address, as a
    /// whole word (`node-1` is not `node-10`).
    pub fn mentions(symptom: &Symptom, host: &Host) -> bool {
        let address = host.address.to_string();
        [host.name.as_str(), host.hostname.as_str(), address.as_str()]
            .iter()
            .any(|needle| contains_word(&symptom.text, needle))
    }

    /// Whether the symptom is about `host` first: its subject (the text before the first
    /// `: `) names it, or it is a cell from or to it.
    pub fn about(&self, symptom: &Symptom, host: &Host) -> bool {
        if let Some(cell) = self.cell_of(symptom) {
            return cell.destination == host.name
                || cell.source == Vantage::Host(host.name.clone());
        }
        let subject = symptom.text.split(": ").next().unwrap_or("");
        let fake = Symptom {
            check: symptom.check.clone(),
            text: subject.to_owned(),
        };
        Self::mentions(&fake, host)
    }

    /// Whether the symptom is about what the LB serves on `port`: a failing cell to it, or
    /// a request through it (`https: lb:4443: …`; `http://lb/` is 80, `https://lb/` 443).
    pub fn through_lb(&self, symptom: &Symptom, port: u16, protocol: Protocol) -> bool {
        let Some(lb) = self.topology.lb() else {
            return false;
        };
        if let Some(cell) = self.cell_of(symptom) {
            return cell.destination == lb.name
                && cell.port == port
                && cell.protocol == protocol
                && cell.state != CellState::Open;
        }
        let text = &symptom.text;
        (symptom.check == "https" || symptom.check == "log-path")
            && (text.contains(&format!("{}:{port}", lb.name))
                || text.contains(&format!("{}:{port}", lb.address))
                || (port == 80 && text.starts_with(&format!("http://{}/", lb.name)))
                || (port == 443 && text.starts_with(&format!("https://{}/", lb.name))))
    }

    /// Cells grouped by their target (destination, port, protocol).
    pub fn targets(&self) -> BTreeMap<(HostName, u16, Protocol), Vec<&'a Cell>> {
        let mut map: BTreeMap<(HostName, u16, Protocol), Vec<&'a Cell>> = BTreeMap::new();
        for cell in self.cells() {
            map.entry((cell.destination.clone(), cell.port, cell.protocol))
                .or_default()
                .push(cell);
        }
        map
    }

    /// Whether every cell of `cells` is in `state` (and there is at least one).
    pub fn all_in(cells: &[&Cell], state: CellState) -> bool {
        !cells.is_empty() && cells.iter().all(|c| c.state == state)
    }
}

/// `needle` in `text`, not as part of a longer name.
pub fn contains_word(text: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        // A trailing dot ends a sentence, not a name: `node-1.` still names node-1, but
        // `10.0.0.1` must not match inside `10.0.0.12`.
        let after_ok = match after {
            None => true,
            Some('.') => !text[at + needle.len() + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric()),
            Some(c) => !word(c),
        };
        !before.is_some_and(word) && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_a_whole_name() {
        assert!(contains_word("node-1: down", "node-1"));
        assert!(!contains_word("node-10: down", "node-1"));
        assert!(!contains_word("10.0.0.12 answers", "10.0.0.1"));
        assert!(contains_word("asked 10.0.0.1.", "10.0.0.1"));
        assert!(contains_word("on node-2, which", "node-2"));
        assert!(!contains_word("anything", ""));
    }
}
