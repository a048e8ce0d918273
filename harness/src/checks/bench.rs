//! The check benchmark: the full parallel check set against the topology as it is, and, in the
//! same run, the guide's way of doing the same checks: one shell command after another from
//! the deploy host (`nc -vz -w 2` per port, `curl`, `openssl s_client`, `nslookup`, kubectl and
//! etcdctl over ssh on a node). Prints both times and their ratio.
//!
//! The sequential script probes the same cells as the matrix's deploy-host and node rows (the
//! harness row has no shell equivalent: it is outside the topology), and sends the log records
//! the shell can make (plain and gzip; zlib and chunked GELF need more than `nc -u`).

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::checkpoint::{run_checkpoint, CheckpointReport};
use super::etcd;
use super::expectations::{Expectations, Stage};
use super::kibana;
use super::reachability::{self, Vantage};
use super::resources;
use crate::context::RunContext;
use crate::parse::nc;
use crate::remote::shell_quote;
use crate::scenario::Credentials;
use crate::topology::{Host, Topology};

/// The whole sequential script may take this long (a dead node costs `nc -w 2` per port).
const SEQUENTIAL_DEADLINE: Duration = Duration::from_secs(900);
const NC_MARK: &str = "NC ";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    /// `healthy`, `node-2 powered off`, …
    pub label: String,
    #[serde(with = "crate::remote::millis")]
    pub parallel: Duration,
    pub parallel_checks: usize,
    pub parallel_failures: Vec<String>,
    #[serde(with = "crate::remote::millis")]
    pub sequential: Duration,
    /// Commands the script ran, one after another.
    pub sequential_commands: usize,
    /// Of its `nc -vz` probes: how many connected, out of how many.
    pub sequential_nc_succeeded: usize,
    pub sequential_nc: usize,
    /// Why the sequential script could not run to its end, if it could not.
    pub sequential_error: Option<String>,
    /// The causes the diagnosis named for the parallel set's failures (`rule: cause`).
    #[serde(default)]
    pub diagnosis: Vec<String>,
}

impl BenchReport {
    /// How many times longer the sequential approach took.
    pub fn ratio(&self) -> f64 {
        self.sequential.as_secs_f64() / self.parallel.as_secs_f64().max(1e-3)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:", self.label)?;
        writeln!(
            f,
            "  parallel checks    {:>8.1} s  ({} checks, {} failed)",
            self.parallel.as_secs_f64(),
            self.parallel_checks,
            self.parallel_failures.len()
        )?;
        writeln!(
            f,
            "  guide, sequential  {:>8.1} s  ({} commands from the deploy host; {} of {} nc probes connected)",
            self.sequential.as_secs_f64(),
            self.sequential_commands,
            self.sequential_nc_succeeded,
            self.sequential_nc
        )?;
        if let Some(e) = &self.sequential_error {
            writeln!(f, "  sequential script stopped: {e}")?;
        }
        for cause in &self.diagnosis {
            writeln!(f, "  diagnosis          {cause}")?;
        }
        write!(f, "  ratio              {:>8.1}×", self.ratio())
    }
}

/// Time both approaches against the topology as `expectations` describe it; the parallel
/// set's report comes back too, for its diagnosis.
pub async fn run(
    ctx: &RunContext,
    expectations: &Expectations,
    label: &str,
) -> (BenchReport, CheckpointReport) {
    let topology = ctx.topology();
    let started = Instant::now();
    let report = run_checkpoint(ctx, &format!("bench {label}"), expectations).await;
    let parallel = started.elapsed();

    let credentials = &ctx.scenario().product.kibana;
    let script = sequential_script(&topology, expectations, &ctx.scenario().user, credentials);
    let started = Instant::now();
    let (output, sequential_error) = match topology.deployer() {
        None => (
            String::new(),
            Some("no deploy host in the topology".to_owned()),
        ),
        Some(deployer) => match ctx
            .run(&deployer.name, &script.text, SEQUENTIAL_DEADLINE)
            .await
        {
            Ok(out) => (out.stdout, None),
            Err(e) => (String::new(), Some(e.to_string())),
        },
    };
    let sequential = started.elapsed();
    let (nc_total, nc_ok) = nc_outcomes(&output);
    let bench = BenchReport {
        label: label.to_owned(),
        parallel,
        parallel_checks: report.observations.len(),
        parallel_failures: report.failures.clone(),
        sequential,
        sequential_commands: script.commands,
        sequential_nc_succeeded: nc_ok,
        sequential_nc: nc_total,
        sequential_error,
        diagnosis: Vec::new(),
    };
    (bench, report)
}

/// One of the guide's loops: `nc -vz -w 2` to one port on each address in turn.
struct PortLoop {
    port: u16,
    addresses: Vec<String>,
}

impl PortLoop {
    fn text(&self) -> String {
        format!(
            "for i in {}; do nc -vz -w 2 $i {}; done",
            self.addresses.join(" "),
            self.port
        )
    }
}

/// A row's TCP cells as loops, one per port, in the order the ports first appear.
fn port_loops(cells: &[reachability::Planned]) -> Vec<PortLoop> {
    let mut loops: Vec<PortLoop> = Vec::new();
    for c in cells
        .iter()
        .filter(|c| c.protocol == super::ports::Protocol::Tcp)
    {
        let address = c.address.to_string();
        match loops.iter_mut().find(|l| l.port == c.port) {
            Some(l) => l.addresses.push(address),
            None => loops.push(PortLoop {
                port: c.port,
                addresses: vec![address],
            }),
        }
    }
    loops
}

/// The guide's commands as one shell script for the deploy host.
pub struct Script {
    pub text: String,
    pub commands: usize,
}

struct Builder {
    lines: Vec<String>,
    commands: usize,
    user: String,
}

impl Builder {
    fn local(&mut self, command: String) {
        self.commands += 1;
        self.lines.push(format!("{command} >/dev/null 2>&1"));
    }

    /// `for i in A B C; do nc -vz -w 2 $i PORT; done` on the deploy host.
    fn nc_loop(&mut self, l: &PortLoop) {
        self.commands += l.addresses.len();
        self.lines
            .push(format!("{} 2>&1 | sed 's/^/{NC_MARK}/'", l.text()));
    }

    /// The loops run on `host` over one ssh session, their nc lines marked.
    fn on_loops(&mut self, host: &Host, loops: &[PortLoop]) {
        self.commands += loops.iter().map(|l| l.addresses.len()).sum::<usize>();
        let texts: Vec<String> = loops.iter().map(PortLoop::text).collect();
        let ssh = self.ssh(host, &texts);
        self.lines.push(format!(
            "{ssh} 2>&1 | grep -E '^(Connection to|nc: )' | sed 's/^/{NC_MARK}/'"
        ));
    }

    /// Commands run on `host` over one ssh session, one after another, their output dropped.
    fn on(&mut self, host: &Host, commands: Vec<String>) {
        self.commands += commands.len();
        let ssh = self.ssh(host, &commands);
        self.lines.push(format!("{ssh} >/dev/null 2>&1"));
    }

    /// The ssh command line running `commands` on `host`.
    fn ssh(&self, host: &Host, commands: &[String]) -> String {
        format!(
            "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=2 {}@{} {}",
            self.user,
            host.address,
            shell_quote(&commands.join("; "))
        )
    }
}

pub fn sequential_script(
    topology: &Topology,
    expect: &Expectations,
    user: &str,
    credentials: &Credentials,
) -> Script {
    let probe = &topology.network.probe_name;
    let mut b = Builder {
        lines: vec!["set +e".to_owned()],
        commands: 0,
        user: user.to_owned(),
    };
    let live = expect.live_members(topology);
    // The shell does not know which host is down: the guide's loops run over every node, the
    // dead one included (`for i in X Y Z; do nc -vz -w 2 $i 22; done`), and each probe of a
    // dead host costs its whole timeout.
    let every = Expectations {
        down: Default::default(),
        ..expect.clone()
    };

    // Preflight on every node: C1, C2, the nameservers, C3, sizing.
    for node in topology.nodes().filter(|n| every.in_cluster(&n.name)) {
        b.on(
            node,
            vec![
                "cat /etc/resolv.conf".into(),
                format!("nslookup {probe}"),
                format!(
                    "for ns in $(awk '/^nameserver/ {{print $2}}' /etc/resolv.conf); do nslookup -timeout=2 -retry=1 {probe} $ns; done"
                ),
                "hostname".into(),
                resources::COMMAND.into(),
            ],
        );
    }

    // The matrix's rows that start inside the topology: per port, the guide's loop over the
    // hosts, one nc at a time.
    let plan = reachability::plan(topology, &every);
    for (source, cells) in &plan.rows {
        let loops = port_loops(cells);
        match source {
            Vantage::Harness => {}
            Vantage::Host(h) if Some(h) == topology.deployer().map(|d| &d.name) => {
                for l in loops {
                    b.nc_loop(&l);
                }
            }
            Vantage::Host(h) => {
                if let Some(host) = topology.host(h) {
                    b.on_loops(host, &loops);
                }
            }
        }
    }

    // The cluster, from the first live member.
    if expect.stage >= Stage::ClusterInstalled {
        if let Some(first) = live.first() {
            let name = first.name.as_str();
            b.on(
                first,
                vec![
                    crate::parse::get_pods::JSON.into(),
                    "kubectl get nodes -o json".into(),
                    etcd::member_list_command(name),
                    etcd::endpoint_status_command(name),
                    etcd::endpoint_health_command(name),
                ],
            );
        }
    }

    // The product through the LB, and the log path.
    if let (Some(lb), true) = (topology.lb(), expect.stage >= Stage::AcuraInstalled) {
        let ip = lb.address;
        b.local(format!(
            "curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{ip}/"
        ));
        for port in [443, 4443] {
            b.local(format!(
                "echo | openssl s_client -connect {ip}:{port} 2>/dev/null | openssl x509 -noout -subject -ext subjectAltName"
            ));
        }
        b.local(format!(
            "curl -sk -o /dev/null -w '%{{http_code}}' https://{ip}/"
        ));
        b.local(format!(
            "curl -sk -o /dev/null -w '%{{http_code}}' https://{ip}:4443/"
        ));
        b.local(format!("curl -sk https://{ip}:6443/healthz"));
        b.local(format!(
            "curl -sk -i https://{ip}:15000/v2/ || curl -s -i http://{ip}:15000/v2/"
        ));
        if let Some(first) = live.first() {
            let url = kibana::search_url(&format!("http://{}:{}", first.address, kibana::PORT));
            for (n, compress) in [("plain", "cat"), ("gzip", "gzip -c")] {
                let nonce = format!("{:032x}", rand::random::<u128>());
                let record = format!(
                    r#"{{"version":"1.1","host":"deployer","short_message":"acura-ha bench {n}","_acura_ha_nonce":"{nonce}"}}"#
                );
                b.local(format!(
                    "printf '%s' {} | {compress} | nc -u -w 1 {ip} 12201",
                    shell_quote(&record)
                ));
                let body = kibana::search_body(std::slice::from_ref(&nonce)).to_string();
                b.local(format!(
                    "for i in $(seq 1 45); do curl -s -u {} -H 'kbn-xsrf: acura-ha' -H 'content-type: application/json' -X POST {} -d {} | grep -q {nonce} && break; sleep 1; done",
                    shell_quote(&format!("{}:{}", credentials.user, credentials.password)),
                    shell_quote(&url),
                    shell_quote(&body)
                ));
            }
        }
    }
    Script {
        text: b.lines.join("\n"),
        commands: b.commands,
    }
}

/// `(probes, connected)` among the script's marked nc lines.
fn nc_outcomes(output: &str) -> (usize, usize) {
    let lines: String = output
        .lines()
        .filter_map(|l| l.strip_prefix(NC_MARK))
        .map(|l| format!("{l}\n"))
        .collect();
    match nc::parse(&lines) {
        Ok(probes) => (
            probes.len(),
            probes
                .iter()
                .filter(|p| p.outcome == nc::Outcome::Succeeded)
                .count(),
        ),
        Err(_) => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{h, topology};

    fn script(expect: &Expectations) -> Script {
        sequential_script(&topology(), expect, "root", &Credentials::default())
    }

    /// How many nc runs the deploy host's own loops spell out.
    fn deployer_probes(s: &Script) -> usize {
        s.text
            .lines()
            .filter(|l| l.contains("do nc -vz"))
            .filter_map(|l| l.strip_prefix("for i in "))
            .map(|l| l.split("; do").next().unwrap().split(' ').count())
            .sum()
    }

    #[test]
    fn the_script_runs_the_guides_loops_over_the_matrixs_inside_rows() {
        let s = script(&Expectations::installed());
        // The deploy host's row: 6 TCP ports on the LB, 9 on each of three nodes.
        assert_eq!(deployer_probes(&s), 6 + 3 * 9, "{}", s.text);
        assert!(
            s.text.contains("for i in 10.213.7.10 10.213.7.11 10.213.7.12 10.213.7.13; do nc -vz -w 2 $i 22; done"),
            "{}",
            s.text
        );
        let ssh = s.text.lines().filter(|l| l.starts_with("ssh ")).count();
        // Preflight on 3 nodes, 3 node rows, the cluster reads.
        assert_eq!(ssh, 3 + 3 + 1);
        assert!(s.text.contains("nc -u -w 1 10.213.7.10 12201"));
        assert!(s.commands > deployer_probes(&s) + ssh, "{}", s.commands);
    }

    #[test]
    fn a_down_node_is_probed_like_the_guides_loops_probe_it() {
        let mut e = Expectations::installed();
        e.down.insert(h("node-2"));
        let healthy = script(&Expectations::installed());
        let s = script(&e);
        assert_eq!(deployer_probes(&s), deployer_probes(&healthy));
        assert!(s.text.contains("@10.213.7.12 "), "{}", s.text);
        assert_eq!(s.commands, healthy.commands);
        // The cluster is read on the first live member.
        let cluster = s
            .text
            .lines()
            .find(|l| l.contains("kubectl get nodes"))
            .unwrap();
        assert!(cluster.contains("@10.213.7.11 "), "{cluster}");
    }

    #[test]
    fn marked_nc_lines_are_counted_and_the_rest_ignored() {
        let out = "NC Connection to 10.213.7.11 22 port [tcp/ssh] succeeded!\n\
                   308 https://10.213.7.10/\n\
                   NC nc: connect to 10.213.7.12 port 22 (tcp) timed out: Operation now in progress\n\
                   NC Connection to 10.213.7.13 22 port [tcp/ssh] succeeded!\n";
        assert_eq!(nc_outcomes(out), (3, 2));
    }

    #[test]
    fn the_ratio_is_sequential_over_parallel() {
        let r = BenchReport {
            label: "healthy".into(),
            parallel: Duration::from_millis(2500),
            parallel_checks: 9,
            parallel_failures: vec![],
            sequential: Duration::from_secs(40),
            sequential_commands: 120,
            sequential_nc_succeeded: 101,
            sequential_nc: 101,
            sequential_error: None,
            diagnosis: vec![],
        };
        assert_eq!(r.ratio(), 16.0);
        insta::assert_snapshot!("bench_report", r.to_string());
    }
}
