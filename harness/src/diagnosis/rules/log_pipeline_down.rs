//! GELF records lost whichever node takes them in: 12201/udp is a NodePort of the ELK
//! service, whose one pod (`default/elk-0`, a StatefulSet's) stores every record, and that pod
//! is bound to a node that is down. A StatefulSet pod leaves a dead node only once the node is
//! deleted, so the log path stays broken until the node is back or removed.

use crate::checks::{CellState, Protocol};
use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "log-pipeline-down";
const PORT: u16 = 12201;
/// The ELK StatefulSet's only pod (the procedure's app pods in `default`).
pub const PIPELINE_POD: &str = "default/elk-0";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let Some(pods) = e.pods() else {
        return Vec::new();
    };
    let Some(bound_to) = pods.measured.stateful.get(PIPELINE_POD) else {
        return Vec::new();
    };
    let Some(node) = e
        .topology
        .nodes()
        .find(|n| n.name.as_str() == bound_to || n.hostname == *bound_to)
    else {
        return Vec::new();
    };
    if !e.is_down(&node.name) {
        return Vec::new();
    }
    // Records lost on their way in: a 12201/udp cell to a live host that timed out (those to
    // the down node are its own), or the log path's records.
    let lost: Vec<String> = e
        .cells()
        .iter()
        .filter(|c| {
            c.port == PORT
                && c.protocol == Protocol::Udp
                && c.state == CellState::TimedOut
                && c.destination != node.name
        })
        .map(|c| c.label())
        .collect();
    if lost.is_empty() && !e.failed(crate::checks::CheckName::LogPath) {
        return Vec::new();
    }
    let claims = e.claim(|s| {
        if let Some(cell) = e.cell_of(s) {
            return cell.port == PORT && cell.protocol == Protocol::Udp;
        }
        s.check == "log-path" || (s.check == "reachability" && s.text.contains("udp cell"))
    });
    let mut evidence = vec![format!(
        "pods: {PIPELINE_POD} is bound to {}, which is down",
        node.name
    )];
    if !lost.is_empty() {
        evidence.push(format!(
            "{} record{} sent to live hosts' {PORT}/udp never found: {}",
            lost.len(),
            if lost.len() == 1 { "" } else { "s" },
            lost.join(", ")
        ));
    }
    vec![Candidate::new(
        45,
        ID,
        format!(
            "GELF records are lost whichever node takes them in: the log pipeline's only pod {PIPELINE_POD} runs on {} ({}), which is down ({PORT}/udp is a NodePort: every node hands its records to that pod)",
            node.name, node.address
        ),
        format!(
            "bring {} back; if it is lost for good, remove the dead node as the guide says (C22–C25): a StatefulSet pod leaves a dead node only once the node is deleted, and elk-0 then starts on a live node",
            node.name
        ),
    )
    .evidence(evidence)
    .claims(claims)]
}
