//! A run's folder (`<cache>/qemu/runs/<run id>/`): the run's record, then one folder per VM
//! with its overlay, seed, QMP socket and pid file, and the hub's sockets. It is the run's
//! label: teardown and `gc` find every VM process by its folder in the command line and every
//! link by its alias, so a run that crashed is cleaned up as completely as one that ended.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::network::{self, NetMode};
use super::vm::{self, VmPaths};
use crate::error::{Error, Result};
use crate::images;
use crate::provider::Released;

pub const RECORD: &str = "run.json";
pub const HUB: &str = "hub";

/// What `gc` needs to know about a run without the process that made it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunDirState {
    pub run_id: String,
    /// `<hostname>:<pid>` of the harness that made the run.
    pub owner: String,
    pub mode: NetMode,
    pub subnet: Ipv4Addr,
    pub bridge: Option<String>,
}

pub fn runs_root() -> Result<PathBuf> {
    Ok(images::cache_root()?.join("qemu").join("runs"))
}

pub fn run_dir(run_id: &str) -> Result<PathBuf> {
    if run_id.is_empty()
        || !run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || run_id.starts_with('.')
    {
        return Err(Error::infra(format!(
            "run id `{run_id}` cannot name a folder"
        )));
    }
    Ok(runs_root()?.join(run_id))
}

pub fn write_state(dir: &Path, state: &RunDirState) -> Result<()> {
    let path = dir.join(RECORD);
    let text = serde_json::to_string_pretty(state).expect("the run state serializes");
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

pub fn read_state(dir: &Path) -> Option<RunDirState> {
    let text = std::fs::read_to_string(dir.join(RECORD)).ok()?;
    serde_json::from_str(&text).ok()
}

/// One run found on this machine, for `gc`.
#[derive(Clone, Debug)]
pub struct FoundRun {
    pub run_id: String,
    pub owner: String,
    pub vms: usize,
    pub links: usize,
}

/// Runs with a folder, a live VM or a link on this machine.
pub fn find_runs() -> Result<Vec<FoundRun>> {
    Ok(find_runs_in(&runs_root()?))
}

fn find_runs_in(root: &Path) -> Vec<FoundRun> {
    let mut ids: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.extend(network::runs_with_links());
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|run_id| {
            let dir = root.join(&run_id);
            let owner = read_state(&dir).map(|s| s.owner).unwrap_or_default();
            FoundRun {
                vms: vm::processes_mentioning(&dir).len(),
                links: network::links_of_run(&run_id).len(),
                owner,
                run_id,
            }
        })
        .collect()
}

/// Stop every VM of the run (gracefully for up to `grace`, then by force), then the hub, the
/// taps and the bridge, then the folder with the overlays. Each on its own: a failure is
/// reported and the rest still goes.
pub async fn teardown_run(run_id: &str, grace: Duration) -> Vec<Released> {
    match runs_root() {
        Ok(root) => teardown_in(&root, run_id, grace).await,
        Err(e) => vec![Released {
            kind: "run".into(),
            name: run_id.to_owned(),
            error: Some(e.to_string()),
        }],
    }
}

async fn teardown_in(root: &Path, run_id: &str, grace: Duration) -> Vec<Released> {
    let mut released = Vec::new();
    let dir = match run_dir(run_id).map(|_| root.join(run_id)) {
        Ok(dir) => dir,
        Err(e) => {
            released.push(Released {
                kind: "run".into(),
                name: run_id.to_owned(),
                error: Some(e.to_string()),
            });
            return released;
        }
    };
    let hosts: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("qemu.pid").exists() || e.path().join("disk.qcow2").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let stops = hosts.iter().map(|host| {
        let paths = VmPaths::new(&dir, host);
        async move {
            let result = vm::shut_down(&paths, grace).await;
            Released {
                kind: "vm".into(),
                name: format!("{run_id}/{host}"),
                error: result.err(),
            }
        }
    });
    released.extend(futures::future::join_all(stops).await);

    // Anything still mentioning the folder: the hub, or a VM whose pid file was lost.
    for pid in vm::processes_mentioning(&dir) {
        vm::kill(pid);
        let gone = {
            let mut gone = false;
            for _ in 0..25 {
                if !vm::is_ours(pid, &dir) {
                    gone = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            gone
        };
        let hub = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(&format!("{}/{HUB}/", dir.display())))
            .unwrap_or(false);
        released.push(Released {
            kind: if hub { "hub" } else { "qemu process" }.into(),
            name: format!("{run_id} pid {pid}"),
            error: (!gone).then(|| format!("process {pid} survives SIGKILL")),
        });
    }

    for (rule, result) in network::delete_rules_of_run(run_id).await {
        released.push(Released {
            kind: "forward rule".into(),
            name: rule,
            error: result.err(),
        });
    }
    for link in network::links_of_run(run_id) {
        let result = network::delete_link(&link).await;
        released.push(Released {
            kind: if link.len() > network::bridge_name(run_id).len() {
                "tap".into()
            } else {
                "bridge".into()
            },
            name: link,
            error: result.err(),
        });
    }

    if dir.exists() {
        let result = std::fs::remove_dir_all(&dir);
        released.push(Released {
            kind: "run folder".into(),
            name: dir.display().to_string(),
            error: result.err().map(|e| e.to_string()),
        });
    }
    released
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_that_could_escape_the_runs_folder_are_refused() {
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b"] {
            assert!(run_dir(bad).is_err(), "{bad}");
        }
        let dir = run_dir("20250101-abc_1.2").unwrap();
        assert!(dir.ends_with("qemu/runs/20250101-abc_1.2"));
    }

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let state = RunDirState {
            run_id: "r1".into(),
            owner: "host:1".into(),
            mode: NetMode::User,
            subnet: Ipv4Addr::new(10, 214, 9, 0),
            bridge: None,
        };
        write_state(dir.path(), &state).unwrap();
        let back = read_state(dir.path()).unwrap();
        assert_eq!(back.owner, "host:1");
        assert_eq!(back.mode, NetMode::User);
        assert!(read_state(&dir.path().join("missing")).is_none());
    }

    #[tokio::test]
    async fn teardown_of_a_crashed_run_kills_its_processes_and_removes_its_folder() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("crashed-run");
        let vm_dir = dir.join("node-1");
        std::fs::create_dir_all(&vm_dir).unwrap();
        // A stand-in for a VM process: one process (a shell would fork children that carry
        // its command line for a moment) whose command line names the VM's folder, like QEMU's.
        std::fs::write(vm_dir.join("disk.qcow2"), b"overlay").unwrap();
        let child = std::process::Command::new("tail")
            .arg("-f")
            .arg(vm_dir.join("disk.qcow2"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Right after exec the kernel may not show the new command line yet.
        for _ in 0..50 {
            if vm::is_ours(pid, &vm_dir) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::write(vm_dir.join("qemu.pid"), pid.to_string()).unwrap();
        assert_eq!(
            find_runs_in(root.path())
                .iter()
                .find(|r| r.run_id == "crashed-run")
                .unwrap()
                .vms,
            1
        );

        let released = teardown_in(root.path(), "crashed-run", Duration::from_millis(100)).await;
        let mut child = child;
        let _ = child.wait();
        assert!(
            !vm::is_ours(pid, &vm_dir),
            "the VM process outlived teardown"
        );
        assert!(!dir.exists(), "the overlay outlived teardown");
        assert!(released.iter().all(|r| r.error.is_none()), "{released:?}");
        assert!(released
            .iter()
            .any(|r| r.kind == "vm" && r.name == "crashed-run/node-1"));
    }
}
