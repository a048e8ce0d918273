//! The HTML report: one self-contained file rendered from a run record alone (a run's, a
//! check's or an analysis's), so any record an earlier run left can be shown again. It opens
//! with the verdict and the diagnosis, then the timeline, the procedure's commands, each
//! checkpoint, availability through the LB, and what the run ran on.

mod availability;
pub mod browser;
mod checkpoints;
mod diagnosis;
pub mod diff;
mod page;
mod procedure;
mod svg;
mod timeline;

use std::fmt::Write;

use page::{duration, escape};

use crate::events::Outcome;
use crate::run_record::RunRecord;

/// The page's sections, in order: their ids in the DOM.
pub const SECTIONS: [&str; 7] = [
    "verdict",
    "diagnosis",
    "timeline",
    "procedure",
    "checkpoints",
    "availability",
    "environment",
];

pub fn render(record: &RunRecord) -> String {
    let title = format!("acura-ha: {} ({})", record.scenario, record.run_id);
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<header><h1>{}</h1><p class="muted">run {} · {} provider · {}</p></header>"#,
        escape(&record.scenario),
        escape(&record.run_id),
        escape(&record.provider),
        record
            .started
            .map(|s| s.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    );
    section(&mut body, "verdict", "Verdict", &verdict(record));
    section(
        &mut body,
        "diagnosis",
        "Diagnosis",
        &diagnosis::render(record),
    );
    let timeline = if record.steps.is_empty() {
        "<p class=\"muted\">No step ran: the checks alone.</p>".to_owned()
    } else {
        timeline::render(record)
    };
    section(&mut body, "timeline", "Timeline", &timeline);
    let commands = if record.commands.iter().any(|c| c.id.is_some()) {
        procedure::render(record)
    } else {
        "<p class=\"muted\">No command of the procedure ran.</p>".to_owned()
    };
    section(
        &mut body,
        "procedure",
        "Procedure commands C1…C28",
        &commands,
    );
    section(
        &mut body,
        "checkpoints",
        "Checkpoints",
        &checkpoints::render(record),
    );
    let availability = availability::render(record).unwrap_or_else(|| {
        "<p class=\"muted\">No availability probe ran (it runs from a scenario's first fault on).</p>".to_owned()
    });
    section(
        &mut body,
        "availability",
        "Availability through the LB",
        &availability,
    );
    section(
        &mut body,
        "environment",
        "Environment",
        &environment(record),
    );
    page::document(&title, &body)
}

fn section(body: &mut String, id: &str, heading: &str, content: &str) {
    let _ = write!(
        body,
        r#"<section id="{id}"><h2>{heading}</h2>{content}</section>"#
    );
}

fn verdict(record: &RunRecord) -> String {
    let outcome = match record.outcome {
        Some(Outcome::Passed) => "passed",
        Some(Outcome::Failed) => "failed",
        _ => "unfinished",
    };
    let checks = record.checks.len();
    let failed_checks = record
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .count();
    let mut out = format!(
        r#"<div class="verdict {outcome}"><p><strong>{}</strong>: exit {} after {}</p><p>{} of {} checks passed; {} of {} procedure commands passed{}.</p>"#,
        outcome.to_uppercase(),
        record
            .exit_code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "?".into()),
        duration(record.duration_ms),
        checks - failed_checks,
        checks,
        record.procedure.passed.len(),
        record.procedure.ran.len(),
        if record.procedure.ran.is_empty() {
            String::new()
        } else {
            format!(" (C1…C{} in the guide)", record.procedure.total)
        }
    );
    if let Some(m) = &record.message {
        let _ = write!(out, "<pre>{}</pre>", escape(m));
    }
    for s in record
        .steps
        .iter()
        .filter(|s| s.outcome == Some(Outcome::Failed))
    {
        let _ = write!(
            out,
            r#"<p class="failed-step">step {} <code>{}</code> (line {}) failed after {}:</p><pre>{}</pre>"#,
            s.index + 1,
            escape(&s.name),
            s.line,
            duration(s.duration_ms),
            escape(s.message.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</div>");
    if !record.warnings.is_empty() {
        out.push_str("<p>Warnings:</p><ul>");
        for w in &record.warnings {
            let _ = write!(out, "<li>{}</li>", escape(w));
        }
        out.push_str("</ul>");
    }
    out
}

fn environment(record: &RunRecord) -> String {
    let mut rows = String::new();
    let mut row = |k: &str, v: String| {
        let _ = write!(
            rows,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(&v)
        );
    };
    row("provider", record.provider.clone());
    if let Some(env) = record.records.get("environment") {
        let s = |k: &str| env.get(k).map(value_text).unwrap_or_default();
        row("harness", s("harness_version"));
        row("pace", format!("×{}", s("pace")));
        if let Some(images) = env.get("images").and_then(|i| i.as_object()) {
            for (kind, hash) in images {
                row(&format!("image {kind}"), value_text(hash));
            }
        }
        if let Some(a) = env.get("archive") {
            row(
                "product archive",
                format!(
                    "{} {}",
                    a.get("file").map(value_text).unwrap_or_default(),
                    a.get("sha256").map(value_text).unwrap_or_default()
                ),
            );
        }
    }
    if let Some(acc) = record.records.get("accelerator") {
        row("acceleration", summary_of(acc));
    }
    for (name, addr) in &record.hosts {
        row(&format!("host {name}"), addr.clone());
    }
    format!(r#"<table class="environment">{rows}</table>"#)
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn summary_of(v: &serde_json::Value) -> String {
    v.get("summary")
        .map(value_text)
        .unwrap_or_else(|| v.to_string())
}
