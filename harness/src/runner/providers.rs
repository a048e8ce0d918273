//! Picks and builds the provider a run uses. The only place that names concrete providers.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::images;
use crate::provider::docker::{self, DockerProvider};
use crate::provider::qemu::{QemuConfig, QemuProvider};
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
