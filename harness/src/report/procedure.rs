//! The C1…C28 table: every command of the procedure, each run of it with its host, status,
//! duration and the last lines of its output (redacted like everything in the record).

use std::fmt::Write;

use super::page::{badge, duration, escape};
use crate::procedure::CommandId;
use crate::run_record::RunRecord;

/// The most runs of one command the table shows.
const MAX_SHOWN: usize = 3;

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
        // The checks issue C1…C5 at every checkpoint: a command run many times shows its
        // failed runs and its last one, and says how many there were.
        let shown: Vec<_> = if runs.len() <= MAX_SHOWN {
            runs.clone()
        } else {
            let mut keep: Vec<_> = runs
                .iter()
                .filter(|c| !c.passed)
                .take(MAX_SHOWN - 1)
                .copied()
                .collect();
            keep.push(runs[runs.len() - 1]);
            keep.dedup_by(|a, b| std::ptr::eq(*a, *b));
            keep
        };
        let hidden = runs.len() - shown.len();
        let rowspan = shown.len() + usize::from(hidden > 0);
        for (n, c) in shown.iter().enumerate() {
            let head = if n == 0 {
                format!(
                    r#"<th rowspan="{rowspan}">{id}</th><td rowspan="{rowspan}">{}</td>"#,
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
        if hidden > 0 {
            let failed = runs.iter().filter(|c| !c.passed).count();
            let mut hosts: Vec<&str> = runs.iter().map(|c| c.host.as_str()).collect();
            hosts.sort_unstable();
            hosts.dedup();
            let _ = write!(
                rows,
                r#"<tr data-command="{id}" class="more"><td colspan="4" class="muted">{} runs in all on {} ({} failed); {hidden} more not shown</td></tr>"#,
                runs.len(),
                escape(&hosts.join(", ")),
                failed
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
