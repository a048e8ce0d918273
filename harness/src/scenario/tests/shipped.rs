//! The scenario files shipped in `scenarios/` all load, validate and say what they are for.

use std::path::{Path, PathBuf};

use crate::scenario::{discover, load, Fault, Flavor, Step};
use crate::topology::{HostName, Resolver};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn node(name: &str) -> HostName {
    HostName::from(name)
}

#[test]
fn every_shipped_scenario_loads_and_has_a_description() {
    let summaries = discover(&scenarios_dir());
    assert!(summaries.len() >= 8, "{summaries:#?}");
    for summary in &summaries {
        assert_eq!(summary.error, None, "{}", summary.file.display());
        let description = summary.description.as_deref().unwrap_or_default();
        assert!(
            !description.trim().is_empty(),
            "{} has no description",
            summary.file.display()
        );
    }
}

#[test]
fn the_archive_is_resolved_next_to_the_scenario_file() {
    let dir = scenarios_dir();
    for file in ["lifecycle.yaml", "negative/second-node-loss.yaml"] {
        let loaded = load(&dir.join(file)).unwrap();
        let archive = &loaded.scenario.product.archive;
        assert!(
            archive.ends_with("fixtures/acura-sim/dist/hystax-ha-archive.tar.gz"),
            "{}",
            archive.display()
        );
        // The directory above `dist/` is in the repository even before the archive is built.
        let sim = archive.parent().and_then(Path::parent).unwrap();
        assert!(
            sim.join("build-archive.sh").is_file(),
            "{} does not lead to the stand-in",
            archive.display()
        );
    }
}

#[test]
fn lifecycle_runs_the_whole_procedure_in_order() {
    let loaded = load(&scenarios_dir().join("lifecycle.yaml")).unwrap();
    let keywords: Vec<&str> = loaded.scenario.steps.iter().map(Step::keyword).collect();
    assert_eq!(
        keywords,
        [
            "preflight",
            "configure-lb",
            "prepare-deployer",
            "install-masters",
            "install-acura",
            "checkpoint",
            "update",
            "checkpoint",
            "write-markers",
            "fault",
            "expect",
            "remove-dead-node",
            "expect",
            "replace-node",
            "join-node-refused",
            "join-node",
            "expect",
            "verify-markers",
            "checkpoint",
        ]
    );
    let steps = &loaded.scenario.steps;
    assert!(
        matches!(&steps[6], Step::Update(u) if u.add_overlays == ["overlay/big-heat-stack-timeout.yaml"])
    );
    assert_eq!(steps[9], Step::Fault(Fault::PowerOff(node("node-2"))));
    assert!(matches!(&steps[10], Step::Expect(e)
        if e.nodes_not_ready == Some(vec![node("node-2")]) && e.available_through_lb == Some(true)));
    assert!(matches!(&steps[12], Step::Expect(e) if e.etcd_members == Some(2)));
    assert!(matches!(&steps[14], Step::JoinNodeRefused(r)
        if r.node == node("node-2") && r.token == crate::scenario::BadToken::Expired));
    assert!(matches!(&steps[16], Step::Expect(e)
        if e.nodes_ready == Some(vec![node("node-1"), node("node-2"), node("node-3")]) && e.etcd_members == Some(3)));
    assert_eq!(loaded.step_lines.len(), steps.len());
    let lines = loaded.source.lines().collect::<Vec<_>>();
    for (step, line) in steps.iter().zip(&loaded.step_lines) {
        assert!(
            lines[line - 1].contains(step.keyword()),
            "line {line} is not `{}`",
            step.keyword()
        );
    }
}

#[test]
fn the_flavors_and_injected_faults_are_what_the_files_say() {
    let dir = scenarios_dir();
    let migration = load(&dir.join("migration.yaml")).unwrap().scenario;
    assert_eq!(migration.product.flavor, Flavor::Migration);
    assert_eq!(
        migration.steps.last(),
        Some(&Step::Checkpoint("installed".into()))
    );

    let fqdn = load(&dir.join("negative/preflight-fqdn.yaml"))
        .unwrap()
        .scenario;
    let node2 = &fqdn.topology.hosts[&node("node-2")];
    assert_eq!(node2.hostname.as_deref(), Some("node-2.acura.test"));

    let dns = load(&dir.join("negative/preflight-dns-broken.yaml"))
        .unwrap()
        .scenario;
    assert_eq!(
        dns.topology.hosts[&node("node-3")].resolver,
        Some(Resolver::Unreachable)
    );

    let second = load(&dir.join("negative/second-node-loss.yaml"))
        .unwrap()
        .scenario;
    let faults: Vec<&Step> = second
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Fault(_)))
        .collect();
    assert_eq!(
        faults,
        [
            &Step::Fault(Fault::PowerOff(node("node-2"))),
            &Step::Fault(Fault::PowerOff(node("node-3")))
        ]
    );
    assert!(
        matches!(second.steps.last(), Some(Step::Expect(e)) if e.available_through_lb == Some(true))
    );
}
