//! C17 `kubectl get pods -A`, as the table the procedure shows and as `-o json`. Only the JSON
//! carries the pod's `Ready` condition, which is what readiness means here: a pod on a dead node
//! keeps `Running` and `1/1` in the table while the node controller has turned `Ready` false.

use serde::Deserialize;

use super::error::ParseError;
use super::table::Table;

const TABLE: &str = "kubectl get pods -A";
/// The command whose output [`parse_json`] reads: every pod, as JSON.
pub const JSON: &str = "kubectl get pods -A -o json";
const COLUMNS: [&str; 6] = ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    /// The node the pod is bound to; `None` when unscheduled or when the table has no NODE column.
    pub node: Option<String>,
    /// What kubectl shows under STATUS: the phase, or a reason that overrides it
    /// (`CrashLoopBackOff`, `ContainerCreating`, `Terminating`, `Unknown`, …).
    pub status: String,
    /// `status.phase`; only the JSON has it.
    pub phase: Option<String>,
    /// The pod's `Ready` condition is `True`; `None` when the output does not carry conditions.
    pub ready: Option<bool>,
    /// Containers running and ready, out of `containers`.
    pub containers_ready: u32,
    pub containers: u32,
    pub restarts: u32,
    /// `(container, image)` from the pod's spec; only the JSON has them.
    pub images: Vec<(String, String)>,
}

impl PodRow {
    pub fn is_ready(&self) -> bool {
        self.ready == Some(true)
    }
}

pub fn parse_table(output: &str) -> Result<Vec<PodRow>, ParseError> {
    let table = Table::parse(TABLE, output, &COLUMNS)?;
    let [namespace, name, ready, status, restarts, _] = COLUMNS.map(|c| table.column(c));
    let node = table.column("NODE");
    table
        .rows
        .iter()
        .map(|row| {
            let cell = |i: Option<usize>| row.cells[i.unwrap_or_default()];
            let fail = |expected: &str| ParseError::at(TABLE, expected, row.number, row.line);
            let (containers_ready, containers) = cell(ready)
                .split_once('/')
                .and_then(|(r, t)| Some((r.parse().ok()?, t.parse().ok()?)))
                .ok_or_else(|| fail("READY as <ready>/<containers>"))?;
            // Since kubectl 1.22: `3 (2m ago)`.
            let restarts = cell(restarts)
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| fail("RESTARTS as a count"))?;
            Ok(PodRow {
                namespace: cell(namespace).to_owned(),
                name: cell(name).to_owned(),
                node: node
                    .map(|i| row.cells[i])
                    .filter(|n| *n != "<none>")
                    .map(str::to_owned),
                status: cell(status).to_owned(),
                phase: None,
                ready: None,
                containers_ready,
                containers,
                restarts,
                images: Vec::new(),
            })
        })
        .collect()
}

/// `-o json`: a `List` (or `PodList`) of pods, or one `Pod`.
pub fn parse_json(output: &str) -> Result<Vec<PodRow>, ParseError> {
    #[derive(Deserialize)]
    struct Kind {
        kind: String,
    }
    #[derive(Deserialize)]
    struct List {
        items: Vec<Pod>,
    }
    let kind: Kind = deserialize(output)?;
    let pods = match kind.kind.as_str() {
        "List" | "PodList" => deserialize::<List>(output)?.items,
        "Pod" => vec![deserialize::<Pod>(output)?],
        other => {
            return Err(ParseError::at(
                JSON,
                "kind List, PodList or Pod",
                1,
                &format!("kind {other:?}"),
            ))
        }
    };
    Ok(pods.into_iter().map(Pod::into_row).collect())
}

fn deserialize<'a, T: Deserialize<'a>>(output: &'a str) -> Result<T, ParseError> {
    let mut de = serde_json::Deserializer::from_str(output);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.line().max(1);
        let text = output.lines().nth(line - 1).unwrap_or_default();
        let expected = if path == "." {
            format!("a pod list as JSON ({inner})")
        } else {
            format!("a pod list as JSON ({path}: {inner})")
        };
        if output.trim().is_empty() {
            ParseError::end(JSON, expected)
        } else {
            ParseError::at(JSON, expected, line, text)
        }
    })
}

#[derive(Deserialize)]
struct Pod {
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
    #[serde(default)]
    status: Status,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: String,
    namespace: String,
    #[serde(default)]
    deletion_timestamp: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    node_name: Option<String>,
    #[serde(default)]
    containers: Vec<SpecContainer>,
}

#[derive(Deserialize)]
struct SpecContainer {
    #[serde(default)]
    name: String,
    #[serde(default)]
    image: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    conditions: Vec<Condition>,
    #[serde(default)]
    container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerStatus {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    restart_count: u32,
    #[serde(default)]
    state: ContainerState,
}

#[derive(Default, Deserialize)]
struct ContainerState {
    #[serde(default)]
    running: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    waiting: Option<Reason>,
    #[serde(default)]
    terminated: Option<Terminated>,
}

#[derive(Deserialize)]
struct Reason {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Terminated {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    signal: i32,
}

impl Pod {
    /// The row kubectl would print, STATUS worked out the way its printer does.
    fn into_row(self) -> PodRow {
        let phase = self.status.phase.filter(|p| !p.is_empty());
        let mut status = self
            .status
            .reason
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| phase.clone())
            .unwrap_or_else(|| "Unknown".into());
        let mut containers_ready = 0;
        let mut restarts = 0u32;
        let mut running = false;
        // kubectl walks the containers from the last, so the first container's reason wins.
        for c in self.status.container_statuses.iter().rev() {
            restarts = restarts.saturating_add(c.restart_count);
            let waiting = c.state.waiting.as_ref().and_then(|w| w.reason.clone());
            let terminated = c.state.terminated.as_ref();
            if let Some(reason) = waiting.filter(|r| !r.is_empty()) {
                status = reason;
            } else if let Some(t) = terminated {
                status = match &t.reason {
                    Some(r) if !r.is_empty() => r.clone(),
                    _ if t.signal != 0 => format!("Signal:{}", t.signal),
                    _ => format!("ExitCode:{}", t.exit_code),
                };
            } else if c.ready && c.state.running.is_some() {
                running = true;
                containers_ready += 1;
            }
        }
        let ready = self
            .status
            .conditions
            .iter()
            .any(|c| c.kind == "Ready" && c.status == "True");
        if status == "Completed" && running {
            status = if ready { "Running" } else { "NotReady" }.into();
        }
        if self.metadata.deletion_timestamp.is_some() {
            status = if self.status.reason.as_deref() == Some("NodeLost") {
                "Unknown"
            } else {
                "Terminating"
            }
            .into();
        }
        let containers = self
            .spec
            .containers
            .len()
            .max(self.status.container_statuses.len());
        PodRow {
            namespace: self.metadata.namespace,
            name: self.metadata.name,
            node: self.spec.node_name.filter(|n| !n.is_empty()),
            status,
            phase,
            ready: Some(ready),
            containers_ready,
            containers: u32::try_from(containers).unwrap_or(u32::MAX),
            restarts,
            images: self
                .spec
                .containers
                .into_iter()
                .filter(|c| !c.image.is_empty())
                .map(|c| (c.name, c.image))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table::render;
    use proptest::prelude::*;
    use serde_json::json;

    fn find<'a>(pods: &'a [PodRow], name: &str) -> &'a PodRow {
        pods.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn the_installed_cluster_as_a_table() {
        let out = include_str!("../../../fixtures/outputs/kubectl/get-pods-all.txt");
        let pods = parse_table(out).unwrap();
        assert_eq!(pods.len(), 30);
        let weave = find(&pods, "weave-net-5jq2x");
        assert_eq!(weave.namespace, "kube-system");
        assert_eq!(
            (weave.containers_ready, weave.containers, weave.restarts),
            (2, 2, 1)
        );
        let api = find(&pods, "restapi-84c5d6e7f8-m5n6p");
        assert_eq!(api.status, "CrashLoopBackOff");
        assert_eq!(api.restarts, 12);
        // The table cannot say whether a pod is ready.
        assert!(pods.iter().all(|p| p.ready.is_none() && p.node.is_none()));
    }

    #[test]
    fn wide_tables_give_the_node() {
        let out = include_str!("../../../fixtures/outputs/kubectl/get-pods-wide.txt");
        let pods = parse_table(out).unwrap();
        assert_eq!(find(&pods, "etcd-node-2").node.as_deref(), Some("node-2"));
        assert_eq!(find(&pods, "grafana-5b6c7d8e9f-p9r2s").node, None);
        assert_eq!(find(&pods, "auth-7d9c6b8f5-x2k4q").status, "Terminating");
    }

    #[test]
    fn json_readiness_is_the_ready_condition() {
        let out = include_str!("../../../fixtures/outputs/kubectl/get-pods.json");
        let pods = parse_json(out).unwrap();
        assert_eq!(pods.len(), 5);

        let etcd = find(&pods, "etcd-0");
        assert!(etcd.is_ready());
        assert_eq!(etcd.node.as_deref(), Some("node-1"));
        assert_eq!(etcd.status, "Running");

        // Running, both containers up, but its node is gone: not ready.
        let weave = find(&pods, "weave-net-5jq2x");
        assert_eq!(weave.phase.as_deref(), Some("Running"));
        assert_eq!(
            (weave.containers_ready, weave.containers, weave.restarts),
            (2, 2, 1)
        );
        assert!(!weave.is_ready());

        let api = find(&pods, "restapi-84c5d6e7f8-m5n6p");
        assert_eq!(api.status, "CrashLoopBackOff");
        assert_eq!(
            (api.containers_ready, api.containers, api.restarts),
            (0, 1, 12)
        );
        assert!(!api.is_ready());

        let grafana = find(&pods, "grafana-5b6c7d8e9f-p9r2s");
        assert_eq!(grafana.status, "Pending");
        assert_eq!(grafana.node, None);
        assert_eq!((grafana.containers_ready, grafana.containers), (0, 1));

        assert_eq!(find(&pods, "auth-7d9c6b8f5-x2k4q").status, "Terminating");
    }

    #[test]
    fn empty_lists_and_single_pods() {
        let out = include_str!("../../../fixtures/outputs/kubectl/get-pods-empty.json");
        assert_eq!(parse_json(out).unwrap(), vec![]);
        let pod = json!({"kind": "Pod", "metadata": {"name": "elk-0", "namespace": "default"},
                         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        let pods = parse_json(&pod.to_string()).unwrap();
        assert!(pods[0].is_ready());
        assert_eq!(parse_table("No resources found\n").unwrap(), vec![]);
    }

    #[test]
    fn json_errors_name_the_field_and_line() {
        let bad = "{\n  \"kind\": \"List\",\n  \"items\": [{\"metadata\": {\"name\": 7}}]\n}\n";
        let e = parse_json(bad).unwrap_err();
        assert!(e.expected.contains("items[0].metadata.name"), "{e}");
        assert!(
            matches!(e.found, crate::parse::Found::Line { number: 3, .. }),
            "{e}"
        );
        let e = parse_json("{\"kind\": \"NodeList\", \"items\": []}").unwrap_err();
        assert!(e.to_string().contains("NodeList"), "{e}");
        assert!(parse_json("error: the server doesn't have a resource type \"pod\"").is_err());
        assert_eq!(
            parse_json("").unwrap_err().found,
            crate::parse::Found::EndOfOutput
        );
    }

    #[test]
    fn table_errors_name_the_cell() {
        let out = "NAMESPACE   NAME     READY   STATUS    RESTARTS   AGE\ndefault     elk-0    one     Running   0          1m\n";
        let e = parse_table(out).unwrap_err();
        assert!(e.expected.contains("READY"), "{e}");
        let e = parse_table(
            "NAME     READY   STATUS    RESTARTS   AGE\nelk-0   1/1   Running   0   1m\n",
        )
        .unwrap_err();
        assert!(e.expected.contains("no NAMESPACE"), "{e}");
    }

    fn pod_row() -> impl Strategy<Value = PodRow> {
        (
            "[a-z][a-z-]{0,12}",
            "[a-z][a-z0-9-]{0,30}",
            proptest::option::of("node-[1-9]"),
            any::<bool>(),
            prop_oneof![Just("Running"), Just("Pending"), Just("Unknown")],
            0u32..4,
            0u32..50,
        )
            .prop_map(
                |(namespace, name, node, ready, phase, containers, restarts)| PodRow {
                    namespace,
                    name,
                    node,
                    status: phase.into(),
                    phase: Some(phase.into()),
                    ready: Some(ready),
                    containers_ready: if phase == "Running" { containers } else { 0 },
                    containers,
                    restarts: if containers == 0 { 0 } else { restarts },
                    images: (0..containers)
                        .map(|i| (format!("c{i}"), format!("img{i}:1")))
                        .collect(),
                },
            )
    }

    /// The pod as the API server would return it.
    fn to_json(p: &PodRow) -> serde_json::Value {
        let statuses: Vec<_> = (0..p.containers)
            .map(|i| {
                let state = if p.phase.as_deref() == Some("Running") {
                    json!({"running": {"startedAt": "2026-11-30T08:12:39Z"}})
                } else {
                    json!({})
                };
                json!({"name": format!("c{i}"), "ready": p.phase.as_deref() == Some("Running"),
                       "restartCount": if i == 0 { p.restarts } else { 0 }, "state": state})
            })
            .collect();
        let mut spec = json!({"containers": (0..p.containers).map(|i| json!({"name": format!("c{i}"), "image": format!("img{i}:1")})).collect::<Vec<_>>()});
        if let Some(node) = &p.node {
            spec["nodeName"] = json!(node);
        }
        let ready = if p.ready == Some(true) {
            "True"
        } else {
            "False"
        };
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": p.name, "namespace": p.namespace},
               "spec": spec,
               "status": {"phase": p.phase, "containerStatuses": statuses,
                          "conditions": [{"type": "PodScheduled", "status": "True"},
                                         {"type": "Ready", "status": ready}]}})
    }

    proptest! {
        #[test]
        fn pod_lists_parse_back(pods in prop::collection::vec(pod_row(), 0..6)) {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": pods.iter().map(to_json).collect::<Vec<_>>()});
            let text = serde_json::to_string_pretty(&list).unwrap();
            prop_assert_eq!(parse_json(&text).unwrap(), pods);
        }

        #[test]
        fn rendered_tables_parse_back(pods in prop::collection::vec(pod_row(), 1..6), wide in any::<bool>()) {
            let mut columns = COLUMNS.to_vec();
            if wide {
                columns.extend(["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
            }
            let rows: Vec<Vec<String>> = pods.iter().map(|p| {
                let restarts = if p.restarts > 0 { format!("{} (3m12s ago)", p.restarts) } else { "0".into() };
                let mut row = vec![p.namespace.clone(), p.name.clone(),
                    format!("{}/{}", p.containers_ready, p.containers), p.status.clone(), restarts, "5m".into()];
                if wide {
                    row.extend(["10.32.0.4".into(), p.node.clone().unwrap_or("<none>".into()), "<none>".into(), "<none>".into()]);
                }
                row
            }).collect();
            let parsed = parse_table(&render(&columns, &rows)).unwrap();
            let expected: Vec<PodRow> = pods.into_iter().map(|p| PodRow {
                node: if wide { p.node } else { None },
                phase: None,
                ready: None,
                images: vec![],
                ..p
            }).collect();
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse_table(&text);
            let _ = parse_json(&text);
        }

        #[test]
        fn arbitrary_json_never_panics(value in arbitrary_json()) {
            let _ = parse_json(&value.to_string());
            let list = json!({"kind": "List", "items": [value]});
            let _ = parse_json(&list.to_string());
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[a-zA-Z]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let key = prop_oneof![
                Just("kind".to_owned()),
                Just("metadata".to_owned()),
                Just("name".to_owned()),
                Just("namespace".to_owned()),
                Just("status".to_owned()),
                Just("containerStatuses".to_owned()),
                Just("state".to_owned()),
                Just("items".to_owned()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(key, inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
