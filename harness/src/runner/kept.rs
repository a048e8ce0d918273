//! A kept topology (`run --keep`): what `acura-ha check --run ID` and `gc --run ID` need to find
//! it again. Stored under the user's state directory, never in the artifacts (it holds the run's
//! private key), with owner-only permissions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::checks::Expectations;
use crate::error::{Error, Result};
use crate::remote::RunKey;
use crate::scenario::LoadedScenario;
use crate::topology::{HostName, Topology};

#[derive(Serialize, Deserialize)]
pub struct KeptRun {
    pub run_id: String,
    pub provider: String,
    pub scenario_path: PathBuf,
    pub topology: Topology,
    pub private_key: String,
    /// The provider's pace when the run was kept (runs kept before it was recorded: 1).
    #[serde(default = "full_speed")]
    pub pace: u32,
    /// What the run had done to the topology when it was kept: the stage it reached, the hosts
    /// it took down and the nodes it removed. Runs kept before it was recorded: none, and
    /// `check --run` assumes an installed cluster with every host up.
    #[serde(default)]
    pub expectations: Option<Expectations>,
    /// Each host's key as pinned when the run was kept: `check --run` refuses a host that
    /// presents another. Runs kept before keys were recorded: none, and the first contact of
    /// `check --run` pins (and records) them.
    #[serde(default)]
    pub host_keys: BTreeMap<HostName, String>,
}

fn full_speed() -> u32 {
    1
}

pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("acura-ha");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/state/acura-ha")
}

fn path_of(run_id: &str) -> PathBuf {
    state_dir().join("kept").join(format!("{run_id}.json"))
}

/// The run's private key as a file of its own, for `ssh -i` into the kept hosts.
pub fn key_path(run_id: &str) -> PathBuf {
    state_dir().join("kept").join(format!("{run_id}.key"))
}

/// What a run had when it stopped, for its kept record.
pub struct Keeping<'a> {
    pub provider: &'a dyn crate::provider::Provider,
    pub expectations: Expectations,
    pub topology: &'a Topology,
    pub host_keys: &'a BTreeMap<HostName, String>,
    pub key: Option<&'a RunKey>,
    pub loaded: &'a LoadedScenario,
}

/// Records the kept run; returns where the run's key was written, when it had one.
pub fn save(run_id: &str, keeping: Keeping<'_>) -> Result<Option<PathBuf>> {
    let loaded = keeping.loaded;
    let kept = KeptRun {
        run_id: run_id.to_owned(),
        provider: keeping.provider.name().to_owned(),
        scenario_path: std::fs::canonicalize(&loaded.path).unwrap_or_else(|_| loaded.path.clone()),
        topology: keeping.topology.clone(),
        private_key: keeping
            .key
            .map(|k| k.private_openssh.clone())
            .unwrap_or_default(),
        pace: keeping.provider.pace(),
        expectations: Some(keeping.expectations),
        host_keys: keeping.host_keys.clone(),
    };
    kept.write()?;
    let Some(key) = keeping.key else {
        return Ok(None);
    };
    let key_file = key_path(run_id);
    write_private(&key_file, key.private_openssh.as_bytes())?;
    Ok(Some(key_file))
}

impl KeptRun {
    /// Writes the record (again: `check --run --accept-host-key` updates its keys).
    pub fn write(&self) -> Result<()> {
        let path = path_of(&self.run_id);
        let dir = path.parent().expect("kept path has a parent");
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::infra(e.to_string()))?;
        write_private(&path, text.as_bytes())
    }
}

fn write_private(path: &std::path::Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(data).map_err(|e| Error::io(path, e))
}

pub fn load(run_id: &str) -> Result<KeptRun> {
    let path = path_of(run_id);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::infra(format!(
            "no kept run {run_id} ({}: {e}); runs are kept with `acura-ha run --keep`",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| Error::infra(format!("{}: {e}", path.display())))
}

pub fn forget(run_id: &str) {
    let _ = std::fs::remove_file(path_of(run_id));
    let _ = std::fs::remove_file(key_path(run_id));
}

pub fn list() -> Vec<String> {
    let dir = state_dir().join("kept");
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Stage;
    use crate::topology::HostName;

    #[test]
    fn a_record_from_before_pace_expectations_and_host_keys_were_kept_still_loads() {
        let kept = KeptRun {
            run_id: "r".into(),
            provider: "qemu".into(),
            scenario_path: "s.yaml".into(),
            topology: Topology {
                network: crate::topology::Network {
                    subnet: "10.1.2.0".parse().unwrap(),
                    gateway: "10.1.2.1".parse().unwrap(),
                    dns: "10.1.2.2".parse().unwrap(),
                    zone: "acura.test".into(),
                    probe_name: "probe.acura.test".into(),
                },
                hosts: Vec::new(),
            },
            private_key: String::new(),
            pace: 5,
            expectations: Some(Expectations::installed()),
            host_keys: [(HostName::node(1), "SHA256:x".to_owned())].into(),
        };
        let mut old = serde_json::to_value(&kept).unwrap();
        let fields = old.as_object_mut().unwrap();
        fields.remove("pace").unwrap();
        fields.remove("expectations").unwrap();
        fields.remove("host_keys").unwrap();
        let loaded: KeptRun = serde_json::from_value(old).unwrap();
        assert_eq!(loaded.pace, 1);
        assert!(loaded.expectations.is_none());
        assert!(loaded.host_keys.is_empty());
        let now: KeptRun = serde_json::from_value(serde_json::to_value(&kept).unwrap()).unwrap();
        assert_eq!(now.host_keys, kept.host_keys, "the host keys round-trip");
    }

    #[test]
    fn the_kept_expectations_round_trip() {
        let expectations = Expectations {
            down: [HostName::from("node-2")].into(),
            removed: [HostName::from("node-2")].into(),
            stage: Stage::AcuraInstalled,
        };
        let text = serde_json::to_string(&expectations).unwrap();
        let back: Expectations = serde_json::from_str(&text).unwrap();
        assert_eq!(back, expectations);
        assert_eq!(
            back.describe(),
            "Acura installed (C16); down: node-2; not in the cluster: node-2"
        );
    }
}
