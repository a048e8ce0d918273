//! What `acura-ha collect` gathers, read-only, over the run's SSH: per host its name, resolver,
//! OS, sizing, service states, listening ports and the services' recent logs; the LB's
//! nginx.conf; from the first node that answers, the cluster's nodes and pods, the etcd members
//! and their health, and the overlay list. Each command is one manifest entry with its time
//! and, when it failed, why; a host or an API that does not answer costs its entries, not the
//! bundle. Every text is scrubbed of secrets (and masked, when asked) before it is kept.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::mask::Mask;
use super::scrub::{scrub, scrub_json, scrub_output};
use super::{Bundle, Entry, Manifest, FORMAT_VERSION};
use crate::checks::facts;
use crate::checks::{CheckpointReport, Expectations};
use crate::context::RunContext;
use crate::finding::Diagnosis;
use crate::topology::{Host, Role};

const DEADLINE: Duration = Duration::from_secs(20);

/// What to collect beyond the defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// `journalctl --since` (for example `2h` or `2026-12-07 10:00`).
    pub since: String,
    pub mask_addresses: bool,
    /// What is collected, for the manifest.
    pub target: String,
}

/// One command to run and where its output goes.
struct Item {
    path: String,
    command: String,
}

fn host_items(host: &Host, since: &str) -> Vec<Item> {
    let dir = format!("hosts/{}", host.name);
    let item = |file: &str, command: String| Item {
        path: format!("{dir}/{file}"),
        command,
    };
    let units = facts::services(host.role, crate::checks::Stage::AcuraInstalled);
    let mut items = vec![
        item("hostname", "hostname".into()),
        item("resolv.conf", "cat /etc/resolv.conf".into()),
        item("os-release", "cat /etc/os-release".into()),
        item(
            "resources",
            "nproc; free -b; df -B1 /; findmnt -no SOURCE,TARGET /home 2>/dev/null; true".into(),
        ),
        item("services-and-ports", facts::host_command(&units)),
    ];
    for unit in units {
        items.push(item(
            &format!("logs/{unit}.log"),
            format!("journalctl -u {unit} --since '-{since}' --no-pager 2>&1 | tail -n 2000"),
        ));
    }
    if host.role == Role::Lb {
        items.push(item("nginx.conf", "cat /etc/nginx/nginx.conf".into()));
    }
    items
}

fn cluster_items(node: &Host) -> Vec<Item> {
    let on = node.name.as_str();
    let item = |file: &str, command: String| Item {
        path: format!("cluster/{file}"),
        command,
    };
    vec![
        item("nodes.json", "kubectl get nodes -o json".into()),
        item("pods.json", "kubectl get pods -A -o json".into()),
        item(
            "etcd-members.json",
            crate::checks::etcd_member_list_command(on),
        ),
        item(
            "etcd-health.json",
            crate::checks::etcd_endpoint_health_command(on),
        ),
        item(
            "overlay-list",
            "kubectl exec etcd-0 -- etcdctl get /overlay_list".into(),
        ),
    ]
}

async fn run_item(ctx: &RunContext, host: &Host, item: Item) -> (Entry, String) {
    let started = Instant::now();
    let (text, error) = match ctx.run(&host.name, &item.command, DEADLINE).await {
        Ok(out) if out.success() => (out.stdout, None),
        Ok(out) => (
            format!("{}{}", out.stdout, out.stderr),
            Some(format!("{} ({})", out.tail(2), out.status_text())),
        ),
        Err(e) => (String::new(), Some(e.to_string())),
    };
    (
        Entry {
            path: item.path,
            source: host.name.to_string(),
            command: Some(item.command),
            duration_ms: started.elapsed().as_millis() as u64,
            error,
        },
        text,
    )
}

/// The bundle of the site `ctx` reaches, with what the checks saw; and the mask applied, when
/// one was asked for (its map stays with the caller).
/// What the checks saw and made of it, as the bundle keeps it.
pub struct Checked<'a> {
    pub report: &'a CheckpointReport,
    pub diagnosis: &'a Diagnosis,
    pub expectations: &'a Expectations,
}

pub async fn collect(ctx: &RunContext, checked: &Checked<'_>, options: &Options) -> (Bundle, Mask) {
    let topology = ctx.topology();
    let clean = |text: &str| scrub_output(text, ctx.secrets());
    let mut entries = Vec::new();
    let mut files = std::collections::BTreeMap::new();

    // Hosts in parallel, each host's commands one after the other (a silent host costs one
    // timeout per command, shared: see the remote's failed-connect sharing).
    let per_host = topology.hosts.iter().map(|host| async move {
        let mut out = Vec::new();
        for item in host_items(host, &options.since) {
            out.push(run_item(ctx, host, item).await);
        }
        out
    });
    for results in futures::future::join_all(per_host).await {
        for (entry, text) in results {
            files.insert(entry.path.clone(), clean(&text));
            entries.push(entry);
        }
    }

    // The cluster's own account, from the first node whose facts say it answers.
    let answering = topology.nodes().find(|n| {
        checked
            .report
            .facts
            .hosts
            .get(&n.name)
            .is_some_and(|f| f.unreachable.is_none())
    });
    match answering {
        Some(node) => {
            for item in cluster_items(node) {
                let (entry, text) = run_item(ctx, node, item).await;
                files.insert(entry.path.clone(), clean(&text));
                entries.push(entry);
            }
        }
        None => entries.push(Entry {
            path: "cluster/".into(),
            source: "acura-ha".into(),
            command: None,
            duration_ms: 0,
            error: Some(
                "no node answered SSH: the cluster's own account could not be asked".into(),
            ),
        }),
    }

    // What the checks saw and what the diagnosis made of it.
    let json = |mut value: serde_json::Value| {
        scrub_json(&mut value, ctx.secrets());
        serde_json::to_string_pretty(&value).expect("JSON serializes")
    };
    let ours = [
        (super::TOPOLOGY, serde_json::to_value(&topology)),
        (
            super::EXPECTATIONS,
            serde_json::to_value(checked.expectations),
        ),
        (
            super::OBSERVATIONS,
            serde_json::to_value(&checked.report.observations),
        ),
        (super::FACTS, serde_json::to_value(&checked.report.facts)),
        (super::DIAGNOSIS, serde_json::to_value(checked.diagnosis)),
    ];
    for (path, value) in ours {
        files.insert(path.to_owned(), json(value.expect("plain data serializes")));
        entries.push(Entry {
            path: path.to_owned(),
            source: "acura-ha".into(),
            command: None,
            duration_ms: 0,
            error: None,
        });
    }
    // Masked last, over everything, so every address any text names has its placeholder.
    let mut mask = Mask::default();
    if options.mask_addresses {
        mask = Mask::of(&topology);
        for text in files.values() {
            mask.cover(text);
        }
        mask.cover(&options.target);
        for e in &entries {
            mask.cover(e.command.as_deref().unwrap_or_default());
            mask.cover(e.error.as_deref().unwrap_or_default());
        }
    }
    let keep = |text: &str| mask.apply(text);
    let files = files
        .into_iter()
        .map(|(path, text)| (path, keep(&text).into_bytes()))
        .collect();
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        acura_ha: env!("CARGO_PKG_VERSION").into(),
        created: Utc::now(),
        target: keep(&scrub(&options.target, ctx.secrets())),
        since: options.since.clone(),
        masked: options.mask_addresses,
        entries: entries
            .into_iter()
            .map(|mut e| {
                e.command = e.command.map(|c| keep(&scrub(&c, ctx.secrets())));
                e.error = e.error.map(|c| keep(&scrub(&c, ctx.secrets())));
                e
            })
            .collect(),
    };
    (Bundle { manifest, files }, mask)
}
