//! A support bundle: one `tar.gz` holding a site's state as acura-ha saw it (per host the facts
//! the diagnosis uses, the LB's nginx.conf, the cluster's own accounts, the services' recent
//! logs) and the checks' observations with their diagnosis, under a versioned manifest.
//! `collect` writes one, `analyze` diagnoses from one alone.

pub mod collect;
pub mod manifest;
pub mod mask;
pub mod reproduction;
pub mod scrub;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::checks::facts::Facts;
use crate::checks::{Expectations, Observation};
use crate::error::{Error, Result};
use crate::topology::Topology;

pub use manifest::{Entry, Manifest, FORMAT_VERSION};

/// The files every bundle has, besides what was collected from the hosts.
pub const MANIFEST: &str = "manifest.json";
pub const TOPOLOGY: &str = "topology.json";
pub const EXPECTATIONS: &str = "expectations.json";
pub const OBSERVATIONS: &str = "observations.json";
pub const FACTS: &str = "facts.json";
pub const DIAGNOSIS: &str = "diagnosis.json";

/// A bundle in memory: its manifest and its files by path.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub manifest: Manifest,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// What the diagnosis is computed from.
pub struct Evidence {
    pub topology: Topology,
    pub expectations: Expectations,
    pub observations: Vec<Observation>,
    pub facts: Facts,
}

impl Bundle {
    /// Written as `<dir>/<name>.tar.gz`, every file under the folder `<name>/`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".tar.gz"))
            .unwrap_or("acura-ha-bundle")
            .to_owned();
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let manifest = serde_json::to_vec_pretty(&self.manifest).expect("a manifest serializes");
        let mut files = vec![(MANIFEST.to_owned(), manifest.as_slice())];
        files.extend(self.files.iter().map(|(p, b)| (p.clone(), b.as_slice())));
        for (inner, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(self.manifest.created.timestamp().max(0) as u64);
            header.set_cksum();
            tar.append_data(&mut header, format!("{name}/{inner}"), bytes)
                .map_err(|e| Error::io(path, e))?;
        }
        tar.into_inner()
            .and_then(|gz| gz.finish())
            .map_err(|e| Error::io(path, e))?;
        Ok(())
    }

    /// Read back; anything that is not a bundle this acura-ha can read is invalid input that
    /// says what it is.
    pub fn read(path: &Path) -> Result<Bundle> {
        let invalid = |why: String| Error::Invalid {
            rendered: format!("error: {}: {why}", path.display()),
        };
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut files = BTreeMap::new();
        let entries = archive
            .entries()
            .map_err(|e| invalid(format!("not an acura-ha bundle (a .tar.gz): {e}")))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| invalid(format!("not an acura-ha bundle (a .tar.gz): {e}")))?;
            let inner = entry
                .path()
                .map_err(|e| invalid(format!("an entry without a path: {e}")))?
                .to_string_lossy()
                .into_owned();
            // Every file sits under the bundle's own folder.
            let Some((_, inner)) = inner.split_once('/') else {
                continue;
            };
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| invalid(format!("{inner}: {e}")))?;
            files.insert(inner.to_owned(), bytes);
        }
        let manifest = files
            .remove(MANIFEST)
            .ok_or_else(|| invalid(format!("not an acura-ha bundle: no {MANIFEST} in it")))?;
        let version: serde_json::Value =
            serde_json::from_slice(&manifest).map_err(|e| invalid(format!("{MANIFEST}: {e}")))?;
        match version.get("format_version").and_then(|v| v.as_u64()) {
            None => {
                return Err(invalid(format!(
                    "{MANIFEST}: field `format_version`: missing"
                )))
            }
            Some(v) if v > u64::from(FORMAT_VERSION) => {
                return Err(invalid(format!(
                    "{MANIFEST}: field `format_version`: {v} is newer than this acura-ha reads ({FORMAT_VERSION}); analyze it with a newer acura-ha"
                )))
            }
            Some(_) => {}
        }
        let manifest: Manifest =
            serde_json::from_value(version).map_err(|e| invalid(format!("{MANIFEST}: {e}")))?;
        Ok(Bundle { manifest, files })
    }

    /// The evidence the diagnosis reads, from the bundle alone.
    pub fn evidence(&self, path: &Path) -> Result<Evidence> {
        Ok(Evidence {
            topology: self.json(path, TOPOLOGY)?,
            expectations: self.json(path, EXPECTATIONS)?,
            observations: self.json(path, OBSERVATIONS)?,
            facts: self.json(path, FACTS)?,
        })
    }

    fn json<T: serde::de::DeserializeOwned>(&self, path: &Path, inner: &str) -> Result<T> {
        let bytes = self.files.get(inner).ok_or_else(|| Error::Invalid {
            rendered: format!(
                "error: {}: {inner} is missing from the bundle",
                path.display()
            ),
        })?;
        serde_json::from_slice(bytes).map_err(|e| Error::Invalid {
            rendered: format!("error: {}: {inner}:{}: {e}", path.display(), e.line()),
        })
    }

    pub fn text(&self, inner: &str) -> Option<String> {
        self.files
            .get(inner)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(version: u32) -> Bundle {
        Bundle {
            manifest: Manifest {
                format_version: version,
                acura_ha: "0.1.0".into(),
                created: chrono::Utc::now(),
                target: "site of ha_env_file".into(),
                since: "2h".into(),
                masked: false,
                entries: vec![Entry {
                    path: "hosts/lb/nginx.conf".into(),
                    source: "lb".into(),
                    command: Some("cat /etc/nginx/nginx.conf".into()),
                    duration_ms: 12,
                    error: None,
                }],
            },
            files: [("hosts/lb/nginx.conf".to_owned(), b"stream {}\n".to_vec())].into(),
        }
    }

    #[test]
    fn a_bundle_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acura-ha-bundle-site-1.tar.gz");
        let written = bundle(FORMAT_VERSION);
        written.write(&path).unwrap();
        let read = Bundle::read(&path).unwrap();
        assert_eq!(read.manifest.entries, written.manifest.entries);
        assert_eq!(
            read.text("hosts/lb/nginx.conf").as_deref(),
            Some("stream {}\n")
        );
        let e = read.evidence(&path).err().unwrap().to_string();
        assert!(
            e.ends_with("topology.json is missing from the bundle"),
            "{e}"
        );
    }

    #[test]
    fn what_is_not_a_bundle_this_version_reads_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("newer.tar.gz");
        bundle(FORMAT_VERSION + 1).write(&newer).unwrap();
        let e = Bundle::read(&newer).unwrap_err();
        assert_eq!(e.exit_code(), crate::exit_code::INVALID_INPUT);
        assert!(
            e.to_string().contains(&format!(
                "manifest.json: field `format_version`: {} is newer than this acura-ha reads ({FORMAT_VERSION})",
                FORMAT_VERSION + 1
            )),
            "{e}"
        );
        let garbage = dir.path().join("notes.tar.gz");
        std::fs::write(&garbage, "just some notes\n").unwrap();
        let e = Bundle::read(&garbage).unwrap_err().to_string();
        assert!(e.contains("notes.tar.gz: not an acura-ha bundle"), "{e}");
    }
}
