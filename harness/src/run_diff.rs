//! What changed between two run records ("tonight vs last night"): the verdict, each check's
//! outcome, the reachability cells, the findings, the golden comparisons, the procedure's
//! commands, and the steps whose duration moved by more than a threshold. Matched by name:
//! checks by checkpoint and check, cells by their label, findings by checkpoint, rule and
//! cause, steps by position and name.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::checks::{CheckName, Findings};
use crate::events::Outcome;
use crate::run_record::RunRecord;

pub const FORMAT_VERSION: u32 = 1;

/// When a step's duration counts as moved: by more than `min_ms` and by more than `pct` percent
/// of its earlier duration.
#[derive(Clone, Copy, Debug)]
pub struct Threshold {
    pub pct: f64,
    pub min_ms: u64,
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold {
            pct: 20.0,
            min_ms: 2000,
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunDiff {
    pub format_version: u32,
    pub a: Side,
    pub b: Side,
    /// `None` when both runs ended alike.
    pub verdict: Option<Change<String>>,
    pub checks: Vec<CheckChange>,
    pub cells: Vec<CellChange>,
    pub findings: Vec<FindingChange>,
    pub goldens: Vec<CheckChange>,
    pub commands: Vec<CommandChange>,
    pub steps: Vec<StepChange>,
    /// The slowest step of `b`, with its change, whether or not it moved past the threshold.
    pub slowest_step: Option<StepChange>,
    pub environment: Option<Change<String>>,
}

/// One run as the diff names it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Side {
    pub run_id: String,
    pub scenario: String,
    pub outcome: String,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Change<T> {
    pub from: T,
    pub to: T,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CheckChange {
    pub checkpoint: String,
    pub check: String,
    /// `None`: the check did not run on that side.
    pub from: Option<String>,
    pub to: Option<String>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CellChange {
    pub checkpoint: String,
    pub cell: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FindingChange {
    pub checkpoint: String,
    pub rule: String,
    pub cause: String,
    /// `new` (only in `b`) or `gone` (only in `a`).
    pub change: &'static str,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CommandChange {
    pub command: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepChange {
    pub index: usize,
    pub name: String,
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
    pub change_pct: Option<f64>,
}

impl RunDiff {
    /// Whether nothing a person would act on changed (verdict, checks, cells, findings,
    /// goldens, commands); moved step durations alone do not count.
    pub fn is_same_result(&self) -> bool {
        self.verdict.is_none()
            && self.checks.is_empty()
            && self.cells.is_empty()
            && self.findings.is_empty()
            && self.goldens.is_empty()
            && self.commands.is_empty()
    }
}

fn outcome(o: &Option<Outcome>) -> String {
    match o {
        Some(Outcome::Passed) => "passed".into(),
        Some(Outcome::Failed) => "failed".into(),
        Some(Outcome::Skipped) => "skipped".into(),
        None => "unfinished".into(),
    }
}

fn outcome_of(o: &Outcome) -> String {
    outcome(&Some(o.clone()))
}

fn side(r: &RunRecord) -> Side {
    Side {
        run_id: r.run_id.clone(),
        scenario: r.scenario.clone(),
        outcome: format!(
            "{} (exit {})",
            outcome(&r.outcome),
            r.exit_code.map_or("?".into(), |c| c.to_string())
        ),
        duration_ms: r.duration_ms,
    }
}

/// (checkpoint, check) → (outcome, message), the last of each.
fn checks(r: &RunRecord) -> BTreeMap<(String, String), (String, Option<String>)> {
    r.checks
        .iter()
        .map(|c| {
            (
                (c.checkpoint.clone(), c.check.clone()),
                (outcome_of(&c.outcome), c.message.clone()),
            )
        })
        .collect()
}

/// (checkpoint, cell label) → state.
fn cells(r: &RunRecord) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for c in r
        .checks
        .iter()
        .filter(|c| c.check == CheckName::Reachability.as_str())
    {
        let Some(value) = c.findings.clone() else {
            continue;
        };
        if let Ok(Findings::Reachability(m)) = Findings::from_value(CheckName::Reachability, value)
        {
            for cell in m.cells {
                out.insert(
                    (c.checkpoint.clone(), cell.label()),
                    cell.state.as_str().to_owned(),
                );
            }
        }
    }
    out
}

fn findings(r: &RunRecord) -> BTreeSet<(String, String, String)> {
    r.diagnoses
        .iter()
        .flat_map(|d| {
            d.diagnosis
                .findings
                .iter()
                .map(|f| (d.checkpoint.clone(), f.rule.clone(), f.cause.clone()))
        })
        .collect()
}

fn commands(r: &RunRecord) -> BTreeMap<String, String> {
    let p = &r.procedure;
    p.passed
        .iter()
        .map(|c| (c.to_string(), "passed".to_owned()))
        .chain(
            p.failed
                .iter()
                .map(|c| (c.to_string(), "failed".to_owned())),
        )
        .collect()
}

fn changed_pct(from: u64, to: u64) -> Option<f64> {
    (from > 0).then(|| ((to as f64 - from as f64) / from as f64 * 1000.0).round() / 10.0)
}

pub fn diff(a: &RunRecord, b: &RunRecord, threshold: Threshold) -> RunDiff {
    let verdict =
        (outcome(&a.outcome) != outcome(&b.outcome) || a.exit_code != b.exit_code).then(|| {
            Change {
                from: side(a).outcome,
                to: side(b).outcome,
            }
        });

    let (ca, cb) = (checks(a), checks(b));
    let mut check_changes = Vec::new();
    let mut golden_changes = Vec::new();
    let keys: BTreeSet<_> = ca.keys().chain(cb.keys()).cloned().collect();
    for key in keys {
        let (x, y) = (ca.get(&key), cb.get(&key));
        let same = match (x, y) {
            (Some(x), Some(y)) if key.1 == "golden" => x == y,
            (Some(x), Some(y)) => x.0 == y.0,
            _ => false,
        };
        if same {
            continue;
        }
        let change = CheckChange {
            checkpoint: key.0.clone(),
            check: key.1.clone(),
            from: x.map(|x| x.0.clone()),
            to: y.map(|y| y.0.clone()),
            message: y
                .and_then(|y| y.1.clone())
                .or_else(|| x.and_then(|x| x.1.clone())),
        };
        if key.1 == "golden" {
            golden_changes.push(change);
        } else {
            check_changes.push(change);
        }
    }

    let (la, lb) = (cells(a), cells(b));
    let keys: BTreeSet<_> = la.keys().chain(lb.keys()).cloned().collect();
    let cell_changes = keys
        .into_iter()
        .filter(|k| la.get(k) != lb.get(k))
        .map(|k| CellChange {
            from: la.get(&k).cloned(),
            to: lb.get(&k).cloned(),
            checkpoint: k.0,
            cell: k.1,
        })
        .collect();

    let (fa, fb) = (findings(a), findings(b));
    let mut finding_changes: Vec<FindingChange> = fb
        .difference(&fa)
        .map(|(cp, rule, cause)| FindingChange {
            checkpoint: cp.clone(),
            rule: rule.clone(),
            cause: cause.clone(),
            change: "new",
        })
        .collect();
    finding_changes.extend(fa.difference(&fb).map(|(cp, rule, cause)| FindingChange {
        checkpoint: cp.clone(),
        rule: rule.clone(),
        cause: cause.clone(),
        change: "gone",
    }));

    let (pa, pb) = (commands(a), commands(b));
    let keys: BTreeSet<_> = pa.keys().chain(pb.keys()).cloned().collect();
    let command_changes = keys
        .into_iter()
        .filter(|k| pa.get(k) != pb.get(k))
        .map(|k| CommandChange {
            from: pa.get(&k).cloned(),
            to: pb.get(&k).cloned(),
            command: k,
        })
        .collect();

    let step_of = |r: &RunRecord, index: usize, name: &str| {
        r.steps
            .iter()
            .find(|s| s.index == index && s.name == name)
            .map(|s| s.duration_ms)
    };
    let mut moved = Vec::new();
    let mut all_steps = Vec::new();
    for s in &b.steps {
        let from = step_of(a, s.index, &s.name);
        let change = StepChange {
            index: s.index,
            name: s.name.clone(),
            from_ms: from,
            to_ms: Some(s.duration_ms),
            change_pct: from.and_then(|f| changed_pct(f, s.duration_ms)),
        };
        if let Some(f) = from {
            let delta = f.abs_diff(s.duration_ms);
            if delta > threshold.min_ms && delta as f64 > f as f64 * threshold.pct / 100.0 {
                moved.push(change.clone());
            }
        }
        all_steps.push(change);
    }
    moved.sort_by_key(|c| std::cmp::Reverse(c.from_ms.unwrap_or(0).abs_diff(c.to_ms.unwrap_or(0))));
    let slowest_step = all_steps.into_iter().max_by_key(|s| s.to_ms.unwrap_or(0));

    let env = |r: &RunRecord| {
        r.records
            .get("environment")
            .and_then(|e| e.get("summary"))
            .and_then(|s| s.as_str())
            .map(str::to_owned)
    };
    let environment = match (env(a), env(b)) {
        (Some(x), Some(y)) if x != y => Some(Change { from: x, to: y }),
        _ => None,
    };

    RunDiff {
        format_version: FORMAT_VERSION,
        a: side(a),
        b: side(b),
        verdict,
        checks: check_changes,
        cells: cell_changes,
        findings: finding_changes,
        goldens: golden_changes,
        commands: command_changes,
        steps: moved,
        slowest_step,
        environment,
    }
}

fn or_none(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("absent")
}

fn ms(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1}s", v as f64 / 1000.0))
}

impl std::fmt::Display for StepChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} `{}`: {} → {}{}",
            self.index + 1,
            self.name,
            ms(self.from_ms),
            ms(self.to_ms),
            self.change_pct
                .map(|p| format!(" ({p:+.1}%)"))
                .unwrap_or_default()
        )
    }
}

/// The diff for people, one line per change.
pub fn render_text(d: &RunDiff) -> String {
    let mut out = format!(
        "a: {} {} {}\nb: {} {} {}\n",
        d.a.scenario, d.a.run_id, d.a.outcome, d.b.scenario, d.b.run_id, d.b.outcome
    );
    match &d.verdict {
        Some(v) => out.push_str(&format!("verdict: {} → {}\n", v.from, v.to)),
        None => out.push_str("verdict: unchanged\n"),
    }
    if let Some(e) = &d.environment {
        out.push_str(&format!("environment: {} → {}\n", e.from, e.to));
    }
    for c in &d.checks {
        out.push_str(&format!(
            "check {}::{}: {} → {}\n",
            c.checkpoint,
            c.check,
            or_none(&c.from),
            or_none(&c.to)
        ));
    }
    for c in &d.cells {
        out.push_str(&format!(
            "cell {}: {}: {} → {}\n",
            c.checkpoint,
            c.cell,
            or_none(&c.from),
            or_none(&c.to)
        ));
    }
    for f in &d.findings {
        out.push_str(&format!(
            "finding {} {}: [{}] {}\n",
            f.change, f.checkpoint, f.rule, f.cause
        ));
    }
    for g in &d.goldens {
        out.push_str(&format!(
            "golden {}: {} → {}{}\n",
            g.checkpoint,
            or_none(&g.from),
            or_none(&g.to),
            g.message
                .as_deref()
                .map(|m| format!(": {}", m.lines().next().unwrap_or("")))
                .unwrap_or_default()
        ));
    }
    for c in &d.commands {
        out.push_str(&format!(
            "command {}: {} → {}\n",
            c.command,
            or_none(&c.from),
            or_none(&c.to)
        ));
    }
    for s in &d.steps {
        out.push_str(&format!("moved {s}\n"));
    }
    if let Some(s) = &d.slowest_step {
        out.push_str(&format!("slowest {s}\n"));
    }
    if d.is_same_result() {
        out.push_str("same result: no verdict, check, cell, finding, golden or command changed\n");
    }
    out
}
