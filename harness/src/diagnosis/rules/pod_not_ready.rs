//! Pods not Ready on live nodes, by reason: an image that cannot be pulled, a container that
//! crashes, or another waiting reason kubectl prints.

use std::collections::BTreeMap;

use crate::diagnosis::{Candidate, Evidence};

pub const ID: &str = "pod-not-ready";

fn remedy(reason: &str) -> String {
    match reason {
        "ImagePullBackOff" | "ErrImagePull" => "the image cannot be pulled: set the deployment's image back to one the nodes hold (`kubectl set image`, `kubectl rollout undo`)".into(),
        "CrashLoopBackOff" => "the container keeps crashing: `kubectl logs --previous` says why".into(),
        other => format!("`kubectl describe pod` says why it waits ({other})"),
    }
}

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    // reason → symptoms
    let mut by_reason: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in e.symptoms.iter().enumerate() {
        if s.check != "pods" {
            continue;
        }
        let Some(rest) = s.text.split_once(": not Ready (").map(|(_, r)| r) else {
            continue;
        };
        let reason = rest.split([',', ')']).next().unwrap_or("unknown").trim();
        by_reason.entry(reason.to_owned()).or_default().push(i);
    }
    by_reason
        .into_iter()
        .map(|(reason, claims)| {
            let pods: Vec<String> = claims
                .iter()
                .map(|&i| {
                    e.symptoms[i]
                        .text
                        .split(':')
                        .next()
                        .unwrap_or("")
                        .to_owned()
                })
                .collect();
            Candidate::new(
                60,
                ID,
                format!(
                    "{} pod{} not Ready: {reason}",
                    claims.len(),
                    if claims.len() == 1 { "" } else { "s" }
                ),
                remedy(&reason),
            )
            .evidence(pods)
            .claims(claims)
        })
        .collect()
}
