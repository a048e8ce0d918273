//! One image build: mmdebstrap makes the root file system from the recipe and streams it as a
//! tarball into `docker import`; a one-step docker build then lays the recipe's image config
//! (`common/Dockerfile`) over it and tags the result.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStderr, ChildStdout, Command};

use super::cache::AptCache;
use super::recipe::Recipe;
use super::sources;
use super::store::{self, LABEL_KIND, LABEL_RECIPE};
use super::Progress;
use crate::error::{Error, Result};

pub const MMDEBSTRAP: &str = "mmdebstrap";
/// How much of mmdebstrap's stderr a build error quotes; the log has all of it.
const TAIL_LINES: usize = 30;
/// Where the host keeps its apt sources.
const HOST_APT_ETC: &str = "/etc/apt";
/// The import request lasts as long as mmdebstrap runs (docker client's default is 2 min);
/// a build still running after this is stuck.
const IMPORT_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// The mmdebstrap on `PATH`, or the error that says how to get one.
pub fn find_mmdebstrap() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(MMDEBSTRAP))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| Error::MissingTool {
            tool: MMDEBSTRAP.into(),
            hint: "install it with `apt-get install mmdebstrap`".into(),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The files a build leaves beside the cache: its full log and the apt sources it used.
#[derive(Clone, Debug)]
pub struct BuildFiles {
    pub log: PathBuf,
    pub sources: PathBuf,
}

impl BuildFiles {
    pub fn new(cache_root: &Path, recipe: &Recipe) -> BuildFiles {
        let dir = cache_root.join("images");
        let stem = format!("{}-{}", recipe.kind, &recipe.hash[..12]);
        BuildFiles {
            log: dir.join(format!("{stem}.log")),
            sources: dir.join(format!("{stem}.sources")),
        }
    }
}

/// Builds `recipe` and tags it; the caller holds the apt cache lock.
pub async fn build_image(
    docker: &Docker,
    mmdebstrap: &Path,
    recipe: &Recipe,
    cache: &AptCache,
    files: &BuildFiles,
    progress: &Progress<'_>,
) -> Result<()> {
    let tag = recipe.tag();
    if let Some(dir) = files.log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let suite = recipe.suite()?;
    let host_files = sources::host_source_files(Path::new(HOST_APT_ETC))?;
    let entries = sources::host_entries_for_suite(&host_files, &suite)?;
    let sources = if entries.is_empty() {
        progress(&format!(
            "the host's apt sources have no entry for {suite}; mmdebstrap uses its default mirror"
        ));
        None
    } else {
        let text = sources::render_deb822(&entries);
        std::fs::write(&files.sources, text).map_err(|e| Error::io(&files.sources, e))?;
        Some(files.sources.as_path())
    };
    let args = mmdebstrap_args(
        recipe,
        &suite,
        &recipe.packages()?,
        &cache.archives(),
        sources,
    );

    progress(&format!("building {tag} (log: {})", files.log.display()));
    let mut log = Log::create(&files.log).await?;
    log.line(&format!("$ {} {}", mmdebstrap.display(), shell_join(&args)))
        .await;

    let rootfs = rootfs_into_docker(docker, mmdebstrap, recipe, &args, &mut log, progress)
        .await
        .map_err(|e| e.with_log(&files.log))?;

    progress(&format!("configuring {tag}"));
    if let Err(e) = configure(docker, recipe, &rootfs, &mut log).await {
        store::discard(docker, &rootfs).await;
        return Err(BuildError::Configure(e).with_log(&files.log));
    }
    log.line(&format!("tagged {tag}")).await;
    Ok(())
}

/// The whole mmdebstrap command line after the program name.
pub fn mmdebstrap_args(
    recipe: &Recipe,
    suite: &str,
    packages: &[String],
    archives: &Path,
    sources: Option<&Path>,
) -> Vec<OsString> {
    let common = recipe.common_dir();
    let own = recipe.kind_dir();
    let mut args: Vec<OsString> = vec![
        "--variant=apt".into(),
        "--format=tar".into(),
        // apt's and dpkg's own output, for the log (progress shows only mmdebstrap's steps).
        "--verbose".into(),
        // Keeps the essential packages' .debs in the chroot until sync-out has saved them.
        "--skip=essential/unlink".into(),
    ];
    if !packages.is_empty() {
        args.push(format!("--include={}", packages.join(",")).into());
    }
    let aptopt = common.join("apt.conf");
    if aptopt.is_file() {
        args.push(option_with_path("--aptopt=", &aptopt));
    }
    let dpkgopt = common.join("dpkg.cfg");
    if dpkgopt.is_file() {
        args.push(option_with_path("--dpkgopt=", &dpkgopt));
    }
    let archives = shell_quote(&archives.to_string_lossy());
    args.push(r#"--setup-hook=mkdir -p "$1/var/cache/apt/archives""#.into());
    args.push(format!("--setup-hook=sync-in {archives} /var/cache/apt/archives").into());
    args.push(format!("--customize-hook=sync-out /var/cache/apt/archives {archives}").into());
    for script in [
        common.join("customize.sh"),
        own.join("customize.sh"),
        common.join("finish.sh"),
    ] {
        if script.is_file() {
            let script = shell_quote(&script.to_string_lossy());
            args.push(format!(r#"--customize-hook=sh {script} "$1""#).into());
        }
    }
    args.push(suite.into());
    args.push("-".into());
    if let Some(sources) = sources {
        args.push(sources.into());
    }
    args
}

fn option_with_path(option: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(option);
    arg.push(path);
    arg
}

/// Quotes for sh and for mmdebstrap's special hooks (which split words like a shell).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn shell_join(args: &[OsString]) -> String {
    args.iter()
        .map(|a| {
            let a = a.to_string_lossy();
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=/.,:".contains(c))
            {
                a.into_owned()
            } else {
                shell_quote(&a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug)]
enum BuildError {
    Spawn(std::io::Error),
    Import(String),
    Mmdebstrap { status: ExitStatus, tail: String },
    Configure(String),
}

impl BuildError {
    fn with_log(self, log: &Path) -> Error {
        let log = log.display();
        Error::infra(match self {
            BuildError::Spawn(e) => format!("starting mmdebstrap: {e}"),
            BuildError::Import(e) => format!("docker import failed: {e} (full log: {log})"),
            BuildError::Mmdebstrap { status, tail } => {
                format!("mmdebstrap failed ({status}); full log: {log}\n{tail}")
            }
            BuildError::Configure(e) => {
                format!("docker build of the image config failed: {e} (full log: {log})")
            }
        })
    }
}

/// Runs mmdebstrap with its tarball piped into `docker import`; the imported image's id.
/// The import carries no tag, so an aborted mmdebstrap never leaves a usable-looking image.
async fn rootfs_into_docker(
    docker: &Docker,
    mmdebstrap: &Path,
    recipe: &Recipe,
    args: &[OsString],
    log: &mut Log,
    progress: &Progress<'_>,
) -> std::result::Result<String, BuildError> {
    let mut child = Command::new(mmdebstrap)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(BuildError::Spawn)?;
    let mut guard = TerminateOnDrop(child.id());
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    let (imported, tail, status) = tokio::join!(
        import_rootfs(docker, recipe, stdout),
        relay_stderr(stderr, log, progress),
        child.wait(),
    );
    guard.0 = None;
    let status = status.map_err(BuildError::Spawn)?;
    match imported {
        // A failed import closes the pipe, and mmdebstrap then fails too: the import's error
        // is the one that explains.
        Err(e) => Err(BuildError::Import(e)),
        Ok(id) if !status.success() => {
            if let Some(id) = id {
                store::discard(docker, &id).await;
            }
            Err(BuildError::Mmdebstrap { status, tail })
        }
        Ok(Some(id)) => {
            log.line(&format!("imported root file system {id}")).await;
            Ok(id)
        }
        Ok(None) => Err(BuildError::Import("docker returned no image id".into())),
    }
}

async fn import_rootfs(
    docker: &Docker,
    recipe: &Recipe,
    tarball: ChildStdout,
) -> std::result::Result<Option<String>, String> {
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .changes(vec![format!(
            "LABEL {LABEL_KIND}={} {LABEL_RECIPE}={}",
            recipe.kind, recipe.hash
        )])
        .build();
    let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(tarball));
    let docker = docker.clone().with_timeout(IMPORT_DEADLINE);
    let mut replies = docker.create_image(Some(options), Some(body), None);
    let mut id = None;
    while let Some(reply) = replies.next().await {
        let reply = reply.map_err(|e| e.to_string())?;
        // docker import answers with the new image's id as its last status.
        if let Some(status) = reply.status.filter(|s| s.starts_with("sha256:")) {
            id = Some(status.trim().to_owned());
        }
    }
    Ok(id)
}

/// Copies mmdebstrap's stderr into the log, reports its `I:` lines as progress and keeps the
/// last lines for the error message.
async fn relay_stderr(stderr: ChildStderr, log: &mut Log, progress: &Progress<'_>) -> String {
    let mut reader = BufReader::new(stderr);
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end();
        log.line(line).await;
        if let Some(step) = line.strip_prefix("I: ") {
            progress(step);
        }
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_owned());
    }
    Vec::from(tail).join("\n")
}

/// `docker build` of `common/Dockerfile` with the imported root file system as its base.
async fn configure(
    docker: &Docker,
    recipe: &Recipe,
    rootfs: &str,
    log: &mut Log,
) -> std::result::Result<(), String> {
    let dockerfile_path = recipe.common_dir().join("Dockerfile");
    let dockerfile = std::fs::read(&dockerfile_path)
        .map_err(|e| format!("{}: {e}", dockerfile_path.display()))?;
    let context = dockerfile_context(&dockerfile).map_err(|e| e.to_string())?;
    let tag = recipe.tag();
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .buildargs(&HashMap::from([("ROOTFS", rootfs)]))
        .labels(&HashMap::from([
            (LABEL_KIND, recipe.kind.as_str()),
            (LABEL_RECIPE, recipe.hash.as_str()),
        ]))
        .build();
    let mut replies = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(reply) = replies.next().await {
        let reply = reply.map_err(|e| e.to_string())?;
        if let Some(text) = reply.stream {
            log.line(text.trim_end()).await;
        }
    }
    match store::image_id(docker, &tag).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!("the build finished but {tag} does not exist")),
        Err(e) => Err(e.to_string()),
    }
}

fn dockerfile_context(dockerfile: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, "Dockerfile", dockerfile)?;
    builder.into_inner()
}

/// The build log; writing it never fails a build (a full disk shows up elsewhere soon enough).
struct Log {
    file: tokio::fs::File,
}

impl Log {
    async fn create(path: &Path) -> Result<Log> {
        let file = tokio::fs::File::create(path)
            .await
            .map_err(|e| Error::io(path, e))?;
        Ok(Log { file })
    }

    async fn line(&mut self, line: &str) {
        let _ = self.file.write_all(line.as_bytes()).await;
        let _ = self.file.write_all(b"\n").await;
    }
}

/// If the build is abandoned (Ctrl-C, a deadline), mmdebstrap gets SIGTERM, on which it
/// unmounts and removes its chroot; dropping the child alone would leave it running.
struct TerminateOnDrop(Option<u32>);

impl Drop for TerminateOnDrop {
    fn drop(&mut self) {
        let Some(pid) = self
            .0
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        else {
            return;
        };
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::ImageKind;

    fn recipe() -> Recipe {
        let vms = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vms");
        Recipe::load(&vms, ImageKind::Lb).unwrap()
    }

    fn args(sources: Option<&Path>) -> Vec<String> {
        let recipe = recipe();
        mmdebstrap_args(
            &recipe,
            "bookworm",
            &recipe.packages().unwrap(),
            Path::new("/var/cache/it's here/archives"),
            sources,
        )
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect()
    }

    #[test]
    fn the_suite_then_stdout_then_the_host_sources() {
        let args = args(Some(Path::new("/build/lb.sources")));
        assert_eq!(
            args[args.len() - 3..],
            ["bookworm", "-", "/build/lb.sources"]
        );
        assert_eq!(args.last().unwrap(), "/build/lb.sources");
        let without = self::args(None);
        assert_eq!(without[without.len() - 2..], ["bookworm", "-"]);
    }

    #[test]
    fn packages_of_common_and_the_kind_are_included() {
        let args = args(None);
        let include = args.iter().find(|a| a.starts_with("--include=")).unwrap();
        let packages: Vec<_> = include["--include=".len()..].split(',').collect();
        for p in ["systemd", "openssh-server", "nginx", "libnginx-mod-stream"] {
            assert!(packages.contains(&p), "{p} missing from {include}");
        }
    }

    #[test]
    fn the_apt_cache_is_synced_in_before_and_out_after_with_quoted_paths() {
        let args = args(None);
        let position = |needle: &str| args.iter().position(|a| a.contains(needle)).unwrap();
        let quoted = r"'/var/cache/it'\''s here/archives'";
        assert!(args[position("sync-in")]
            .ends_with(&format!("sync-in {quoted} /var/cache/apt/archives")));
        assert!(args[position("sync-out")].ends_with(&format!("/var/cache/apt/archives {quoted}")));
        // Out before the recipe's hooks run, so nothing they remove is lost to the cache.
        assert!(position("sync-out") < position("common/customize.sh"));
        assert!(position("common/customize.sh") < position("lb/customize.sh"));
        assert!(position("lb/customize.sh") < position("common/finish.sh"));
    }

    #[test]
    fn build_files_are_named_after_kind_and_short_hash() {
        let recipe = recipe();
        let files = BuildFiles::new(Path::new("/cache"), &recipe);
        let short = &recipe.hash[..12];
        assert_eq!(
            files.log,
            Path::new(&format!("/cache/images/lb-{short}.log"))
        );
        assert_eq!(
            files.sources,
            Path::new(&format!("/cache/images/lb-{short}.sources"))
        );
    }

    #[test]
    fn shell_quote_survives_sh() {
        let word = "it's a \"path\" with $HOME";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote(word)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), word);
    }
}
