//! From symptoms to named causes. After a checkpoint, a failing `expect` and `check`, every
//! rule under `rules/` looks at the same [`Evidence`] (the checks' observations, the facts
//! gathered with them, the topology and what the run expects) and proposes findings, each
//! claiming the symptoms it explains. The most fundamental finding gets a symptom first; a
//! finding left explaining nothing is dropped; what no finding claims stays unexplained.
//! A diagnosis never changes a verdict: an explained failure still fails its check.

mod evidence;
mod render;
mod rules;

pub use evidence::Evidence;
pub use render::render;

use crate::checks::{CheckpointReport, Expectations};
pub use crate::finding::{Diagnosis, Finding, Symptom};
use crate::topology::Topology;

/// What a rule proposes: a finding (its `explains` left empty), how fundamental it is (a lower
/// rank gets symptoms first) and the symptoms it claims, as indices into
/// [`Evidence::symptoms`].
#[derive(Clone, Debug)]
pub struct Candidate {
    pub rank: u8,
    pub finding: Finding,
    pub claims: Vec<usize>,
}

impl Candidate {
    pub fn new(rank: u8, rule: &str, cause: String, remedy: String) -> Self {
        Candidate {
            rank,
            finding: Finding {
                rule: rule.to_owned(),
                cause,
                evidence: Vec::new(),
                explains: Vec::new(),
                remedy,
            },
            claims: Vec::new(),
        }
    }

    pub fn evidence(mut self, evidence: impl IntoIterator<Item = String>) -> Self {
        self.finding.evidence.extend(evidence);
        self
    }

    pub fn claims(mut self, claims: Vec<usize>) -> Self {
        self.claims = claims;
        self
    }
}

/// The diagnosis of a checkpoint's report.
pub fn diagnose(
    report: &CheckpointReport,
    topology: &Topology,
    expectations: &Expectations,
) -> Diagnosis {
    let evidence = Evidence::new(&report.observations, &report.facts, topology, expectations);
    from_evidence(&evidence)
}

/// The diagnosis of a checkpoint's report, sent as an event when there is anything to say
/// (a healthy checkpoint has no symptom, hence no diagnosis).
pub fn report(
    ctx: &crate::context::RunContext,
    report: &CheckpointReport,
    expectations: &Expectations,
) -> Diagnosis {
    let diagnosis = diagnose(report, &ctx.topology(), expectations);
    if !diagnosis.is_empty() {
        ctx.events().send(crate::events::EventKind::Diagnosed {
            checkpoint: report.checkpoint.clone(),
            diagnosis: diagnosis.clone(),
        });
    }
    diagnosis
}

/// Every rule's candidates, ranked, each symptom given to the first that claims it.
pub fn from_evidence(evidence: &Evidence<'_>) -> Diagnosis {
    let mut candidates: Vec<Candidate> = rules::ALL
        .iter()
        .flat_map(|rule| (rule.find)(evidence))
        .collect();
    candidates.sort_by_key(|c| (c.rank, std::cmp::Reverse(c.claims.len())));
    let symptoms = &evidence.symptoms;
    let mut taken = vec![false; symptoms.len()];
    let mut findings = Vec::new();
    for mut candidate in candidates {
        let mut claims = candidate.claims.clone();
        claims.sort_unstable();
        claims.dedup();
        for i in claims {
            if i < symptoms.len() && !taken[i] {
                taken[i] = true;
                candidate.finding.explains.push(symptoms[i].clone());
            }
        }
        if !candidate.finding.explains.is_empty() {
            findings.push(candidate.finding);
        }
    }
    let unexplained = symptoms
        .iter()
        .zip(&taken)
        .filter(|(_, taken)| !**taken)
        .map(|(s, _)| s.clone())
        .collect();
    Diagnosis {
        findings,
        unexplained,
    }
}

/// The rules' ids, in the order of the table.
pub fn rule_ids() -> Vec<&'static str> {
    rules::ALL.iter().map(|r| r.id).collect()
}

#[cfg(test)]
mod tests;
