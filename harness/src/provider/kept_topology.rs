//! A topology kept by an earlier run (`run --keep`), reached again by `acura-ha check --run ID`.
//! Whatever provider built it, the hosts are up and answer SSH with the run's key, so checking
//! them needs no provider at all, only the pace they ran at. The topology belongs to the run
//! that kept it: nothing here changes it, and `gc --run ID` removes it.

use async_trait::async_trait;

use super::{Provider, Released};
use crate::error::{Error, Result};
use crate::remote::RunKey;
use crate::topology::{Host, HostName, HostSpec, Topology, TopologySpec};

pub struct KeptTopology {
    run_id: String,
    provider: &'static str,
    pace: u32,
}

impl KeptTopology {
    /// `provider`: the name the kept run recorded; `pace`: the pace its hosts ran at.
    pub fn new(run_id: &str, provider: &str, pace: u32) -> Result<KeptTopology> {
        let provider = match provider {
            "docker" => "docker",
            "qemu" => "qemu",
            "static" => "static",
            other => {
                return Err(Error::infra(format!(
                "kept run {run_id}: unknown provider `{other}` (expected docker, qemu or static)"
            )))
            }
        };
        Ok(KeptTopology {
            run_id: run_id.to_owned(),
            provider,
            pace: pace.max(1),
        })
    }

    fn refuse(&self, what: &str, host: &HostName) -> Error {
        Error::infra(format!(
            "cannot {what} {host}: the kept {} topology of run {} is only checked here; \
             run a scenario to change hosts, `acura-ha gc --run {}` to remove it",
            self.provider, self.run_id, self.run_id
        ))
    }
}

#[async_trait]
impl Provider for KeptTopology {
    fn name(&self) -> &'static str {
        self.provider
    }

    async fn provision(&self, _spec: &TopologySpec, _key: &RunKey) -> Result<Topology> {
        Err(Error::infra(format!(
            "the topology of run {} exists already: it is kept, not provisioned",
            self.run_id
        )))
    }
    async fn power_off(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("power off", host))
    }
    async fn pause(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("pause", host))
    }
    async fn resume(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("resume", host))
    }
    async fn partition(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("partition", host))
    }
    async fn heal(&self, host: &HostName) -> Result<()> {
        Err(self.refuse("heal", host))
    }
    async fn replace(&self, spec: &HostSpec, _key: &RunKey) -> Result<Host> {
        Err(self.refuse("replace", &spec.name))
    }
    /// The kept topology outlives the check: `gc --run ID` removes it.
    async fn teardown(&self) -> Vec<Released> {
        Vec::new()
    }
    fn capabilities(&self) -> crate::scenario::Capabilities {
        // A kept topology is only checked, never changed, whoever made it.
        crate::scenario::Capabilities::EXISTING_HOSTS
    }

    fn keep_hint(&self, _topology: &Topology) -> String {
        format!(
            "run {} stays kept; `acura-ha gc --run {}` removes it\n",
            self.run_id, self.run_id
        )
    }
    fn pace(&self) -> u32 {
        self.pace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_qemu_run_is_checked_at_its_own_pace_and_never_changed() {
        let kept = KeptTopology::new("12051006-7444", "qemu", 5).unwrap();
        assert_eq!((kept.name(), kept.pace()), ("qemu", 5));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt
            .block_on(kept.power_off(&HostName::node(2)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot power off node-2"), "{e}");
        assert!(e.contains("gc --run 12051006-7444"), "{e}");
        assert!(rt.block_on(kept.teardown()).is_empty());
    }

    #[test]
    fn an_unknown_provider_name_is_refused_and_pace_is_at_least_one() {
        let e = KeptTopology::new("r", "vmware", 1)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("unknown provider `vmware`"), "{e}");
        assert_eq!(KeptTopology::new("r", "docker", 0).unwrap().pace(), 1);
    }
}
