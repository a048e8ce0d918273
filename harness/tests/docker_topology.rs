//! Real containers: the docker topology comes up, preflight passes on it, fails with the
//! guide's advice when one node's hostname is an FQDN or its DNS is broken, and nothing a run
//! created (even an interrupted one) is left behind.
//!
//! These tests need a docker daemon and build the host images on first use.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use acura_ha::remote::{HostKeys, Remote, RunKey};
use acura_ha::runner::run::{self, RunOptions};
use acura_ha::scenario;
use acura_ha::topology::HostName;

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
        outputs: Default::default(),
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

/// What the run issued is what `acura-ha plan` lists for the scenario.
fn assert_plan_matches(relative: &str, record: &serde_json::Value) {
    let loaded = scenario::load(&repo().join(relative)).expect("scenario loads");
    let record: acura_ha::run_record::RunRecord =
        serde_json::from_value(record.clone()).expect("run.json is a RunRecord");
    let problems = acura_ha::steps::plan_differences(&loaded, &record);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn failure_text(record: &serde_json::Value) -> String {
    record["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_passes_on_a_healthy_topology() {
    let f = run_scenario("scenarios/preflight.yaml").await;
    assert_plan_matches("scenarios/preflight.yaml", &f.record);
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
    assert_plan_matches("scenarios/negative/preflight-fqdn.yaml", &f.record);
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

/// Outside preflight, a checkpoint's diagnosis names the FQDN as the cause.
#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_diagnoses_a_hostname_with_dots() {
    let f = run_scenario("harness/tests/scenarios/fqdn-checkpoint.yaml").await;
    assert_eq!(f.exit_code, 1, "{}", failure_text(&f.record));
    let record: acura_ha::run_record::RunRecord =
        serde_json::from_value(f.record.clone()).expect("run.json is a RunRecord");
    let diagnosis = &record.diagnoses[0].diagnosis;
    let rules: Vec<&str> = diagnosis.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["hostname-with-dots"], "{diagnosis:?}");
    assert!(diagnosis.unexplained.is_empty(), "{diagnosis:?}");
    let text = failure_text(&f.record);
    assert!(
        text.contains("1 cause explains 1 failure: 1 hostname contains dots"),
        "{text}"
    );
    assert_released(&f.run_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_rejects_a_node_whose_dns_does_not_answer() {
    let f = run_scenario("scenarios/negative/preflight-dns-broken.yaml").await;
    assert_plan_matches("scenarios/negative/preflight-dns-broken.yaml", &f.record);
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

/// Runs the scenario with `--keep`; the guard removes what it kept, whatever the test does.
async fn kept_run(relative: &str, artifacts: &Path) -> (run::RunSummary, Gc) {
    let loaded = scenario::load(&repo().join(relative)).expect("scenario loads");
    let mut opts = options(artifacts);
    opts.keep = true;
    let summary = run::run(loaded, opts).await;
    let gc = Gc(summary.run_id.clone());
    (summary, gc)
}

/// `run --keep` records what the run did to the topology, and `check --run` checks the kept
/// topology as it was left: node-3 powered off and nothing installed is not a failure there.
/// A host that goes silent without the run knowing is, and its diagnosis says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_topology_is_checked_as_the_run_left_it() {
    let _serial = SERIAL.lock().await;
    let artifacts = repo().join("target/test-artifacts");
    let (summary, gc) = kept_run("harness/tests/scenarios/kept-node-down.yaml", &artifacts).await;
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

    let (code, text) = check_kept(&gc.0, &artifacts, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("as it was kept: the LB configured, nothing installed; down: node-3"),
        "{text}"
    );
    assert!(text.contains("checks passed; exit 0"), "{text}");
    assert!(!text.contains("procedure commands"), "{text}");

    // node-2 silently drops everything (the run did not take it down): the diagnosis names
    // that host as the one cause, explains every failure, and the check fails (exit 1, a
    // finding about the site, not an error of the harness).
    docker_exec(&gc.0, "node-2", &format!("iptables -I {DROP_ALL}"));
    let (code, text) = check_kept(&gc.0, &artifacts, &[]);
    docker_exec(&gc.0, "node-2", &format!("iptables -D {DROP_ALL}"));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("diagnosis: 1 cause explains")
            && text.contains("node-2 (")
            && text.contains("is down or unreachable")
            && text.contains("[host-down]"),
        "{text}"
    );
    assert!(!text.contains("unexplained"), "{text}");
    let record: acura_ha::run_record::RunRecord = serde_json::from_str(
        &std::fs::read_to_string(artifacts.join(format!("{}-check/run.json", gc.0))).unwrap(),
    )
    .unwrap();
    let diagnosis = &record.diagnoses[0].diagnosis;
    assert_eq!(diagnosis.findings.len(), 1, "{diagnosis:?}");
    assert_eq!(diagnosis.findings[0].rule, "host-down");
    assert!(diagnosis.unexplained.is_empty(), "{diagnosis:?}");
    // Healed: the same checks pass again, with nothing to diagnose.
    let (code, text) = check_kept(&gc.0, &artifacts, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("diagnosis:"), "{text}");

    drop(gc);
    assert_released(&summary.run_id);
    assert!(!key.exists(), "gc removes the kept key too");
}

const DROP_ALL: &str = "INPUT ! -i lo -m comment --comment acura-ha-test -j DROP";

/// The diagnosis of the last `check --run` of `run_id`.
fn last_diagnosis(run_id: &str, artifacts: &Path) -> acura_ha::finding::Diagnosis {
    let record: acura_ha::run_record::RunRecord = serde_json::from_str(
        &std::fs::read_to_string(artifacts.join(format!("{run_id}-check/run.json"))).unwrap(),
    )
    .unwrap();
    record.diagnoses[0].diagnosis.clone()
}

/// The node `default/elk-0`, the log pipeline's only pod, is bound to, as `kubectl` on `on`
/// says; `None` while the pod does not exist (deleted, not yet created again).
fn elk_node(run_id: &str, on: &str) -> Option<String> {
    let pods: serde_json::Value = serde_json::from_str(&docker_exec(
        run_id,
        on,
        "kubectl get pods -n default -o json",
    ))
    .unwrap();
    pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == "elk-0")
        .and_then(|p| p["spec"]["nodeName"].as_str())
        .map(str::to_owned)
}

/// node-1 silenced behind the run's back (every packet to it dropped) and the LB's nginx
/// reloaded: each fresh worker hands its first UDP session to the first member of
/// `stream_elk` (least_conn among equals starts there), node-1, so at least one GELF record
/// sent to the LB is lost whichever check sent it. The log pipeline runs elsewhere, so records
/// sent straight to the live nodes arrive. The diagnosis names the silent host first, explains
/// the lost records with the UDP upstream's missing health check, and leaves nothing
/// unexplained. `acura-ha diff` of the clean check before and this one names exactly the
/// cells that stopped answering and the new findings.
fn records_lost_through_the_udp_upstream(run_id: &str, artifacts: &Path) {
    let record = artifacts.join(format!("{run_id}-check/run.json"));
    let healthy = artifacts.join(format!("{run_id}-healthy.json"));
    std::fs::copy(&record, &healthy).unwrap();
    docker_exec(run_id, "node-1", &format!("iptables -I {DROP_ALL}"));
    docker_exec(run_id, "lb", "nginx -s reload");
    let (code, text) = check_kept(run_id, artifacts, &[]);
    docker_exec(run_id, "node-1", &format!("iptables -D {DROP_ALL}"));
    assert_eq!(code, Some(1), "{text}");
    let diagnosis = last_diagnosis(run_id, artifacts);
    let rules: Vec<&str> = diagnosis.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules.first(), Some(&"host-down"), "{text}");
    assert!(diagnosis.findings[0].cause.contains("node-1 ("), "{text}");
    assert!(rules.contains(&"udp-no-health-check"), "{text}");
    // HTTPS through the LB may hang on node-1 too (no proxy_connect_timeout on 443/4443).
    assert!(
        rules[1..]
            .iter()
            .all(|r| ["udp-no-health-check", "lb-no-connect-timeout"].contains(r)),
        "{text}"
    );
    assert!(diagnosis.unexplained.is_empty(), "{text}");
    check_report_seen(run_id, artifacts, &rules);
    diff_names_what_broke(&healthy, &record, &rules);
}

/// `acura-ha diff` of a clean check and a broken one: every changed cell went from open to
/// what the broken check saw, they are exactly its cells that are not open, and the new
/// findings are exactly its findings.
fn diff_names_what_broke(healthy: &Path, broken: &Path, rules: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .args([
            "diff".as_ref(),
            healthy.as_os_str(),
            broken.as_os_str(),
            "--json".as_ref(),
            "-".as_ref(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the result changed");
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    support::assert_follows_schema("diff", &diff);
    let record: acura_ha::run_record::RunRecord =
        serde_json::from_str(&std::fs::read_to_string(broken).unwrap()).unwrap();
    let matrix = record
        .checks
        .iter()
        .find(|c| c.check == "reachability")
        .and_then(|c| c.findings.clone())
        .expect("the broken check's matrix");
    let Ok(acura_ha::checks::Findings::Reachability(m)) =
        acura_ha::checks::Findings::from_value(acura_ha::checks::CheckName::Reachability, matrix)
    else {
        panic!("a matrix")
    };
    let mut not_open: Vec<(String, String)> = m
        .cells
        .iter()
        .filter(|c| c.state != acura_ha::checks::CellState::Open)
        .map(|c| (c.label(), c.state.as_str().to_owned()))
        .collect();
    not_open.sort();
    let mut changed: Vec<(String, String)> = diff["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["from"], "open", "{c}");
            (
                c["cell"].as_str().unwrap().to_owned(),
                c["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    changed.sort();
    assert_eq!(changed, not_open);
    let mut new: Vec<&str> = diff["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["change"], "new", "{f}");
            f["rule"].as_str().unwrap()
        })
        .collect();
    let mut expected = rules.to_vec();
    new.sort_unstable();
    expected.sort_unstable();
    assert_eq!(new, expected);
}

/// The failing check's HTML report as headless Chromium shows it: every section, each
/// finding, the matrix; nothing fetched, no console error. Its screenshot stays beside it.
fn check_report_seen(run_id: &str, artifacts: &Path, rules: &[&str]) {
    let dir = artifacts.join(format!("{run_id}-check"));
    let seen =
        acura_ha::report::browser::open(&dir.join("report.html"), Duration::from_secs(90)).unwrap();
    std::fs::write(dir.join("report.png"), &seen.screenshot_png).unwrap();
    assert!(seen.requests.is_empty(), "{:?}", seen.requests);
    assert!(seen.console_errors.is_empty(), "{:?}", seen.console_errors);
    let f = &seen.facts;
    assert_eq!(f.sections, acura_ha::report::SECTIONS);
    assert_eq!(f.verdict, "failed");
    assert_eq!(f.findings, rules);
    assert!(f.matrix_cells > 0, "{f:?}");
}

/// The node running the log pipeline's only pod silenced: every GELF record is lost,
/// whichever node or LB took it in, and the diagnosis says why (the pod's node is down), not
/// only that the UDP upstream has no health check. Then the remedy a StatefulSet needs while
/// its node stays down: the pod force-deleted, it starts on a live node; healed.
fn records_lost_with_the_log_pipelines_node(run_id: &str, artifacts: &Path, node: &str) {
    docker_exec(run_id, node, &format!("iptables -I {DROP_ALL}"));
    let (code, text) = check_kept(run_id, artifacts, &[]);
    assert_eq!(code, Some(1), "{text}");
    let diagnosis = last_diagnosis(run_id, artifacts);
    let rules: Vec<&str> = diagnosis.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules.first(), Some(&"host-down"), "{text}");
    assert!(
        diagnosis.findings[0].cause.contains(&format!("{node} (")),
        "{text}"
    );
    let pipeline = diagnosis
        .findings
        .iter()
        .find(|f| f.rule == "log-pipeline-down")
        .unwrap_or_else(|| panic!("no log-pipeline-down finding:\n{text}"));
    assert!(
        pipeline
            .cause
            .contains(&format!("default/elk-0 runs on {node}")),
        "{text}"
    );
    // Once the eviction grace has passed, the silent node's Deployment pods are recreated on
    // the live nodes; a check that reads them while they are still being created sees them
    // not Ready, and says so as its own finding. Nothing else may appear.
    let recreated = |f: &acura_ha::finding::Finding| {
        f.rule == "pod-not-ready"
            && f.cause.contains("ContainerCreating")
            && f.evidence
                .iter()
                .all(|e| !e.ends_with(&format!(" on {node}")))
    };
    assert!(
        diagnosis.findings[1..].iter().all(|f| {
            ["log-pipeline-down", "lb-no-connect-timeout"].contains(&f.rule.as_str())
                || recreated(f)
        }),
        "{text}"
    );
    assert!(diagnosis.unexplained.is_empty(), "{text}");

    let live = ["node-1", "node-2", "node-3"]
        .into_iter()
        .find(|n| *n != node)
        .unwrap();
    docker_exec(
        run_id,
        live,
        "kubectl delete pod elk-0 -n default --force --grace-period=0",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while elk_node(run_id, live).is_none_or(|n| n == node) {
        assert!(
            Instant::now() < deadline,
            "elk-0 never left the silent {node}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    docker_exec(run_id, node, &format!("iptables -D {DROP_ALL}"));
}

/// Records lost two ways, each told apart from the other: through the LB's UDP upstream to a
/// silent node, and everywhere while the log pipeline's node is silent (whichever node runs
/// it, both are shown: the pipeline is moved off node-1 first when it is there). Healed, the
/// site checks clean, and the same hosts then play a customer's site: checked, collected,
/// analyzed, reproduced.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_node_loses_records_two_ways_then_the_site_round_trips() {
    let _serial = SERIAL.lock().await;
    let artifacts = repo().join("target/test-artifacts");
    let (summary, gc) = kept_run("harness/tests/scenarios/kept-site.yaml", &artifacts).await;
    assert_eq!(summary.exit_code, 0, "the kept install passes");
    assert_checks_clean(&gc.0, &artifacts);

    let elk = elk_node(&gc.0, "node-2").expect("elk-0 is bound to a node");
    if elk == "node-1" {
        records_lost_with_the_log_pipelines_node(&gc.0, &artifacts, &elk);
        assert_checks_clean(&gc.0, &artifacts);
    }
    records_lost_through_the_udp_upstream(&gc.0, &artifacts);
    if elk != "node-1" {
        assert_checks_clean(&gc.0, &artifacts);
        records_lost_with_the_log_pipelines_node(&gc.0, &artifacts, &elk);
    }

    // Healed: node-1 rejoins its etcd cluster and the site checks clean again.
    assert_checks_clean(&gc.0, &artifacts);

    // The same hosts as a customer's site: checked, collected, analyzed, reproduced.
    let kept = acura_ha::runner::kept::load(&gc.0).unwrap();
    site_round_trip(&kept, &artifacts, Reproduction::Written).await;
    drop(gc);
    assert_released(&summary.run_id);
}

/// How far the round trip takes `reproduce`: every commit writes the scenario (read, validated
/// and planned like any other); the nightly five-node trip also runs it on a fresh topology.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reproduction {
    Written,
    Run,
}

/// The same round trip for a five-node site: the bundle holds five nodes and the reproduction
/// runs five. Nightly (about twice the three-node one's time).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "nightly: a five-node install and its reproduction"]
async fn a_five_node_site_round_trip() {
    let _serial = SERIAL.lock().await;
    let artifacts = repo().join("target/test-artifacts");
    let (summary, gc) = kept_run("harness/tests/scenarios/kept-site-5.yaml", &artifacts).await;
    assert_eq!(summary.exit_code, 0, "the kept five-node install passes");
    assert_checks_clean(&gc.0, &artifacts);
    let kept = acura_ha::runner::kept::load(&gc.0).unwrap();
    assert_eq!(kept.topology.nodes().count(), 5);
    site_round_trip(&kept, &artifacts, Reproduction::Run).await;
    drop(gc);
    assert_released(&summary.run_id);
}

/// Runs the acura-ha binary from the repository root; its exit code and what it printed.
fn acura_ha(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha runs");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `acura-ha analyze BUNDLE --json JSON`.
fn analyze(bundle: &str, json: &str, artifacts: &Path) -> (Option<i32>, String) {
    acura_ha(&[
        "analyze",
        bundle,
        "--json",
        json,
        "--artifacts",
        &artifacts.display().to_string(),
    ])
}

/// What a host holds that a read-only check must leave alone: its files under /etc and
/// /root, and the services running.
fn host_state(run_id: &str, host: &str) -> String {
    docker_exec(
        run_id,
        host,
        "find /etc /root -xdev -type f -printf '%p %s %T@\\n' 2>/dev/null | sort | md5sum; \
         systemctl list-units --type=service --state=running --no-legend --plain | awk '{print $1}' | sort | md5sum",
    )
}

/// The kept hosts play a customer's site with two faults put in by hand: node-2's 30082/tcp
/// dropped by a firewall, and the LB's UDP upstream pointed at a port where nothing listens.
/// `check --inventory` names both causes and changes nothing on the hosts; `collect
/// --mask-addresses` bundles the site with no secret and no site address in it; `analyze`
/// finds the same causes from the bundle alone; `reproduce` writes the scenario that rebuilds
/// the site from the bundle and, with [`Reproduction::Run`], runs it on a fresh topology,
/// shows both causes again, and tears it down.
async fn site_round_trip(
    kept: &acura_ha::runner::kept::KeptRun,
    artifacts: &Path,
    reproduction: Reproduction,
) {
    let id = &kept.run_id;
    let host = |name: &str| kept.topology.host(&HostName(name.into())).unwrap().clone();
    const DROP_30082: &str =
        "INPUT ! -i lo -p tcp --dport 30082 -m comment --comment acura-ha-test -j DROP";
    docker_exec(id, "node-2", &format!("iptables -I {DROP_30082}"));
    docker_exec(
        id,
        "lb",
        "sed -i '/upstream stream_elk/,/}/ s/:12201;/:12299;/' /etc/nginx/nginx.conf \
         && echo '# kibana password=canary-nginx-8e2f41b7c0' >> /etc/nginx/nginx.conf \
         && nginx -s reload",
    );
    docker_exec(
        id,
        "node-1",
        "echo '# token: canary-resolv-31c7d2e9a4' >> /etc/resolv.conf",
    );

    let site = tempfile::tempdir().unwrap();
    let dir = site.path();
    std::fs::write(dir.join("id_site"), &kept.private_key).unwrap();
    let nodes: Vec<String> = kept.topology.nodes().map(|n| n.name.to_string()).collect();
    let mut hosts: Vec<String> = nodes.clone();
    hosts.extend(["lb".to_owned(), "deployer".to_owned()]);
    let ha_env: String = nodes
        .iter()
        .map(|n| {
            format!(
                "{n} ansible_ssh_host={} ansible_ssh_private_key_file=id_site\n",
                host(n).address
            )
        })
        .collect();
    std::fs::write(dir.join("ha_env_file"), ha_env).unwrap();
    let known: String = hosts
        .iter()
        .map(|n| {
            let public = docker_exec(id, n, "cat /etc/ssh/ssh_host_ed25519_key.pub");
            let public: Vec<&str> = public.split_whitespace().take(2).collect();
            format!("{} {}\n", host(n).address, public.join(" "))
        })
        .collect();
    std::fs::write(dir.join("known_hosts"), known).unwrap();
    let path = |f: &str| dir.join(f).display().to_string();
    let (lb, deployer) = (
        host("lb").address.to_string(),
        host("deployer").address.to_string(),
    );
    let site_args = |command: &str| -> Vec<String> {
        [
            command,
            "--inventory",
            &path("ha_env_file"),
            "--lb",
            &lb,
            "--deployer",
            &deployer,
            "--known-hosts",
            &path("known_hosts"),
            "--probe-name",
            &kept.topology.network.probe_name,
            "--requirements",
            "local",
            "--artifacts",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([artifacts.display().to_string()])
        .collect()
    };
    let rules = |record: &Path| -> std::collections::BTreeSet<String> {
        let record: acura_ha::run_record::RunRecord =
            serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
        let d = &record.diagnoses[0].diagnosis;
        assert!(d.unexplained.is_empty(), "{d:?}");
        d.findings.iter().map(|f| f.rule.clone()).collect()
    };
    let both: std::collections::BTreeSet<String> =
        ["port-dropped".to_owned(), "lb-config".to_owned()].into();

    // check --inventory: both causes, exit 1, nothing changed on any host.
    let before: Vec<String> = hosts.iter().map(|h| host_state(id, h)).collect();
    let mut args = site_args("check");
    args.extend(["--json".into(), path("check.json")]);
    let (code, text) = acura_ha(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(rules(&dir.join("check.json")), both, "{text}");
    let after: Vec<String> = hosts.iter().map(|h| host_state(id, h)).collect();
    assert_eq!(before, after, "check --inventory changed a host");

    // collect --mask-addresses: one bundle, the map beside it, no secret, no site address.
    let mut args = site_args("collect");
    args.extend(["--mask-addresses".into(), "-o".into(), path("out")]);
    let (code, text) = acura_ha(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(0), "{text}");
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    bundles.sort();
    assert_eq!(bundles.len(), 2, "the bundle and its map: {bundles:?}");
    let map = bundles
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".mask-map.json"))
        .unwrap();
    let bundle_path = bundles
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .unwrap();
    assert!(bundle_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("acura-ha-bundle-site-"));
    let bundle = acura_ha::bundle::Bundle::read(bundle_path).unwrap();
    assert!(bundle.manifest.masked);
    assert!(
        bundle.files.contains_key("hosts/lb/nginx.conf"),
        "{:?}",
        bundle.files.keys()
    );
    assert!(bundle.files.contains_key("cluster/pods.json"));
    let mut site_addresses: Vec<String> = kept
        .topology
        .hosts
        .iter()
        .map(|h| h.address.to_string())
        .collect();
    site_addresses.push(kept.topology.network.dns.to_string());
    let manifest = serde_json::to_string(&bundle.manifest).unwrap();
    for (name, bytes) in bundle
        .files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .chain([("manifest.json", manifest.as_bytes())])
    {
        let text = String::from_utf8_lossy(bytes);
        for canary in [
            "canary-nginx-8e2f41b7c0",
            "canary-resolv-31c7d2e9a4",
            "PRIVATE KEY-----\n",
        ] {
            assert!(!text.contains(canary), "{canary} in {name}");
        }
        for address in &site_addresses {
            assert!(!text.contains(address.as_str()), "{address} in {name}");
        }
    }
    assert!(std::fs::read_to_string(map).unwrap().contains(&lb));

    // The Kibana password the collector is given is a secret too: it is nowhere in a bundle
    // (Kibana refuses it, which the checks report; the bundle is written all the same).
    let canary_dir = path("canary");
    let mut args = site_args("collect");
    args.extend(["-o".into(), canary_dir.clone()]);
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(&args)
        .env("ACURA_HA_KIBANA_PASSWORD", "canary-kibana-5d1e9f3a70")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let canary_bundle = std::fs::read_dir(&canary_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle");
    let canary_bundle = acura_ha::bundle::Bundle::read(&canary_bundle).unwrap();
    let manifest = serde_json::to_string(&canary_bundle.manifest).unwrap();
    for (name, bytes) in canary_bundle
        .files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .chain([("manifest.json", manifest.as_bytes())])
    {
        assert!(
            !String::from_utf8_lossy(bytes).contains("canary-kibana-5d1e9f3a70"),
            "the Kibana password in {name}"
        );
    }

    // analyze: the same causes from the bundle alone.
    let bundle_arg = bundle_path.display().to_string();
    let json = path("analysis.json");
    let (code, text) = analyze(&bundle_arg, &json, artifacts);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(rules(Path::new(&json)), both, "{text}");

    // reproduce: the scenario that rebuilds the site from the bundle alone; run, a fresh
    // topology shows both causes, then is gone.
    let artifacts_arg = artifacts.display().to_string();
    let scenarios = path("scenarios");
    let mut args = vec![
        "reproduce",
        &bundle_arg,
        "--scenarios",
        &scenarios,
        "--name",
        "customer-round-trip",
        "--artifacts",
        &artifacts_arg,
    ];
    if reproduction == Reproduction::Written {
        args.push("--write-only");
    }
    let (code, text) = acura_ha(&args);
    assert_eq!(code, Some(0), "{text}");
    let written = dir.join("scenarios/customer-round-trip.yaml");
    let scenario = std::fs::read_to_string(&written).unwrap();
    assert!(
        scenario.contains("block_port: { host: node-2, port: 30082, protocol: tcp }"),
        "{scenario}"
    );
    assert!(scenario.contains("{node-1}:12299;"), "{scenario}");
    let (code, plan) = acura_ha(&["plan", &written.display().to_string()]);
    assert_eq!(code, Some(0), "{plan}");
    if reproduction == Reproduction::Run {
        assert!(text.contains("reproduced 2 of 2 causes"), "{text}");
        let run_id = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("artifacts: "))
            .and_then(|a| Path::new(a.trim()).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .expect("the reproduction's artifacts");
        assert_released(&run_id);
    }

    // A majority of the nodes silent: etcd has no quorum. collect still finishes, its
    // manifest names what it could not have, and analyze names the quorum loss.
    let silent: Vec<&str> = nodes[nodes.len() / 2..]
        .iter()
        .map(String::as_str)
        .collect();
    for node in &silent {
        docker_exec(id, node, &format!("iptables -I {DROP_ALL}"));
    }
    // The kept run itself this time (`--run`): the same collection through the run's record.
    let (code, text) = acura_ha(&[
        "collect",
        "--run",
        id,
        "-o",
        &path("quorum"),
        "--artifacts",
        &artifacts.display().to_string(),
    ]);
    for node in &silent {
        docker_exec(id, node, &format!("iptables -D {DROP_ALL}"));
    }
    assert_eq!(code, Some(0), "{text}");
    let bundle_path = std::fs::read_dir(dir.join("quorum"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle");
    let bundle = acura_ha::bundle::Bundle::read(&bundle_path).unwrap();
    let failed: Vec<&str> = bundle
        .manifest
        .failed()
        .map(|e| e.source.as_str())
        .collect();
    assert!(
        silent.iter().all(|n| failed.contains(n)),
        "{:?}",
        bundle.manifest.entries
    );
    assert!(
        bundle.files.contains_key("hosts/node-1/resolv.conf"),
        "what SSH reaches is still collected"
    );
    let json = path("quorum.json");
    let (code, text) = analyze(&bundle_path.display().to_string(), &json, artifacts);
    assert_eq!(code, Some(1), "{text}");
    let record: acura_ha::run_record::RunRecord =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rules: Vec<&str> = record.diagnoses[0]
        .diagnosis
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules.first(), Some(&"etcd-quorum-lost"), "{text}");
}

/// `check --run` measures the kept hosts against the scenario's requirement profile; below it,
/// the diagnosis names that cause and explains every failure (no golden: sizes are the
/// machine's).
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_site_below_the_guides_sizing_is_diagnosed_so() {
    let _serial = SERIAL.lock().await;
    let artifacts = repo().join("target/test-artifacts");
    let (summary, gc) = kept_run(
        "harness/tests/scenarios/kept-below-requirements.yaml",
        &artifacts,
    )
    .await;
    assert_eq!(summary.exit_code, 0, "the kept run itself passes");
    let (code, text) = check_kept(&gc.0, &artifacts, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("[below-requirements]"), "{text}");
    assert!(text.contains("OS is not ubuntu 24.04"), "{text}");
    assert!(!text.contains("unexplained"), "{text}");
    drop(gc);
    assert_released(&summary.run_id);
}

/// The kept topology passes every check with nothing to diagnose. A cluster just out of its
/// install or a heal may still be settling (etcd answering "request timed out", a node's pods
/// Unknown until its status is posted again), so it is checked again, 15 s apart, for up to
/// three minutes.
fn assert_checks_clean(run_id: &str, artifacts: &Path) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (code, text) = check_kept(run_id, artifacts, &[]);
        if code == Some(0) {
            assert!(!text.contains("diagnosis:"), "{text}");
            return;
        }
        if Instant::now() > deadline {
            panic!("the kept topology never checked clean:\n{text}");
        }
        std::thread::sleep(Duration::from_secs(15));
    }
}

fn docker_exec(run_id: &str, host: &str, script: &str) -> String {
    let out = Command::new("docker")
        .args([
            "exec",
            &format!("acura-ha-{run_id}-{host}"),
            "sh",
            "-c",
            script,
        ])
        .output()
        .expect("docker cli");
    assert!(out.status.success(), "{script}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The SHA-256 fingerprint of the host's ed25519 key, as the host itself reports it.
fn host_key(run_id: &str, host: &str) -> String {
    let line = docker_exec(
        run_id,
        host,
        "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
    );
    line.split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_owned()
}

fn check_kept(run_id: &str, artifacts: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let artifacts = artifacts.display().to_string();
    let mut args = vec!["check", "--run", run_id, "--artifacts", &artifacts];
    args.extend_from_slice(extra);
    acura_ha(&args)
}

/// Host keys are pinned for the life of a topology: a node the run replaced gets its new key
/// pinned and recorded; a node whose key changes behind the run's back is refused when the
/// run's session reconnects, and by `check --run` of the kept run (exit 3, both fingerprints
/// and the way to accept the key on purpose), until it is accepted with `--accept-host-key`.
#[tokio::test(flavor = "multi_thread")]
async fn host_keys_are_pinned_for_the_life_of_a_kept_topology() {
    let _serial = SERIAL.lock().await;
    let artifacts = repo().join("target/test-artifacts");
    let (summary, gc) = kept_run("harness/tests/scenarios/host-keys.yaml", &artifacts).await;
    let id = gc.0.clone();
    let log = std::fs::read_to_string(summary.artifacts.join("run.log")).unwrap_or_default();
    assert_eq!(summary.exit_code, 0, "{log}");

    // The replaced node: its new key pinned at replacement, said so, and recorded.
    let node2 = host_key(&id, "node-2");
    assert!(
        log.contains(&format!(
            "node-2: the new machine's host key {node2} pinned in place of the old one"
        )),
        "{log}"
    );
    let kept = acura_ha::runner::kept::load(&id).expect("the run is kept");
    let recorded = |host: &str| kept.host_keys.get(&HostName(host.into())).cloned();
    assert_eq!(recorded("node-2"), Some(node2.clone()));
    let node3 = host_key(&id, "node-3");
    assert_eq!(recorded("node-3"), Some(node3.clone()));

    // node-3 gets new host keys behind the run's back.
    let rekey = "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh";
    let remote = Remote::with_host_keys(
        RunKey::from_openssh(&kept.private_key).unwrap(),
        "root",
        HostKeys::recorded(kept.host_keys.clone()),
    );
    let host3 = kept
        .topology
        .host(&HostName("node-3".into()))
        .unwrap()
        .clone();
    let before = remote.exec(&host3, "true", Duration::from_secs(30)).await;
    assert!(
        before.is_ok_and(|o| o.success()),
        "node-3 answers with its pinned key"
    );
    docker_exec(&id, "node-3", rekey);
    let fresh3 = host_key(&id, "node-3");
    assert_ne!(fresh3, node3, "node-3 has a new key");
    // The session the run had is dropped (a power cut, a restart): reconnecting is refused.
    remote.disconnect(&host3.name);
    let again = remote.exec(&host3, "true", Duration::from_secs(30)).await;
    let refusal = again.expect_err("a changed key is refused").to_string();
    assert!(
        refusal.contains("node-3: host key changed")
            && refusal.contains(&node3)
            && refusal.contains(&fresh3),
        "{refusal}"
    );
    let refusals = remote.host_key_refusals();
    assert_eq!(refusals.len(), 1);
    assert_eq!(
        (refusals[0].host.as_str(), refusals[0].message.as_str()),
        ("node-3", refusal.as_str())
    );

    // `check --run` refuses the kept topology the same way, with the way to accept the key.
    let (code, text) = check_kept(&id, &artifacts, &[]);
    assert_eq!(code, Some(3), "{text}");
    assert!(
        text.contains(&format!("recorded {node3}, presented {fresh3}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "acura-ha check --run {id} --accept-host-key node-3"
        )),
        "{text}"
    );
    assert!(!text.contains("checks passed"), "no check ran: {text}");

    // Accepted on purpose: pinned, recorded, and the next check passes without the flag.
    let (code, text) = check_kept(&id, &artifacts, &["--accept-host-key", "node-3"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "node-3: the new machine's host key {fresh3} pinned in place of the old one"
        )),
        "{text}"
    );
    let kept = acura_ha::runner::kept::load(&id).unwrap();
    assert_eq!(
        kept.host_keys.get(&HostName("node-3".into())),
        Some(&fresh3)
    );
    let (code, text) = check_kept(&id, &artifacts, &[]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = check_kept(&id, &artifacts, &["--accept-host-key", "node-9"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("has no host `node-9`"), "{text}");

    // The same hosts as existing ones (the static provider), under the same policy.
    existing_hosts_follow_the_known_hosts_file(&kept, &artifacts).await;

    drop(gc);
    assert_released(&summary.run_id);
}

/// The kept hosts as a site acura-ha did not build: with a `known_hosts` file that gives node-1
/// another host's key the run is refused before any step (exit 3); with the right file it runs;
/// without one every host's first key is printed and pinned.
async fn existing_hosts_follow_the_known_hosts_file(
    kept: &acura_ha::runner::kept::KeptRun,
    artifacts: &Path,
) {
    let site = tempfile::tempdir().unwrap();
    let dir = site.path();
    let host = |name: &str| kept.topology.host(&HostName(name.into())).unwrap().clone();
    let public = |name: &str| {
        let line = docker_exec(&kept.run_id, name, "cat /etc/ssh/ssh_host_ed25519_key.pub");
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    std::fs::write(dir.join("id_site"), &kept.private_key).unwrap();
    let nodes = ["node-1", "node-2", "node-3"];
    let ha_env: String = nodes
        .iter()
        .map(|n| format!("{n} ansible_ssh_host={}\n", host(n).address))
        .collect();
    std::fs::write(dir.join("ha_env_file"), ha_env).unwrap();
    let known = |node1_key: &str| -> String {
        let mut lines = format!("{} {node1_key}\n", host("node-1").address);
        for name in ["node-2", "node-3", "lb", "deployer"] {
            lines.push_str(&format!("{} {}\n", host(name).address, public(name)));
        }
        lines
    };
    let archive = repo().join("fixtures/acura-sim/dist/hystax-ha-archive.tar.gz");
    let scenario = |known_hosts: Option<&str>| {
        format!(
            "name: existing-hosts\nprovider: static\ntopology: {{ nodes: 3, lb: true }}\n\
             product: {{ archive: {} }}\n\
             inventory:\n  ha_env_file: ha_env_file\n  lb: {}\n  deployer: {}\n  ssh_key: id_site\n{}\
             steps:\n  - configure-lb\n",
            archive.display(),
            host("lb").address,
            host("deployer").address,
            known_hosts.map(|k| format!("  known_hosts: {k}\n")).unwrap_or_default()
        )
    };
    let run_site = |text: String| async move {
        let path = dir.join("site.yaml");
        std::fs::write(&path, text).unwrap();
        let loaded = scenario::load(&path).expect("the site scenario loads");
        let summary = run::run(loaded, options(artifacts)).await;
        let log = std::fs::read_to_string(summary.artifacts.join("run.log")).unwrap_or_default();
        (summary.exit_code, log)
    };

    std::fs::write(dir.join("wrong_known_hosts"), known(&public("node-2"))).unwrap();
    let (code, log) = run_site(scenario(Some("wrong_known_hosts"))).await;
    assert_eq!(code, 3, "{log}");
    let node1 = host_key(&kept.run_id, "node-1");
    let node2 = host_key(&kept.run_id, "node-2");
    assert!(
        log.contains(&format!(
            "node-1: host key changed (recorded {node2}, presented {node1})"
        )),
        "{log}"
    );
    assert!(!log.contains("C5"), "no step ran: {log}");

    std::fs::write(dir.join("known_hosts"), known(&public("node-1"))).unwrap();
    let (code, log) = run_site(scenario(Some("known_hosts"))).await;
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("pinned on first contact"), "{log}");

    let (code, log) = run_site(scenario(None)).await;
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(&format!("node-1: host key {node1} pinned on first contact")),
        "{log}"
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A step that fails with a secret in its command and its output: the secret the scenario
/// knows (its Kibana password) reaches neither the terminal nor any artifact, run record,
/// JUnit file, HTML report or event stream; its label does, so the search looked where the
/// failure was written. The streamed events follow their schema, line by line; `--quiet`
/// shows the failure and the verdict without the progress.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_leaks_no_secret_anywhere() {
    let _serial = SERIAL.lock().await;
    let canary = "canary-7f3a9c2e51";
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("out.json"), dir.path().join("out.xml"));
    let (html, events) = (dir.path().join("out.html"), dir.path().join("events.jsonl"));
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args([
            "--quiet",
            "run",
            "harness/tests/scenarios/secret-canary.yaml",
            "--artifacts",
        ])
        .arg(dir.path().join("artifacts"))
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--html")
        .arg(&html)
        .arg("--events")
        .arg(&events)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha run runs");
    let terminal = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{terminal}");
    assert!(
        terminal.contains("issuing the ingress certificate failed"),
        "{terminal}"
    );
    // `--quiet`: the failure and the verdict, not the progress.
    assert!(terminal.contains("FAILED"), "{terminal}");
    assert!(!terminal.contains("topology up:"), "{terminal}");
    assert!(
        !terminal.contains(canary),
        "the terminal shows the secret:\n{terminal}"
    );
    let mut all = Vec::new();
    files_under(dir.path(), &mut all);
    let mut labels = 0;
    for path in &all {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert!(
            !text.contains(canary),
            "{} shows the secret",
            path.display()
        );
        labels += text.matches("[kibana-password]").count();
    }
    for written in [&json, &junit, &html, &events] {
        assert!(all.contains(written), "{} was written", written.display());
    }
    let streamed = std::fs::read_to_string(&events).unwrap();
    for line in streamed.lines() {
        support::assert_follows_schema("events", &serde_json::from_str(line).unwrap());
    }
    assert!(streamed
        .lines()
        .last()
        .unwrap()
        .contains(r#""event":"run-finished""#));
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("[kibana-password]"));
    let record = std::fs::read_to_string(&json).unwrap();
    assert!(record.contains("[kibana-password]"), "{record}");
    assert!(
        labels >= 4,
        "the failure is in the record, the log, JUnit and the command's artifact: {labels}"
    );
    let run_id = serde_json::from_str::<serde_json::Value>(&record).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_released(&run_id);
}

/// Tonight against last night: the lifecycle run twice on docker, then `acura-ha diff` of the
/// two records. The result is the same (exit 0: no verdict, check, cell, finding, golden or
/// command changed) and the diff names the slowest step with its change. Nightly: two whole
/// lifecycles.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "nightly: two lifecycle runs"]
async fn two_lifecycle_runs_diff_to_the_same_result() {
    let first = run_scenario("scenarios/lifecycle.yaml").await;
    let second = run_scenario("scenarios/lifecycle.yaml").await;
    assert_eq!((first.exit_code, second.exit_code), (0, 0));
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    std::fs::write(&a, first.record.to_string()).unwrap();
    std::fs::write(&b, second.record.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .args(["diff".as_ref(), a.as_os_str(), b.as_os_str()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verdict: unchanged"), "{text}");
    assert!(text.contains("same result"), "{text}");
    assert!(text.contains("\nslowest step "), "{text}");
    let json = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .args([
            "diff".as_ref(),
            a.as_os_str(),
            b.as_os_str(),
            "--json".as_ref(),
            "-".as_ref(),
        ])
        .output()
        .unwrap();
    let diff: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    support::assert_follows_schema("diff", &diff);
    assert!(diff["slowest_step"]["from_ms"].as_u64().is_some(), "{diff}");
    assert_released(&first.run_id);
    assert_released(&second.run_id);
}
