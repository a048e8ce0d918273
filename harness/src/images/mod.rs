//! Host images built from the recipes under `vms/`: mmdebstrap makes each root file system
//! from Debian's packages, docker imports it, and the tag carries the recipe's hash, so an
//! unchanged recipe reuses its image and any edit builds a new one. No image is ever pulled.

mod build;
mod cache;
mod kind;
mod recipe;
mod sources;
mod store;

use std::path::Path;

use bollard::Docker;

use crate::error::Result;

pub use build::BuildFiles;
pub use cache::{cache_root, AptCache};
pub use kind::ImageKind;
pub(crate) use recipe::hash_tree;
pub use recipe::{parse_package_list, recipe_hash, repository, sha256_file, Recipe};
pub use store::{list, prune_stale, ImageStatus, Pruned, LABEL_KIND, LABEL_RECIPE};

/// Receives one line per build step. `Sync`, so that a build can run inside a spawned task.
pub type Progress<'a> = dyn Fn(&str) + Sync + 'a;

/// The tag of `kind`'s image for the current recipe, built first if docker lacks it.
pub async fn ensure(
    docker: &Docker,
    vms_dir: &Path,
    kind: ImageKind,
    progress: &Progress<'_>,
) -> Result<String> {
    build(docker, vms_dir, kind, false, progress).await
}

/// Like [`ensure`], but with `force` it builds even when the image exists (the old one is
/// left untagged for [`prune_stale`]).
pub async fn build(
    docker: &Docker,
    vms_dir: &Path,
    kind: ImageKind,
    force: bool,
    progress: &Progress<'_>,
) -> Result<String> {
    store::require_daemon(docker).await?;
    let recipe = Recipe::load(vms_dir, kind)?;
    let tag = recipe.tag();
    if !force && store::image_id(docker, &tag).await?.is_some() {
        return Ok(tag);
    }
    let mmdebstrap = build::find_mmdebstrap()?;
    let root = cache_root()?;
    let cache = AptCache::in_cache_root(&root);
    let _lock = cache
        .lock(|| progress(&format!("{tag}: waiting for another image build to finish")))
        .await?;
    // The build we waited for may have been this very image.
    if !force && store::image_id(docker, &tag).await?.is_some() {
        return Ok(tag);
    }
    let files = BuildFiles::new(&root, &recipe);
    build::build_image(docker, &mmdebstrap, &recipe, &cache, &files, progress).await?;
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Builds every image for real (minutes, and a docker daemon): `cargo test -p acura-ha
    /// images::tests::builds_every_image -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore = "builds images with mmdebstrap and docker"]
    async fn builds_every_image_then_reuses_it() {
        let docker = Docker::connect_with_local_defaults().unwrap();
        let vms = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vms");
        let lines = Mutex::new(Vec::<String>::new());
        let progress = |line: &str| {
            eprintln!("{line}");
            lines.lock().unwrap().push(line.to_owned());
        };
        for kind in ImageKind::all() {
            let started = std::time::Instant::now();
            let tag = ensure(&docker, &vms, kind, &progress).await.unwrap();
            eprintln!("{tag} ready in {:.0?}", started.elapsed());
            let image = docker.inspect_image(&tag).await.unwrap();
            let config = image.config.unwrap();
            let labels = config.labels.unwrap();
            assert_eq!(labels[LABEL_KIND], kind.as_str());
            assert_eq!(labels[LABEL_RECIPE], Recipe::load(&vms, kind).unwrap().hash);
            assert_eq!(config.cmd.unwrap(), ["/sbin/init"]);
            assert_eq!(config.stop_signal.as_deref(), Some("SIGRTMIN+3"));
        }

        lines.lock().unwrap().clear();
        for kind in ImageKind::all() {
            ensure(&docker, &vms, kind, &progress).await.unwrap();
        }
        assert!(
            lines.lock().unwrap().is_empty(),
            "an unchanged recipe was rebuilt: {:?}",
            lines.lock().unwrap()
        );
        let statuses = list(&docker, &vms).await.unwrap();
        assert!(statuses.iter().all(ImageStatus::present), "{statuses:#?}");
    }
}
