//! Every node's sizing against the scenario's requirement profile: vCPUs, memory, the root
//! filesystem (one partition, no separate /home) and the OS.

use std::collections::BTreeMap;
use std::time::Duration;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::observation::{CheckName, Findings, Observation, Verdict};
use super::scope::Scope;
use crate::scenario::RequirementProfile;
use crate::topology::HostName;

pub const DEADLINE: Duration = Duration::from_secs(20);
const COMMAND_DEADLINE: Duration = Duration::from_secs(15);

/// One `key=value` line per fact. MemTotal stays in KiB as the kernel prints it: awk's
/// arithmetic would turn large numbers into floats.
pub const COMMAND: &str = "echo \"cpus=$(nproc)\"; \
    awk '/^MemTotal:/ {print \"memory_kib=\" $2}' /proc/meminfo; \
    df -P -B1 / | awk 'NR==2 {print \"root_bytes=\" $2}'; \
    df -P /home 2>/dev/null | awk 'NR==2 {print \"home_mount=\" $6}'; \
    . /etc/os-release && echo \"os=$ID $VERSION_ID\"";

/// The sizing a profile demands of every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirements {
    pub cpus: u64,
    pub memory_bytes: u64,
    pub root_bytes: u64,
    pub single_partition: bool,
    /// `ID VERSION_ID` from /etc/os-release, when the profile demands one.
    pub os: Option<&'static str>,
}

impl Requirements {
    pub fn of(profile: RequirementProfile) -> Requirements {
        match profile {
            // What a CI machine's containers meet, and still enough for the stand-in.
            RequirementProfile::Local => Requirements {
                cpus: 1,
                memory_bytes: 512 << 20,
                root_bytes: 2_000_000_000,
                single_partition: false,
                os: None,
            },
            // The guide's 200 GB, 16 GB, 8 vCPU, Ubuntu 24.04. MemTotal is a little under the
            // installed size (the kernel keeps some), so 15 GiB passes for 16 GB.
            RequirementProfile::Doc => Requirements {
                cpus: 8,
                memory_bytes: 15 << 30,
                root_bytes: 200_000_000_000,
                single_partition: true,
                os: Some("ubuntu 24.04"),
            },
        }
    }
}

/// What a node reports about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub cpus: u64,
    pub memory_bytes: u64,
    pub root_bytes: u64,
    /// The mount point /home lives on (`/` when it is not a partition of its own).
    pub home_mount: Option<String>,
    pub os: String,
}

impl Measured {
    /// The error names the first fact missing from the output.
    pub fn parse(output: &str) -> Result<Measured, String> {
        let facts: BTreeMap<&str, &str> = output
            .lines()
            .filter_map(|l| l.trim().split_once('='))
            .collect();
        let number = |key: &str| -> Result<u64, String> {
            facts
                .get(key)
                .ok_or_else(|| format!("no {key} in the output"))?
                .trim()
                .parse()
                .map_err(|_| format!("{key} is not a number"))
        };
        Ok(Measured {
            cpus: number("cpus")?,
            memory_bytes: number("memory_kib")? * 1024,
            root_bytes: number("root_bytes")?,
            home_mount: facts.get("home_mount").map(|s| s.trim().to_owned()),
            os: facts
                .get("os")
                .map(|s| s.trim().to_owned())
                .ok_or("no os in the output")?,
        })
    }

    pub fn separate_home(&self) -> bool {
        self.home_mount.as_deref().is_some_and(|m| m != "/")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceFindings {
    pub profile: RequirementProfile,
    /// Per node, each requirement the profile demands → met.
    pub nodes: BTreeMap<HostName, BTreeMap<Cow<'static, str>, bool>>,
    pub measured: BTreeMap<HostName, Measured>,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    let profile = scope.ctx.scenario().requirements;
    scope.seen.set("waiting for every node's sizing");
    let (outputs, skipped) = scope
        .on_live_nodes(|node| async {
            match scope.run(&node.name, COMMAND, COMMAND_DEADLINE).await {
                Ok(o) => Ok(o.stdout),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
    evaluate(profile, outputs, &skipped)
}

pub(crate) fn evaluate(
    profile: RequirementProfile,
    outputs: BTreeMap<HostName, Result<String, String>>,
    skipped: &[HostName],
) -> Observation {
    let need = Requirements::of(profile);
    let name = match profile {
        RequirementProfile::Local => "local",
        RequirementProfile::Doc => "doc",
    };
    let mut reasons = Vec::new();
    let mut nodes = BTreeMap::new();
    let mut measured = BTreeMap::new();
    for (node, result) in outputs {
        let m = match result.and_then(|text| Measured::parse(&text)) {
            Ok(m) => m,
            Err(e) => {
                reasons.push(format!("{node}: sizing unknown: {e}"));
                continue;
            }
        };
        let mut met = BTreeMap::new();
        let mut judge = |key: &'static str, ok: bool, shortfall: String| {
            met.insert(key.into(), ok);
            if !ok {
                reasons.push(format!("{node}: {shortfall}"));
            }
        };
        judge(
            "cpus",
            m.cpus >= need.cpus,
            format!("fewer vCPUs than the {name} profile's {}", need.cpus),
        );
        judge(
            "memory",
            m.memory_bytes >= need.memory_bytes,
            format!(
                "less memory than the {name} profile's {}",
                bytes(need.memory_bytes)
            ),
        );
        judge(
            "root",
            m.root_bytes >= need.root_bytes,
            format!(
                "root filesystem smaller than the {name} profile's {}",
                bytes(need.root_bytes)
            ),
        );
        if need.single_partition {
            judge(
                "single-partition",
                !m.separate_home(),
                "/home is a separate partition; the guide wants one root partition".into(),
            );
        }
        if let Some(os) = need.os {
            judge(
                "os",
                m.os == os,
                format!("OS is not {os}, which the {name} profile demands"),
            );
        }
        nodes.insert(node.clone(), met);
        measured.insert(node, m);
    }
    let notes = skipped
        .iter()
        .map(|n| format!("{n} is down: not measured"))
        .collect();
    Observation::new(
        CheckName::Resources,
        Findings::Resources(ResourceFindings {
            profile,
            nodes,
            measured,
        }),
        Verdict::from_reasons(reasons).with_notes(notes),
    )
}

/// `200 GB`, `15 GiB`, `512 MiB`: whichever unit the requirement was written in.
// `is_multiple_of` is newer than the workspace's rust-version.
#[allow(clippy::manual_is_multiple_of)]
fn bytes(n: u64) -> String {
    if n % (1 << 30) == 0 {
        format!("{} GiB", n >> 30)
    } else if n % (1 << 20) == 0 && n < 1 << 30 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{} GB", n / 1_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{h, recorded};

    #[test]
    fn a_container_meets_the_local_profile() {
        let o = evaluate(
            RequirementProfile::Local,
            [(h("node-1"), Ok(recorded!("resources-container.txt").into()))].into(),
            &[],
        );
        assert!(o.passed(), "{:?}", o.verdict);
        let Some(Findings::Resources(f)) = &o.findings else {
            panic!()
        };
        assert_eq!(f.measured[&h("node-1")].memory_bytes, 8_152_348 * 1024);
        assert_eq!(
            f.nodes[&h("node-1")]
                .keys()
                .map(|k| k.as_ref())
                .collect::<Vec<_>>(),
            vec!["cpus", "memory", "root"]
        );
    }

    #[test]
    fn the_same_container_falls_short_of_the_doc_profile_on_every_count() {
        let o = evaluate(
            RequirementProfile::Doc,
            [(h("node-1"), Ok(recorded!("resources-container.txt").into()))].into(),
            &[],
        );
        assert_eq!(
            o.verdict.reasons,
            vec![
                "node-1: fewer vCPUs than the doc profile's 8",
                "node-1: less memory than the doc profile's 15 GiB",
                "node-1: root filesystem smaller than the doc profile's 200 GB",
                "node-1: OS is not ubuntu 24.04, which the doc profile demands",
            ]
        );
    }

    #[test]
    fn a_doc_sized_vm_passes_unless_home_is_separate() {
        let vm = recorded!("resources-doc-vm.txt");
        let o = evaluate(
            RequirementProfile::Doc,
            [(h("node-2"), Ok(vm.into()))].into(),
            &[],
        );
        assert!(o.passed(), "{:?}", o.verdict);
        let split = vm.replace("home_mount=/", "home_mount=/home");
        let o = evaluate(
            RequirementProfile::Doc,
            [(h("node-2"), Ok(split))].into(),
            &[],
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["node-2: /home is a separate partition; the guide wants one root partition"]
        );
    }

    #[test]
    fn unreadable_output_is_a_failure_not_a_pass() {
        let o = evaluate(
            RequirementProfile::Local,
            [(h("node-1"), Ok("cpus=4\n".into()))].into(),
            &[],
        );
        assert_eq!(
            o.verdict.reasons,
            vec!["node-1: sizing unknown: no memory_kib in the output"]
        );
    }
}
