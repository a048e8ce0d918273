//! Base images for VMs, cached under the user's cache folder with the recipe hash in the name.
//!
//! `debian-12` is built here, offline-capable, from Debian's packages: mmdebstrap makes a root
//! directory from `vms/common`, every role's recipe and `vms/qemu/debian-12`, `mkfs.ext4 -d`
//! turns it into a file system without any loop mount, and `qemu-img` makes it a qcow2. The
//! kernel and initrd are taken out of it and booted directly (`root=/dev/vda`), so the image
//! needs no boot loader. Other images are manifests under `vms/qemu/`: a downloaded cloud
//! image, verified against its SHA-256, that boots through its own firmware and boot loader.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::process::Command;

use crate::error::{Error, Result};
use crate::images::{self, sha256_file, AptCache, ImageKind, Progress, Recipe};

/// The folder of the built image's own recipe, under `vms/qemu/`.
pub const DEBIAN_12: &str = "debian-12";
const FS_SIZE: &str = "8G";
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// How a VM made from the image starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Boot {
    /// The kernel and initrd given to QEMU, root on the first virtio disk.
    Direct { kernel: PathBuf, initrd: PathBuf },
    /// The disk's own boot loader.
    Firmware,
}

/// A base image ready to back the run's overlays.
#[derive(Clone, Debug)]
pub struct BaseImage {
    /// `debian-12-<hash>` or the manifest's name.
    pub name: String,
    pub disk: PathBuf,
    pub format: &'static str,
    pub boot: Boot,
    /// Whether the image carries the recipes' packages; if not, the seed installs them.
    pub has_packages: bool,
    /// Size given to each overlay (at least the base's).
    pub disk_gib: u32,
}

/// The image names `--image` accepts: the built one and each manifest.
pub fn available(vms_dir: &Path) -> Vec<String> {
    let mut names = vec![DEBIAN_12.to_owned()];
    if let Ok(entries) = std::fs::read_dir(vms_dir.join("qemu")) {
        let mut manifests: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_owned)
            })
            .collect();
        manifests.sort();
        names.extend(manifests);
    }
    names
}

/// The base image called `name`, built or downloaded first when the cache lacks it.
pub async fn ensure(vms_dir: &Path, name: &str, progress: &Progress<'_>) -> Result<BaseImage> {
    let cache = images::cache_root()?.join("images");
    std::fs::create_dir_all(&cache).map_err(|e| Error::io(&cache, e))?;
    if name == DEBIAN_12 {
        return ensure_debian(vms_dir, &cache, progress).await;
    }
    let path = vms_dir.join("qemu").join(format!("{name}.json"));
    if !path.is_file() {
        return Err(Error::Invalid {
            rendered: format!(
                "no VM image `{name}` (available: {})",
                available(vms_dir).join(", ")
            ),
        });
    }
    let manifest = Manifest::load(&path)?;
    manifest.ensure(&cache, progress).await
}

/// SHA-256 over the VM recipe: the hash of every role's image recipe (which covers
/// `vms/common`) and every file of `vms/qemu/debian-12`.
pub fn recipe_hash(vms_dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    for kind in ImageKind::all() {
        hasher.update(images::recipe_hash(vms_dir, kind)?.as_bytes());
    }
    let own = vms_dir.join("qemu").join(DEBIAN_12);
    images::hash_tree(&mut hasher, &own, std::slice::from_ref(&own))?;
    Ok(hex::encode(hasher.finalize()))
}

/// The packages of every role plus the VM's own, each once, in first-seen order.
pub fn packages(vms_dir: &Path) -> Result<Vec<String>> {
    let mut all: Vec<String> = Vec::new();
    for kind in ImageKind::all() {
        for p in Recipe::load(vms_dir, kind)?.packages()? {
            if !all.contains(&p) {
                all.push(p);
            }
        }
    }
    let own = vms_dir.join("qemu").join(DEBIAN_12).join("packages");
    let text = std::fs::read_to_string(&own).map_err(|e| Error::io(&own, e))?;
    for p in images::parse_package_list(&text) {
        if !all.contains(&p) {
            all.push(p);
        }
    }
    Ok(all)
}

/// The packages a host of `role` needs on an image that lacks them (common and the role's).
pub fn role_packages(vms_dir: &Path, kind: ImageKind) -> Result<Vec<String>> {
    Recipe::load(vms_dir, kind)?.packages()
}

/// Paths of the built image's files in the cache.
#[derive(Clone, Debug)]
pub struct DebianFiles {
    pub stem: String,
    pub disk: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub log: PathBuf,
    pub work: PathBuf,
}

impl DebianFiles {
    pub fn new(cache: &Path, hash: &str) -> Self {
        let stem = format!("vm-{DEBIAN_12}-{}", &hash[..12]);
        DebianFiles {
            disk: cache.join(format!("{stem}.qcow2")),
            kernel: cache.join(format!("{stem}.vmlinuz")),
            initrd: cache.join(format!("{stem}.initrd.img")),
            log: cache.join(format!("{stem}.log")),
            work: cache.join(format!("{stem}.build")),
            stem,
        }
    }

    fn complete(&self) -> bool {
        self.disk.is_file() && self.kernel.is_file() && self.initrd.is_file()
    }

    fn image(&self) -> BaseImage {
        BaseImage {
            name: self.stem.trim_start_matches("vm-").to_owned(),
            disk: self.disk.clone(),
            format: "qcow2",
            boot: Boot::Direct {
                kernel: self.kernel.clone(),
                initrd: self.initrd.clone(),
            },
            has_packages: true,
            disk_gib: 8,
        }
    }
}

async fn ensure_debian(vms_dir: &Path, cache: &Path, progress: &Progress<'_>) -> Result<BaseImage> {
    let hash = recipe_hash(vms_dir)?;
    let files = DebianFiles::new(cache, &hash);
    if files.complete() {
        return Ok(files.image());
    }
    let apt = AptCache::in_cache_root(&images::cache_root()?);
    let _lock = apt
        .lock(|| {
            progress(&format!(
                "{}: waiting for another image build to finish",
                files.stem
            ))
        })
        .await?;
    if files.complete() {
        return Ok(files.image());
    }
    build_debian(vms_dir, &files, &apt, progress).await?;
    Ok(files.image())
}

fn tool(name: &str, package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::MissingTool {
            tool: name.into(),
            hint: format!("install it with `apt-get install {package}`"),
        })
}

/// The mmdebstrap command line for the VM image (after the program name).
pub fn mmdebstrap_args(
    vms_dir: &Path,
    packages: &[String],
    archives: &Path,
    root: &Path,
) -> Result<Vec<OsString>> {
    let common = vms_dir.join("common");
    let suite_path = vms_dir.join("qemu").join(DEBIAN_12).join("suite");
    let suite = std::fs::read_to_string(&suite_path).map_err(|e| Error::io(&suite_path, e))?;
    let quote = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', r"'\''"));
    let mut args: Vec<OsString> = vec![
        "--variant=apt".into(),
        "--format=directory".into(),
        "--skip=essential/unlink".into(),
        format!("--include={}", packages.join(",")).into(),
    ];
    for (option, file) in [("--aptopt=", "apt.conf"), ("--dpkgopt=", "dpkg.cfg")] {
        let path = common.join(file);
        if path.is_file() {
            let mut arg = OsString::from(option);
            arg.push(&path);
            args.push(arg);
        }
    }
    let archives = quote(archives);
    args.push(r#"--setup-hook=mkdir -p "$1/var/cache/apt/archives""#.into());
    args.push(format!("--setup-hook=sync-in {archives} /var/cache/apt/archives").into());
    args.push(format!("--customize-hook=sync-out /var/cache/apt/archives {archives}").into());
    // Hooks that download (the deploy host's wheelhouse) trust what the build host trusts,
    // which may include a local CA; the image's own bundle is rebuilt once they are done, so
    // none of it stays in the image.
    let host_bundle = Path::new(HOST_CA_BUNDLE);
    if host_bundle.is_file() {
        args.push(
            format!(
                r#"--customize-hook=cp {} "$1{HOST_CA_BUNDLE}""#,
                quote(host_bundle)
            )
            .into(),
        );
    }
    let mut hooks = vec![common.join("customize.sh")];
    hooks.extend(
        ImageKind::all()
            .iter()
            .map(|k| vms_dir.join(k.as_str()).join("customize.sh")),
    );
    hooks.push(vms_dir.join("qemu").join(DEBIAN_12).join("customize.sh"));
    hooks.push(common.join("finish.sh"));
    for hook in hooks.into_iter().filter(|h| h.is_file()) {
        args.push(format!(r#"--customize-hook=sh {} "$1""#, quote(&hook)).into());
    }
    if host_bundle.is_file() {
        args.push(r#"--customize-hook=chroot "$1" update-ca-certificates --fresh"#.into());
    }
    args.push(suite.trim().into());
    args.push(root.into());
    Ok(args)
}

async fn run_logged(program: &Path, args: &[OsString], log: &Path, what: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io(log, e))?;
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let _ = writeln!(file, "$ {} {}", program.display(), shown.join(" "));
    let out = file.try_clone().map_err(|e| Error::io(log, e))?;
    let status = Command::new("nice")
        .arg(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().map_err(|e| Error::io(log, e))?)
        .stderr(out)
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|e| Error::infra(format!("{what}: cannot start {}: {e}", program.display())))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(20).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(Error::infra(format!(
        "{what} failed ({status}); full log: {}\n{}",
        log.display(),
        tail.join("\n")
    )))
}

async fn build_debian(
    vms_dir: &Path,
    files: &DebianFiles,
    apt: &AptCache,
    progress: &Progress<'_>,
) -> Result<()> {
    let mmdebstrap = tool("mmdebstrap", "mmdebstrap")?;
    let mkfs = tool("mkfs.ext4", "e2fsprogs")?;
    let qemu_img = tool("qemu-img", "qemu-utils")?;
    if files.work.exists() {
        std::fs::remove_dir_all(&files.work).map_err(|e| Error::io(&files.work, e))?;
    }
    std::fs::create_dir_all(&files.work).map_err(|e| Error::io(&files.work, e))?;
    let _ = std::fs::remove_file(&files.log);
    let root = files.work.join("root");
    let result = async {
        let args = mmdebstrap_args(vms_dir, &packages(vms_dir)?, &apt.archives(), &root)?;
        progress(&format!(
            "building {} (log: {})",
            files.stem,
            files.log.display()
        ));
        run_logged(&mmdebstrap, &args, &files.log, "mmdebstrap").await?;
        for (link, dest) in [
            ("boot/vmlinuz", &files.kernel),
            ("boot/initrd.img", &files.initrd),
        ] {
            copy_out(&root, link, dest)?;
        }
        progress(&format!("{}: making the file system", files.stem));
        let raw = files.work.join("root.ext4");
        let mut args: Vec<OsString> = ["-q", "-F", "-t", "ext4", "-L", "root", "-d"]
            .map(OsString::from)
            .to_vec();
        args.push(root.clone().into());
        args.push(raw.clone().into());
        args.push(FS_SIZE.into());
        run_logged(&mkfs, &args, &files.log, "mkfs.ext4").await?;
        let part = files.work.join("disk.qcow2");
        let mut args: Vec<OsString> = ["convert", "-f", "raw", "-O", "qcow2"]
            .map(OsString::from)
            .to_vec();
        args.push(raw.clone().into());
        args.push(part.clone().into());
        run_logged(&qemu_img, &args, &files.log, "qemu-img convert").await?;
        std::fs::rename(&part, &files.disk).map_err(|e| Error::io(&files.disk, e))?;
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&files.work);
    if result.is_err() {
        for f in [&files.disk, &files.kernel, &files.initrd] {
            let _ = std::fs::remove_file(f);
        }
    }
    result
}

/// Copy `relative` (a symlink inside the image, resolved inside it) to `dest`.
fn copy_out(root: &Path, relative: &str, dest: &Path) -> Result<()> {
    let link = root.join(relative);
    let target = std::fs::read_link(&link).map_err(|e| Error::io(&link, e))?;
    let source = link.parent().expect("under boot/").join(target);
    let part = dest.with_extension("part");
    std::fs::copy(&source, &part).map_err(|e| Error::io(&source, e))?;
    std::fs::rename(&part, dest).map_err(|e| Error::io(dest, e))
}

/// A downloadable cloud image (`vms/qemu/<name>.json`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The file name under the image cache, and what a person must provide there when the
    /// machine cannot download.
    pub file: String,
    pub sha256: String,
    pub urls: Vec<String>,
    pub format: String,
    pub disk_gib: u32,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Invalid {
            rendered: format!("{}: {e}", path.display()),
        })?;
        if manifest.sha256.len() != 64 || !manifest.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Invalid {
                rendered: format!("{}: sha256 must be 64 hex digits", path.display()),
            });
        }
        if !["qcow2", "raw"].contains(&manifest.format.as_str()) {
            return Err(Error::Invalid {
                rendered: format!("{}: format must be qcow2 or raw", path.display()),
            });
        }
        Ok(manifest)
    }

    fn image(&self, path: PathBuf) -> BaseImage {
        BaseImage {
            name: self.name.clone(),
            disk: path,
            format: if self.format == "raw" { "raw" } else { "qcow2" },
            boot: Boot::Firmware,
            has_packages: false,
            disk_gib: self.disk_gib,
        }
    }

    /// The cached file if it verifies; otherwise download it from the first URL that works.
    pub async fn ensure(&self, cache: &Path, progress: &Progress<'_>) -> Result<BaseImage> {
        let path = cache.join(&self.file);
        let verified = cache.join(format!("{}.sha256-verified", self.file));
        if path.is_file() {
            let known = std::fs::read_to_string(&verified).unwrap_or_default();
            if known.trim() == self.sha256 {
                return Ok(self.image(path));
            }
            progress(&format!("verifying {}", path.display()));
            let actual = sha256_file(&path)?;
            if actual == self.sha256 {
                let _ = std::fs::write(&verified, &actual);
                return Ok(self.image(path));
            }
            return Err(Error::infra(format!(
                "{} has SHA-256 {actual}, but {} expects {}: remove it, or replace it with the right file",
                path.display(),
                self.name,
                self.sha256
            )));
        }
        let mut failures = Vec::new();
        for url in &self.urls {
            progress(&format!("downloading {url}"));
            match download(url, &path, &self.sha256).await {
                Ok(()) => {
                    let _ = std::fs::write(&verified, &self.sha256);
                    return Ok(self.image(path));
                }
                Err(e) => failures.push(format!("{url}: {e}")),
            }
        }
        Err(self.missing_error(&path, &failures))
    }

    fn missing_error(&self, path: &Path, failures: &[String]) -> Error {
        Error::infra(format!(
            "cannot download the {} image ({}). Provide the file yourself: save {} (SHA-256 {}) as {} and run again",
            self.name,
            failures.join("; "),
            self.file,
            self.sha256,
            path.display()
        ))
    }
}

/// Stream `url` into `dest`, hashing as it goes; `dest` appears only when the hash matches.
async fn download(url: &str, dest: &Path, sha256: &str) -> std::result::Result<(), String> {
    use std::io::Write;
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| e.to_string())?;
    let part = dest.with_extension("part");
    let mut file = std::fs::File::create(&part).map_err(|e| format!("{}: {e}", part.display()))?;
    let mut hasher = Sha256::new();
    let result = async {
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            hasher.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| format!("{}: {e}", part.display()))?;
        }
        let actual = hex::encode(hasher.finalize());
        if actual != sha256 {
            return Err(format!(
                "downloaded file has SHA-256 {actual}, expected {sha256}"
            ));
        }
        std::fs::rename(&part, dest).map_err(|e| format!("{}: {e}", dest.display()))
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vms() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vms")
    }

    #[test]
    fn the_vm_image_carries_every_roles_packages_and_a_kernel() {
        let all = packages(&vms()).unwrap();
        for p in [
            "openssh-server",
            "etcd-server",
            "libnginx-mod-stream",
            "ansible-core",
            "dnsmasq",
        ] {
            assert!(all.contains(&p.to_owned()), "{p}");
        }
        for p in ["linux-image-cloud-amd64", "cloud-init", "udev"] {
            assert!(all.contains(&p.to_owned()), "{p}");
        }
        assert_eq!(all.iter().filter(|p| *p == "openssh-server").count(), 1);
    }

    #[test]
    fn the_recipe_hash_follows_the_vm_recipe() {
        let dir = tempfile::tempdir().unwrap();
        let copy = |from: &Path, to: &Path| {
            let status = std::process::Command::new("cp")
                .arg("-r")
                .arg(from)
                .arg(to)
                .status()
                .unwrap();
            assert!(status.success());
        };
        copy(&vms(), &dir.path().join("vms"));
        let vms = dir.path().join("vms");
        let before = recipe_hash(&vms).unwrap();
        assert_eq!(before, recipe_hash(&vms).unwrap());
        std::fs::write(vms.join("qemu/debian-12/packages"), "linux-image-amd64\n").unwrap();
        let after_own = recipe_hash(&vms).unwrap();
        assert_ne!(before, after_own);
        std::fs::write(vms.join("node/packages"), "etcd-server\n").unwrap();
        assert_ne!(
            after_own,
            recipe_hash(&vms).unwrap(),
            "a role's recipe is part of the VM's"
        );
        // A manifest beside the recipe is not part of it.
        let again = recipe_hash(&vms).unwrap();
        std::fs::write(vms.join("qemu/other.json"), "{}").unwrap();
        assert_eq!(again, recipe_hash(&vms).unwrap());
    }

    #[test]
    fn mmdebstrap_runs_every_hook_in_order_into_a_directory() {
        let args = mmdebstrap_args(
            &vms(),
            &["a".into(), "b".into()],
            Path::new("/c/archives"),
            Path::new("/w/root"),
        )
        .unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.contains(&"--format=directory".to_owned()));
        assert!(args.contains(&"--include=a,b".to_owned()));
        let hooks: Vec<&String> = args
            .iter()
            .filter(|a| a.starts_with("--customize-hook=sh "))
            .collect();
        let order = [
            "common/customize.sh",
            "node/",
            "lb/",
            "deployer/",
            "dns/",
            "qemu/debian-12/customize.sh",
            "common/finish.sh",
        ];
        assert_eq!(hooks.len(), order.len(), "{hooks:?}");
        for (hook, part) in hooks.iter().zip(order) {
            assert!(hook.contains(part), "{hook} should run {part}");
        }
        assert_eq!(&args[args.len() - 2..], ["bookworm", "/w/root"]);
    }

    #[test]
    fn the_ubuntu_manifest_is_pinned() {
        let m = Manifest::load(&vms().join("qemu/ubuntu-24.04.json")).unwrap();
        assert_eq!(m.name, "ubuntu-24.04");
        assert!(m
            .urls
            .iter()
            .all(|u| u.starts_with("https://") && u.ends_with(&m.file)));
        assert!(available(&vms()).contains(&"ubuntu-24.04".to_owned()));
    }

    #[tokio::test]
    async fn an_image_that_cannot_be_downloaded_names_the_file_to_provide() {
        let dir = tempfile::tempdir().unwrap();
        // A port on loopback where nothing listens: the download fails at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let manifest = Manifest {
            name: "ubuntu-24.04".into(),
            description: None,
            file: "noble.img".into(),
            sha256: "0".repeat(64),
            urls: vec![format!("http://127.0.0.1:{port}/noble.img")],
            format: "qcow2".into(),
            disk_gib: 20,
        };
        let err = manifest
            .ensure(dir.path(), &|_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Provide the file yourself: save noble.img"),
            "{err}"
        );
        assert!(
            err.contains(&dir.path().join("noble.img").display().to_string()),
            "{err}"
        );

        // A provided file with the wrong content is refused, and its hash shown.
        std::fs::write(dir.path().join("noble.img"), b"not an image").unwrap();
        let err = manifest
            .ensure(dir.path(), &|_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&sha256_file(&dir.path().join("noble.img")).unwrap()),
            "{err}"
        );

        // The right one is accepted.
        let good = Manifest {
            sha256: sha256_file(&dir.path().join("noble.img")).unwrap(),
            ..manifest
        };
        let image = good.ensure(dir.path(), &|_| {}).await.unwrap();
        assert_eq!(image.boot, Boot::Firmware);
        assert!(!image.has_packages);
    }
}
