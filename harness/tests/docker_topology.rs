//! Real containers: the docker topology comes up, preflight passes on it, fails with the
//! guide's advice when one node's hostname is an FQDN or its DNS is broken, and nothing a run
//! created (even an interrupted one) is left behind.
//!
//! These tests need a docker daemon and build the host images on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use acura_ha::runner::run::{self, RunOptions};
use acura_ha::scenario;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One topology at a time: the machine running the suite may be small.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn options(artifacts: &Path) -> RunOptions {
    RunOptions {
        provider: None,
        keep: false,
        update_golden: false,
        artifacts_root: artifacts.to_path_buf(),
        junit: None,
        json: None,
        verbose: false,
        vms_dir: repo().join("vms"),
        golden_dir: repo().join("fixtures/golden"),
    }
}

struct Finished {
    exit_code: i32,
    record: serde_json::Value,
    run_id: String,
}

async fn run_scenario(relative: &str) -> Finished {
    let _serial = SERIAL.lock().await;
    let loaded = scenario::load(&repo().join(relative)).expect("scenario loads");
    let artifacts = repo().join("target/test-artifacts");
    let summary = run::run(loaded, options(&artifacts)).await;
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary.artifacts.join("run.json")).unwrap())
            .unwrap();
    Finished {
        exit_code: summary.exit_code,
        record,
        run_id: summary.run_id,
    }
}

fn labelled(kind: &str, run_id: &str) -> Vec<String> {
    let filter = format!("label=acura-ha.run={run_id}");
    let mut args = vec![kind, "ls", "-q", "--filter", &filter];
    if kind == "container" {
        args.insert(2, "-a");
    }
    let out = Command::new("docker")
        .args(&args)
        .output()
        .expect("docker cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn assert_released(run_id: &str) {
    assert_eq!(
        labelled("container", run_id),
        Vec::<String>::new(),
        "containers of run {run_id} left behind"
    );
    assert_eq!(
        labelled("network", run_id),
        Vec::<String>::new(),
        "networks of run {run_id} left behind"
    );
}

fn failure_text(record: &serde_json::Value) -> String {
    record["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_passes_on_a_healthy_topology() {
    let f = run_scenario("scenarios/preflight.yaml").await;
    assert_eq!(f.exit_code, 0, "{}", failure_text(&f.record));
    let ids: Vec<&str> = f.record["procedure"]["passed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(ids, ["C1", "C2", "C3", "C4"]);
    // Six hosts: dns, lb, deployer and three nodes, each with its own address.
    assert_eq!(f.record["hosts"].as_array().unwrap().len(), 6);
    assert_released(&f.run_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_rejects_an_fqdn_hostname_on_one_node() {
    let f = run_scenario("scenarios/negative/preflight-fqdn.yaml").await;
    assert_eq!(f.exit_code, 1);
    let text = failure_text(&f.record);
    assert!(
        text.contains("node-2: C3: hostname `node-2.acura.test` contains dots"),
        "{text}"
    );
    assert!(
        text.contains("must not be FQDNs"),
        "the guide's advice: {text}"
    );
    assert!(
        !text.contains("node-1:") && !text.contains("node-3:"),
        "only node-2 fails: {text}"
    );
    assert_released(&f.run_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_rejects_a_node_whose_dns_does_not_answer() {
    let f = run_scenario("scenarios/negative/preflight-dns-broken.yaml").await;
    assert_eq!(f.exit_code, 1);
    let text = failure_text(&f.record);
    assert!(text.contains("node-3: C1: nameserver"), "{text}");
    assert!(
        text.contains("node-3: C2: `nslookup probe.acura.test` failed"),
        "{text}"
    );
    assert!(text.contains("8.8.8.8"), "the guide's DNS advice: {text}");
    assert!(
        !text.contains("node-1:") && !text.contains("node-2:"),
        "only node-3 fails: {text}"
    );
    assert_released(&f.run_id);
}

/// Ctrl-C in the middle of a run: the CLI tears down and exits 130, leaving nothing.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_leaves_nothing_behind() {
    let _serial = SERIAL.lock().await;
    let artifacts = repo().join("target/test-artifacts-interrupted");
    let _ = std::fs::remove_dir_all(&artifacts);
    let mut child = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(["run", "scenarios/lifecycle.yaml", "--artifacts"])
        .arg(&artifacts)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("acura-ha runs");
    // Wait until the run has created its network (its containers follow at once).
    let started = Instant::now();
    let run_id = loop {
        let found = std::fs::read_dir(&artifacts)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned());
        if let Some(id) = found {
            if !labelled("container", &id).is_empty() {
                break id;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the run never provisioned"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(3));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_released(&run_id);
}

/// Removes a kept run however the test ends.
struct Gc(String);

impl Drop for Gc {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
            .args(["gc", "--run", &self.0])
            .output();
    }
}

/// `run --keep` records what the run did to the topology, and `check --run` checks the kept
/// topology as it was left: node-3 powered off and nothing installed is not a failure there.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_topology_is_checked_as_the_run_left_it() {
    let _serial = SERIAL.lock().await;
    let loaded = scenario::load(&repo().join("harness/tests/scenarios/kept-node-down.yaml"))
        .expect("scenario loads");
    let artifacts = repo().join("target/test-artifacts");
    let mut opts = options(&artifacts);
    opts.keep = true;
    let summary = run::run(loaded, opts).await;
    let gc = Gc(summary.run_id.clone());
    assert_eq!(summary.exit_code, 0, "the kept run itself passes");
    assert!(
        !labelled("container", &gc.0).is_empty(),
        "the topology is kept"
    );
    let key = acura_ha::runner::kept::key_path(&gc.0);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key)
            .expect("the run's key is kept for ssh -i")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "{}", key.display());

    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(["check", "--run", &gc.0, "--artifacts"])
        .arg(&artifacts)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha check runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("as it was kept: the LB configured, nothing installed; down: node-3"),
        "{text}"
    );
    assert!(text.contains("checks passed; exit 0"), "{text}");
    assert!(!text.contains("procedure commands"), "{text}");

    drop(gc);
    assert_released(&summary.run_id);
    assert!(!key.exists(), "gc removes the kept key too");
}
