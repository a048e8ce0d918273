//! Step `join-node-refused`: C28, the add-node playbook, with a token the cluster must not
//! accept: a mistyped one (the id of an issued token, another secret) or one that ran out (C26
//! with a one-second TTL, presented after it). The playbook must fail with kubeadm's words and
//! leave the Kubernetes nodes and the etcd members as they were. None of this is the guide's
//! own run, so the commands are not tallied as C26–C28.

use std::time::Duration;

use super::plan::StepPlan;
use super::{cluster, install, require_success, RunState, Targets};
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::parse::{join_command, upload_certs};
use crate::procedure::commands;
use crate::procedure::{PlannedCommand, Reveals};
use crate::scenario::{BadToken, JoinRefusal};

const DEADLINE: Duration = Duration::from_secs(30);
/// What kubeadm says when token discovery fails, whichever way the token is bad.
pub const KUBEADM_REFUSAL: &str = "couldn't validate the identity of the API Server";

/// The token C26 prints, with its secret shifted by one in kubeadm's alphabet: the same id,
/// never the same secret.
pub fn mistyped(token: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let (id, secret) = token.split_once('.')?;
    let shifted: Option<String> = secret
        .bytes()
        .map(|b| {
            let i = ALPHABET.iter().position(|a| *a == b)?;
            Some(ALPHABET[(i + 1) % ALPHABET.len()] as char)
        })
        .collect();
    Some(format!("{id}.{}", shifted?))
}

/// C26 as `join-node-refused` runs it: with `--ttl 1s` for a token that is to expire.
pub fn token_command(bad: BadToken) -> String {
    match bad {
        BadToken::Wrong => commands::c26(),
        BadToken::Expired => format!("{} --ttl 1s", commands::c26()),
    }
}

/// The Kubernetes nodes and the etcd members, sorted, to compare before and after. A member
/// not yet started has no name: its peer URLs stand for it.
#[derive(PartialEq, Eq)]
struct Membership {
    nodes: Vec<String>,
    members: Vec<String>,
}

impl Membership {
    async fn read(ctx: &RunContext, on: &crate::topology::HostName) -> Result<Membership> {
        let mut nodes: Vec<String> = cluster::nodes(ctx, on)
            .await?
            .into_iter()
            .map(|n| n.name)
            .collect();
        let mut members: Vec<String> = cluster::members(ctx, on)
            .await?
            .into_iter()
            .map(|m| {
                if m.name.is_empty() {
                    m.peer_urls.join(",")
                } else {
                    m.name
                }
            })
            .collect();
        nodes.sort();
        members.sort();
        Ok(Membership { nodes, members })
    }
}

/// The token and the certificate key on a live node, then the add-node playbook with the bad
/// token: C26–C28's texts, unnumbered.
fn commands(
    t: &Targets,
    r: &JoinRefusal,
    facts: &commands::JoinFacts<'_>,
) -> Result<[PlannedCommand; 3]> {
    let on = &t.live_node()?.name;
    let c28 = super::join_node::add_node(t, &r.node, facts)?;
    Ok([
        PlannedCommand::aux(on, token_command(r.token)),
        PlannedCommand::aux(on, commands::c27()),
        PlannedCommand::aux(&c28.host, c28.command),
    ])
}

pub(super) fn plan(t: &Targets, r: &JoinRefusal) -> Result<StepPlan> {
    let facts = commands::JoinFacts {
        token: &format!("<{} token>", r.token.as_str()),
        discovery_token: "<from the token's join command>",
        cert_key: "<from C27>",
    };
    Ok(StepPlan {
        commands: commands(t, r, &facts)?.to_vec(),
        actions: vec![format!(
            "the playbook must fail with kubeadm's \"{KUBEADM_REFUSAL}\"; nodes and etcd members unchanged"
        )],
    })
}

pub async fn run(ctx: &RunContext, state: &mut RunState, r: &JoinRefusal) -> Result<()> {
    let targets = Targets::of_run(ctx, state);
    let unknown = commands::JoinFacts {
        token: "",
        discovery_token: "",
        cert_key: "",
    };
    let [create, upload, _] = commands(&targets, r, &unknown)?;
    let on = create.host.clone();
    let before = Membership::read(ctx, &on).await?;

    let out = ctx
        .run_revealing(&on, &create.command, DEADLINE, Reveals::JoinCommand)
        .await?;
    require_success("kubeadm token create", &out)?;
    let join = join_command::parse(&out.stdout).map_err(|e| Error::CheckFailed(e.to_string()))?;
    let issued = join.token.expose().to_owned();
    let token = match r.token {
        BadToken::Wrong => mistyped(&issued).ok_or_else(|| {
            Error::CheckFailed("C26 printed a token not of kubeadm's form".into())
        })?,
        BadToken::Expired => {
            // Past its one-second TTL, and a second more for clocks a little apart.
            tokio::time::sleep(Duration::from_secs(2)).await;
            issued
        }
    };
    ctx.secrets().register(&token, "token");

    let out = ctx
        .run_revealing(&on, &upload.command, DEADLINE, Reveals::CertificateKey)
        .await?;
    require_success("kubeadm init phase upload-certs", &out)?;
    let key = upload_certs::parse(&out.stdout).map_err(|e| Error::CheckFailed(e.to_string()))?;

    let facts = commands::JoinFacts {
        token: &token,
        discovery_token: &join.discovery_token_ca_cert_hash,
        cert_key: key.expose(),
    };
    let [_, _, add] = commands(&targets, r, &facts)?;
    let out = ctx.issue(&add, install::PLAYBOOK).await?;
    let said = format!("{}\n{}", out.stdout, out.stderr);
    if out.success() {
        return Err(Error::CheckFailed(format!(
            "the add-node playbook with the {} token succeeded: the cluster let {} join",
            r.token.as_str(),
            r.node
        )));
    }
    if !said.contains(KUBEADM_REFUSAL) {
        return Err(Error::CheckFailed(format!(
            "the add-node playbook with the {} token failed, but not with kubeadm's \"{KUBEADM_REFUSAL}\":\n{}",
            r.token.as_str(),
            out.tail(15)
        )));
    }

    let after = Membership::read(ctx, &on).await?;
    if after != before {
        return Err(Error::CheckFailed(format!(
            "the refused join changed the cluster: nodes {} → {}, etcd members {} → {}",
            before.nodes.join(", "),
            after.nodes.join(", "),
            before.members.join(", "),
            after.members.join(", ")
        )));
    }
    ctx.events().progress(format!(
        "C28 with the {} token refused with kubeadm's \"{KUBEADM_REFUSAL}\"; nodes and etcd members unchanged",
        r.token.as_str()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_token_keeps_the_id_and_changes_every_character_of_the_secret() {
        let t = "abcdef.0123456789abcdez";
        let m = mistyped(t).unwrap();
        assert_eq!(m, "abcdef.123456789abcdef0");
        assert!(
            join_command::Token::parse(&m).is_some(),
            "still kubeadm's form"
        );
        assert!(mistyped("no-dot").is_none());
        assert!(mistyped("abcdef.UPPER").is_none());
    }

    #[test]
    fn an_expiring_token_is_c26_with_a_ttl() {
        assert_eq!(
            token_command(BadToken::Expired),
            "kubeadm token create --print-join-command --ttl 1s"
        );
        assert_eq!(token_command(BadToken::Wrong), commands::c26());
    }
}
