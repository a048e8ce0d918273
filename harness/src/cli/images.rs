//! `acura-ha images build|list|prune`.

use acura_ha::images::{self, ImageKind};
use acura_ha::provider::docker;
use acura_ha::{exit_code, Result};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Build the images whose recipe changed (or all, with --force).
    Build {
        /// Build even when an image for the current recipe exists.
        #[arg(long)]
        force: bool,
        /// Which images (default: all): node, lb, deployer, dns.
        kinds: Vec<ImageKind>,
    },
    /// Show each image's expected tag and whether it exists.
    List {
        /// Write the list as JSON here (`-`: stdout).
        #[arg(long, value_name = "PATH")]
        json: Option<std::path::PathBuf>,
    },
    /// Remove images built from older recipes.
    Prune,
}

pub async fn run(cmd: Command) -> Result<i32> {
    let vms = super::repo_root().join("vms");
    let client = docker::connect().await?;
    match cmd {
        Command::Build { force, kinds } => {
            let kinds = if kinds.is_empty() {
                ImageKind::all().to_vec()
            } else {
                kinds
            };
            for kind in kinds {
                let progress = |line: &str| eprintln!("{line}");
                let tag = images::build(&client, &vms, kind, force, &progress).await?;
                outln!("{kind:<9} {tag}");
            }
        }
        Command::List { json } => {
            let listed = images::list(&client, &vms).await?;
            if let Some(path) = &json {
                #[derive(serde::Serialize)]
                struct Image<'a> {
                    kind: &'static str,
                    tag: &'a str,
                    recipe_hash: &'a str,
                    present: bool,
                    id: Option<&'a str>,
                    size_bytes: Option<i64>,
                }
                #[derive(serde::Serialize)]
                struct Doc<'a> {
                    images: Vec<Image<'a>>,
                }
                let doc = Doc {
                    images: listed
                        .iter()
                        .map(|s| Image {
                            kind: s.kind.as_str(),
                            tag: &s.tag,
                            recipe_hash: &s.recipe_hash,
                            present: s.present(),
                            id: s.id.as_deref(),
                            size_bytes: s.size,
                        })
                        .collect(),
                };
                super::write_json(path, "images", &doc)?;
                if super::json_to_stdout(&json) {
                    return Ok(exit_code::PASSED);
                }
            }
            for s in listed {
                let size = s
                    .size
                    .map(|b| format!("{:.0} MiB", b as f64 / 1048576.0))
                    .unwrap_or_default();
                outln!(
                    "{:<9} {:<28} {:<8} {size}",
                    s.kind.as_str(),
                    s.tag,
                    if s.present() { "present" } else { "missing" }
                );
            }
        }
        Command::Prune => {
            for p in images::prune_stale(&client, &vms).await? {
                match p.error {
                    None => outln!("removed {}", p.image),
                    Some(e) => outln!("kept {}: {e}", p.image),
                }
            }
        }
    }
    Ok(exit_code::PASSED)
}
