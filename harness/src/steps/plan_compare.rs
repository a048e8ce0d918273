//! `plan` held to a run: what a run of a scenario issued, from its record, against what `plan`
//! lists for that scenario. The suite compares every scenario it runs this way.

use crate::events::Outcome;
use crate::run_record::RunRecord;
use crate::scenario::LoadedScenario;

/// A planned command's text as a pattern: a host's placeholder (`<node-2>`) stands for that
/// host's address, which the record's commands were normalized to; any other placeholder
/// (`<from C26>`, `<member id from C24>`) stands for what the run learned at that point.
fn planned_pattern(planned: &str, hosts: &[String]) -> regex::Regex {
    let placeholder = regex::Regex::new(r"<[^<>]+>").unwrap();
    let mut pattern = String::from("^");
    let mut last = 0;
    for m in placeholder.find_iter(planned) {
        pattern.push_str(&regex::escape(&planned[last..m.start()]));
        let inner = &m.as_str()[1..m.as_str().len() - 1];
        if hosts.iter().any(|h| h == inner) {
            pattern.push_str(&regex::escape(m.as_str()));
        } else {
            pattern.push_str("(?s:.+?)");
        }
        last = m.end();
    }
    pattern.push_str(&regex::escape(&planned[last..]));
    pattern.push('$');
    regex::Regex::new(&pattern).unwrap()
}

/// `acura-ha plan` against a run of the same scenario, step by step. Every procedure command a step issued is one
/// the plan lists for that step (on that host, with that text once addresses and learned
/// values are put back as placeholders); every command the plan lists unconditionally for a
/// step that passed was issued, the harness's own commands (firewall rules, reloads, the
/// refused join) included.
pub fn differences(loaded: &LoadedScenario, record: &RunRecord) -> Vec<String> {
    let planned = super::plan(loaded);
    let mut hosts: Vec<(String, String)> = record
        .hosts
        .iter()
        .map(|(n, a)| (n.to_string(), a.clone()))
        .collect();
    hosts.sort_by_key(|(_, address)| std::cmp::Reverse(address.len()));
    let names: Vec<String> = hosts.iter().map(|(n, _)| n.clone()).collect();
    let normalize = |command: &str| {
        hosts
            .iter()
            .fold(command.to_owned(), |text, (name, address)| {
                let at =
                    regex::Regex::new(&format!(r"{}(?:\b|$)", regex::escape(address))).unwrap();
                at.replace_all(&text, format!("<{name}>").as_str())
                    .into_owned()
            })
    };
    let passed = |index: usize| {
        record
            .steps
            .iter()
            .any(|s| s.index == index && s.outcome == Some(Outcome::Passed))
    };
    // (id or "", host, command as the plan's pattern, conditional)
    type Listed<'a> = (String, &'a str, regex::Regex, bool);
    let mut problems = Vec::new();
    for step in &planned {
        let listed: Vec<Listed> = step
            .commands
            .iter()
            .map(|c| {
                (
                    c.id.map(|i| i.to_string()).unwrap_or_default(),
                    c.host.as_str(),
                    planned_pattern(&c.command, &names),
                    c.conditional.is_some(),
                )
            })
            .collect();
        let ran: Vec<(String, String, String)> = record
            .commands
            .iter()
            .filter(|c| c.step == Some(step.index))
            .map(|c| {
                (
                    c.id.map(|i| i.to_string()).unwrap_or_default(),
                    c.host.to_string(),
                    normalize(&c.command),
                )
            })
            .collect();
        let matches = |(id, host, pattern, _): &Listed,
                       (rid, rhost, text): &(String, String, String)| {
            id == rid && host == rhost && pattern.is_match(text)
        };
        // Numbered commands must match both ways; the harness's own (polls, reads) only from
        // the plan to the run, as the plan lists those that change the hosts.
        for r in ran.iter().filter(|r| !r.0.is_empty()) {
            if !listed.iter().any(|l| matches(l, r)) {
                problems.push(format!(
                    "step {} `{}`: ran {} on {} that plan does not list: {}",
                    step.index + 1,
                    step.name,
                    r.0,
                    r.1,
                    r.2
                ));
            }
        }
        if passed(step.index) {
            for l in listed.iter().filter(|l| !l.3) {
                if !ran.iter().any(|r| matches(l, r)) {
                    problems.push(format!(
                        "step {} `{}`: plan lists {} on {} that the run did not issue: {}",
                        step.index + 1,
                        step.name,
                        if l.0.is_empty() { "a command" } else { &l.0 },
                        l.1,
                        l.2.as_str()
                    ));
                }
            }
        }
    }
    problems
}
