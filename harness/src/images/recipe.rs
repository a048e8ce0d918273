use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ImageKind;
use crate::error::{Error, Result};

/// The recipe folder every image shares; each kind adds its own folder of the same shape.
pub const COMMON: &str = "common";
/// How many hex digits of the recipe hash the tag carries.
const TAG_HASH_LEN: usize = 12;

/// One image's recipe: `vms/common/` plus `vms/<kind>/`, identified by the hash of both.
#[derive(Clone, Debug)]
pub struct Recipe {
    pub kind: ImageKind,
    /// The `vms/` folder the recipe was read from.
    pub vms_dir: PathBuf,
    /// SHA-256 (hex) over every file of both folders, names and contents.
    pub hash: String,
}

impl Recipe {
    pub fn load(vms_dir: &Path, kind: ImageKind) -> Result<Recipe> {
        Ok(Recipe {
            kind,
            vms_dir: vms_dir.to_owned(),
            hash: recipe_hash(vms_dir, kind)?,
        })
    }

    /// `acura-ha/<kind>:<first 12 hex digits of the hash>`.
    pub fn tag(&self) -> String {
        format!("{}:{}", repository(self.kind), &self.hash[..TAG_HASH_LEN])
    }

    pub fn common_dir(&self) -> PathBuf {
        self.vms_dir.join(COMMON)
    }

    pub fn kind_dir(&self) -> PathBuf {
        self.vms_dir.join(self.kind.as_str())
    }

    /// The Debian suite named by `common/suite`.
    pub fn suite(&self) -> Result<String> {
        let path = self.common_dir().join("suite");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let suite = text.trim();
        if suite.is_empty() || suite.contains(char::is_whitespace) {
            return Err(Error::Invalid {
                rendered: format!("{}: expected one suite name", path.display()),
            });
        }
        Ok(suite.to_owned())
    }

    /// The packages of `common/packages` and `<kind>/packages`: one a line, `#` comments.
    pub fn packages(&self) -> Result<Vec<String>> {
        let mut packages = Vec::new();
        for dir in [self.common_dir(), self.kind_dir()] {
            let path = dir.join("packages");
            match std::fs::read_to_string(&path) {
                Ok(text) => packages.extend(parse_package_list(&text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Ok(packages)
    }
}

/// `acura-ha/<kind>`: every image of a kind, whatever its recipe hash.
pub fn repository(kind: ImageKind) -> String {
    format!("acura-ha/{kind}")
}

pub fn parse_package_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect()
}

/// A file's SHA-256, in hex, read in 1 MiB pieces.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 over the files of `common/` and `<kind>/`, sorted by their path relative to
/// `vms_dir`; each contributes its path, a NUL, its length (u64, little endian) and its bytes,
/// so moving bytes between a name and a content, or between two files, changes the hash.
pub fn recipe_hash(vms_dir: &Path, kind: ImageKind) -> Result<String> {
    let dirs = [vms_dir.join(COMMON), vms_dir.join(kind.as_str())];
    for dir in &dirs {
        if !dir.is_dir() {
            return Err(Error::Invalid {
                rendered: format!("no image recipe at {}", dir.display()),
            });
        }
    }
    let mut hasher = Sha256::new();
    hash_tree(&mut hasher, vms_dir, &dirs)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Feed every file below `dirs` to `hasher`, sorted by its path relative to `base`: its path,
/// a NUL, its length (u64, little endian) and its bytes.
pub(crate) fn hash_tree(hasher: &mut Sha256, base: &Path, dirs: &[PathBuf]) -> Result<()> {
    let mut files = Vec::new();
    for dir in dirs {
        collect_files(base, dir, &mut files)?;
    }
    files.sort();
    for relative in &files {
        let path = base.join(relative);
        let contents = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok(())
}

/// Paths relative to `base`, with `/` between components whatever the platform.
fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if file_type.is_dir() {
            collect_files(base, &path, out)?;
        } else if file_type.is_file() {
            let relative = path.strip_prefix(base).expect("walked below base");
            let components: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(components.join("/"));
        } else {
            // A symlink's target could change without the recipe's hash noticing.
            return Err(Error::Invalid {
                rendered: format!(
                    "{}: image recipes hold only plain files and folders",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, contents: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    fn sample() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "common/packages", "systemd\nopenssh-server # sshd\n");
        write(root, "common/customize.sh", "#!/bin/sh\n");
        write(root, "common/rootfs/etc/default/locale", "LANG=C.UTF-8\n");
        write(root, "common/suite", "bookworm\n");
        write(root, "node/packages", "etcd-server\n");
        write(root, "lb/packages", "nginx\n");
        write(root, "README.md", "recipes\n");
        dir
    }

    fn hash(root: &Path, kind: ImageKind) -> String {
        recipe_hash(root, kind).unwrap()
    }

    #[test]
    fn hash_is_stable_for_an_unchanged_recipe() {
        let dir = sample();
        let first = hash(dir.path(), ImageKind::Node);
        assert_eq!(first.len(), 64);
        assert_eq!(first, hash(dir.path(), ImageKind::Node));
        // Files outside common/ and the kind's folder are not part of the recipe.
        write(dir.path(), "README.md", "edited\n");
        write(dir.path(), "lb/packages", "nginx\nlibnginx-mod-stream\n");
        assert_eq!(first, hash(dir.path(), ImageKind::Node));
    }

    #[test]
    fn hash_changes_with_any_recipe_file() {
        let dir = sample();
        let root = dir.path();
        let mut seen = vec![hash(root, ImageKind::Node)];
        let edits: [(&str, &str); 5] = [
            ("node/packages", "etcd-server\netcd-client\n"),
            ("common/customize.sh", "#!/bin/sh\nset -eu\n"),
            ("common/rootfs/etc/default/locale", "LANG=C\n"),
            ("node/customize.sh", "#!/bin/sh\n"),
            ("common/rootfs/etc/motd", ""),
        ];
        for (path, contents) in edits {
            write(root, path, contents);
            let h = hash(root, ImageKind::Node);
            assert!(!seen.contains(&h), "editing {path} left the hash unchanged");
            seen.push(h);
        }
    }

    #[test]
    fn hash_sees_renames_and_moved_bytes() {
        let dir = sample();
        let root = dir.path();
        let before = hash(root, ImageKind::Node);
        std::fs::rename(root.join("node/packages"), root.join("node/packages.txt")).unwrap();
        let renamed = hash(root, ImageKind::Node);
        assert_ne!(before, renamed);

        // Same concatenated bytes, split differently between two files.
        write(root, "node/a", "ab");
        write(root, "node/b", "c");
        let split_one = hash(root, ImageKind::Node);
        write(root, "node/a", "a");
        write(root, "node/b", "bc");
        assert_ne!(split_one, hash(root, ImageKind::Node));
    }

    #[test]
    fn kinds_sharing_common_differ() {
        let dir = sample();
        assert_ne!(
            hash(dir.path(), ImageKind::Node),
            hash(dir.path(), ImageKind::Lb)
        );
    }

    #[test]
    fn a_missing_kind_folder_is_an_invalid_recipe() {
        let dir = sample();
        let err = recipe_hash(dir.path(), ImageKind::Deployer).unwrap_err();
        assert!(err.to_string().contains("no image recipe at"), "{err}");
    }

    #[test]
    fn tag_is_the_repository_and_twelve_hex_digits() {
        let dir = sample();
        let recipe = Recipe::load(dir.path(), ImageKind::Node).unwrap();
        let tag = recipe.tag();
        let (repo, short) = tag.split_once(':').unwrap();
        assert_eq!(repo, "acura-ha/node");
        assert_eq!(short.len(), 12);
        assert!(short
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(recipe.hash.starts_with(short));
    }

    #[test]
    fn packages_join_common_and_kind_lists() {
        let dir = sample();
        let recipe = Recipe::load(dir.path(), ImageKind::Node).unwrap();
        assert_eq!(
            recipe.packages().unwrap(),
            ["systemd", "openssh-server", "etcd-server"]
        );
        assert_eq!(recipe.suite().unwrap(), "bookworm");
    }

    #[test]
    fn the_shipped_recipes_hash_and_list_packages() {
        let vms = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vms");
        for kind in ImageKind::all() {
            let recipe = Recipe::load(&vms, kind).unwrap();
            let packages = recipe.packages().unwrap();
            assert!(packages.iter().any(|p| p == "openssh-server"), "{kind}");
        }
        let lb = Recipe::load(&vms, ImageKind::Lb).unwrap();
        assert!(lb
            .packages()
            .unwrap()
            .iter()
            .any(|p| p == "libnginx-mod-stream"));
    }
}
