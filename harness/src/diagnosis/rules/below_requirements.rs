//! A host below the scenario's requirement profile (vCPUs, memory, one 200 GB partition, the
//! OS).

use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "below-requirements";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let claims = e.claim(|s| s.check == "resources" && !s.text.contains("sizing unknown"));
    if claims.is_empty() {
        return Vec::new();
    }
    let evidence = claims
        .iter()
        .map(|&i| e.symptoms[i].text.clone())
        .collect::<Vec<_>>();
    vec![Candidate::new(
        60,
        ID,
        format!(
            "{} shortfall{} against the requirement profile",
            claims.len(),
            if claims.len() == 1 { "" } else { "s" }
        ),
        "the guide: Ubuntu 24.04, 200 GB as one partition (no separate /home), 16 GB RAM and 8 vCPUs per node".into(),
    )
    .evidence(evidence)
    .claims(claims)]
}
