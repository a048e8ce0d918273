//! Steps `write-markers` and `verify-markers`: durability across a node failure. Before the
//! fault, an app-etcd key and a GELF record sent through the LB (confirmed stored via Kibana);
//! after rejoin, both must still be there.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde_json::json;

use super::{live_node, require_success, RunState};
use crate::checks::kibana::Kibana;
use crate::checks::log_path;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::gelf::{Encoding, GelfMessage, NONCE_FIELD, WAN_CHUNK_SIZE};
use crate::parse::etcd_v2;
use crate::topology::HostName;
use crate::wait::Poll;

#[derive(Clone, Debug)]
pub struct Markers {
    pub key: String,
    pub value: String,
    pub gelf_nonce: String,
}

const READ: Duration = Duration::from_secs(30);

/// Send `message` to the LB's GELF port from the harness.
pub async fn send_gelf(lb: Ipv4Addr, message: &GelfMessage, encoding: Encoding) -> Result<()> {
    let datagrams = message
        .datagrams(encoding, WAN_CHUNK_SIZE, rand::random())
        .map_err(|e| Error::CheckFailed(format!("gelf: {e}")))?;
    log_path::send((lb, 12201).into(), &datagrams)
        .await
        .map_err(|e| Error::infra(format!("gelf to {lb}:12201: {e}")))
}

async fn find_record(
    ctx: &RunContext,
    state: &RunState,
    nonce: &str,
    deadline: Duration,
) -> Result<usize> {
    let credentials = ctx.scenario().product.kibana.clone();
    ctx.wait_until(
        &format!("GELF record {NONCE_FIELD}={nonce} in Kibana"),
        deadline,
        Duration::from_secs(1),
        || async {
            let node = ctx.host(&live_node(ctx, state)?)?.address;
            let found = match Kibana::new(node, &credentials, ctx.pace()) {
                Ok(k) => k.find(&[nonce.to_owned()]).await,
                Err(e) => Err(e),
            };
            match found {
                Ok(hits) if !hits.is_empty() => Ok(Poll::Ready(hits.len())),
                Ok(_) => Ok(Poll::NotYet("no hit yet".into())),
                Err(e) => Ok(Poll::NotYet(e.to_string())),
            }
        },
    )
    .await
}

fn etcd_get(pod: &str, key: &str) -> String {
    format!("kubectl exec -ti {pod} -- etcdctl get {key}")
}

/// The app configuration etcd's pod to run etcdctl in: the guide's `etcd-0`, or, while the
/// node it is bound to is down (a StatefulSet pod stays there until the node is removed), the
/// Ready member with the lowest ordinal: every member serves the read.
fn app_etcd_pod(pods: &[crate::parse::get_pods::PodRow]) -> String {
    pods.iter()
        .filter(|p| p.namespace == "default" && p.is_ready())
        .filter_map(|p| {
            let ordinal: u32 = p.name.strip_prefix("etcd-")?.parse().ok()?;
            Some((ordinal, p.name.clone()))
        })
        .min()
        .map_or_else(|| "etcd-0".to_owned(), |(_, name)| name)
}

pub async fn write(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let on = live_node(ctx, state)?;
    let key = format!("/acura-ha/durability-{}", ctx.run_id());
    let value = format!("{:016x}", rand::random::<u64>());
    let set = ctx
        .run(
            &on,
            &format!("kubectl exec -ti etcd-0 -- etcdctl set {key} {value}"),
            READ,
        )
        .await?;
    require_success("writing the app-etcd marker", &set)?;

    let lb = super::lb_host(ctx)?.address;
    let message = GelfMessage::with_nonce(
        "acura-ha",
        format!("durability marker of run {}", ctx.run_id()),
    );
    let nonce = message.nonce().unwrap_or_default().to_owned();
    send_gelf(lb, &message, Encoding::Gzip).await?;
    find_record(ctx, state, &nonce, Duration::from_secs(30)).await?;
    ctx.events().send(EventKind::Record {
        key: "durability.written".into(),
        value: json!({ "etcd_key": key, "gelf_nonce": nonce }),
    });
    state.markers = Some(Markers {
        key,
        value,
        gelf_nonce: nonce,
    });
    Ok(())
}

/// What reading the app-etcd marker showed.
#[derive(Debug, PartialEq, Eq)]
enum EtcdMarker {
    Kept,
    /// etcd answered: the key is gone or holds something else.
    Lost(String),
    /// etcd never answered within the deadline (a cluster still settling after a failure):
    /// nothing is known about the key, which is not the same as lost. Says the window waited.
    Unreadable(String),
}

impl EtcdMarker {
    fn describe(&self) -> String {
        match self {
            EtcdMarker::Kept => "kept".into(),
            EtcdMarker::Lost(why) => format!("LOST ({why})"),
            EtcdMarker::Unreadable(why) => {
                format!("not readable {why}")
            }
        }
    }
}

/// How long a cluster that just lost a node gets to answer a read again.
const MARKER_READ: Duration = Duration::from_secs(60);

async fn read_etcd_marker(
    ctx: &RunContext,
    on: &HostName,
    markers: &Markers,
) -> Result<EtcdMarker> {
    let read = || async {
        let pod = match super::cluster::pods(ctx, on).await {
            Ok(pods) => app_etcd_pod(&pods),
            Err(_) => "etcd-0".to_owned(),
        };
        let get = ctx.run(on, &etcd_get(&pod, &markers.key), READ).await?;
        let parsed = etcd_v2::parse_get(&format!("{}{}", get.stdout, get.stderr));
        Ok(match parsed {
            // A failed exec prints kubectl's error, not a value.
            Ok(etcd_v2::GetResult::Found(_)) if !get.success() => Poll::NotYet(get.tail(2)),
            Ok(etcd_v2::GetResult::Found(v)) if v.join(",") == markers.value => {
                Poll::Ready(EtcdMarker::Kept)
            }
            Ok(etcd_v2::GetResult::Found(v)) => Poll::Ready(EtcdMarker::Lost(format!(
                "holds `{}`, not the value written",
                v.join(",")
            ))),
            Ok(etcd_v2::GetResult::NotFound { .. }) => {
                Poll::Ready(EtcdMarker::Lost("key not found".into()))
            }
            Err(_) => Poll::NotYet(get.tail(2)),
        })
    };
    let waited = ctx
        .wait_until(
            "the app-etcd marker readable",
            MARKER_READ,
            Duration::from_secs(2),
            read,
        )
        .await;
    match waited {
        Ok(marker) => Ok(marker),
        // Unanswered is not lost: the verdict says what was last seen, and for how long.
        Err(Error::CheckFailed(unanswered)) => Ok(EtcdMarker::Unreadable(
            unanswered
                .strip_prefix("the app-etcd marker readable: not reached ")
                .unwrap_or(&unanswered)
                .to_owned(),
        )),
        Err(other) => Err(other),
    }
}

pub async fn verify(ctx: &RunContext, state: &mut RunState) -> Result<()> {
    let markers = state.markers.clone().ok_or_else(|| {
        Error::CheckFailed("verify-markers without write-markers before it".into())
    })?;
    let on = live_node(ctx, state)?;
    let etcd = read_etcd_marker(ctx, &on, &markers).await?;
    let etcd_ok = etcd == EtcdMarker::Kept;
    let gelf = find_record(ctx, state, &markers.gelf_nonce, Duration::from_secs(30)).await;
    let summary = format!(
        "app-etcd key {}: {}; GELF record {}: {}",
        markers.key,
        etcd.describe(),
        markers.gelf_nonce,
        if gelf.is_ok() { "kept" } else { "LOST" }
    );
    ctx.events().send(EventKind::Record {
        key: "durability".into(),
        value: json!({ "summary": summary, "etcd_key_kept": etcd_ok, "gelf_record_kept": gelf.is_ok() }),
    });
    if etcd_ok && gelf.is_ok() {
        Ok(())
    } else {
        Err(Error::CheckFailed(format!(
            "durability: {summary}{}",
            gelf.err().map(|e| format!("\n{e}")).unwrap_or_default()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::get_pods::PodRow;

    fn pod(name: &str, ready: bool) -> PodRow {
        PodRow {
            namespace: "default".into(),
            name: name.into(),
            node: Some("node-1".into()),
            status: "Running".into(),
            phase: Some("Running".into()),
            ready: Some(ready),
            containers_ready: u32::from(ready),
            containers: 1,
            restarts: 0,
            images: vec![],
        }
    }

    #[test]
    fn the_marker_is_read_in_a_ready_member_of_the_app_etcd() {
        let all = [
            pod("etcd-0", true),
            pod("etcd-1", true),
            pod("etcd-2", true),
        ];
        assert_eq!(app_etcd_pod(&all), "etcd-0");
        let zero_down = [
            pod("etcd-0", false),
            pod("etcd-2", true),
            pod("etcd-1", true),
            pod("etcdx-1", true),
        ];
        assert_eq!(app_etcd_pod(&zero_down), "etcd-1");
        assert_eq!(app_etcd_pod(&[]), "etcd-0");
    }
}
