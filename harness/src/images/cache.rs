//! Where image builds keep what outlives them: the apt archive shared by every build (so four
//! images do not download the same packages four times) and each build's log.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `$XDG_CACHE_HOME/acura-ha`, else `~/.cache/acura-ha`.
pub fn cache_root() -> Result<PathBuf> {
    let base =
        match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(home) => PathBuf::from(home).join(".cache"),
                None => return Err(Error::infra(
                    "neither XDG_CACHE_HOME nor HOME is set: nowhere to keep the image build cache",
                )),
            },
        };
    Ok(base.join("acura-ha"))
}

/// The `.deb` files every build has downloaded, synced into each build's chroot before apt
/// runs and back out after it.
#[derive(Clone, Debug)]
pub struct AptCache {
    dir: PathBuf,
}

/// Held for a whole build: mmdebstrap copies the archive in and out with no locking of its
/// own, so two builds at once could read each other's half-written packages.
#[derive(Debug)]
pub struct AptCacheLock {
    _file: File,
}

impl AptCache {
    pub fn new(dir: PathBuf) -> AptCache {
        AptCache { dir }
    }

    pub fn in_cache_root(root: &Path) -> AptCache {
        AptCache::new(root.join("apt"))
    }

    pub fn archives(&self) -> PathBuf {
        self.dir.join("archives")
    }

    /// Waits (without blocking the runtime) until no other build, in this process or
    /// another, holds the cache. `waiting` is called once if the lock is taken.
    pub async fn lock(&self, waiting: impl FnOnce()) -> Result<AptCacheLock> {
        let archives = self.archives();
        std::fs::create_dir_all(&archives).map_err(|e| Error::io(&archives, e))?;
        let path = self.dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        use rustix::fs::{flock, FlockOperation};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(AptCacheLock { _file: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => waiting(),
            Err(e) => return Err(Error::io(&path, e.into())),
        }
        tokio::task::spawn_blocking(move || {
            flock(&file, FlockOperation::LockExclusive)
                .map(|()| AptCacheLock { _file: file })
                .map_err(|e| Error::io(&path, e.into()))
        })
        .await
        .map_err(|e| Error::infra(format!("waiting for the apt cache lock: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_second_build_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AptCache::in_cache_root(dir.path());
        let first = cache.lock(|| panic!("the cache was free")).await.unwrap();
        assert!(cache.archives().is_dir());

        let waited = Arc::new(AtomicBool::new(false));
        let acquired = Arc::new(AtomicBool::new(false));
        let second = {
            let (cache, waited, acquired) = (cache.clone(), waited.clone(), acquired.clone());
            tokio::spawn(async move {
                let lock = cache
                    .lock(|| waited.store(true, Ordering::SeqCst))
                    .await
                    .unwrap();
                acquired.store(true, Ordering::SeqCst);
                drop(lock);
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(waited.load(Ordering::SeqCst));
        assert!(
            !acquired.load(Ordering::SeqCst),
            "both builds held the cache"
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the second build never got the cache")
            .unwrap();
        assert!(acquired.load(Ordering::SeqCst));
    }
}
