//! The run's L2 network between VMs, in one of two shapes.
//!
//! - `Bridge` (root): a Linux bridge with the gateway address and one tap per VM. The host
//!   reaches every VM at its run address, as with docker. Forwarding off the bridge is
//!   disabled, so nothing a VM sends leaves the run's network.
//! - `User` (no privileges needed): a hub — a QEMU process with no machine, whose stream
//!   sockets (one per host, on the file system) are joined by an emulated hub — carries the
//!   run's network; each VM also has a user-mode NIC, isolated (`restrict=on`), whose only use
//!   is the SSH port forwarded to loopback, which is where the harness connects.
//!
//! Links carry their run in their alias (`acura-ha.run=<id>`), like docker labels, so `gc`
//! finds them without any state.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Run subnets are `10.214.<n>.0/24` (docker runs use 10.213).
const SUBNET_PREFIX: [u8; 2] = [10, 214];
pub const PREFIX_LEN: u8 = 24;
/// The user-mode NIC's own network, QEMU's default; never routed anywhere.
pub const USER_NET_GUEST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetMode {
    Bridge,
    User,
}

impl NetMode {
    /// Bridge and taps need root and the tun device; without them, the user-mode shape.
    pub fn detect() -> NetMode {
        let root = rustix::process::geteuid().is_root();
        if root && Path::new("/dev/net/tun").exists() && find_ip().is_some() {
            NetMode::Bridge
        } else {
            NetMode::User
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetMode::Bridge => "bridge",
            NetMode::User => "user",
        }
    }
}

impl std::str::FromStr for NetMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "bridge" => Ok(NetMode::Bridge),
            "user" => Ok(NetMode::User),
            other => Err(format!(
                "unknown network mode `{other}` (expected bridge or user)"
            )),
        }
    }
}

/// The alias every link of a run carries.
pub fn alias(run_id: &str) -> String {
    format!("acura-ha.run={run_id}")
}

/// Interface names are at most 15 bytes: `ahq` + 8 hex digits of the run id's hash, then
/// `t<octet>` for a tap.
pub fn bridge_name(run_id: &str) -> String {
    let digest = Sha256::digest(run_id.as_bytes());
    format!("ahq{}", &hex::encode(digest)[..8])
}

pub fn tap_name(run_id: &str, octet: u8) -> String {
    format!("{}t{octet}", bridge_name(run_id))
}

/// The MAC of a host's NIC on the run's network (`index` 0) or its user-mode NIC (1): locally
/// administered, from the subnet and the octet, so a replaced host keeps its MAC.
pub fn mac(subnet: Ipv4Addr, octet: u8, index: u8) -> String {
    let [_, b, c, _] = subnet.octets();
    format!("52:54:{index:02x}:{b:02x}:{c:02x}:{octet:02x}")
}

/// IPv4 routes of this machine (destination, prefix length), from `/proc/net/route`.
pub fn routes() -> Vec<(Ipv4Addr, u8)> {
    std::fs::read_to_string("/proc/net/route")
        .map(|t| parse_routes(&t))
        .unwrap_or_default()
}

pub fn parse_routes(table: &str) -> Vec<(Ipv4Addr, u8)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(fields.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?;
            // The kernel prints them in host byte order of a little-endian machine.
            let dest = Ipv4Addr::from(dest.swap_bytes());
            let prefix = mask.count_ones() as u8;
            (prefix > 0).then_some((dest, prefix))
        })
        .collect()
}

fn overlaps(a: Ipv4Addr, a_len: u8, b: Ipv4Addr, b_len: u8) -> bool {
    let len = a_len.min(b_len) as u32;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(a) & mask) == (u32::from(b) & mask)
}

/// A /24 under 10.214/16 that no route of the machine covers, starting from a hash of the run
/// id so that concurrent runs rarely race for the same one.
pub fn pick_subnet(run_id: &str, taken: &[(Ipv4Addr, u8)]) -> Option<Ipv4Addr> {
    let start = run_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    (0..240u32)
        .map(|i| {
            Ipv4Addr::new(
                SUBNET_PREFIX[0],
                SUBNET_PREFIX[1],
                ((start + i * 7) % 240 + 8) as u8,
                0,
            )
        })
        .find(|candidate| {
            !taken
                .iter()
                .any(|(d, l)| overlaps(*candidate, PREFIX_LEN, *d, *l))
        })
}

fn find_ip() -> Option<PathBuf> {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

async fn ip(args: &[&str]) -> std::result::Result<(), String> {
    let program = find_ip().ok_or("`ip` not found (apt-get install iproute2)")?;
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn net_err(e: String) -> Error {
    Error::infra(format!("qemu network: {e}"))
}

/// The bridge with the run's gateway address; no forwarding off it.
pub async fn create_bridge(name: &str, run_id: &str, gateway: Ipv4Addr) -> Result<()> {
    // Where br_netfilter is loaded (docker loads it), bridged frames go through iptables'
    // FORWARD chain, whose policy docker sets to DROP: VM-to-VM traffic would vanish while
    // the host still reaches every VM. The bridge asks for no netfilter calls, and since the
    // machine-wide setting overrides that, a rule (labelled with the run) accepts them too.
    ip(&[
        "link",
        "add",
        "name",
        name,
        "type",
        "bridge",
        "nf_call_iptables",
        "0",
        "nf_call_ip6tables",
        "0",
        "nf_call_arptables",
        "0",
    ])
    .await
    .map_err(net_err)?;
    ip(&["link", "set", "dev", name, "alias", &alias(run_id)])
        .await
        .map_err(net_err)?;
    let address = format!("{gateway}/{PREFIX_LEN}");
    ip(&["addr", "add", &address, "dev", name])
        .await
        .map_err(net_err)?;
    if let Some(iptables) = find_iptables() {
        let label = alias(run_id);
        run(
            &iptables,
            &[
                "-I",
                "FORWARD",
                "-i",
                name,
                "-o",
                name,
                "-m",
                "comment",
                "--comment",
                &label,
                "-j",
                "ACCEPT",
            ],
        )
        .await
        .map_err(net_err)?;
    }
    let forwarding = format!("/proc/sys/net/ipv4/conf/{name}/forwarding");
    std::fs::write(&forwarding, "0").map_err(|e| Error::io(&forwarding, e))?;
    ip(&["link", "set", "dev", name, "up"])
        .await
        .map_err(net_err)
}

pub async fn create_tap(name: &str, run_id: &str, bridge: &str) -> Result<()> {
    ip(&["tuntap", "add", "dev", name, "mode", "tap"])
        .await
        .map_err(net_err)?;
    ip(&["link", "set", "dev", name, "alias", &alias(run_id)])
        .await
        .map_err(net_err)?;
    ip(&["link", "set", "dev", name, "master", bridge, "up"])
        .await
        .map_err(net_err)
}

fn find_iptables() -> Option<PathBuf> {
    ["/usr/sbin/iptables", "/sbin/iptables"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

async fn run(program: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{} {}: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The FORWARD rules labelled with `run_id`, as `iptables -S` prints them.
pub fn labelled_rules(listing: &str, run_id: &str) -> Vec<String> {
    let label = alias(run_id);
    listing
        .lines()
        .filter(|l| {
            l.starts_with("-A FORWARD ")
                && l.split_whitespace().any(|w| w.trim_matches('"') == label)
        })
        .map(str::to_owned)
        .collect()
}

/// Delete the run's FORWARD rules; each result names the rule.
pub async fn delete_rules_of_run(run_id: &str) -> Vec<(String, std::result::Result<(), String>)> {
    let Some(iptables) = find_iptables() else {
        return Vec::new();
    };
    let listing = match run(&iptables, &["-S", "FORWARD"]).await {
        Ok(l) => l,
        Err(e) => return vec![("FORWARD".into(), Err(e))],
    };
    let mut results = Vec::new();
    for rule in labelled_rules(&listing, run_id) {
        let words: Vec<String> = rule
            .trim_start_matches("-A ")
            .split_whitespace()
            .map(|w| w.trim_matches('"').to_owned())
            .collect();
        let mut args = vec!["-D"];
        args.extend(words.iter().map(String::as_str));
        let result = run(&iptables, &args).await.map(|_| ());
        results.push((rule, result));
    }
    results
}

pub async fn delete_link(name: &str) -> std::result::Result<(), String> {
    ip(&["link", "delete", "dev", name]).await
}

/// Links (taps first, then bridges) whose alias names `run_id`.
pub fn links_of_run(run_id: &str) -> Vec<String> {
    let wanted = alias(run_id);
    let mut links: Vec<(bool, String)> = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let alias = std::fs::read_to_string(path.join("ifalias")).ok()?;
            (alias.trim() == wanted).then(|| {
                let is_bridge = path.join("bridge").exists();
                (is_bridge, e.file_name().to_string_lossy().into_owned())
            })
        })
        .collect();
    links.sort();
    links.into_iter().map(|(_, name)| name).collect()
}

/// Run ids found in link aliases, for `gc`.
pub fn runs_with_links() -> Vec<String> {
    let mut runs: Vec<String> = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let alias = std::fs::read_to_string(e.path().join("ifalias")).ok()?;
            alias
                .trim()
                .strip_prefix("acura-ha.run=")
                .map(str::to_owned)
        })
        .collect();
    runs.sort();
    runs.dedup();
    runs
}

/// The hub's stream socket for the host at `octet`.
pub fn hub_socket(hub_dir: &Path, octet: u8) -> PathBuf {
    hub_dir.join(format!("port-{octet}.sock"))
}

/// The hub's QEMU arguments: no machine, one listening stream socket per host, all on hub 0.
pub fn hub_args(hub_dir: &Path, octets: &[u8]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-machine",
        "none",
        "-nodefaults",
        "-display",
        "none",
        "-no-user-config",
    ]
    .map(String::from)
    .to_vec();
    for octet in octets {
        args.push("-netdev".into());
        args.push(format!(
            "stream,id=port{octet},server=on,addr.type=unix,addr.path={}",
            hub_socket(hub_dir, *octet).display()
        ));
        args.push("-netdev".into());
        args.push(format!("hubport,id=hub{octet},hubid=0,netdev=port{octet}"));
    }
    args
}

/// A free TCP port on loopback for a VM's forwarded SSH.
pub fn free_loopback_port() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::infra(format!("no free loopback port: {e}")))?;
    listener
        .local_addr()
        .map_err(|e| Error::infra(format!("no free loopback port: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        br-1\t0032D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        big\t0000D60A\t00000000\t0001\t0\t0\t0\t0000FCFF\t0\t0\t0\n";

    #[test]
    fn routes_parse_from_the_kernel_table() {
        let routes = parse_routes(ROUTES);
        assert_eq!(
            routes,
            [
                (Ipv4Addr::new(10, 213, 50, 0), 24),
                (Ipv4Addr::new(10, 214, 0, 0), 14)
            ],
            "the default route covers nothing specific and is left out"
        );
    }

    #[test]
    fn the_subnet_avoids_every_route() {
        let taken = [(Ipv4Addr::new(10, 214, 0, 0), 17)];
        let subnet = pick_subnet("run-1", &taken).unwrap();
        assert!(subnet.octets()[2] >= 128, "{subnet}");
        assert_eq!(pick_subnet("run-1", &[]), pick_subnet("run-1", &[]));
        assert_eq!(
            pick_subnet("run-1", &[(Ipv4Addr::new(10, 214, 0, 0), 16)]),
            None
        );
    }

    #[test]
    fn names_fit_the_kernels_limit_and_carry_the_run() {
        let bridge = bridge_name("20250101-120000-abcdef");
        assert_eq!(bridge.len(), 11);
        assert_ne!(bridge, bridge_name("20250101-120000-abcdeg"));
        assert!(tap_name("x", 254).len() <= 15);
        assert_eq!(alias("r1"), "acura-ha.run=r1");
        assert_eq!(
            mac(Ipv4Addr::new(10, 214, 9, 0), 11, 0),
            "52:54:00:d6:09:0b"
        );
        assert_ne!(
            mac(Ipv4Addr::new(10, 214, 9, 0), 11, 1),
            mac(Ipv4Addr::new(10, 214, 9, 0), 11, 0)
        );
    }

    #[test]
    fn only_the_runs_own_forward_rules_are_found() {
        let listing = "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n\
            -A FORWARD -i ahq1 -o ahq1 -m comment --comment acura-ha.run=r1 -j ACCEPT\n\
            -A FORWARD -i ahq2 -o ahq2 -m comment --comment \"acura-ha.run=r12\" -j ACCEPT\n";
        assert_eq!(
            labelled_rules(listing, "r1"),
            ["-A FORWARD -i ahq1 -o ahq1 -m comment --comment acura-ha.run=r1 -j ACCEPT"]
        );
        assert_eq!(labelled_rules(listing, "r12").len(), 1);
        assert!(labelled_rules(listing, "r3").is_empty());
    }

    #[test]
    fn the_hub_joins_one_socket_per_host() {
        let args = hub_args(Path::new("/run/x/hub"), &[2, 11]);
        assert!(args.contains(
            &"stream,id=port11,server=on,addr.type=unix,addr.path=/run/x/hub/port-11.sock"
                .to_owned()
        ));
        assert!(args.contains(&"hubport,id=hub2,hubid=0,netdev=port2".to_owned()));
    }
}
