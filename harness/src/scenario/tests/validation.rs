//! Well-formed YAML that the procedure cannot run: each problem is reported at its value.

use insta::assert_snapshot;

use super::{diagnostic, diagnostics, loaded, rendered, with_steps, HEADER};

const INSTALL: &str = "  - preflight\n  - configure-lb\n  - prepare-deployer\n  - install-masters\n  - install-acura\n";

#[test]
fn unknown_node_in_a_step() {
    let text = with_steps(&format!("{INSTALL}  - remove-dead-node: node-4\n"));
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (10, 23));
    assert_eq!(d.field.as_deref(), Some("steps[5].remove-dead-node"));
    assert_eq!(d.message, "unknown node `node-4`");
    // The nearest name would be node-3, which is not what the author meant.
    assert_eq!(d.suggestion, None);
    assert_snapshot!("unknown_node", rendered(&text));
}

#[test]
fn misspelt_node_suggests_the_close_one() {
    let text = with_steps("  - fault: { power_off: node2 }\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (5, 25));
    assert_eq!(d.field.as_deref(), Some("steps[0].fault.power_off"));
    assert_eq!(d.suggestion.as_deref(), Some("node-2"));
    assert_snapshot!("misspelt_fault_host", rendered(&text));
}

#[test]
fn unknown_node_in_an_expectation() {
    let text = with_steps("  - expect:\n      nodes_ready: [node-1, node-2, lb]\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (6, 37));
    assert_eq!(d.field.as_deref(), Some("steps[0].expect.nodes_ready[2]"));
    assert_snapshot!("unknown_node_in_expect", rendered(&text));
}

#[test]
fn a_fault_may_hit_the_load_balancer() {
    let text =
        with_steps("  - fault: { power_off: lb }\n  - expect: { available_through_lb: false }\n");
    loaded(&text);
}

#[test]
fn node_count_follows_the_topology() {
    let text = format!("topology: {{ nodes: 5 }}\n{HEADER}  - fault: {{ power_off: node-5 }}\n");
    loaded(&text);
}

#[test]
fn fewer_than_three_nodes() {
    let text = format!("topology:\n  nodes: 2\n{HEADER}  - preflight\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (2, 10));
    assert_eq!(d.field.as_deref(), Some("topology.nodes"));
    assert_snapshot!("fewer_than_three_nodes", rendered(&text));
}

#[test]
fn node_counts_are_odd_and_at_most_seven() {
    for nodes in [4, 6, 9] {
        let text = format!("topology:\n  nodes: {nodes}\n{HEADER}  - preflight\n");
        let d = diagnostic(&text);
        assert_eq!(d.field.as_deref(), Some("topology.nodes"));
        assert_eq!(
            d.message,
            format!("the node count must be odd, from 3 to 7; found {nodes}")
        );
    }
    for nodes in [3, 5, 7] {
        loaded(&format!(
            "topology:\n  nodes: {nodes}\n{HEADER}  - preflight\n"
        ));
    }
}

#[test]
fn checkpoint_name_with_bad_characters() {
    let text = with_steps("  - checkpoint: After_Install\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (5, 17));
    assert_snapshot!("checkpoint_name_characters", rendered(&text));
}

#[test]
fn checkpoint_used_twice() {
    let text = with_steps("  - checkpoint: installed\n  - preflight\n  - checkpoint: installed\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (7, 17));
    assert!(d.note.as_deref().unwrap().contains("line 5"));
    assert_snapshot!("checkpoint_used_twice", rendered(&text));
}

#[test]
fn join_without_removal() {
    let text = with_steps(&format!("{INSTALL}  - join-node: node-2\n"));
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (10, 16));
    assert_eq!(d.field.as_deref(), Some("steps[5].join-node"));
    assert_snapshot!("join_without_removal", rendered(&text));
}

#[test]
fn join_after_removal_or_replacement() {
    let removed = with_steps(&format!(
        "{INSTALL}  - remove-dead-node: node-2\n  - join-node: node-2\n"
    ));
    loaded(&removed);
    let replaced = with_steps(&format!(
        "{INSTALL}  - replace-node: node-3\n  - join-node: node-3\n"
    ));
    loaded(&replaced);
}

#[test]
fn join_needs_a_removal_of_the_same_node_each_time() {
    let other = with_steps("  - remove-dead-node: node-1\n  - join-node: node-2\n");
    assert_eq!(diagnostic(&other).line, 6);
    let twice =
        with_steps("  - remove-dead-node: node-2\n  - join-node: node-2\n  - join-node: node-2\n");
    assert_eq!(diagnostic(&twice).line, 7);
}

#[test]
fn host_override_for_a_host_that_does_not_exist() {
    let text = format!("topology:\n  hosts:\n    node-9:\n      hostname: node-9.acura.test\n    lb: {{ hostname: balancer }}\n{HEADER}  - preflight\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (3, 5));
    assert_eq!(d.field.as_deref(), Some("topology.hosts.node-9"));
    assert_snapshot!("unknown_host_override", rendered(&text));
}

#[test]
fn static_provider_without_inventory() {
    let text = format!("provider: static\n{HEADER}  - preflight\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (1, 11));
    assert_snapshot!("static_without_inventory", rendered(&text));
}

#[test]
fn static_provider_with_inventory() {
    let text = format!(
        "provider: static\ninventory:\n  ha_env_file: ha_env_file\n  lb: 10.0.0.10\n  deployer: 10.0.0.5\n  ssh_key: id_ed25519\n{HEADER}  - preflight\n"
    );
    loaded(&text);
}

#[test]
fn no_steps() {
    let text = HEADER.replace("steps:\n", "steps: []\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (4, 1));
    assert_snapshot!("no_steps", rendered(&text));
}

#[test]
fn empty_expectation_and_update() {
    let text = with_steps("  - expect: {}\n  - update: { add_overlays: [] }\n");
    let all = diagnostics(&text);
    assert_eq!(all.iter().map(|d| d.line).collect::<Vec<_>>(), [5, 6]);
    assert_snapshot!("empty_expectation_and_update", rendered(&text));
}

#[test]
fn node_both_ready_and_not_ready() {
    let text = with_steps(
        "  - expect:\n      nodes_ready: [node-1, node-2]\n      nodes_not_ready: [node-2]\n",
    );
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (7, 25));
}

#[test]
fn load_balancer_steps_without_a_load_balancer() {
    let text = format!("topology: {{ lb: false }}\n{HEADER}  - configure-lb\n  - expect: {{ available_through_lb: true }}\n");
    let lines: Vec<usize> = diagnostics(&text).iter().map(|d| d.line).collect();
    assert_eq!(lines, [6, 7]);
}

#[test]
fn scenario_name_with_bad_characters() {
    let text = format!("{HEADER}  - preflight\n").replace("name: example", "name: My Scenario");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (1, 7));
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = format!(
        "topology:\n  nodes: 2\n{HEADER}  - checkpoint: a\n  - join-node: node-7\n  - checkpoint: a\n"
    );
    let all = diagnostics(&text);
    let positions: Vec<(usize, usize)> = all.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(positions, [(2, 10), (8, 16), (9, 17)]);
    let out = rendered(&text);
    assert!(out.starts_with("error: example.yaml:2:10: "), "{out}");
    assert_snapshot!("several_problems", out);
}

#[test]
fn step_lines_point_at_each_step() {
    let text = format!(
        "{HEADER}  - preflight\n\n  # a comment\n  - checkpoint: a\n  - expect:\n      etcd_members: 3\n  - {{ fault: {{ pause: node-1 }} }}\n"
    );
    assert_eq!(loaded(&text).step_lines, [5, 8, 9, 11]);
}

#[test]
fn a_failing_checkpoint_compares_with_an_earlier_checkpoint() {
    let text = with_steps(&format!(
        "{INSTALL}  - checkpoint: installed\n  - misconfigure: {{ dns_down: node-3 }}\n  - checkpoint-failing: {{ name: dns-down, baseline: instaled, failing: [dns] }}\n  - repair\n"
    ));
    let d = diagnostic(&text);
    assert_eq!(
        d.field.as_deref(),
        Some("steps[7].checkpoint-failing.baseline")
    );
    assert_eq!(
        d.message,
        "baseline `instaled` is not an earlier checkpoint"
    );
    assert_eq!(d.suggestion.as_deref(), Some("installed"));
}

#[test]
fn a_failing_checkpoint_names_at_least_one_check_and_its_name_is_unique() {
    let text = with_steps(&format!(
        "{INSTALL}  - checkpoint: installed\n  - misconfigure: lb_without_udp\n  - checkpoint-failing: {{ name: installed, baseline: installed, failing: [] }}\n"
    ));
    let messages: Vec<String> = diagnostics(&text).into_iter().map(|d| d.message).collect();
    assert_eq!(
        messages,
        [
            "checkpoint `installed` is used twice",
            "`failing` names no check"
        ]
    );
}

#[test]
fn misconfigurations_name_hosts_of_the_topology_and_repair_needs_one() {
    let text = with_steps(
        "  - misconfigure: { block_port: { host: node-7, port: 30082 } }\n  - repair\n  - repair\n",
    );
    let found = diagnostics(&text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        found[0].field.as_deref(),
        Some("steps[0].misconfigure.block_port.host")
    );
    assert_eq!(
        found[1].message,
        "`repair` without an earlier `misconfigure`"
    );
    assert_eq!(found[1].line, 7);
}

#[test]
fn the_etcd_leader_moves_only_to_a_node() {
    let text = with_steps("  - move-etcd-leader: lb\n");
    let d = diagnostic(&text);
    assert_eq!(d.field.as_deref(), Some("steps[0].move-etcd-leader"));
}

#[test]
fn a_pod_moves_by_namespace_and_name_off_a_node() {
    let text = with_steps("  - move-pod: { pod: elk-0, off: node-2 }\n");
    let d = diagnostic(&text);
    assert_eq!(d.field.as_deref(), Some("steps[0].move-pod.pod"));
    assert_eq!(d.message, "`elk-0` is not `namespace/name`");
    let text = with_steps("  - move-pod: { pod: default/elk-0, off: lb }\n");
    let d = diagnostic(&text);
    assert_eq!(d.field.as_deref(), Some("steps[0].move-pod.off"));
}

#[test]
fn a_pod_never_ready_names_a_kubernetes_deployment() {
    let text =
        with_steps("  - misconfigure: { pod_never_ready: { deployment: Rest_API } }\n  - repair\n");
    let d = diagnostic(&text);
    assert_eq!(
        d.field.as_deref(),
        Some("steps[0].misconfigure.pod_never_ready.deployment")
    );
    assert_eq!(d.message, "`Rest_API` is not a Kubernetes name");
    assert_eq!(d.line, 5);
    let fine = with_steps(
        "  - misconfigure: { pod_never_ready: { deployment: restapi, namespace: acura } }\n  - repair\n",
    );
    assert!(super::load_str(super::FILE, &fine).is_ok());
}

/// A provider's capabilities, not its name, decide what a scenario may ask of it: existing
/// hosts take no fault and no replacement, each refused at its own line.
#[test]
fn steps_the_provider_cannot_do_are_refused_at_their_lines() {
    let text = "name: example\nprovider: static\ninventory:\n  ha_env_file: ha_env_file\n  lb: 10.0.0.5\n  deployer: 10.0.0.4\n  ssh_key: id\nproduct:\n  archive: hystax-ha-archive.tar.gz\nsteps:\n  - preflight\n  - fault: { pause: node-2 }\n  - replace-node: node-2\n";
    let found = diagnostics(text);
    let summary: Vec<(usize, Option<&str>, &str)> = found
        .iter()
        .map(|d| (d.line, d.field.as_deref(), d.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                12,
                Some("steps[1].fault"),
                "provider `static`: this provider cannot pause hosts"
            ),
            (
                13,
                Some("steps[2].replace-node"),
                "provider `static`: this provider cannot replace a host with a fresh one"
            ),
        ]
    );
    // The same steps on a provider that makes its hosts are fine.
    loaded(&text.replace("provider: static", "provider: docker"));
}
