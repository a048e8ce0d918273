//! VM tests: they build (or reuse) the base image and boot real VMs under TCG. The two-VM
//! smoke (the DNS server and one node) runs in the suite on every commit (in nextest's
//! `topology` group, so no container topology competes with it for the CPU); the
//! topology-sized ones run nightly and are ignored by default. Run them with
//! `cargo test -p acura-ha --lib provider::qemu::tests -- --ignored --nocapture`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use super::network::NetMode;
use super::*;
use crate::topology::HostName;

fn config(artifacts: &Path, accel: AccelRequest) -> QemuConfig {
    let vms = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vms");
    let mut config = QemuConfig::from_env(vms, artifacts.to_owned()).expect("qemu is installed");
    config.accel = accel;
    config.shutdown_grace = Duration::from_secs(30);
    config.progress = Arc::new(|line| eprintln!("{line}"));
    config
}

fn artifacts(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("acura-ha-qemu-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `body`, then tears the run down whether the body returned, failed or panicked, and
/// checks that nothing of the run is left.
async fn torn_down(provider: &QemuProvider, run_id: &str, body: impl Future<Output = Result<()>>) {
    let outcome = std::panic::AssertUnwindSafe(body).catch_unwind().await;
    let released = provider.teardown().await;
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(result) => result.unwrap(),
    }
    assert!(released.iter().all(|r| r.error.is_none()), "{released:#?}");
    nothing_left(run_id);
}

fn nothing_left(run_id: &str) {
    let dir = run_dir::run_dir(run_id).unwrap();
    assert!(!dir.exists(), "{} outlived the run", dir.display());
    assert!(
        vm::processes_mentioning(&dir).is_empty(),
        "a qemu process outlived the run"
    );
    assert!(
        network::links_of_run(run_id).is_empty(),
        "a link outlived the run"
    );
}

/// The per-commit QEMU smoke: the run's DNS server and one node as VMs under TCG. sshd takes
/// the run key, the seed's identity is in place, the node resolves names through the DNS VM
/// across the run's network, and QMP pause, partition and power cut act on the node (each
/// observed from outside, each healed); teardown leaves nothing. Two VMs boot in parallel on
/// two cores, so a slower machine stretches the test but does not make it wait on six boots.
#[tokio::test]
async fn a_node_and_the_dns_vm_boot_under_tcg_and_answer_on_the_run_network() {
    let dir = artifacts("smoke");
    let run_id = format!("test-smoke-{:06x}", rand::random::<u32>() & 0xffffff);
    let provider = QemuProvider::new(&run_id, config(&dir, AccelRequest::Tcg));
    let key = RunKey::generate("acura-ha-test").unwrap();
    let mut spec = TopologySpec::standard(1);
    spec.hosts
        .retain(|h| matches!(h.role, Role::Node | Role::Dns));
    let body = async {
        let topology = provider.provision(&spec, &key).await?;
        let node = topology.host(&HostName::node(1)).unwrap().clone();
        let dns = topology.host(&HostName::dns()).unwrap().clone();
        let record = provider.record().unwrap();
        assert_eq!(record.accel.accel, accel::Accel::Tcg);
        for boot in &record.boots {
            eprintln!("{}: {}", boot.host, boot.progress);
            assert!(
                boot.progress.at(boot_progress::Milestone::Kernel).is_some(),
                "{}: the console watch saw no kernel: {}",
                boot.host,
                boot.progress
            );
        }

        let remote = Remote::new(key.clone(), "root");
        let out = remote
            .exec(&node, "hostname; cat /etc/resolv.conf; ip -4 -o addr show eth0; ls /etc/ssh/ssh_host_ed25519_key", Duration::from_secs(30))
            .await?;
        assert!(out.success(), "{out:?}");
        assert!(out.stdout.starts_with("node-1\n"), "{}", out.stdout);
        assert!(out
            .stdout
            .contains(&format!("nameserver {}", topology.network.dns)));
        assert!(out.stdout.contains(&format!("{}/24", node.address)));
        let resolves = format!("nslookup -timeout=2 -retry=1 node-1.{ZONE} {}", dns.address);
        let lookup = remote
            .exec(
                &node,
                &format!("nslookup node-1 && {resolves}"),
                Duration::from_secs(30),
            )
            .await?;
        assert!(lookup.success(), "{lookup:?}");
        assert!(
            lookup.stdout.contains(&node.address.to_string()),
            "{}",
            lookup.stdout
        );

        provider.pause(&node.name).await?;
        let paused = remote.exec(&node, "true", Duration::from_secs(3)).await;
        assert!(paused.is_err(), "a paused VM answered");
        provider.resume(&node.name).await?;
        remote.disconnect(&node.name);
        remote.wait_ready(&node, Duration::from_secs(60)).await?;

        // A partition takes the node off the run's network: nothing there reaches it, and it
        // reaches nothing there; the DNS VM is untouched.
        provider.partition(&node.name).await?;
        match record.network {
            NetMode::Bridge => {
                remote.disconnect(&node.name);
                let cut = remote.exec(&node, "true", Duration::from_secs(5)).await;
                assert!(cut.is_err(), "a partitioned VM answered on the run network");
            }
            NetMode::User => {
                let cut = remote
                    .exec(&node, &resolves, Duration::from_secs(30))
                    .await?;
                assert!(
                    !cut.success(),
                    "a partitioned VM reached the DNS VM: {cut:?}"
                );
            }
        }
        let dns_up = remote.exec(&dns, "true", Duration::from_secs(30)).await?;
        assert!(dns_up.success(), "{dns_up:?}");
        provider.heal(&node.name).await?;
        remote.disconnect(&node.name);
        remote.wait_ready(&node, Duration::from_secs(60)).await?;
        let healed = remote
            .exec(&node, &resolves, Duration::from_secs(30))
            .await?;
        assert!(
            healed.success(),
            "the healed node resolves no name: {healed:?}"
        );

        provider.power_off(&node.name).await?;
        let paths = VmPaths::new(&run_dir::run_dir(&run_id)?, "node-1");
        assert!(vm::read_pid(&paths.pidfile)
            .map(|p| !vm::is_ours(p, &paths.dir))
            .unwrap_or(true));
        let console = std::fs::read_to_string(dir.join("node-1.serial.log")).unwrap_or_default();
        assert!(
            console.contains("Linux version"),
            "the serial console reached the artifacts"
        );
        Ok::<_, Error>(())
    };
    torn_down(&provider, &run_id, body).await;
}

/// The whole topology under TCG; a node powered off and replaced comes back with the same
/// address and a fresh host key.
#[tokio::test]
#[ignore = "boots six VMs (many minutes under TCG)"]
async fn the_topology_boots_and_a_killed_node_is_replaced() {
    let dir = artifacts("topology");
    let run_id = format!("test-topo-{:06x}", rand::random::<u32>() & 0xffffff);
    let provider = QemuProvider::new(&run_id, config(&dir, AccelRequest::Auto));
    let key = RunKey::generate("acura-ha-test").unwrap();
    let spec = TopologySpec::standard(3);
    let body = async {
        let topology = provider.provision(&spec, &key).await?;
        let remote = Remote::new(key.clone(), "root");
        let deployer = topology.deployer().unwrap().clone();
        // The deploy host reaches every node's sshd over the run's network (C4's check).
        let nodes: Vec<String> = topology.nodes().map(|n| n.address.to_string()).collect();
        let c4 = format!("for i in {}; do nc -vz -w 2 $i 22; done", nodes.join(" "));
        let out = remote.exec(&deployer, &c4, Duration::from_secs(30)).await?;
        assert!(out.success(), "{out:?}");
        let out = remote
            .exec(
                &deployer,
                "nslookup node-2 && nslookup probe.acura.test",
                Duration::from_secs(30),
            )
            .await?;
        assert!(out.success(), "{out:?}");

        let node2 = topology.host(&HostName::node(2)).unwrap().clone();
        provider.power_off(&node2.name).await?;
        remote.disconnect(&node2.name);
        assert!(remote
            .exec(&node2, "true", Duration::from_secs(5))
            .await
            .is_err());
        let fresh = provider
            .replace(spec.get(&node2.name).unwrap(), &key)
            .await?;
        assert_eq!(fresh.address, node2.address);
        remote.replaced(&fresh.name);
        let out = remote
            .exec(&fresh, "hostname", Duration::from_secs(30))
            .await?;
        assert_eq!(out.stdout.trim(), "node-2");
        eprintln!("{:#?}", provider.record());
        Ok::<_, Error>(())
    };
    torn_down(&provider, &run_id, body).await;
}

/// Prints per-VM and whole-topology boot times under TCG, and KVM where it works.
#[tokio::test]
#[ignore = "boots the topology once per accelerator"]
async fn bench_boot_times() {
    let dir = artifacts("bench");
    let report = bench_boot(
        &config(&dir, AccelRequest::Auto),
        &TopologySpec::standard(3),
    )
    .await
    .unwrap();
    println!("{report}");
    assert!(report.runs.iter().all(|r| r.error.is_none()), "{report}");
}
