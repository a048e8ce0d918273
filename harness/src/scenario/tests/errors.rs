//! Mistakes in the YAML or against the typed model: each gives one message with a position.

use insta::assert_snapshot;

use super::{diagnostic, diagnostics, rendered, with_steps, HEADER};

#[test]
fn unknown_step_keyword_suggests_the_close_one() {
    let text = with_steps("  - preflight\n  - chekpoint: installed\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (6, 5));
    assert_eq!(d.field.as_deref(), Some("steps[1]"));
    assert_eq!(d.message, "unknown step `chekpoint`");
    assert_eq!(d.suggestion.as_deref(), Some("checkpoint"));
    assert_snapshot!("unknown_step_keyword", rendered(&text));
}

#[test]
fn unknown_bare_step_suggests_the_close_one() {
    let text = with_steps("  - preflite\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (5, 5));
    assert_eq!(d.suggestion.as_deref(), Some("preflight"));
    assert_snapshot!("unknown_bare_step", rendered(&text));
}

#[test]
fn unknown_step_far_from_any_lists_them_all() {
    let text = with_steps("  - reboot: node-1\n");
    let d = diagnostic(&text);
    assert_eq!(d.suggestion, None);
    assert!(d.note.as_deref().unwrap().contains("`remove-dead-node`"));
    assert_snapshot!("unknown_step_without_suggestion", rendered(&text));
}

#[test]
fn unknown_top_level_key() {
    let text = format!("descripton: a typo\n{HEADER}  - preflight\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (1, 1));
    assert_eq!(d.field.as_deref(), Some("descripton"));
    assert_eq!(d.suggestion.as_deref(), Some("description"));
    assert_snapshot!("unknown_top_level_key", rendered(&text));
}

#[test]
fn unknown_key_inside_a_step() {
    let text = with_steps("  - expect:\n      nodes_ready: [node-1]\n      etcd_member: 2\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (7, 7));
    assert_eq!(d.field.as_deref(), Some("steps[0].expect.etcd_member"));
    assert_eq!(d.suggestion.as_deref(), Some("etcd_members"));
    assert_snapshot!("unknown_key_in_step", rendered(&text));
}

#[test]
fn unknown_key_far_from_any_lists_the_keys() {
    let text = format!("{HEADER}  - preflight\ntopology:\n  replicas: 5\n");
    let d = diagnostic(&text);
    assert_eq!(d.field.as_deref(), Some("topology.replicas"));
    assert_eq!(d.suggestion, None);
    assert_snapshot!("unknown_key_without_suggestion", rendered(&text));
}

#[test]
fn unknown_fault_kind() {
    let text = with_steps("  - fault: { power-off: node-2 }\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (5, 14));
    assert_eq!(d.field.as_deref(), Some("steps[0].fault"));
    assert_eq!(d.message, "unknown fault `power-off`");
    assert_eq!(d.suggestion.as_deref(), Some("power_off"));
    assert_snapshot!("unknown_fault", rendered(&text));
}

#[test]
fn unknown_enum_value() {
    let text = format!("provider: dockr\n{HEADER}  - preflight\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (1, 11));
    assert_eq!(d.field.as_deref(), Some("provider"));
    assert_eq!(d.message, "unknown provider `dockr`");
    assert_eq!(d.suggestion.as_deref(), Some("docker"));
    assert_snapshot!("unknown_enum_value", rendered(&text));
}

#[test]
fn wrong_type_number() {
    let text = format!("topology:\n  nodes: three\n{HEADER}  - preflight\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (2, 10));
    assert_eq!(d.field.as_deref(), Some("topology.nodes"));
    assert_snapshot!("wrong_type_number", rendered(&text));
}

#[test]
fn wrong_type_boolean_is_strict() {
    let text = with_steps("  - expect:\n      available_through_lb: yes\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (6, 29));
    assert_eq!(d.message, "expected `true` or `false`, found `yes`");
    assert_snapshot!("wrong_type_boolean", rendered(&text));
}

#[test]
fn wrong_type_list() {
    let text = with_steps("  - expect:\n      nodes_ready: node-1\n");
    let d = diagnostic(&text);
    assert_eq!(d.line, 6);
    assert_eq!(d.field.as_deref(), Some("steps[0].expect.nodes_ready"));
    assert_snapshot!("wrong_type_list", rendered(&text));
}

#[test]
fn wrong_type_address() {
    let text = format!(
        "provider: static\ninventory:\n  ha_env_file: ha_env_file\n  lb: 10.0.0.300\n  deployer: 10.0.0.5\n  ssh_key: id_ed25519\n{HEADER}  - preflight\n"
    );
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (4, 7));
    assert_eq!(d.field.as_deref(), Some("inventory.lb"));
    assert_snapshot!("wrong_type_address", rendered(&text));
}

#[test]
fn missing_required_key() {
    let text = "name: example\nsteps:\n  - preflight\n";
    let d = diagnostic(text);
    assert_eq!(d.message, "missing required key `product`");
    assert_eq!(d.field, None);
    assert_snapshot!("missing_required_key", rendered(text));
}

#[test]
fn missing_required_nested_key() {
    let text = "name: example\nproduct:\n  flavor: dr\nsteps:\n  - preflight\n";
    let d = diagnostic(text);
    // At the key of the mapping that lacks it, not where the parser noticed.
    assert_eq!((d.line, d.column), (2, 1));
    assert_eq!(d.field.as_deref(), Some("product"));
    assert_eq!(d.message, "missing required key `archive`");
    assert_snapshot!("missing_required_nested_key", rendered(text));
}

#[test]
fn missing_value() {
    let text = format!("{HEADER}  - preflight\n").replace("name: example", "name:");
    let d = diagnostic(&text);
    assert_eq!(d.line, 1);
    assert_eq!(d.field.as_deref(), Some("name"));
    assert_snapshot!("missing_value", rendered(&text));
}

#[test]
fn duplicate_key() {
    let text = format!("{HEADER}  - preflight\nname: again\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (6, 1));
    assert_eq!(d.field.as_deref(), Some("name"));
    assert_eq!(d.message, "duplicate key `name`");
    assert_snapshot!("duplicate_key", rendered(&text));
}

#[test]
fn duplicate_key_inside_a_step() {
    let text = with_steps("  - expect:\n      etcd_members: 2\n      etcd_members: 3\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (7, 7));
    assert_eq!(d.field.as_deref(), Some("steps[0].expect.etcd_members"));
    assert_snapshot!("duplicate_key_in_step", rendered(&text));
}

#[test]
fn key_indented_too_far() {
    let text = "name: example\n  product:\n    archive: a.tar.gz\nsteps: []\n";
    let d = diagnostic(text);
    assert_eq!(d.line, 2);
    assert!(d.note.as_deref().unwrap().contains("indentation"));
    assert_snapshot!("key_indented_too_far", rendered(text));
}

#[test]
fn list_item_indented_too_far() {
    let text = with_steps("  - preflight\n   - configure-lb\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (5, 5));
    assert!(d.note.as_deref().unwrap().contains("indented too far"));
    assert_snapshot!("list_item_indented_too_far", rendered(&text));
}

#[test]
fn tab_indentation() {
    let text = with_steps("\t- preflight\n");
    let d = diagnostic(&text);
    assert_eq!(d.line, 5);
    assert!(d.note.as_deref().unwrap().contains("spaces"));
    assert_snapshot!("tab_indentation", rendered(&text));
}

#[test]
fn bare_keyword_does_not_swallow_the_next_step() {
    // Without the check, this would load as `checkpoint: preflight`.
    let text = with_steps("  - checkpoint\n  - preflight\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (5, 5));
    assert_eq!(d.field.as_deref(), Some("steps[0]"));
    assert_eq!(d.message, "step `checkpoint` needs a value");
    assert_snapshot!("bare_keyword_needs_value", rendered(&text));
}

#[test]
fn bare_keyword_at_the_end() {
    let text = with_steps("  - preflight\n  - join-node\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (6, 5));
    assert_eq!(d.message, "step `join-node` needs a value");
}

#[test]
fn unit_step_with_a_value() {
    let text = with_steps("  - preflight: now\n");
    let d = diagnostic(&text);
    assert_eq!(d.line, 5);
    assert_eq!(d.message, "`preflight` takes no value");
    assert_snapshot!("unit_step_with_value", rendered(&text));
}

#[test]
fn two_keywords_in_one_step() {
    let text = with_steps("  - checkpoint: installed\n    write-markers: true\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (6, 5));
    assert_snapshot!("two_keywords_in_one_step", rendered(&text));
}

#[test]
fn empty_file() {
    let d = diagnostic("\n# nothing yet\n");
    assert_eq!(d.message, "the file is empty");
    assert_eq!((d.line, d.column), (1, 1));
    assert_snapshot!("empty_file", rendered("\n# nothing yet\n"));
}

#[test]
fn second_document() {
    let text = format!("{HEADER}  - preflight\n---\nname: other\n");
    let d = diagnostic(&text);
    assert_eq!(d.line, 7);
    assert_snapshot!("second_document", rendered(&text));
}

#[test]
fn unclosed_quote() {
    let text = "name: \"example\nproduct: { archive: a }\nsteps: [preflight]\n";
    let d = diagnostic(text);
    assert_eq!(d.line, 1);
    assert_snapshot!("unclosed_quote", rendered(text));
}

#[test]
fn unclosed_flow_list() {
    let text = with_steps("  - expect: { nodes_ready: [node-1, node-2 }\n");
    assert_eq!(diagnostics(&text).len(), 1);
    assert_snapshot!("unclosed_flow_list", rendered(&text));
}

#[test]
fn unknown_anchor() {
    let text = with_steps("  - *installed\n");
    let d = diagnostic(&text);
    assert_eq!((d.line, d.column), (5, 5));
    assert_snapshot!("unknown_anchor", rendered(&text));
}

#[test]
fn control_characters_stay_out_of_the_first_line() {
    let text = with_steps("  - \"pre\\nflight\"\n");
    let out = rendered(&text);
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        "error: example.yaml:5:5: unknown step `pre\\nflight`"
    );
}
