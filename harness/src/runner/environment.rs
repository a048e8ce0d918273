//! What a run ran on, for its record: the harness's version, the provider and its pace, the
//! image recipes' hashes, and the product archive's hash. Two runs that differ here are not
//! comparable step for step, and a report says so first.

use std::collections::BTreeMap;
use std::path::Path;

use crate::images::{recipe_hash, sha256_file, ImageKind};
use crate::provider::Provider;
use crate::scenario::{ProviderKind, Scenario};
use crate::topology::TopologySpec;

/// The `environment` record.
pub fn record(
    scenario: &Scenario,
    provider: &dyn Provider,
    spec: &TopologySpec,
    vms_dir: &Path,
) -> serde_json::Value {
    let mut images = BTreeMap::new();
    if scenario.provider != ProviderKind::Static {
        for host in &spec.hosts {
            let kind = ImageKind::from(host.role);
            images.entry(kind.as_str()).or_insert_with(|| {
                recipe_hash(vms_dir, kind)
                    .map(|h| h[..12].to_owned())
                    .unwrap_or_else(|e| format!("unknown: {e}"))
            });
        }
    }
    let archive = &scenario.product.archive;
    // `sha256:<hex>`, the form digests are written in (and told apart from key material by).
    let archive_hash = sha256_file(archive)
        .map(|h| format!("sha256:{h}"))
        .unwrap_or_else(|e| format!("unreadable: {e}"));
    serde_json::json!({
        "summary": format!(
            "acura-ha {}, {} provider, pace ×{}, archive {}",
            env!("CARGO_PKG_VERSION"),
            scenario.provider,
            provider.pace(),
            &archive_hash[..archive_hash.len().min(19)]
        ),
        "harness_version": env!("CARGO_PKG_VERSION"),
        "provider": scenario.provider.as_str(),
        "pace": provider.pace(),
        "images": images,
        "archive": {
            "file": archive.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": archive_hash,
        },
    })
}
