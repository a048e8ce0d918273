//! The per-run artifacts folder: every command's output, the run key, logs collected from the
//! hosts, the run record. Laid out so a person can find a failing command's output by its step.
//! Every text written here passes through the run's secrets first, as every event does.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::secrets::Secrets;

pub struct Artifacts {
    root: PathBuf,
    counter: AtomicUsize,
    secrets: Arc<Secrets>,
}

impl Artifacts {
    pub fn create(root: PathBuf, secrets: Arc<Secrets>) -> Result<Artifacts> {
        std::fs::create_dir_all(root.join("commands")).map_err(|e| Error::io(&root, e))?;
        Ok(Artifacts {
            root,
            counter: AtomicUsize::new(0),
            secrets,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh file under `commands/` with one command's record; returns its path.
    pub fn write_command(&self, host: &str, label: &str, record: &str) -> PathBuf {
        let path = self.command_file(host, label);
        let _ = std::fs::write(&path, self.secrets.redact(record));
        path
    }

    fn command_file(&self, host: &str, label: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        self.root
            .join("commands")
            .join(format!("{n:04}-{host}-{label}.log"))
    }

    /// Writes a text artifact, its secrets redacted.
    pub fn write(&self, relative: impl AsRef<Path>, text: &str) -> Result<PathBuf> {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, self.secrets.redact(text)).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }
}
