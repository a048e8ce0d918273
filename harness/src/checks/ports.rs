//! The ports of the procedure's security-group table, where each listens and from when.

use super::expectations::Stage;
pub use crate::topology::Protocol;

/// One port and who may reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port {
    pub number: u16,
    pub protocol: Protocol,
    pub service: &'static str,
    /// Listens on every node from this stage on; `None`: not on nodes.
    pub on_nodes: Option<Stage>,
    /// Listens (forwarded by nginx) on the LB from this stage on; `None`: not on the LB.
    pub on_lb: Option<Stage>,
    /// Only members of the nodes' security group may connect (node ↔ node).
    pub group_only: bool,
}

const fn port(
    number: u16,
    protocol: Protocol,
    service: &'static str,
    on_nodes: Option<Stage>,
    on_lb: Option<Stage>,
) -> Port {
    Port {
        number,
        protocol,
        service,
        on_nodes,
        on_lb,
        group_only: false,
    }
}

use Protocol::{Tcp, Udp};
use Stage::{AcuraInstalled, ClusterInstalled, LbConfigured, Provisioned};

/// The guide's security group plus what nginx forwards (15000, the registry, is forwarded by
/// the LB though the table does not list it) and the node ↔ node ports the checks single out
/// (etcd client and peer). Everything the group's "TCP 1-65535 from members" rule covers
/// beyond these is not probed.
pub const SECURITY_GROUP: &[Port] = &[
    port(22, Tcp, "ssh", Some(Provisioned), Some(Provisioned)),
    port(
        80,
        Tcp,
        "ui (redirects to https)",
        Some(AcuraInstalled),
        Some(LbConfigured),
    ),
    port(443, Tcp, "ui", Some(AcuraInstalled), Some(LbConfigured)),
    port(
        4443,
        Tcp,
        "initial configuration",
        Some(AcuraInstalled),
        Some(LbConfigured),
    ),
    port(
        6443,
        Tcp,
        "kubernetes api",
        Some(ClusterInstalled),
        Some(LbConfigured),
    ),
    port(
        15000,
        Tcp,
        "registry",
        Some(AcuraInstalled),
        Some(LbConfigured),
    ),
    port(30080, Tcp, "phpmyadmin", Some(AcuraInstalled), None),
    port(30081, Tcp, "kibana", Some(AcuraInstalled), None),
    port(30082, Tcp, "grafana", Some(AcuraInstalled), None),
    port(
        12201,
        Udp,
        "gelf log intake",
        Some(AcuraInstalled),
        Some(LbConfigured),
    ),
    Port {
        group_only: true,
        ..port(2379, Tcp, "etcd client", Some(ClusterInstalled), None)
    },
    Port {
        group_only: true,
        ..port(2380, Tcp, "etcd peer", Some(ClusterInstalled), None)
    },
];

impl Port {
    /// Whether the port listens on a node (`lb == false`) or the LB at `stage`.
    pub fn listens(&self, lb: bool, stage: Stage) -> bool {
        let from = if lb { self.on_lb } else { self.on_nodes };
        from.is_some_and(|from| stage >= from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_install_only_ssh_listens_on_nodes() {
        let open: Vec<u16> = SECURITY_GROUP
            .iter()
            .filter(|p| p.listens(false, Stage::LbConfigured))
            .map(|p| p.number)
            .collect();
        assert_eq!(open, vec![22]);
    }

    #[test]
    fn the_lb_forwards_exactly_what_its_nginx_config_has() {
        let lb: Vec<(u16, Protocol)> = SECURITY_GROUP
            .iter()
            .filter(|p| p.listens(true, Stage::AcuraInstalled))
            .map(|p| (p.number, p.protocol))
            .collect();
        assert_eq!(
            lb,
            vec![
                (22, Tcp),
                (80, Tcp),
                (443, Tcp),
                (4443, Tcp),
                (6443, Tcp),
                (15000, Tcp),
                (12201, Udp)
            ]
        );
    }
}
