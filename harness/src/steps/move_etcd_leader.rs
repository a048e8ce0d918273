//! Step `move-etcd-leader NODE`: hand the control-plane etcd's leadership to NODE with
//! etcdctl's `move-leader`, sent to the current leader, and wait until every endpoint agrees.
//! A scenario that must lose "the node holding the etcd leader" names that node this way,
//! so the failure, the run and its golden snapshots do not depend on how an election went.

use std::time::Duration;

use super::plan::StepPlan;
use super::{require_success, RunState, Targets};
use crate::checks::etcd::{
    endpoint_status_command, parse_json, url_host, EndpointStatus, ETCD_PKI,
};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::procedure::PlannedCommand;
use crate::topology::{HostName, Topology};
use crate::wait::Poll;

const DEADLINE: Duration = Duration::from_secs(30);
const SETTLES: Duration = Duration::from_secs(60);

/// What the step issues on a live node: the members' status, then `move-leader` sent to the
/// current leader unless `target` leads already.
pub(super) fn plan(t: &Targets, target: &HostName) -> Result<StepPlan> {
    let on = &t.live_node()?.name;
    Ok(StepPlan {
        commands: vec![
            PlannedCommand::aux(on, endpoint_status_command(on.as_str())),
            PlannedCommand::aux(
                on,
                move_leader_text(
                    on.as_str(),
                    "<leader endpoint>",
                    &format!("<member id of {target}>"),
                ),
            )
            .when("when another member leads"),
        ],
        actions: vec![format!(
            "wait until every endpoint reports {target} as the leader"
        )],
    })
}

pub async fn run(ctx: &RunContext, state: &mut RunState, target: &HostName) -> Result<()> {
    let on = Targets::of_run(ctx, state).live_node()?.name.clone();
    let topology = ctx.topology();
    let status = statuses(ctx, &on).await?;
    let leadership = Leadership::of(&topology, &status)?;
    let target_id = leadership.member_of(target).ok_or_else(|| {
        Error::CheckFailed(format!(
            "{target} is not an etcd member answering its status; members: {}",
            leadership.describe()
        ))
    })?;
    if leadership.leader == Some(target_id) {
        ctx.events()
            .progress(format!("etcd: {target} already holds the leader"));
        return Ok(());
    }
    let leader_endpoint = leadership.leader_endpoint().ok_or_else(|| {
        Error::CheckFailed(format!(
            "no etcd endpoint reports a leader that answers; members: {}",
            leadership.describe()
        ))
    })?;
    let out = ctx
        .run(
            &on,
            &move_leader_command(on.as_str(), &leader_endpoint, target_id),
            DEADLINE,
        )
        .await?;
    require_success(&format!("etcdctl move-leader to {target}"), &out)?;

    ctx.wait_until(
        &format!("etcd's leader on {target}"),
        SETTLES,
        Duration::from_secs(1),
        || async {
            let now = Leadership::of(&topology, &statuses(ctx, &on).await?)?;
            Ok(if now.leader == Some(target_id) && now.agreed {
                Poll::Ready(())
            } else {
                Poll::NotYet(format!("members: {}", now.describe()))
            })
        },
    )
    .await?;
    ctx.events()
        .progress(format!("etcd: {target} holds the leader"));
    Ok(())
}

/// `move-leader` must reach the leader, so the endpoint is named.
pub fn move_leader_command(on: &str, leader_endpoint: &str, target_id: u64) -> String {
    move_leader_text(on, leader_endpoint, &format!("{target_id:x}"))
}

fn move_leader_text(on: &str, leader_endpoint: &str, target_id: &str) -> String {
    format!(
        "kubectl exec etcd-{on} -n kube-system -- etcdctl {ETCD_PKI} --endpoints={leader_endpoint} move-leader {target_id}"
    )
}

async fn statuses(ctx: &RunContext, on: &HostName) -> Result<Vec<EndpointStatus>> {
    let out = ctx
        .run(on, &endpoint_status_command(on.as_str()), DEADLINE)
        .await?;
    parse_json("endpoint status", &out.stdout).map_err(Error::CheckFailed)
}

/// Who leads, as the answering endpoints report it.
#[derive(Debug, PartialEq, Eq)]
pub struct Leadership {
    /// (node, member id, endpoint) of every endpoint that answered.
    pub members: Vec<(HostName, u64, String)>,
    /// The leader the first endpoint reports.
    pub leader: Option<u64>,
    /// Every endpoint reports the same leader.
    pub agreed: bool,
}

impl Leadership {
    pub fn of(topology: &Topology, status: &[EndpointStatus]) -> Result<Leadership> {
        let mut members = Vec::new();
        for s in status {
            let host = url_host(&s.endpoint);
            let node = topology
                .nodes()
                .find(|h| Some(h.address.to_string().as_str()) == host)
                .ok_or_else(|| {
                    Error::CheckFailed(format!(
                        "etcd endpoint {} is no node of the topology",
                        s.endpoint
                    ))
                })?;
            members.push((
                node.name.clone(),
                s.status.header.member_id,
                s.endpoint.clone(),
            ));
        }
        let leader = status.first().map(|s| s.status.leader);
        let agreed = status.iter().all(|s| Some(s.status.leader) == leader);
        Ok(Leadership {
            members,
            leader,
            agreed,
        })
    }

    pub fn member_of(&self, node: &HostName) -> Option<u64> {
        self.members
            .iter()
            .find(|(n, _, _)| n == node)
            .map(|(_, id, _)| *id)
    }

    fn leader_endpoint(&self) -> Option<String> {
        let leader = self.leader?;
        self.members
            .iter()
            .find(|(_, id, _)| *id == leader)
            .map(|(_, _, e)| e.clone())
    }

    fn describe(&self) -> String {
        let list: Vec<String> = self
            .members
            .iter()
            .map(|(n, id, _)| {
                let mark = if Some(*id) == self.leader {
                    " (leader)"
                } else {
                    ""
                };
                format!("{n} {id:x}{mark}")
            })
            .collect();
        if list.is_empty() {
            "none answered".into()
        } else {
            list.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leader_is_found_by_endpoint_and_the_command_names_it() {
        let topology = crate::checks::testing::topology();
        let text = r#"[{"Endpoint":"https://10.213.7.11:2379","Status":{"header":{"member_id":11},"leader":18364,"version":"3.4.23"}},
{"Endpoint":"https://10.213.7.12:2379","Status":{"header":{"member_id":18364},"leader":18364}},
{"Endpoint":"https://10.213.7.13:2379","Status":{"header":{"member_id":13},"leader":18364}}]"#;
        let status: Vec<EndpointStatus> = parse_json("endpoint status", text).unwrap();
        let l = Leadership::of(&topology, &status).unwrap();
        assert!(l.agreed);
        assert_eq!(l.member_of(&HostName::node(1)), Some(11));
        assert_eq!(
            l.leader_endpoint().as_deref(),
            Some("https://10.213.7.12:2379")
        );
        assert_eq!(l.describe(), "node-1 b, node-2 47bc (leader), node-3 d");
        assert_eq!(
            move_leader_command("node-3", "https://10.213.7.12:2379", 11),
            format!("kubectl exec etcd-node-3 -n kube-system -- etcdctl {ETCD_PKI} --endpoints=https://10.213.7.12:2379 move-leader b")
        );
    }
}
