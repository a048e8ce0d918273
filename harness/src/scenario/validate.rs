//! Checks a well-formed scenario against the procedure: every name it uses exists, and its
//! steps come in an order the procedure allows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::diagnostic::Diagnostic;
use super::model::{Expect, FailingCheckpoint, Misconfiguration, ProviderKind, Scenario, Step};
use super::source_map::{FieldPath, Position, SourceMap};
use super::suggest;
use crate::topology::{HostName, TopologySpec};

/// The procedure's minimum: etcd keeps quorum with one node lost only from three members up.
pub const MIN_NODES: usize = 3;
/// The largest etcd cluster its maintainers recommend; every node is a member here.
pub const MAX_NODES: usize = 7;

/// Every problem of `scenario`, positioned through `map`.
pub(crate) fn validate(scenario: &Scenario, map: &SourceMap, file: &Path) -> Vec<Diagnostic> {
    let mut check = Validation {
        map,
        file,
        topology: TopologySpec::standard(scenario.topology.nodes),
        lb: scenario.topology.lb,
        found: Vec::new(),
    };
    check.name(scenario);
    check.topology(scenario);
    check.provider(scenario);
    check.steps(&scenario.steps);
    check.capabilities(scenario);
    check.found
}

struct Validation<'a> {
    map: &'a SourceMap,
    file: &'a Path,
    topology: TopologySpec,
    lb: bool,
    found: Vec<Diagnostic>,
}

impl Validation<'_> {
    fn diagnostic(
        &self,
        at: Position,
        field: &FieldPath,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(self.file, at, message).field(field)
    }

    /// Where the value at `field` starts, or the nearest enclosing thing that has a position.
    fn value_at(&self, field: &FieldPath) -> Position {
        let mut path = field.clone();
        loop {
            if let Some(at) = self.map.value(&path) {
                return at;
            }
            if path.segments().is_empty() {
                return Position::START;
            }
            path = path.parent();
        }
    }

    fn entry_at(&self, field: &FieldPath) -> Position {
        self.map
            .entry(field)
            .unwrap_or_else(|| self.value_at(field))
    }

    fn name(&mut self, scenario: &Scenario) {
        if !is_slug(&scenario.name) {
            let field = FieldPath::root().key("name");
            let at = self.value_at(&field);
            let name = scenario.name.clone();
            let d = self
                .diagnostic(
                    at,
                    &field,
                    format!("scenario name `{name}` is not made of `a-z`, `0-9` and `-`"),
                )
                .note("the name is a directory of the golden snapshots");
            self.found.push(d);
        }
    }

    fn topology(&mut self, scenario: &Scenario) {
        let topology = FieldPath::root().key("topology");
        let nodes = scenario.topology.nodes;
        if nodes < MIN_NODES {
            let field = topology.key("nodes");
            let at = self.value_at(&field);
            let d = self.diagnostic(at, &field, format!("a highly available cluster needs at least {MIN_NODES} nodes, found {nodes}")).note("with fewer than three etcd members, losing one node loses quorum");
            self.found.push(d);
        } else if nodes > MAX_NODES || nodes.is_multiple_of(2) {
            let field = topology.key("nodes");
            let at = self.value_at(&field);
            let note = if nodes.is_multiple_of(2) {
                format!("every node is an etcd member: {nodes} members lose quorum with as many nodes down as {} do", nodes - 1)
            } else {
                format!("every node is an etcd member, and etcd's maintainers advise at most {MAX_NODES}")
            };
            let d = self
                .diagnostic(at, &field, format!("the node count must be odd, from {MIN_NODES} to {MAX_NODES}; found {nodes}"))
                .note(note);
            self.found.push(d);
        }
        for name in scenario.topology.hosts.keys() {
            if self.topology.get(name).is_none() {
                let field = topology.key("hosts").key(name.as_str());
                let at = self.entry_at(&field);
                let hosts = self.host_list();
                let suggestion = if looks_like_node(name) {
                    None
                } else {
                    self.close_host(name)
                };
                let d = self
                    .diagnostic(at, &field, format!("unknown host `{name}`"))
                    .suggestion(suggestion.as_deref())
                    .note(format!("the topology's hosts are {hosts}"));
                self.found.push(d);
            }
        }
    }

    fn provider(&mut self, scenario: &Scenario) {
        if scenario.provider == ProviderKind::Static && scenario.inventory.is_none() {
            let field = FieldPath::root().key("provider");
            let at = self.value_at(&field);
            let d = self.diagnostic(at, &field, "provider `static` needs an `inventory`").note("give `inventory: { ha_env_file, lb, deployer, ssh_key }` for the existing hosts");
            self.found.push(d);
        }
    }

    /// Steps the scenario's provider cannot do (a fault on existing hosts), at their lines.
    fn capabilities(&mut self, scenario: &Scenario) {
        let list = FieldPath::root().key("steps");
        let capabilities = scenario.provider.capabilities();
        for (index, step) in scenario.steps.iter().enumerate() {
            if let Some(why) = capabilities.refuses(step) {
                let field = list.index(index).key(step.keyword());
                let at = self.entry_at(&field);
                let message = format!("provider `{}`: {why}", scenario.provider);
                let d = self.diagnostic(at, &field, message).note(
                    "the docker and qemu providers can; existing hosts are not acura-ha's to break",
                );
                self.found.push(d);
            }
        }
    }

    fn steps(&mut self, steps: &[Step]) {
        let list = FieldPath::root().key("steps");
        if steps.is_empty() {
            let at = self.entry_at(&list);
            self.found
                .push(self.diagnostic(at, &list, "a scenario needs at least one step"));
            return;
        }
        let mut checkpoints: BTreeMap<&str, FieldPath> = BTreeMap::new();
        // Nodes that left the cluster (removed or replaced by a fresh host) and may join again.
        let mut detached: BTreeSet<&HostName> = BTreeSet::new();
        // A `misconfigure` not yet undone by `repair`.
        let mut misconfigured = false;
        for (index, step) in steps.iter().enumerate() {
            let item = list.index(index);
            let value = item.key(step.keyword());
            match step {
                Step::Checkpoint(name) if self.checkpoint_name(name, &value, &checkpoints) => {
                    checkpoints.insert(name, value);
                }
                Step::Fault(fault) => {
                    let field = value.key(fault.keyword());
                    self.host(fault.host(), &field);
                }
                Step::Misconfigure(m) => {
                    let field = value.key(m.keyword());
                    match m {
                        Misconfiguration::BlockPort(b) => self.host(&b.host, &field.key("host")),
                        Misconfiguration::DnsDown(h) => self.host(h, &field),
                        Misconfiguration::StopService(stop) => {
                            self.host(&stop.host, &field.key("host"));
                            let unit_name =
                                |c: char| c.is_ascii_alphanumeric() || "@._-".contains(c);
                            if stop.service.is_empty() || !stop.service.chars().all(unit_name) {
                                let field = field.key("service");
                                let at = self.value_at(&field);
                                self.found.push(
                                    self.diagnostic(at, &field, "not a systemd unit name")
                                        .note("letters, digits and @ . _ - only, as `systemctl` names units"),
                                );
                            }
                        }
                        Misconfiguration::CertificateWithoutLb(how)
                            if !how.issue_with.contains("{lb_address}") =>
                        {
                            let field = field.key("issue_with");
                            let at = self.value_at(&field);
                            self.found.push(
                                self.diagnostic(at, &field, "`issue_with` has no `{lb_address}`")
                                    .note("the command must take the address the certificate is issued for"),
                            );
                        }
                        Misconfiguration::PodNeverReady(d) => {
                            self.kubernetes_name(&d.deployment, &field.key("deployment"));
                            self.kubernetes_name(&d.namespace, &field.key("namespace"));
                        }
                        Misconfiguration::LbWithoutUdp if !self.lb => {
                            let at = self.value_at(&value);
                            self.found.push(self.diagnostic(
                                at,
                                &value,
                                "`lb_without_udp` needs the load balancer, but `topology.lb` is false",
                            ));
                        }
                        _ => {}
                    }
                    misconfigured = true;
                }
                Step::Repair if !misconfigured => {
                    let at = self.value_at(&item);
                    self.found.push(
                        self.diagnostic(at, &item, "`repair` without an earlier `misconfigure`")
                            .note("repair undoes what `misconfigure` steps broke; nothing is broken here"),
                    );
                }
                Step::Repair => misconfigured = false,
                Step::CheckpointFailing(f) => {
                    self.failing_checkpoint(f, &value, &checkpoints);
                    let name = value.key("name");
                    if self.checkpoint_name(&f.name, &name, &checkpoints) {
                        checkpoints.insert(&f.name, name);
                    }
                }
                Step::Expect(expect) => self.expect(expect, &value),
                Step::Diagnose(d) => {
                    let known = crate::finding::RULE_IDS;
                    for (i, cause) in d.causes.iter().enumerate() {
                        if known.contains(&cause.as_str()) {
                            continue;
                        }
                        let field = value.key("causes").index(i);
                        let at = self.value_at(&field);
                        let d = self
                            .diagnostic(at, &field, format!("no rule is named `{cause}`"))
                            .suggestion(suggest::closest(cause, known.iter().copied()))
                            .note(format!("the rules: {}", known.join(", ")));
                        self.found.push(d);
                    }
                }
                Step::Update(update)
                    if update.add_overlays.is_empty() && update.remove_overlays.is_empty() =>
                {
                    let at = self.entry_at(&value);
                    let d = self
                        .diagnostic(at, &value, "`update` changes no overlay")
                        .note("give `add_overlays` or `remove_overlays`");
                    self.found.push(d);
                }
                Step::ConfigureLb if !self.lb => {
                    let at = self.value_at(&item);
                    self.found.push(self.diagnostic(
                        at,
                        &item,
                        "`configure-lb` needs the load balancer, but `topology.lb` is false",
                    ));
                }
                Step::RemoveDeadNode(node) | Step::ReplaceNode(node) => {
                    let known = self.node(node, &value);
                    if known {
                        detached.insert(node);
                    }
                }
                Step::MoveEtcdLeader(node) => {
                    self.node(node, &value);
                }
                Step::MovePod(m) => {
                    self.node(&m.off, &value.key("off"));
                    if m.split().is_none() {
                        let field = value.key("pod");
                        let at = self.value_at(&field);
                        let d = self
                            .diagnostic(at, &field, format!("`{}` is not `namespace/name`", m.pod))
                            .note("for example `default/elk-0`, as `kubectl get pods -A` lists it");
                        self.found.push(d);
                    }
                }
                Step::JoinNodeRefused(r) => {
                    let field = value.key("node");
                    if self.node(&r.node, &field) && !detached.contains(&r.node) {
                        let at = self.value_at(&field);
                        let message = format!(
                            "`{}` is refused a join without an earlier `remove-dead-node` or `replace-node` of it",
                            r.node
                        );
                        let d = self.diagnostic(at, &field, message).note(
                            "only a node that is not a member can be refused; a member's kubeadm join would not run",
                        );
                        self.found.push(d);
                    }
                }
                Step::JoinNode(node) => {
                    let known = self.node(node, &value);
                    if known && !detached.remove(node) {
                        let at = self.value_at(&value);
                        let message = format!(
                            "`{node}` joins without an earlier `remove-dead-node` or `replace-node` of it"
                        );
                        let note = format!(
                            "{node} is still a member of the cluster here; \
                             a node joins again only after it was removed or replaced"
                        );
                        let d = self.diagnostic(at, &value, message).note(note);
                        self.found.push(d);
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether `name` may name a new checkpoint (diagnosed when not).
    fn checkpoint_name(
        &mut self,
        name: &str,
        value: &FieldPath,
        checkpoints: &BTreeMap<&str, FieldPath>,
    ) -> bool {
        if !is_slug(name) {
            let at = self.value_at(value);
            let d = self
                .diagnostic(
                    at,
                    value,
                    format!("checkpoint name `{name}` is not made of `a-z`, `0-9` and `-`"),
                )
                .note("the name is a file of the golden snapshots");
            self.found.push(d);
        }
        if let Some(first) = checkpoints.get(name) {
            let first_line = self.value_at(first).line;
            let at = self.value_at(value);
            let d = self
                .diagnostic(at, value, format!("checkpoint `{name}` is used twice"))
                .note(format!(
                    "it is first used on line {first_line}; each checkpoint has its own golden snapshot"
                ));
            self.found.push(d);
            return false;
        }
        true
    }

    fn failing_checkpoint(
        &mut self,
        f: &FailingCheckpoint,
        value: &FieldPath,
        checkpoints: &BTreeMap<&str, FieldPath>,
    ) {
        if !checkpoints.contains_key(f.baseline.as_str()) {
            let field = value.key("baseline");
            let at = self.value_at(&field);
            let known: Vec<&str> = checkpoints.keys().copied().collect();
            let suggestion = suggest::closest(&f.baseline, known.iter().copied());
            let note = if known.is_empty() {
                "no checkpoint comes before this step".to_owned()
            } else {
                format!("the earlier checkpoints are {}", known.join(", "))
            };
            let d = self
                .diagnostic(
                    at,
                    &field,
                    format!("baseline `{}` is not an earlier checkpoint", f.baseline),
                )
                .suggestion(suggestion)
                .note(note);
            self.found.push(d);
        }
        if f.failing.is_empty() {
            let field = value.key("failing");
            let at = self.value_at(&field);
            let d = self
                .diagnostic(at, &field, "`failing` names no check")
                .note("a checkpoint where every check passes is a `checkpoint`");
            self.found.push(d);
        }
    }

    fn expect(&mut self, expect: &Expect, field: &FieldPath) {
        let nothing = expect.nodes_ready.is_none()
            && expect.nodes_not_ready.is_none()
            && expect.etcd_members.is_none()
            && expect.available_through_lb.is_none();
        if nothing {
            let at = self.entry_at(field);
            let d = self.diagnostic(at, field, "`expect` states no condition").note("give at least one of `nodes_ready`, `nodes_not_ready`, `etcd_members`, `available_through_lb`");
            self.found.push(d);
        }
        let ready = expect.nodes_ready.as_deref().unwrap_or_default();
        for (i, node) in ready.iter().enumerate() {
            self.node(node, &field.key("nodes_ready").index(i));
        }
        let not_ready = expect.nodes_not_ready.as_deref().unwrap_or_default();
        for (i, node) in not_ready.iter().enumerate() {
            let item = field.key("nodes_not_ready").index(i);
            if self.node(node, &item) && ready.contains(node) {
                let at = self.value_at(&item);
                self.found.push(self.diagnostic(
                    at,
                    &item,
                    format!("`{node}` is expected both ready and not ready"),
                ));
            }
        }
        if expect.available_through_lb.is_some() && !self.lb {
            let item = field.key("available_through_lb");
            let at = self.entry_at(&item);
            self.found.push(self.diagnostic(
                at,
                &item,
                "`available_through_lb` needs the load balancer, but `topology.lb` is false",
            ));
        }
    }

    /// Reports `name` unless it is a node of the topology; true when it is one.
    fn node(&mut self, name: &HostName, field: &FieldPath) -> bool {
        let is_node = self
            .topology
            .get(name)
            .is_some_and(|h| h.role == crate::topology::Role::Node);
        if !is_node {
            let at = self.value_at(field);
            let nodes = self.node_list();
            let suggestion = if looks_like_node(name) {
                None
            } else {
                suggest::closest(
                    name.as_str(),
                    self.topology.nodes().map(|h| h.name.as_str()),
                )
                .map(str::to_owned)
            };
            let d = self
                .diagnostic(at, field, format!("unknown node `{name}`"))
                .suggestion(suggestion.as_deref())
                .note(format!("the topology's nodes are {nodes}"));
            self.found.push(d);
        }
        is_node
    }

    /// Reports `name` unless it is a host of the topology a fault can hit.
    fn host(&mut self, name: &HostName, field: &FieldPath) {
        let exists = self.topology.get(name).is_some();
        let is_missing_lb = *name == HostName::lb() && !self.lb;
        if !exists || is_missing_lb {
            let at = self.value_at(field);
            let hosts = self.host_list();
            let suggestion = if looks_like_node(name) {
                None
            } else {
                self.close_host(name)
            };
            let message = if is_missing_lb {
                "the topology has no load balancer (`topology.lb` is false)".to_owned()
            } else {
                format!("unknown host `{name}`")
            };
            let d = self
                .diagnostic(at, field, message)
                .suggestion(suggestion.as_deref())
                .note(format!("the topology's hosts are {hosts}"));
            self.found.push(d);
        }
    }

    /// A DNS-1123 label, as Kubernetes names deployments and namespaces.
    fn kubernetes_name(&mut self, name: &str, field: &FieldPath) {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !valid {
            let at = self.value_at(field);
            let d = self
                .diagnostic(at, field, format!("`{name}` is not a Kubernetes name"))
                .note("lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit");
            self.found.push(d);
        }
    }

    fn close_host(&self, name: &HostName) -> Option<String> {
        suggest::closest(
            name.as_str(),
            self.topology.hosts.iter().map(|h| h.name.as_str()),
        )
        .map(str::to_owned)
    }

    fn node_list(&self) -> String {
        names(self.topology.nodes().map(|h| h.name.as_str()))
    }

    fn host_list(&self) -> String {
        names(self.topology.hosts.iter().map(|h| h.name.as_str()))
    }
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `node-7`: a node name of a topology that is smaller than the author thought, where the
/// nearest existing name would be a misleading suggestion.
fn looks_like_node(name: &HostName) -> bool {
    name.as_str()
        .strip_prefix("node-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Names that become paths (golden snapshot directories and files).
fn is_slug(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}
