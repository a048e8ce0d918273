//! The diagnosis of every checkpoint that had failures: each finding's cause, evidence,
//! remedy and the symptoms it explains; what no finding explains, listed as such.

use std::fmt::Write;

use super::page::escape;
use crate::finding::Symptom;
use crate::run_record::RunRecord;

fn symptoms(list: &[Symptom]) -> String {
    let mut out = String::from("<ul>");
    for s in list {
        let _ = write!(
            out,
            "<li><code>{}</code>: {}</li>",
            escape(&s.check),
            escape(&s.text)
        );
    }
    out.push_str("</ul>");
    out
}

pub fn render(record: &RunRecord) -> String {
    if record.diagnoses.iter().all(|d| d.diagnosis.is_empty()) {
        return "<p>Nothing to diagnose: no check failed.</p>".into();
    }
    let mut out = String::new();
    for d in record.diagnoses.iter().filter(|d| !d.diagnosis.is_empty()) {
        let n = d.diagnosis.findings.len();
        let _ = write!(
            out,
            r#"<h3>{}: {n} cause{} found{}</h3>"#,
            escape(&d.checkpoint),
            if n == 1 { "" } else { "s" },
            if d.diagnosis.unexplained.is_empty() {
                String::new()
            } else {
                format!(", {} symptoms unexplained", d.diagnosis.unexplained.len())
            }
        );
        for f in &d.diagnosis.findings {
            let _ = write!(
                out,
                r#"<div class="finding" data-rule="{0}"><p><strong>{1}</strong> <span class="rule">[{0}]</span></p><p>Fix: {2}</p>"#,
                escape(&f.rule),
                escape(&f.cause),
                escape(&f.remedy)
            );
            if !f.evidence.is_empty() {
                out.push_str("<p>Evidence:</p><ul>");
                for e in &f.evidence {
                    let _ = write!(out, "<li>{}</li>", escape(e));
                }
                out.push_str("</ul>");
            }
            let _ = write!(
                out,
                "<details><summary>explains {} symptom{}</summary>{}</details></div>",
                f.explains.len(),
                if f.explains.len() == 1 { "" } else { "s" },
                symptoms(&f.explains)
            );
        }
        if !d.diagnosis.unexplained.is_empty() {
            let _ = write!(
                out,
                r#"<div class="finding unexplained"><p><strong>Unexplained</strong>: no rule names a cause for these; each still fails its check.</p>{}</div>"#,
                symptoms(&d.diagnosis.unexplained)
            );
        }
    }
    out
}
