//! Each checkpoint: its checks' verdicts, the reachability matrix as a coloured grid (source ×
//! destination:port), and the golden comparison.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::page::{badge, duration, escape};
use crate::checks::{Cell, CellState, CheckName, Findings, ReachabilityFindings, Vantage};
use crate::events::Outcome;
use crate::run_record::{CheckRecord, RunRecord};
use crate::topology::{HostName, Protocol};

/// The checkpoints in the order the run reached them.
pub fn names(record: &RunRecord) -> Vec<&str> {
    let mut seen = Vec::new();
    for c in &record.checks {
        if !seen.contains(&c.checkpoint.as_str()) {
            seen.push(c.checkpoint.as_str());
        }
    }
    seen
}

pub fn render(record: &RunRecord) -> String {
    let mut out = String::new();
    let checkpoints = names(record);
    if checkpoints.is_empty() {
        out.push_str("<p class=\"muted\">No checkpoint was reached.</p>");
    }
    for name in checkpoints {
        let checks: Vec<&CheckRecord> = record
            .checks
            .iter()
            .filter(|c| c.checkpoint == name)
            .collect();
        let failed = checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count();
        let _ = write!(
            out,
            r#"<section class="checkpoint" data-checkpoint="{0}"><h3>{0} {1}</h3>"#,
            escape(name),
            badge(if failed == 0 { "passed" } else { "failed" })
        );
        out.push_str(&verdicts(&checks));
        if let Some(matrix) = checks
            .iter()
            .find(|c| c.check == CheckName::Reachability.as_str())
            .and_then(|c| reachability(c))
        {
            out.push_str(&matrix_table(&matrix));
        }
        if let Some(golden) = checks.iter().find(|c| c.check == "golden") {
            let _ = write!(
                out,
                r#"<details class="golden"{}><summary>golden: {}</summary><pre>{}</pre></details>"#,
                if golden.outcome == Outcome::Failed {
                    " open"
                } else {
                    ""
                },
                if golden.outcome == Outcome::Failed {
                    "differs"
                } else {
                    "matches"
                },
                escape(golden.message.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</section>");
    }
    out
}

fn verdicts(checks: &[&CheckRecord]) -> String {
    let mut rows = String::new();
    for c in checks.iter().filter(|c| c.check != "golden") {
        let outcome = match c.outcome {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        };
        let _ = write!(
            rows,
            r#"<tr data-check="{0}"><td>{0}</td><td>{1}</td><td>{2}</td><td><pre>{3}</pre></td></tr>"#,
            escape(&c.check),
            badge(outcome),
            duration(c.duration_ms),
            escape(c.message.as_deref().unwrap_or(""))
        );
    }
    format!(
        r#"<table class="checks"><thead><tr><th>check</th><th>verdict</th><th>duration</th><th>details</th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

fn reachability(check: &CheckRecord) -> Option<ReachabilityFindings> {
    match Findings::from_value(CheckName::Reachability, check.findings.clone()?) {
        Ok(Findings::Reachability(r)) => Some(r),
        _ => None,
    }
}

fn state_class(state: CellState) -> (&'static str, &'static str) {
    match state {
        CellState::Open => ("open", "✓"),
        CellState::Refused => ("refused", "R"),
        CellState::TimedOut => ("timed-out", "T"),
        CellState::Unverified => ("unverified", "?"),
    }
}

/// Sources down the side, each destination's ports across; a cell's colour is its state, its
/// tooltip the label, latency and detail.
pub fn matrix_table(r: &ReachabilityFindings) -> String {
    let mut sources: Vec<&Vantage> = Vec::new();
    for c in &r.cells {
        if !sources.contains(&&c.source) {
            sources.push(&c.source);
        }
    }
    let targets: BTreeSet<(&HostName, u16, Protocol)> = r
        .cells
        .iter()
        .map(|c| (&c.destination, c.port, c.protocol))
        .collect();
    let mut head_hosts = String::new();
    let mut head_ports = String::new();
    let mut last: Option<&HostName> = None;
    for (host, port, protocol) in &targets {
        if last != Some(host) {
            let span = targets.iter().filter(|t| t.0 == *host).count();
            let _ = write!(
                head_hosts,
                r#"<th colspan="{span}">{}</th>"#,
                escape(host.as_str())
            );
            last = Some(host);
        }
        let _ = write!(head_ports, r#"<th class="port">{port}/{protocol}</th>"#);
    }
    let mut rows = String::new();
    for source in &sources {
        let _ = write!(rows, "<tr><th>{}</th>", escape(&source.to_string()));
        for (host, port, protocol) in &targets {
            let cell: Option<&Cell> = r.cells.iter().find(|c| {
                &c.source == *source
                    && &c.destination == *host
                    && c.port == *port
                    && c.protocol == *protocol
            });
            match cell {
                Some(c) => {
                    let (class, mark) = state_class(c.state);
                    let title = format!(
                        "{}: {}{}{}",
                        c.label(),
                        c.state.as_str(),
                        c.latency_ms
                            .map(|l| format!(", {l} ms"))
                            .unwrap_or_default(),
                        c.detail
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    );
                    let _ = write!(
                        rows,
                        r#"<td class="{class}" title="{}">{mark}</td>"#,
                        escape(&title)
                    );
                }
                None => rows.push_str(r#"<td class="none"></td>"#),
            }
        }
        rows.push_str("</tr>");
    }
    let open = r
        .cells
        .iter()
        .filter(|c| c.state == CellState::Open)
        .count();
    format!(
        r#"<table class="matrix"><caption>reachability: {open} of {} cells open (✓ open, R refused, T timed out, ? unverified)</caption><thead><tr><th rowspan="2">source</th>{head_hosts}</tr><tr>{head_ports}</tr></thead><tbody>{rows}</tbody></table>"#,
        r.cells.len()
    )
}
