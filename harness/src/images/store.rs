//! The images as docker holds them: what exists, what is stale, and removing it.

use std::collections::HashMap;
use std::path::Path;

use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
use bollard::Docker;
use serde::Serialize;

use super::recipe::Recipe;
use super::ImageKind;
use crate::error::{Error, Result};

/// Label on every image built from a recipe: the kind.
pub const LABEL_KIND: &str = "acura-ha.image";
/// Label on every image built from a recipe: the recipe's full hash.
pub const LABEL_RECIPE: &str = "acura-ha.recipe";

/// One kind's expected image and whether docker has it.
#[derive(Clone, Debug, Serialize)]
pub struct ImageStatus {
    pub kind: ImageKind,
    /// `acura-ha/<kind>:<hash12>`, what the current recipe builds.
    pub tag: String,
    pub recipe_hash: String,
    /// Docker's image id when the tag exists.
    pub id: Option<String>,
    /// Bytes, when the tag exists.
    pub size: Option<i64>,
}

impl ImageStatus {
    pub fn present(&self) -> bool {
        self.id.is_some()
    }
}

/// An image `prune_stale` removed, or failed to remove (`error`), e.g. because a container
/// still uses it.
#[derive(Clone, Debug, Serialize)]
pub struct Pruned {
    /// Its tags, or its id when it has none.
    pub image: String,
    pub error: Option<String>,
}

/// Fails with a message that names the daemon when docker does not answer.
pub async fn require_daemon(docker: &Docker) -> Result<()> {
    docker.ping().await.map(drop).map_err(|e| {
        Error::infra(format!(
            "docker daemon unreachable ({e}); is dockerd running, and DOCKER_HOST right if set?"
        ))
    })
}

/// The id of `reference` (a tag or an id), or `None` if docker has no such image.
pub async fn image_id(docker: &Docker, reference: &str) -> Result<Option<String>> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(image.id),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(Error::infra(format!("inspecting image {reference}: {e}"))),
    }
}

pub async fn list(docker: &Docker, vms_dir: &Path) -> Result<Vec<ImageStatus>> {
    require_daemon(docker).await?;
    let mut statuses = Vec::new();
    for kind in ImageKind::all() {
        let recipe = Recipe::load(vms_dir, kind)?;
        let tag = recipe.tag();
        let (id, size) = match docker.inspect_image(&tag).await {
            Ok(image) => (image.id, image.size),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => (None, None),
            Err(e) => return Err(Error::infra(format!("inspecting image {tag}: {e}"))),
        };
        statuses.push(ImageStatus {
            kind,
            tag,
            recipe_hash: recipe.hash,
            id,
            size,
        });
    }
    Ok(statuses)
}

/// Removes every recipe-built image whose recipe hash is no longer the current one for its
/// kind, and any left untagged by a rebuild. Images of the current recipes stay.
pub async fn prune_stale(docker: &Docker, vms_dir: &Path) -> Result<Vec<Pruned>> {
    require_daemon(docker).await?;
    let mut current = HashMap::new();
    for kind in ImageKind::all() {
        current.insert(kind.as_str().to_owned(), Recipe::load(vms_dir, kind)?.hash);
    }
    let options = ListImagesOptionsBuilder::default()
        .filters(&HashMap::from([("label", vec![LABEL_KIND])]))
        .build();
    let images = docker
        .list_images(Some(options))
        .await
        .map_err(|e| Error::infra(format!("listing images: {e}")))?;

    let mut pruned = Vec::new();
    for image in images {
        let kind = image.labels.get(LABEL_KIND);
        let hash = image.labels.get(LABEL_RECIPE);
        let up_to_date = kind
            .and_then(|k| current.get(k))
            .is_some_and(|h| Some(h) == hash);
        let tags: Vec<_> = image
            .repo_tags
            .iter()
            .filter(|t| t.as_str() != "<none>:<none>")
            .cloned()
            .collect();
        if up_to_date && !tags.is_empty() {
            continue;
        }
        let name = if tags.is_empty() {
            image.id.clone()
        } else {
            tags.join(", ")
        };
        let remove = RemoveImageOptionsBuilder::default()
            .force(!tags.is_empty())
            .build();
        // Forcing lets one call drop every tag of the image; docker still refuses to remove
        // an image a container uses.
        let error = docker
            .remove_image(&image.id, Some(remove), None)
            .await
            .err()
            .map(|e| e.to_string());
        pruned.push(Pruned { image: name, error });
    }
    Ok(pruned)
}

/// Removes an image this build made and no longer wants; a failure only leaves it for `prune_stale`.
pub async fn discard(docker: &Docker, id: &str) {
    let options = RemoveImageOptionsBuilder::default().force(true).build();
    if let Err(e) = docker.remove_image(id, Some(options), None).await {
        tracing::warn!(image = id, error = %e, "could not remove a half-built image");
    }
}
