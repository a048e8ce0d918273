//! A diagnosis as people read it: the headline first, one block per finding (cause, evidence,
//! what it explains, remedy), then what is unexplained. Long lists are compacted (18 cells to
//! node-2 become one line) and every line is wrapped to `width`.

use std::collections::BTreeMap;

use crate::finding::{Diagnosis, Symptom};

/// The text, each line at most `width` characters (a word longer than that stands alone).
pub fn render(diagnosis: &Diagnosis, width: usize) -> String {
    let mut out = Vec::new();
    let Some(headline) = diagnosis.headline() else {
        if diagnosis.unexplained.is_empty() {
            return String::new();
        }
        out.push(format!(
            "diagnosis: no known cause; {} unexplained failure{}",
            diagnosis.unexplained.len(),
            if diagnosis.unexplained.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
        for line in compact(&diagnosis.unexplained) {
            out.push(format!("  - {line}"));
        }
        return wrap_all(&out, width);
    };
    out.push(format!("diagnosis: {headline}"));
    for (i, f) in diagnosis.findings.iter().enumerate() {
        out.push(format!("  {}. {} [{}]", i + 1, f.cause, f.rule));
        for e in &f.evidence {
            out.push(format!("     evidence: {e}"));
        }
        out.push(format!(
            "     explains {} failure{}:",
            f.explains.len(),
            if f.explains.len() == 1 { "" } else { "s" }
        ));
        for line in compact(&f.explains) {
            out.push(format!("       - {line}"));
        }
        out.push(format!("     remedy: {}", f.remedy));
    }
    if !diagnosis.unexplained.is_empty() {
        out.push(format!(
            "  unexplained ({}), each still fails its check:",
            diagnosis.unexplained.len()
        ));
        for line in compact(&diagnosis.unexplained) {
            out.push(format!("    - {line}"));
        }
    }
    wrap_all(&out, width)
}

/// Symptoms as lines: the matrix's cells grouped by destination and state
/// (`18 cells to node-2 timed out: ports 22, 80, …, from harness, deployer, node-1`), every
/// other symptom as it is.
pub fn compact(symptoms: &[Symptom]) -> Vec<String> {
    // (destination, state) → (ports, sources, count)
    type Group = (Vec<String>, Vec<String>, usize);
    let mut cells: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut other = Vec::new();
    for s in symptoms {
        match parse_cell(s) {
            Some((source, destination, port, state)) => {
                let g = cells.entry((destination, state)).or_default();
                if !g.0.contains(&port) {
                    g.0.push(port);
                }
                if !g.1.contains(&source) {
                    g.1.push(source);
                }
                g.2 += 1;
            }
            None => other.push(s.to_string()),
        }
    }
    let mut out = Vec::new();
    for ((destination, state), (ports, sources, n)) in cells {
        if n == 1 {
            out.push(format!(
                "reachability: {} → {destination}:{}: {state}",
                sources[0], ports[0]
            ));
        } else {
            out.push(format!(
                "reachability: {n} cells to {destination} {state}: {} {}, from {}",
                if ports.len() == 1 { "port" } else { "ports" },
                ports.join(", "),
                sources.join(", ")
            ));
        }
    }
    out.extend(other);
    out
}

/// `(source, destination, port/protocol, state)` of a matrix cell's symptom.
fn parse_cell(s: &Symptom) -> Option<(String, String, String, String)> {
    if s.check != "reachability" {
        return None;
    }
    let (source, rest) = s.text.split_once(" → ")?;
    let (target, rest) = rest.split_once(": ")?;
    let state = rest.split(", expected").next()?.to_owned();
    let (destination, port) = target.rsplit_once(':')?;
    Some((
        source.to_owned(),
        destination.to_owned(),
        port.to_owned(),
        state,
    ))
}

fn wrap_all(lines: &[String], width: usize) -> String {
    let mut out = String::new();
    for line in lines {
        for wrapped in wrap(line, width.max(20)) {
            out.push_str(&wrapped);
            out.push('\n');
        }
    }
    out
}

/// `line` broken at spaces into lines of at most `width` characters; continuation lines keep
/// the first line's indentation plus two.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let indent = line.len() - line.trim_start().len();
    let pad = " ".repeat((indent + 2).min(width / 2));
    let mut out = Vec::new();
    let mut current = line[..indent].to_owned();
    let mut empty = true;
    for word in line[indent..].split(' ') {
        let len = current.chars().count() + usize::from(!empty) + word.chars().count();
        if !empty && len > width {
            out.push(std::mem::replace(&mut current, pad.clone()));
            empty = true;
        }
        if !empty {
            current.push(' ');
        }
        current.push_str(word);
        empty = false;
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    fn cell(source: &str, destination: &str, port: &str) -> Symptom {
        Symptom {
            check: "reachability".into(),
            text: format!("{source} → {destination}:{port}: timed out, expected open"),
        }
    }

    #[test]
    fn cells_to_one_host_become_one_line() {
        let mut symptoms = Vec::new();
        for source in ["harness", "deployer", "node-1"] {
            for port in ["22/tcp", "443/tcp"] {
                symptoms.push(cell(source, "node-2", port));
            }
        }
        symptoms.push(Symptom {
            check: "dns".into(),
            text: "node-2: not asked".into(),
        });
        let lines = compact(&symptoms);
        assert_eq!(
            lines,
            [
                "reachability: 6 cells to node-2 timed out: ports 22/tcp, 443/tcp, from harness, deployer, node-1",
                "dns: node-2: not asked"
            ]
        );
    }

    #[test]
    fn no_line_is_longer_than_the_width_and_the_headline_leads() {
        let d = Diagnosis {
            findings: vec![Finding {
                rule: "etcd-quorum-lost".into(),
                cause: "etcd lost its quorum: 1 of 3 members up, 2 needed (node-2, node-3 down)".into(),
                evidence: vec!["member node-2 (unreachable)".into()],
                explains: (0..30).map(|i| cell("harness", "node-2", &format!("{i}/tcp"))).collect(),
                remedy: "bring 1 member back (power the nodes on, start etcd) so that 2 of 3 answer; the guide's removal of a dead node (C22–C25) needs a quorum to run".into(),
            }],
            unexplained: vec![],
        };
        let text = render(&d, 60);
        assert!(
            text.starts_with("diagnosis: 1 cause explains 30 failures: etcd lost"),
            "{text}"
        );
        for line in text.lines() {
            assert!(line.chars().count() <= 60, "{line:?}");
        }
        assert!(text.contains("30 cells to node-2 timed out"), "{text}");
    }
}
