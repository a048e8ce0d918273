//! The page itself: escaping, the inline style sheet, and the frame every report shares.
//! Nothing is fetched: no script, no font, no image from anywhere (the Content-Security-Policy
//! says so to the browser as well).

/// Text made safe for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds as people read them: `850 ms`, `12.3 s`, `4 min 05 s`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

const STYLE: &str = r#"
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de;
        --fault: rgba(207, 34, 46, 0.13); --misconf: rgba(154, 103, 0, 0.15); }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1.5rem;
       color: #1f2328; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 2rem 0 .5rem;
     border-bottom: 1px solid var(--line); padding-bottom: .25rem; } h3 { font-size: 1rem; }
.muted { color: var(--muted); } code, pre { font: 12px/1.4 ui-monospace, monospace; }
pre { white-space: pre-wrap; margin: 0; max-height: 8.5em; overflow: auto; }
.verdict { padding: .75rem 1rem; border-radius: 6px; border: 1px solid var(--line); }
.verdict.passed { background: #dafbe1; border-color: var(--ok); }
.verdict.failed { background: #ffebe9; border-color: var(--bad); }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: 12px;
         font-weight: 600; color: #fff; }
.badge.passed { background: var(--ok); } .badge.failed { background: var(--bad); }
.badge.skipped { background: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
.finding { border-left: 4px solid var(--bad); padding: .25rem .75rem; margin: .75rem 0; }
.finding .rule { color: var(--muted); font-size: 12px; }
.unexplained { border-left-color: var(--warn); }
table.matrix { width: auto; } table.matrix td { text-align: center; min-width: 2.2em; }
table.matrix th.port { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: 500; }
td.open { background: #aceebb; } td.refused { background: #ffb8b0; }
td.timed-out { background: #cf222e; color: #fff; } td.unverified { background: #fff1a8; }
td.none { background: #f6f8fa; }
svg { width: 100%; height: auto; display: block; margin: .5rem 0; }
svg text { font: 11px system-ui, sans-serif; fill: #1f2328; }
svg .axis { stroke: var(--muted); stroke-width: .6; } svg .grid { stroke: var(--line); stroke-width: .5; }
svg rect.fault { fill: var(--fault); } svg rect.misconfiguration { fill: var(--misconf); }
svg .step.passed { fill: #4ac26b; } svg .step.failed { fill: var(--bad); }
svg .step.skipped { fill: #afb8c1; }
svg .command { fill: #0969da; } svg .command.failed { fill: var(--bad); }
svg .requests { fill: #8cc4ff; } svg .failures { fill: var(--bad); }
svg .latency { fill: none; stroke: #8250df; stroke-width: 1.5; }
svg .outage { fill: none; stroke: var(--bad); stroke-dasharray: 3 2; }
"#;

/// The whole document around `body`.
pub fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title><style>{STYLE}</style></head>
<body>
{body}
</body></html>
"#,
        escape(title)
    )
}

/// A badge for an outcome (`passed`, `failed`, `skipped`).
pub fn badge(outcome: &str) -> String {
    format!(r#"<span class="badge {0}">{0}</span>"#, escape(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<b a="1">&'"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_340), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
    }
}
