//! Providers build the topology and inject faults. The runner, steps and checks talk to hosts
//! only through a [`Provider`] (lifecycle, faults) and [`crate::remote`] (commands), so one
//! scenario runs unchanged on every provider.

pub mod docker;
pub mod kept_topology;
pub mod qemu;
pub mod run_dns;
pub mod static_hosts;

use async_trait::async_trait;

use crate::error::Result;
use crate::remote::RunKey;
use crate::scenario::Capabilities;
use crate::topology::{Host, HostName, HostSpec, Topology, TopologySpec};

pub use crate::events::Released;

#[async_trait]
pub trait Provider: Send + Sync {
    fn name(&self) -> &'static str;

    /// What the provider can do to its hosts (faults, replacement, whether they outlive the
    /// run): what steps consult, never the provider's name.
    fn capabilities(&self) -> Capabilities;

    /// Create the network and every host; on return each host's SSH server accepts the run key.
    async fn provision(&self, spec: &TopologySpec, key: &RunKey) -> Result<Topology>;

    /// A power cut: the host stops at once, without shutdown.
    async fn power_off(&self, host: &HostName) -> Result<()>;
    /// Freeze every process of the host; `resume` thaws it.
    async fn pause(&self, host: &HostName) -> Result<()>;
    async fn resume(&self, host: &HostName) -> Result<()>;
    /// Cut the host off the run's network; `heal` reconnects it.
    async fn partition(&self, host: &HostName) -> Result<()>;
    async fn heal(&self, host: &HostName) -> Result<()>;

    /// Destroy the host (if anything is left of it) and create a fresh one from `spec`,
    /// same name and address, accepting the run key.
    async fn replace(&self, spec: &HostSpec, key: &RunKey) -> Result<Host>;

    /// Release everything the run created, each resource independently.
    async fn teardown(&self) -> Vec<Released>;

    /// How a person reaches the topology when the run is kept (`--keep`).
    fn keep_hint(&self, topology: &Topology) -> String;

    /// How many times slower than a real machine the hosts run, once provisioned: every
    /// command's deadline and every check's deadline are multiplied by it. 1 unless the
    /// provider knows better (QEMU under TCG).
    fn pace(&self) -> u32 {
        1
    }
}
