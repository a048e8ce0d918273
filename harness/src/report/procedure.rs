//! The C1…C28 table: every command of the procedure, each run of it with its host, status,
//! duration and the last lines of its output (redacted like everything in the record).

use std::fmt::Write;

use super::page::{badge, duration, escape};
use crate::procedure::CommandId;
use crate::run_record::RunRecord;

pub fn render(record: &RunRecord) -> String {
    let mut rows = String::new();
    for id in CommandId::all() {
        let runs: Vec<_> = record
            .commands
            .iter()
            .filter(|c| c.id == Some(id))
            .collect();
        if runs.is_empty() {
            let _ = write!(
                rows,
                r#"<tr data-command="{id}"><th>{id}</th><td>{}</td><td></td><td>{}</td><td></td><td></td></tr>"#,
                escape(id.purpose()),
                badge("skipped").replace(">skipped<", ">not run<")
            );
            continue;
        }
        for (n, c) in runs.iter().enumerate() {
            let head = if n == 0 {
                format!(
                    r#"<th rowspan="{}">{id}</th><td rowspan="{}">{}</td>"#,
                    runs.len(),
                    runs.len(),
                    escape(id.purpose())
                )
            } else {
                String::new()
            };
            let _ = write!(
                rows,
                r#"<tr data-command="{id}">{head}<td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>"#,
                escape(c.host.as_str()),
                badge(if c.passed { "passed" } else { "failed" }),
                duration(c.duration_ms),
                escape(c.excerpt.as_deref().unwrap_or(""))
            );
        }
    }
    let p = &record.procedure;
    format!(
        r#"<p>{} of {} commands ran, {} passed{}.</p>
<table class="procedure"><thead><tr><th>command</th><th>purpose</th><th>host</th><th>status</th><th>duration</th><th>output (last lines)</th></tr></thead><tbody>{rows}</tbody></table>"#,
        p.ran.len(),
        p.total,
        p.passed.len(),
        if p.failed.is_empty() {
            String::new()
        } else {
            format!(
                ", failed: {}",
                p.failed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    )
}
