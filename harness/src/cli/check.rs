//! `acura-ha check`: the checks alone, against a topology kept with `run --keep` (`--run ID`)
//! or against a site acura-ha did not build (`--inventory ha_env_file --lb ADDRESS`).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use acura_ha::runner::check::{self, KeptCheck};
use acura_ha::runner::site::{self, Site, SiteCheck};
use acura_ha::scenario::{Credentials, RequirementProfile};
use acura_ha::Result;

#[derive(clap::Args)]
pub struct Args {
    /// The kept run (see `acura-ha run --keep`).
    #[arg(
        long,
        required_unless_present = "inventory",
        conflicts_with = "inventory"
    )]
    run: Option<String>,
    #[command(flatten)]
    site: SiteArgs,
    /// Where the checks' command outputs go.
    #[arg(long, default_value = "artifacts")]
    artifacts: PathBuf,
    /// Accept the key HOST presents now in place of the one the kept run recorded (a host
    /// rebuilt on purpose), and record it. Repeatable.
    #[arg(long = "accept-host-key", value_name = "HOST", requires = "run")]
    accept_host_key: Vec<String>,
    #[command(flatten)]
    reports: super::ReportArgs,
}

/// A site acura-ha did not build, reached over SSH and never changed.
#[derive(clap::Args)]
pub struct SiteArgs {
    /// The site's `ha_env_file` (the guide's: `<HOSTNAME> ansible_ssh_host=<IP>` per node).
    #[arg(long, value_name = "HA_ENV_FILE", requires = "lb")]
    pub inventory: Option<PathBuf>,
    /// The load balancer's address.
    #[arg(long, value_name = "ADDRESS", requires = "inventory")]
    pub lb: Option<Ipv4Addr>,
    /// The deploy host's address; without it nothing is probed from there.
    #[arg(long, value_name = "ADDRESS", requires = "inventory")]
    pub deployer: Option<Ipv4Addr>,
    /// The SSH user on every host.
    #[arg(long, default_value = "root", requires = "inventory")]
    pub user: String,
    /// The SSH private key; without it, the inventory's `ansible_ssh_private_key_file`.
    #[arg(long, value_name = "KEY", requires = "inventory")]
    pub identity: Option<PathBuf>,
    /// The keys the hosts must present (OpenSSH known_hosts, by address); without it, each
    /// host's first key is pinned and printed (trust on first use).
    #[arg(long, value_name = "FILE", requires = "inventory")]
    pub known_hosts: Option<PathBuf>,
    /// The name every node must resolve.
    #[arg(long, default_value = "google.com", requires = "inventory")]
    pub probe_name: String,
    /// The sizing the nodes are held to: the guide's (`doc`) or a lab's (`local`).
    #[arg(long, value_enum, default_value = "doc", requires = "inventory")]
    pub requirements: Requirements,
    /// Kibana's user (its password: ACURA_HA_KIBANA_PASSWORD).
    #[arg(long, default_value = "acura", requires = "inventory")]
    pub kibana_user: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Requirements {
    Doc,
    Local,
}

impl SiteArgs {
    /// The site, when `--inventory` names one.
    pub fn site(&self) -> Option<Site> {
        let inventory = self.inventory.clone()?;
        Some(Site {
            inventory,
            lb: self.lb?,
            deployer: self.deployer,
            user: self.user.clone(),
            identity: self.identity.clone(),
            known_hosts: self.known_hosts.clone(),
            probe_name: self.probe_name.clone(),
            requirements: match self.requirements {
                Requirements::Doc => RequirementProfile::Doc,
                Requirements::Local => RequirementProfile::Local,
            },
            kibana: Credentials {
                user: self.kibana_user.clone(),
                password: std::env::var("ACURA_HA_KIBANA_PASSWORD")
                    .unwrap_or_else(|_| Credentials::default().password),
            },
        })
    }
}

pub async fn run(args: Args, verbosity: super::Verbosity) -> Result<i32> {
    let outputs = args.reports.outputs(verbosity)?;
    match (args.run, args.site.site()) {
        (Some(run), _) => {
            check::check_kept(KeptCheck {
                run,
                artifacts_root: args.artifacts,
                accept_host_key: args.accept_host_key,
                outputs,
            })
            .await
        }
        (None, Some(site)) => {
            site::check_site(SiteCheck {
                site,
                artifacts_root: args.artifacts,
                outputs,
            })
            .await
        }
        (None, None) => unreachable!("clap requires --run or --inventory with --lb"),
    }
}
