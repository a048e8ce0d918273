//! A certificate whose SANs lack the LB's address or a node: clients that check the name
//! refuse it.

use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "certificate-sans";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let Some(https) = e.https() else {
        return Vec::new();
    };
    let mut missing: Vec<String> = https
        .tls
        .values()
        .flat_map(|t| t.missing_sans.iter().cloned())
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return Vec::new();
    }
    let evidence: Vec<String> = https
        .tls
        .iter()
        .filter(|(_, t)| !t.missing_sans.is_empty())
        .map(|(port, t)| format!("port {port}: SANs {}", t.sans.join(", ")))
        .collect();
    vec![Candidate::new(
        60,
        ID,
        format!(
            "the ingress certificate does not name {}: it was issued for another LB address",
            missing.join(", ")
        ),
        "issue the ingress certificate again with the LB's address (C15's lb_address) and let every node load it".into(),
    )
    .evidence(evidence)
    .claims(e.claim(|s| s.check == "https" && s.text.contains("certificate SANs lack")))]
}
