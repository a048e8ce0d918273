//! Checks run at every checkpoint; each yields a structured Observation.
//!
//! [`run_checkpoint`] runs every check that applies to the topology's [`Stage`] at once, each
//! with its own deadline, and reports one [`Observation`] per check. What the checks expect
//! (which hosts are down, which nodes are out of the cluster) comes from [`Expectations`], the
//! run's own knowledge of the faults it injected, never from what the checks happen to see.
//!
//! Architecture invariant: checks reach hosts only through the [`RunContext`]; they never
//! know which provider is underneath. From the harness they use plain sockets, HTTP and TLS
//! to the addresses of the topology.
//!
//! [`RunContext`]: crate::context::RunContext

pub mod bench;
mod checkpoint;
pub mod delivery;
mod dns;
pub mod etcd;
mod expectations;
pub mod facts;
mod host_gate;
mod hostnames;
mod https;
pub mod kibana;
pub(crate) mod log_path;
mod nodes;
mod observation;
pub mod pods;
mod port_probe;
mod ports;
mod reachability;
pub(crate) mod resources;
mod scope;
mod table;
pub mod tls;

#[cfg(test)]
pub(crate) mod testing;

pub use checkpoint::{
    applicable, run_checkpoint, run_checkpoint_expecting, run_checkpoint_unnumbered,
    CheckpointReport,
};
pub use dns::{DnsFindings, NameserverState, NodeDns, ProbeLookup};
pub use etcd::{
    endpoint_health_command as etcd_endpoint_health_command,
    member_list_command as etcd_member_list_command, EtcdFindings, MemberState,
};
pub use expectations::{Expectations, Stage};
pub use hostnames::HostnameFindings;
pub use https::{HttpAnswer, HttpsFindings, Redirect, TlsEndpoint, PATIENCE as HTTPS_PATIENCE};
pub use log_path::{Delivery, LogPathFindings, LOG_INDEX};
pub use nodes::{NodeFindings, NodeState};
pub use observation::{snapshot_of, CheckName, Findings, Observation, Verdict};
pub use pods::{Count, PodFindings};
pub use ports::{Port, Protocol, SECURITY_GROUP};
pub use reachability::{Cell, CellState, ReachabilityFindings, Vantage};
pub use resources::{Measured, Requirements, ResourceFindings};
pub use table::procedure_commands;
