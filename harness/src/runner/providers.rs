//! Picks and builds the provider a run uses, the one a kept run is checked through, and finds
//! and releases what runs left on each provider. The only place that names concrete providers
//! for runs, kept runs and `gc` (`images` and `bench boot` are about docker images and QEMU
//! boots themselves).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::events::Released;
use crate::images;
use crate::provider::docker::{self, DockerProvider};
use crate::provider::kept_topology::KeptTopology;
use crate::provider::qemu::{self, QemuConfig, QemuProvider};
use crate::provider::static_hosts::StaticHosts;
use crate::provider::Provider;
use crate::runner::run::RunOptions;
use crate::scenario::{ProviderKind, Scenario};
use crate::topology::Role;

pub async fn create(
    kind: ProviderKind,
    run_id: &str,
    options: &RunOptions,
    events: &EventSink,
    scenario: &Scenario,
    scenario_dir: &std::path::Path,
    artifacts_dir: &std::path::Path,
) -> Result<Arc<dyn Provider>> {
    match kind {
        ProviderKind::Docker => {
            let client = docker::connect().await?;
            let mut tags = HashMap::new();
            for role in [Role::Dns, Role::Lb, Role::Deployer, Role::Node] {
                let progress = |line: &str| events.progress(line.to_owned());
                let tag = images::ensure(&client, &options.vms_dir, role.into(), &progress).await?;
                tags.insert(role, tag);
            }
            Ok(Arc::new(DockerProvider::new(client, run_id, tags)))
        }
        ProviderKind::Qemu => {
            let config =
                QemuConfig::from_env(options.vms_dir.clone(), artifacts_dir.to_path_buf())?
                    .with_events(events.clone());
            Ok(Arc::new(QemuProvider::new(run_id, config)))
        }
        ProviderKind::Static => {
            let inventory = scenario.inventory.as_ref().ok_or_else(|| Error::Invalid {
                rendered: format!(
                    "scenario {}: `provider: static` needs an `inventory`",
                    scenario.name
                ),
            })?;
            Ok(Arc::new(StaticHosts::from_inventory(
                inventory,
                scenario_dir,
            )?))
        }
    }
}

/// The hosts of a kept run, whoever made them: checked at the pace they ran at, never changed.
pub fn kept(run_id: &str, provider: &str, pace: u32) -> Result<Arc<dyn Provider>> {
    Ok(Arc::new(KeptTopology::new(run_id, provider, pace)?))
}

/// What one run left on one provider.
pub struct Leftover {
    pub provider: &'static str,
    pub run_id: String,
    /// `host:pid` of the process that made it.
    pub owner: String,
    /// What is there, for a listing: "3 containers, 1 networks".
    pub holds: String,
}

impl Leftover {
    /// Whether the process that made it is gone.
    pub fn orphaned(&self) -> bool {
        !docker::owner_alive(&self.owner)
    }
}

/// Everything runs left on every provider: containers and networks, VMs, links and folders.
pub async fn leftovers() -> Result<Vec<Leftover>> {
    let client = docker::connect().await?;
    let mut found: Vec<Leftover> = docker::find_runs(&client)
        .await?
        .into_iter()
        .map(|f| Leftover {
            provider: "docker",
            holds: format!("{} containers, {} networks", f.containers, f.networks),
            run_id: f.run_id,
            owner: f.owner,
        })
        .collect();
    found.extend(qemu::find_runs()?.into_iter().map(|f| Leftover {
        provider: "qemu",
        holds: format!("{} VMs, {} links", f.vms, f.links),
        run_id: f.run_id,
        owner: f.owner,
    }));
    Ok(found)
}

/// Releases what `leftover` holds, each resource on its own.
pub async fn release(leftover: &Leftover) -> Result<Vec<Released>> {
    Ok(match leftover.provider {
        "docker" => {
            let client = docker::connect().await?;
            docker::teardown_run(&client, &leftover.run_id).await
        }
        _ => qemu::teardown_run(&leftover.run_id, std::time::Duration::from_secs(30)).await,
    })
}
