//! A hostname with dots (an FQDN), which the guide forbids.

use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "hostname-with-dots";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    let claims = e.claim(|s| s.check == "hostnames" && s.text.contains("contains dots"));
    if claims.is_empty() {
        return Vec::new();
    }
    let evidence = claims
        .iter()
        .map(|&i| {
            e.symptoms[i]
                .text
                .split(" (")
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect::<Vec<_>>();
    vec![Candidate::new(
        60,
        ID,
        format!(
            "{} hostname{} contain{} dots",
            claims.len(),
            if claims.len() == 1 { "" } else { "s" },
            if claims.len() == 1 { "s" } else { "" }
        ),
        "the guide: hostnames must not be FQDNs; they must not contain dots (`hostnamectl set-hostname` the short name)".into(),
    )
    .evidence(evidence)
    .claims(claims)]
}
