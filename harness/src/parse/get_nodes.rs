//! C22 `kubectl get nodes`: one row per node, the dead one `NotReady`. Extra columns
//! (`-o wide`) are ignored.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Deserialize;

use super::error::ParseError;
use super::table::Table;

const COMMAND: &str = "kubectl get nodes";
/// The command whose output [`parse_json`] reads.
pub const JSON: &str = "kubectl get nodes -o json";
const ROLE_LABEL: &str = "node-role.kubernetes.io/";
const COLUMNS: [&str; 5] = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRow {
    pub name: String,
    /// `Ready`, `NotReady`, `Unknown`, possibly followed by `,SchedulingDisabled`.
    pub status: String,
    /// Empty for kubectl's `<none>`.
    pub roles: Vec<String>,
    /// kubectl's short age (`28m`, `3d2h`); golden snapshots drop it.
    pub age: String,
    pub version: String,
}

impl NodeRow {
    /// The node's Ready condition as kubectl shows it (a cordoned node is still Ready).
    pub fn is_ready(&self) -> bool {
        self.status.split(',').next() == Some("Ready")
    }
}

pub fn parse(output: &str) -> Result<Vec<NodeRow>, ParseError> {
    let table = Table::parse(COMMAND, output, &COLUMNS)?;
    let [name, status, roles, age, version] = COLUMNS.map(|c| table.column(c));
    table
        .rows
        .iter()
        .map(|row| {
            let cell = |i: Option<usize>| row.cells[i.unwrap_or_default()].to_owned();
            let roles = cell(roles);
            Ok(NodeRow {
                name: cell(name),
                status: cell(status),
                roles: if roles == "<none>" {
                    Vec::new()
                } else {
                    roles.split(',').map(str::to_owned).collect()
                },
                age: cell(age),
                version: cell(version),
            })
        })
        .collect()
}

/// What `kubectl delete node NAME` (C23) prints: the name of the node deleted.
pub fn parse_delete(output: &str) -> Result<String, ParseError> {
    const DELETE: &str = "kubectl delete node";
    const EXPECTED: &str = "node \"<name>\" deleted";
    let mut last = None;
    for (number, line) in super::error::numbered_lines(output) {
        if let Some(name) = line
            .trim()
            .strip_prefix("node \"")
            .and_then(|rest| rest.strip_suffix("\" deleted"))
        {
            if !name.is_empty() && !name.contains('"') {
                return Ok(name.to_owned());
            }
        }
        last = Some((number, line));
    }
    Err(match last {
        Some((number, line)) => ParseError::at(DELETE, EXPECTED, number, line),
        None => ParseError::end(DELETE, EXPECTED),
    })
}

/// A node of `kubectl get nodes -o json`, as far as the nodes check reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeNode {
    pub name: String,
    pub ready: bool,
    pub unschedulable: bool,
    pub roles: Vec<String>,
    pub internal_ip: Option<Ipv4Addr>,
    pub kubelet_version: Option<String>,
}

/// The node list as JSON: readiness from the `Ready` condition, roles from the labels.
pub fn parse_json(output: &str) -> Result<Vec<KubeNode>, String> {
    #[derive(Deserialize)]
    struct List {
        items: Vec<Node>,
    }
    #[derive(Deserialize)]
    struct Node {
        metadata: Metadata,
        #[serde(default)]
        spec: Spec,
        #[serde(default)]
        status: Status,
    }
    #[derive(Deserialize)]
    struct Metadata {
        name: String,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }
    #[derive(Default, Deserialize)]
    struct Spec {
        #[serde(default)]
        unschedulable: bool,
    }
    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(default)]
        conditions: Vec<Condition>,
        #[serde(default)]
        addresses: Vec<Address>,
        #[serde(default)]
        node_info: Option<NodeInfo>,
    }
    #[derive(Deserialize)]
    struct Condition {
        #[serde(rename = "type")]
        kind: String,
        status: String,
    }
    #[derive(Deserialize)]
    struct Address {
        #[serde(rename = "type")]
        kind: String,
        address: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct NodeInfo {
        #[serde(default)]
        kubelet_version: Option<String>,
    }
    let list: List =
        serde_json::from_str(output).map_err(|e| format!("{JSON}: not a node list: {e}"))?;
    Ok(list
        .items
        .into_iter()
        .map(|n| KubeNode {
            ready: n
                .status
                .conditions
                .iter()
                .any(|c| c.kind == "Ready" && c.status == "True"),
            unschedulable: n.spec.unschedulable,
            roles: n
                .metadata
                .labels
                .keys()
                .filter_map(|k| k.strip_prefix(ROLE_LABEL))
                .map(str::to_owned)
                .collect(),
            internal_ip: n
                .status
                .addresses
                .iter()
                .find(|a| a.kind == "InternalIP")
                .and_then(|a| a.address.parse().ok()),
            kubelet_version: n.status.node_info.and_then(|i| i.kubelet_version),
            name: n.metadata.name,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table::render;
    use proptest::prelude::*;

    #[test]
    fn the_procedures_table() {
        let out = include_str!("../../../fixtures/outputs/kubectl/get-nodes-procedure.txt");
        let nodes = parse(out).unwrap();
        assert_eq!(
            nodes[1],
            NodeRow {
                name: "k8s-master2".into(),
                status: "NotReady".into(),
                roles: vec!["control-plane".into()],
                age: "9h".into(),
                version: "v1.29.3".into(),
            }
        );
        assert!(nodes[0].is_ready());
        assert!(!nodes[1].is_ready());
    }

    #[test]
    fn cordoned_nodes_and_nodes_without_roles() {
        let out = include_str!("../../../fixtures/outputs/kubectl/get-nodes.txt");
        let nodes = parse(out).unwrap();
        assert_eq!(nodes.len(), 4);
        assert!(nodes[2].is_ready());
        assert_eq!(nodes[2].status, "Ready,SchedulingDisabled");
        assert!(nodes[3].roles.is_empty());
        assert_eq!(nodes[3].age, "2m31s");
    }

    #[test]
    fn wide_output_has_the_same_rows() {
        let out = include_str!("../../../fixtures/outputs/kubectl/get-nodes-wide.txt");
        let nodes = parse(out).unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2].name, "node-3");
        assert_eq!(nodes[2].version, "v1.29.3");
    }

    #[test]
    fn nothing_found_and_a_foreign_table() {
        assert_eq!(parse("No resources found\n").unwrap(), vec![]);
        let e = parse("NAME   READY   STATUS\netcd-0   1/1   Running\n").unwrap_err();
        assert!(e.expected.contains("no ROLES"), "{e}");
    }

    #[test]
    fn delete_names_the_node() {
        let out = include_str!("../../../fixtures/outputs/kubectl/delete-node.txt");
        assert_eq!(parse_delete(out).unwrap(), "k8s-master2");
        let e =
            parse_delete("Error from server (NotFound): nodes \"node-9\" not found\n").unwrap_err();
        assert!(e.to_string().contains("NotFound"), "{e}");
    }

    fn node() -> impl Strategy<Value = NodeRow> {
        (
            "[a-z][a-z0-9-]{0,15}",
            prop_oneof![
                Just("Ready"),
                Just("NotReady"),
                Just("Unknown"),
                Just("Ready,SchedulingDisabled")
            ],
            prop::collection::vec("[a-z][a-z-]{0,12}", 0..3),
            "[0-9]{1,3}[smhdy]([0-9]{1,2}[smh])?",
            "v1\\.[0-9]{2}\\.[0-9]{1,2}",
        )
            .prop_map(|(name, status, roles, age, version)| NodeRow {
                name,
                status: status.into(),
                roles,
                age,
                version,
            })
    }

    proptest! {
        #[test]
        fn rendered_tables_parse_back(nodes in prop::collection::vec(node(), 1..6)) {
            let rows: Vec<Vec<String>> = nodes
                .iter()
                .map(|n| {
                    let roles = if n.roles.is_empty() { "<none>".into() } else { n.roles.join(",") };
                    vec![n.name.clone(), n.status.clone(), roles, n.age.clone(), n.version.clone()]
                })
                .collect();
            let text = render(&COLUMNS, &rows);
            prop_assert_eq!(parse(&text).unwrap(), nodes);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
            let _ = parse_delete(&text);
        }

        #[test]
        fn arbitrary_rows_under_the_header_never_panic(rows in prop::collection::vec("[ -~]{0,60}", 0..6)) {
            let _ = parse(&format!("NAME   STATUS   ROLES   AGE   VERSION\n{}", rows.join("\n")));
        }
    }
}
