//! `acura-ha check --inventory`: the checks and the diagnosis against a site acura-ha did not
//! build, from the guide's own `ha_env_file`. Strictly read-only there: nothing is provisioned,
//! no step runs, nothing is torn down; a host that does not answer is a finding about the site
//! (exit 1), a host presenting a key the policy refuses is not the host asked for (exit 3).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::artifacts::Artifacts;
use crate::checks::Expectations;
use crate::context::RunContext;
use crate::error::{Error, Result};
use crate::events::{EventKind, EventSink};
use crate::provider::static_hosts::{parse_ha_env_file, StaticHosts};
use crate::provider::Provider;
use crate::remote::{host_keys, HostKeys, Remote, RunKey};
use crate::runner::check::{self, Checked};
use crate::runner::reporting::{Outputs, Reporting};
use crate::runner::run::report_pins;
use crate::scenario::{
    Credentials, Flavor, Product, ProviderKind, RequirementProfile, Scenario, StaticInventory,
    TopologyConfig,
};
use crate::steps;

/// Where a site is and how to reach it.
#[derive(Clone, Debug)]
pub struct Site {
    /// The guide's `ha_env_file`: `<HOSTNAME> ansible_ssh_host=<IP>` per node.
    pub inventory: PathBuf,
    pub lb: Ipv4Addr,
    pub deployer: Option<Ipv4Addr>,
    pub user: String,
    /// The private key; without one, the inventory's `ansible_ssh_private_key_file`.
    pub identity: Option<PathBuf>,
    /// The keys the hosts must present; without it, each host's first key is pinned and
    /// printed (trust on first use).
    pub known_hosts: Option<PathBuf>,
    /// The name every node must resolve (the guide's is google.com).
    pub probe_name: String,
    pub requirements: RequirementProfile,
    pub kibana: Credentials,
}

/// `check --inventory`: where its outputs go.
pub struct SiteCheck {
    pub site: Site,
    /// The check's folder goes under here (`site-<time>`).
    pub artifacts_root: PathBuf,
    pub outputs: Outputs,
}

/// The exit code: passed, a check failed, or the error that kept the checks from running.
pub async fn check_site(options: SiteCheck) -> Result<i32> {
    let id = format!("site-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    let artifacts_dir = options.artifacts_root.join(&id);
    let reporting = Reporting::start(&artifacts_dir, &options.outputs);
    let events = reporting.events().clone();
    let result: Result<i32> = async {
        let ctx = connect(&options.site, &id, &artifacts_dir, &events).await?;
        let checked = checkpoint(&ctx).await?;
        Ok(check::finish(&events, &checked))
    }
    .await;
    drop(events);
    reporting.end(&result).await;
    result
}

/// The site as a run context: its hosts from the inventory, reached with its key under the
/// host-key policy. Nothing is sent to a host yet.
pub async fn connect(
    site: &Site,
    id: &str,
    artifacts_dir: &Path,
    events: &EventSink,
) -> Result<RunContext> {
    let text =
        std::fs::read_to_string(&site.inventory).map_err(|e| Error::io(&site.inventory, e))?;
    let nodes = parse_ha_env_file(&site.inventory, &text)?;
    let identity = match &site.identity {
        Some(path) => path.clone(),
        None => key_file_of(&site.inventory, &text)?,
    };
    let key_text = std::fs::read_to_string(&identity).map_err(|e| Error::io(&identity, e))?;
    let key = RunKey::from_openssh(&key_text)?;
    let scenario = Arc::new(Scenario {
        name: "site".into(),
        description: Some(format!("the hosts of {}", site.inventory.display())),
        provider: ProviderKind::Static,
        topology: TopologyConfig {
            nodes: nodes.len(),
            ..TopologyConfig::default()
        },
        product: Product {
            archive: PathBuf::new(),
            flavor: Flavor::default(),
            kibana: site.kibana.clone(),
        },
        requirements: site.requirements,
        user: site.user.clone(),
        inventory: Some(StaticInventory {
            ha_env_file: site.inventory.clone(),
            lb: site.lb,
            deployer: site.deployer,
            ssh_key: identity.clone(),
            known_hosts: site.known_hosts.clone(),
        }),
        steps: Vec::new(),
    });
    events.send(EventKind::RunStarted {
        run_id: id.to_owned(),
        scenario: scenario.name.clone(),
        provider: "static".into(),
        steps: 0,
    });
    let provider: Arc<dyn Provider> =
        Arc::new(StaticHosts::new(nodes.clone(), site.lb, site.deployer));
    let spec = steps::topology_spec(&scenario);
    let mut topology = provider.provision(&spec, &key).await?;
    topology.network.probe_name = site.probe_name.clone();
    let keys = match &site.known_hosts {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let known = host_keys::parse_known_hosts(path, &text)?;
            HostKeys::from_known_hosts(&known, &topology.hosts)
        }
        None => HostKeys::trust_on_first_use(),
    };
    let remote = Remote::with_host_keys(
        key.clone(),
        site.user.clone(),
        keys.on_pin(report_pins(events)),
    );
    let artifacts = Artifacts::create(artifacts_dir.to_path_buf(), events.secrets().clone())?;
    events.progress(format!(
        "checking the site of {}: {} nodes, LB {}{}",
        site.inventory.display(),
        nodes.len(),
        site.lb,
        site.deployer
            .map(|d| format!(", deploy host {d}"))
            .unwrap_or_default()
    ));
    Ok(RunContext::new(
        id.to_owned(),
        scenario,
        provider,
        remote,
        key,
        events.clone(),
        artifacts,
        spec,
        topology,
    ))
}

/// The checks against the site as installed. Every host is asked once first: one whose key
/// the policy refuses stops the check (exit 3); one that does not answer is left to the
/// checks, whose diagnosis names it.
pub async fn checkpoint(ctx: &RunContext) -> Result<Checked> {
    let hosts = ctx.topology().hosts;
    let probes = hosts
        .iter()
        .map(|h| ctx.run(&h.name, "true", Duration::from_secs(15)));
    futures::future::join_all(probes).await;
    if let Some(refusal) = ctx.host_key_refusals().into_iter().next() {
        return Err(Error::Infrastructure(format!(
            "{refusal}\nif the host was rebuilt on purpose, update the known_hosts file given with --known-hosts"
        )));
    }
    Ok(check::checkpoint(ctx, &Expectations::installed()).await)
}

/// The one key the inventory names with `ansible_ssh_private_key_file=`.
fn key_file_of(path: &Path, text: &str) -> Result<PathBuf> {
    let mut files: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .filter_map(|(n, l)| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("ansible_ssh_private_key_file="))
                .map(|f| (n + 1, f.to_owned()))
        })
        .collect();
    files.dedup_by(|a, b| a.1 == b.1);
    match files.as_slice() {
        [] => Err(Error::Invalid {
            rendered: format!(
                "error: {}: no line names `ansible_ssh_private_key_file`; give the key with --identity",
                path.display()
            ),
        }),
        [(_, file)] => {
            let file = PathBuf::from(file);
            Ok(if file.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(file)
            } else {
                file
            })
        }
        [(_, first), (line, other), ..] => Err(Error::Invalid {
            rendered: format!(
                "error: {}:{line}: field `ansible_ssh_private_key_file`: `{other}` differs from `{first}`; acura-ha uses one key for every host: give it with --identity",
                path.display()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inventorys_one_key_or_an_error_at_its_line() {
        let p = Path::new("site/ha_env_file");
        let one = "m1 ansible_ssh_host=10.0.0.1 ansible_ssh_private_key_file=id_site\nm2 ansible_ssh_host=10.0.0.2 ansible_ssh_private_key_file=id_site\n";
        assert_eq!(key_file_of(p, one).unwrap(), PathBuf::from("site/id_site"));
        let none = "m1 ansible_ssh_host=10.0.0.1\n";
        assert!(key_file_of(p, none)
            .unwrap_err()
            .to_string()
            .contains("give the key with --identity"));
        let two = "m1 ansible_ssh_host=10.0.0.1 ansible_ssh_private_key_file=/k1\nm2 ansible_ssh_host=10.0.0.2 ansible_ssh_private_key_file=/k2\n";
        assert_eq!(
            key_file_of(p, two).unwrap_err().to_string(),
            "error: site/ha_env_file:2: field `ansible_ssh_private_key_file`: `/k2` differs from `/k1`; acura-ha uses one key for every host: give it with --identity"
        );
    }
}
