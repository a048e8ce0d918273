//! The HTML page of a run diff: what changed between two runs, in the report's style.

use std::fmt::Write;

use super::page::{self, escape};
use crate::run_diff::RunDiff;

fn or_absent(s: &Option<String>) -> String {
    escape(s.as_deref().unwrap_or("absent"))
}

fn table(head: &[&str], rows: Vec<Vec<String>>, class: &str) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">No change.</p>".into();
    }
    let mut out = format!(r#"<table class="{class}"><thead><tr>"#);
    for h in head {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

pub fn render(d: &RunDiff) -> String {
    let mut body = format!(
        r#"<header><h1>{} → {}</h1><p class="muted">a: {} {} · b: {} {}</p></header>"#,
        escape(&d.a.run_id),
        escape(&d.b.run_id),
        escape(&d.a.scenario),
        escape(&d.a.outcome),
        escape(&d.b.scenario),
        escape(&d.b.outcome)
    );
    let verdict = match &d.verdict {
        Some(v) => format!(
            r#"<div class="verdict failed"><p>verdict changed: {} → {}</p></div>"#,
            escape(&v.from),
            escape(&v.to)
        ),
        None => format!(
            r#"<div class="verdict passed"><p>verdict unchanged{}</p></div>"#,
            if d.is_same_result() {
                "; same result"
            } else {
                ""
            }
        ),
    };
    let sections: [(&str, &str, String); 6] = [
        ("verdict", "Verdict", verdict),
        (
            "findings",
            "Findings",
            table(
                &["change", "checkpoint", "rule", "cause"],
                d.findings
                    .iter()
                    .map(|f| {
                        vec![
                            f.change.to_owned(),
                            escape(&f.checkpoint),
                            format!("<code>{}</code>", escape(&f.rule)),
                            escape(&f.cause),
                        ]
                    })
                    .collect(),
                "findings",
            ),
        ),
        (
            "cells",
            "Reachability cells",
            table(
                &["checkpoint", "cell", "a", "b"],
                d.cells
                    .iter()
                    .map(|c| {
                        vec![
                            escape(&c.checkpoint),
                            escape(&c.cell),
                            or_absent(&c.from),
                            or_absent(&c.to),
                        ]
                    })
                    .collect(),
                "cells",
            ),
        ),
        (
            "checks",
            "Checks and goldens",
            table(
                &["checkpoint", "check", "a", "b", "details"],
                d.checks
                    .iter()
                    .chain(&d.goldens)
                    .map(|c| {
                        vec![
                            escape(&c.checkpoint),
                            escape(&c.check),
                            or_absent(&c.from),
                            or_absent(&c.to),
                            format!("<pre>{}</pre>", escape(c.message.as_deref().unwrap_or(""))),
                        ]
                    })
                    .collect(),
                "checks",
            ),
        ),
        (
            "commands",
            "Procedure commands",
            table(
                &["command", "a", "b"],
                d.commands
                    .iter()
                    .map(|c| vec![escape(&c.command), or_absent(&c.from), or_absent(&c.to)])
                    .collect(),
                "commands",
            ),
        ),
        (
            "steps",
            "Step durations",
            table(
                &["step", "a", "b", "change"],
                d.steps
                    .iter()
                    .chain(d.slowest_step.iter())
                    .map(|s| {
                        vec![
                            format!("{} {}", s.index + 1, escape(&s.name)),
                            super::page::duration(s.from_ms.unwrap_or(0)),
                            super::page::duration(s.to_ms.unwrap_or(0)),
                            s.change_pct
                                .map(|p| format!("{p:+.1}%"))
                                .unwrap_or_default(),
                        ]
                    })
                    .collect(),
                "steps",
            ),
        ),
    ];
    for (id, heading, content) in sections {
        let _ = write!(
            body,
            r#"<section id="{id}"><h2>{heading}</h2>{content}</section>"#
        );
    }
    page::document(
        &format!("acura-ha diff: {} → {}", d.a.run_id, d.b.run_id),
        &body,
    )
}
