//! The per-run artifacts folder: every command's output, the run key, logs collected from the
//! hosts, the run record. Laid out so a person can find a failing command's output by its step.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

pub struct Artifacts {
    root: PathBuf,
    counter: AtomicUsize,
}

impl Artifacts {
    pub fn create(root: PathBuf) -> Result<Artifacts> {
        std::fs::create_dir_all(root.join("commands")).map_err(|e| Error::io(&root, e))?;
        Ok(Artifacts {
            root,
            counter: AtomicUsize::new(0),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh file name under `commands/` for the next command's output.
    pub fn command_file(&self, host: &str, label: &str) -> PathBuf {
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

    pub fn write(&self, relative: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<PathBuf> {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, contents).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }
}
