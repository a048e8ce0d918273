//! A cap on the commands the checks run on one host at once. All checks start together and
//! several land on the same node (DNS, hostname, resources, the port probe, kubectl, etcdctl);
//! each is a channel on the host's one SSH connection, and OpenSSH refuses channels beyond
//! `MaxSessions` (10 by default), which would look like a failing host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::topology::HostName;

/// Leaves room under OpenSSH's default `MaxSessions` for the steps' own commands.
pub const PER_HOST: usize = 6;

#[derive(Default)]
pub struct HostGate {
    hosts: Mutex<HashMap<HostName, Arc<Semaphore>>>,
}

impl HostGate {
    pub async fn enter(&self, host: &HostName) -> OwnedSemaphorePermit {
        let semaphore = self
            .hosts
            .lock()
            .unwrap()
            .entry(host.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone();
        semaphore
            .acquire_owned()
            .await
            .expect("the gate's semaphores are never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_host_is_capped_and_others_are_not() {
        let gate = HostGate::default();
        let node1 = HostName::from("node-1");
        let mut held = Vec::new();
        for _ in 0..PER_HOST {
            held.push(gate.enter(&node1).await);
        }
        let blocked = tokio::time::timeout(Duration::from_millis(50), gate.enter(&node1)).await;
        assert!(blocked.is_err(), "a seventh command on node-1 must wait");
        let other =
            tokio::time::timeout(Duration::from_millis(50), gate.enter(&"node-2".into())).await;
        assert!(other.is_ok(), "node-2 is not held up by node-1");
        held.pop();
        let freed = tokio::time::timeout(Duration::from_millis(50), gate.enter(&node1)).await;
        assert!(freed.is_ok(), "a finished command lets the next one in");
    }
}
