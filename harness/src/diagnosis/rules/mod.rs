//! The rules, one file each. Adding a cause is a file with an `ID` and a `find`, and a line
//! here. Ranks (lower gets symptoms first): what stops the cluster as a whole (quorum), then
//! whole hosts, services and the LB's config, then single ports and settings.

use super::{Candidate, Evidence};

mod below_requirements;
mod certificate_sans;
mod dns_server_down;
mod etcd_quorum_lost;
mod host_down;
mod hostname_with_dots;
mod lb_config;
mod lb_no_connect_timeout;
mod log_pipeline_down;
mod not_listening;
mod pod_not_ready;
mod port_dropped;
mod resolver_misconfigured;
mod service_stopped;
mod udp_no_health_check;

pub struct Rule {
    pub id: &'static str,
    pub find: fn(&Evidence<'_>) -> Vec<Candidate>,
}

macro_rules! rule {
    ($m:ident) => {
        Rule {
            id: $m::ID,
            find: $m::find,
        }
    };
}

pub const ALL: &[Rule] = &[
    rule!(etcd_quorum_lost),
    rule!(host_down),
    rule!(dns_server_down),
    rule!(service_stopped),
    rule!(lb_config),
    rule!(resolver_misconfigured),
    rule!(port_dropped),
    rule!(not_listening),
    rule!(lb_no_connect_timeout),
    rule!(log_pipeline_down),
    rule!(udp_no_health_check),
    rule!(certificate_sans),
    rule!(pod_not_ready),
    rule!(hostname_with_dots),
    rule!(below_requirements),
];
