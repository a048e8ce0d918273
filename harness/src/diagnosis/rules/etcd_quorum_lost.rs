//! etcd lost its quorum: fewer than a majority of the cluster's members are up. The API
//! server times out on every write and most reads, so nodes, pods, the UI and Kibana fail
//! with it, whichever node is asked.

use crate::diagnosis::{Candidate, Evidence};
use crate::topology::HostName;

pub const ID: &str = "etcd-quorum-lost";

pub fn find(e: &Evidence<'_>) -> Vec<Candidate> {
    if e.expectations.stage < crate::checks::Stage::ClusterInstalled {
        return Vec::new();
    }
    let members: Vec<_> = e.expectations.members(e.topology);
    if members.is_empty() {
        return Vec::new();
    }
    // A member is up when its host answers and its etcd is active (or not known to be
    // stopped), and the etcd check, when it saw the member, found it healthy.
    let etcd = e.etcd();
    let mut up: Vec<&HostName> = Vec::new();
    let mut down: Vec<String> = Vec::new();
    for m in &members {
        let why_down = match e.host_facts(&m.name) {
            None => Some("taken down by the run".to_owned()),
            Some(f) if f.unreachable.is_some() => Some("unreachable".to_owned()),
            Some(f) => match f.services.get("etcd").map(String::as_str) {
                Some("active") | None => None,
                Some(state) => Some(format!("etcd {state}")),
            },
        };
        let unhealthy = etcd
            .and_then(|f| {
                f.members
                    .get(&m.hostname)
                    .or_else(|| f.members.get(m.name.as_str()))
            })
            .is_some_and(|s| !s.healthy);
        match why_down {
            Some(why) => down.push(format!("{} ({why})", m.name)),
            None if unhealthy && etcd.is_some_and(|f| f.leaders == 0) => {
                down.push(format!("{} (unhealthy, no leader)", m.name))
            }
            None => up.push(&m.name),
        }
    }
    let needed = members.len() / 2 + 1;
    if up.len() >= needed {
        return Vec::new();
    }
    let cluster_checks = ["etcd", "nodes", "pods", "https", "log-path"];
    // Kibana runs on the cluster too: the matrix's UDP cells, checked through its log index,
    // could not be looked for.
    let claims = e.claim(|s| {
        cluster_checks.contains(&s.check.as_str())
            || (s.check == "reachability"
                && s.text.contains("unverified")
                && s.text.contains("log index"))
    });
    vec![Candidate::new(
        5,
        ID,
        format!(
            "etcd lost its quorum: {} of {} members up, {needed} needed ({} down)",
            up.len(),
            members.len(),
            down.iter().map(|d| d.split(' ').next().unwrap_or(d)).collect::<Vec<_>>().join(", ")
        ),
        format!(
            "bring {} member{} back (power the nodes on, start etcd) so that {needed} of {} answer; the guide's removal of a dead node (C22–C25) needs a quorum to run",
            needed - up.len(),
            if needed - up.len() == 1 { "" } else { "s" },
            members.len()
        ),
    )
    .evidence(down.iter().map(|d| format!("member {d}")))
    .claims(claims)]
}
