//! Each rule alone, on observations and facts written out by hand for the standard test
//! topology; the "vs" pairs told apart; two faults at once; and a property test: whatever the
//! observations and facts, the diagnosis never panics and accounts for every symptom once.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::checks::facts::{Facts, HostFacts};
use crate::checks::testing::{h, topology};
use crate::checks::{
    Cell, CellState, CheckName, DnsFindings, Expectations, Findings, NameserverState, NodeDns,
    Observation, ProbeLookup, ReachabilityFindings, Vantage, Verdict,
};
use crate::topology::Protocol;

const NODE_UNITS: [&str; 4] = ["etcd", "acura-apiserver", "acura-agent", "acura-services"];

/// Every host up, every service active, every port listening; the guide's nginx.conf.
fn healthy_facts() -> Facts {
    let t = topology();
    let mut hosts = BTreeMap::new();
    for host in &t.hosts {
        let mut f = HostFacts::default();
        for unit in crate::checks::facts::services(host.role, crate::checks::Stage::AcuraInstalled)
        {
            f.services.insert(unit.into(), "active".into());
        }
        for port in [
            22u16, 80, 443, 4443, 6443, 15000, 30080, 30081, 30082, 2379, 2380,
        ] {
            f.listening.insert(format!("tcp/{port}"));
        }
        f.listening.insert("udp/12201".into());
        hosts.insert(host.name.clone(), f);
    }
    let nodes: Vec<String> = t.nodes().map(|n| n.address.to_string()).collect();
    Facts {
        hosts,
        lb_conf: Some(crate::steps::render_nginx_conf(&nodes, true)),
    }
}

fn sources() -> Vec<Vantage> {
    vec![
        Vantage::Harness,
        Vantage::Host(h("deployer")),
        Vantage::Host(h("node-1")),
        Vantage::Host(h("node-2")),
        Vantage::Host(h("node-3")),
    ]
}

/// The matrix with `state` for the cells `pick` selects, open elsewhere.
fn matrix(pick: impl Fn(&Vantage, &str, u16) -> Option<CellState>) -> Observation {
    let mut cells = Vec::new();
    for source in sources() {
        for dest in ["lb", "node-1", "node-2", "node-3"] {
            if source == Vantage::Host(h(dest)) {
                continue;
            }
            for port in [22u16, 443, 4443, 2379] {
                let state = pick(&source, dest, port).unwrap_or(CellState::Open);
                cells.push(Cell {
                    source: source.clone(),
                    destination: h(dest),
                    port,
                    protocol: Protocol::Tcp,
                    state,
                    latency_ms: None,
                    detail: None,
                });
            }
        }
    }
    let reasons = cells
        .iter()
        .filter(|c| c.state != CellState::Open)
        .map(|c| format!("{}: {}, expected open", c.label(), c.state))
        .collect();
    Observation::new(
        CheckName::Reachability,
        Findings::Reachability(ReachabilityFindings { cells }),
        Verdict::from_reasons(reasons),
    )
}

fn dns(per_node: &[(&str, NameserverState)]) -> Observation {
    let mut nodes = BTreeMap::new();
    let mut reasons = Vec::new();
    for (node, state) in per_node {
        let resolved = state.answers();
        nodes.insert(
            h(node),
            NodeDns {
                nameservers: [("10.213.7.2".to_owned(), *state)].into(),
                probe: ProbeLookup {
                    resolved,
                    addresses: vec![],
                    failure: (!resolved).then(|| "timed out".into()),
                },
            },
        );
        if !resolved {
            reasons.push(format!(
                "{node}: nameserver 10.213.7.2 does not answer: timed out"
            ));
            reasons.push(format!("{node}: nslookup probe.acura.test: timed out"));
        }
    }
    Observation::new(
        CheckName::Dns,
        Findings::Dns(DnsFindings {
            probe_name: "probe.acura.test".into(),
            nodes,
        }),
        Verdict::from_reasons(reasons),
    )
}

fn failing(check: CheckName, reasons: &[&str]) -> Observation {
    Observation::unfinished(check, reasons[0].to_owned(), None).with_reasons(reasons)
}

trait WithReasons {
    fn with_reasons(self, reasons: &[&str]) -> Self;
}

impl WithReasons for Observation {
    fn with_reasons(mut self, reasons: &[&str]) -> Self {
        self.verdict = Verdict::from_reasons(reasons.iter().map(|r| r.to_string()).collect());
        self
    }
}

fn diagnose_with(observations: &[Observation], facts: &Facts, expect: &Expectations) -> Diagnosis {
    let t = topology();
    from_evidence(&Evidence::new(observations, facts, &t, expect))
}

fn rules(d: &Diagnosis) -> Vec<&str> {
    d.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn a_healthy_checkpoint_has_no_findings() {
    let d = diagnose_with(
        &[
            matrix(|_, _, _| None),
            dns(&[("node-1", NameserverState::Resolves)]),
        ],
        &healthy_facts(),
        &Expectations::installed(),
    );
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn a_port_that_times_out_from_everywhere_is_a_firewall_and_one_that_refuses_is_not_listening() {
    let dropped = diagnose_with(
        &[matrix(|_, d, p| {
            (d == "node-3" && p == 4443).then_some(CellState::TimedOut)
        })],
        &healthy_facts(),
        &Expectations::installed(),
    );
    assert_eq!(rules(&dropped), ["port-dropped"], "{dropped:?}");
    assert!(dropped.unexplained.is_empty());
    assert_eq!(dropped.findings[0].explains.len(), 4);

    let mut facts = healthy_facts();
    facts
        .hosts
        .get_mut(&h("node-3"))
        .unwrap()
        .listening
        .remove("tcp/4443");
    let refused = diagnose_with(
        &[matrix(|_, d, p| {
            (d == "node-3" && p == 4443).then_some(CellState::Refused)
        })],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&refused), ["not-listening"], "{refused:?}");
    assert!(refused.findings[0]
        .cause
        .starts_with("nothing listens on node-3:4443"));
}

#[test]
fn a_silent_host_is_down_and_explains_every_cell_to_it() {
    let mut facts = healthy_facts();
    let node2 = facts.hosts.get_mut(&h("node-2")).unwrap();
    *node2 = HostFacts {
        unreachable: Some("connect: no route to host".into()),
        ..HostFacts::default()
    };
    let d = diagnose_with(
        &[
            matrix(|s, d, _| {
                (d == "node-2" || *s == Vantage::Host(h("node-2"))).then_some(CellState::TimedOut)
            }),
            failing(
                CheckName::Hostnames,
                &["node-2: hostname: connect: no route to host"],
            ),
        ],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&d), ["host-down"], "{d:?}");
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
    let text = render(&d, 80);
    assert!(text.contains("cells to node-2 timed out"), "{text}");
}

#[test]
fn two_members_down_lose_the_quorum_which_leads() {
    let mut expect = Expectations::installed();
    expect.down.insert(h("node-2"));
    expect.down.insert(h("node-3"));
    let mut facts = healthy_facts();
    facts.hosts.remove(&h("node-2"));
    facts.hosts.remove(&h("node-3"));
    let d = diagnose_with(
        &[
            failing(
                CheckName::Etcd,
                &["node-1: unhealthy (etcdserver: request timed out)"],
            ),
            failing(CheckName::Nodes, &["node-1: Unknown, expected Ready"]),
            failing(CheckName::Https, &["lb:443: HTTP 503"]),
        ],
        &facts,
        &expect,
    );
    assert_eq!(rules(&d), ["etcd-quorum-lost"], "{d:?}");
    assert_eq!(
        d.findings[0].cause,
        "etcd lost its quorum: 1 of 3 members up, 2 needed (node-2, node-3 down)"
    );
    assert_eq!(d.explained(), 3);
    // One member down keeps the quorum: nothing to say about it.
    let mut one = Expectations::installed();
    one.down.insert(h("node-2"));
    let mut facts = healthy_facts();
    facts.hosts.remove(&h("node-2"));
    assert!(diagnose_with(&[], &facts, &one).is_empty());
}

#[test]
fn the_dns_server_down_differs_from_one_nodes_resolver() {
    use NameserverState::{Resolves, TimedOut};
    let server = diagnose_with(
        &[dns(&[
            ("node-1", TimedOut),
            ("node-2", TimedOut),
            ("node-3", TimedOut),
        ])],
        &healthy_facts(),
        &Expectations::installed(),
    );
    assert_eq!(rules(&server), ["dns-server-down"], "{server:?}");
    assert!(server.unexplained.is_empty());
    let resolver = diagnose_with(
        &[dns(&[
            ("node-1", Resolves),
            ("node-2", Resolves),
            ("node-3", TimedOut),
        ])],
        &healthy_facts(),
        &Expectations::installed(),
    );
    assert_eq!(rules(&resolver), ["resolver-misconfigured"], "{resolver:?}");
    assert!(resolver.findings[0].cause.starts_with("node-3's resolver"));
}

#[test]
fn a_stopped_service_explains_its_refused_ports_and_its_member() {
    let mut facts = healthy_facts();
    facts
        .hosts
        .get_mut(&h("node-2"))
        .unwrap()
        .services
        .insert("etcd".into(), "inactive".into());
    let d = diagnose_with(
        &[
            matrix(|_, d, p| (d == "node-2" && p == 2379).then_some(CellState::Refused)),
            failing(CheckName::Etcd, &["node-2: unhealthy (connection refused)"]),
        ],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&d), ["service-stopped"], "{d:?}");
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
}

#[test]
fn a_blackholed_upstream_without_connect_timeout_hangs_the_lb_and_two_faults_give_two_findings() {
    use NameserverState::TimedOut;
    let d = diagnose_with(
        &[
            matrix(|_, d, p| (d == "node-3" && p == 4443).then_some(CellState::TimedOut)),
            failing(CheckName::Https, &["lb:4443: no TLS handshake"]),
            dns(&[
                ("node-1", TimedOut),
                ("node-2", TimedOut),
                ("node-3", TimedOut),
            ]),
        ],
        &healthy_facts(),
        &Expectations::installed(),
    );
    assert_eq!(
        rules(&d),
        ["dns-server-down", "port-dropped", "lb-no-connect-timeout"],
        "{d:?}"
    );
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
}

#[test]
fn the_lb_without_its_udp_server_and_the_dead_nodes_udp_upstream() {
    let mut facts = healthy_facts();
    let conf = facts.lb_conf.clone().unwrap();
    facts.lb_conf = Some(crate::steps::without_udp_path(&conf));
    let d = diagnose_with(
        &[failing(
            CheckName::LogPath,
            &["plain: lb:12201/udp refused the datagram"],
        )],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&d), ["lb-config"], "{d:?}");
    assert!(d.findings[0].cause.contains("no server for 12201/udp"));

    let mut down = Expectations::installed();
    down.down.insert(h("node-2"));
    let mut facts = healthy_facts();
    facts.hosts.remove(&h("node-2"));
    let d = diagnose_with(
        &[failing(
            CheckName::LogPath,
            &["gzip: record sent to lb:12201/udp not found"],
        )],
        &facts,
        &down,
    );
    assert_eq!(rules(&d), ["udp-no-health-check"], "{d:?}");
}

/// What `bench checks` saw with node-2 powered off: records lost through the LB's UDP
/// upstream, and HTTPS through the LB hanging on the dead upstream.
#[test]
fn a_node_taken_down_explains_lost_records_and_hanging_clients_through_the_lb() {
    let mut down = Expectations::installed();
    down.down.insert(h("node-2"));
    let mut facts = healthy_facts();
    facts.hosts.remove(&h("node-2"));
    let d = diagnose_with(
        &[
            failing(
                CheckName::LogPath,
                &["gzip: record sent to lb:12201/udp not found through Kibana within 45s"],
            ),
            failing(
                CheckName::Https,
                &[
                    "http://lb/: no answer",
                    "https://lb/: no answer",
                    "https://lb:4443/: no answer",
                    "https://lb:6443/healthz: no answer",
                ],
            ),
        ],
        &facts,
        &down,
    );
    assert_eq!(
        rules(&d),
        [
            "lb-no-connect-timeout",
            "lb-no-connect-timeout",
            "lb-no-connect-timeout",
            "lb-no-connect-timeout",
            "udp-no-health-check"
        ],
        "{d:?}"
    );
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
}

/// node-1 silent behind the run's back, and the record of the deployer's UDP cell to the LB
/// handed to it: the log path's own records happened to go elsewhere, the lost cell's record
/// is still the UDP upstream's doing, not a firewall's on the LB.
#[test]
fn a_record_lost_by_a_reachability_cell_to_the_lb_is_the_udp_upstreams() {
    let (matrix, facts) = node_1_silent_losing_records_to(&[(Vantage::Host(h("deployer")), "lb")]);
    let d = diagnose_with(&[matrix], &facts, &Expectations::installed());
    assert_eq!(rules(&d), ["host-down", "udp-no-health-check"], "{d:?}");
    assert!(
        d.findings[1].cause.contains("while node-1 is down"),
        "{d:?}"
    );
    assert_eq!(d.findings[1].explains.len(), 1, "{d:?}");
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
}

/// The pods check's word on where the log pipeline's pod is bound.
fn pods_with_elk_on(node: &str) -> Observation {
    let mut f = crate::checks::PodFindings::default();
    f.measured
        .stateful
        .insert("default/elk-0".into(), node.into());
    f.measured
        .stateful
        .insert("default/mariadb-0".into(), "node-2".into());
    Observation::new(
        CheckName::Pods,
        Findings::Pods(f),
        Verdict::from_reasons(vec![]),
    )
}

/// node-1 silent, and a GELF record lost on its way from each source to its destination's
/// 12201/udp.
fn node_1_silent_losing_records_to(lost: &[(Vantage, &str)]) -> (Observation, Facts) {
    let mut facts = healthy_facts();
    facts.hosts.get_mut(&h("node-1")).unwrap().unreachable = Some("timed out".into());
    let mut matrix = matrix(|source, dest, _| {
        (dest == "node-1" || *source == Vantage::Host(h("node-1"))).then_some(CellState::TimedOut)
    });
    let Some(Findings::Reachability(r)) = &mut matrix.findings else {
        unreachable!()
    };
    let mut reasons = matrix.verdict.reasons.clone();
    for (source, dest) in lost {
        let lost = Cell {
            source: source.clone(),
            destination: h(dest),
            port: 12201,
            protocol: Protocol::Udp,
            state: CellState::TimedOut,
            latency_ms: None,
            detail: Some("record not in the log index within 45s".into()),
        };
        reasons.push(format!("{}: {}, expected open", lost.label(), lost.state));
        r.cells.push(lost);
    }
    matrix.verdict = Verdict::from_reasons(reasons);
    (matrix, facts)
}

/// The log pipeline's only pod on the silent node: records sent straight to the live nodes
/// are lost too, and its finding, not the UDP upstream's, explains them and the log path's.
/// With the pod on a live node the same loss through the LB is the UDP upstream's.
#[test]
fn the_log_pipeline_on_a_down_node_loses_records_everywhere_vs_the_udp_upstream() {
    let log_path = failing(
        CheckName::LogPath,
        &["chunked: record sent to lb:12201/udp not found through Kibana within 45s"],
    );
    let (matrix, facts) = node_1_silent_losing_records_to(&[
        (Vantage::Harness, "lb"),
        (Vantage::Harness, "node-2"),
        (Vantage::Harness, "node-3"),
    ]);
    let d = diagnose_with(
        &[matrix, log_path.clone(), pods_with_elk_on("node-1")],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&d), ["host-down", "log-pipeline-down"], "{d:?}");
    let pipeline = &d.findings[1];
    assert!(
        pipeline.cause.contains("default/elk-0 runs on node-1"),
        "{d:?}"
    );
    assert!(
        pipeline
            .evidence
            .iter()
            .any(|e| e.contains("harness → node-2:12201/udp")),
        "{d:?}"
    );
    assert!(pipeline.remedy.contains("C22–C25"), "{d:?}");
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);

    let (matrix, facts) = node_1_silent_losing_records_to(&[(Vantage::Harness, "lb")]);
    let d = diagnose_with(
        &[matrix, log_path, pods_with_elk_on("node-3")],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&d), ["host-down", "udp-no-health-check"], "{d:?}");
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
}

#[test]
fn nginx_stopped_by_a_stream_block_without_its_module_and_an_upstream_to_nowhere() {
    let t = topology();
    let nodes: Vec<String> = t.nodes().map(|n| n.address.to_string()).collect();
    let mut facts = healthy_facts();
    facts.lb_conf = Some(crate::steps::render_nginx_conf(&nodes, false));
    facts
        .hosts
        .get_mut(&h("lb"))
        .unwrap()
        .services
        .insert("nginx".into(), "failed".into());
    let d = diagnose_with(
        &[
            matrix(|_, d, p| (d == "lb" && p != 22).then_some(CellState::Refused)),
            failing(CheckName::Https, &["lb:443: no TLS handshake"]),
        ],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&d), ["lb-config"], "{d:?}");
    assert!(
        d.findings[0]
            .cause
            .contains("without loading the stream module"),
        "{d:?}"
    );
    assert!(d.findings[0].remedy.contains("load_module"));
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);

    // An upstream that sends 443 to a port where nothing listens on node-3.
    let mut facts = healthy_facts();
    let conf = facts.lb_conf.clone().unwrap();
    facts.lb_conf = Some(conf.replace("10.213.7.13:443;", "10.213.7.13:8443;"));
    let d = diagnose_with(
        &[failing(CheckName::Https, &["lb:443: no TLS handshake"])],
        &facts,
        &Expectations::installed(),
    );
    assert_eq!(rules(&d), ["lb-config"], "{d:?}");
    assert!(
        d.findings[0]
            .cause
            .contains("sends to 10.213.7.13:8443, where nothing listens on node-3:8443/tcp"),
        "{d:?}"
    );
}

#[test]
fn what_no_rule_explains_is_listed_unexplained() {
    let d = diagnose_with(
        &[failing(
            CheckName::Nodes,
            &["node-1: SchedulingDisabled, expected Ready"],
        )],
        &healthy_facts(),
        &Expectations::installed(),
    );
    assert!(d.findings.is_empty());
    assert_eq!(d.unexplained.len(), 1);
    assert!(render(&d, 80).contains("no known cause"));
}

fn arbitrary_state() -> impl Strategy<Value = CellState> {
    prop_oneof![
        Just(CellState::Open),
        Just(CellState::Refused),
        Just(CellState::TimedOut),
        Just(CellState::Unverified)
    ]
}

fn arbitrary_ns() -> impl Strategy<Value = NameserverState> {
    prop_oneof![
        Just(NameserverState::Resolves),
        Just(NameserverState::NxDomain),
        Just(NameserverState::TimedOut),
        Just(NameserverState::Unreachable),
        Just(NameserverState::Unknown)
    ]
}

const HOSTS: [&str; 7] = [
    "dns", "lb", "deployer", "node-1", "node-2", "node-3", "node-9",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_diagnosis_never_panics_and_explains_each_symptom_once(
        cells in proptest::collection::vec((0usize..7, 0usize..7, prop_oneof![Just(22u16), Just(443), Just(4443), Just(12201), any::<u16>()], any::<bool>(), arbitrary_state()), 0..40),
        ns in proptest::collection::vec((0usize..7, arbitrary_ns()), 0..6),
        reasons in proptest::collection::vec((0usize..9, "[a-z0-9 :./→()-]{0,40}"), 0..12),
        unreachable in proptest::collection::vec(0usize..7, 0..3),
        stopped in proptest::collection::vec((0usize..7, 0usize..4), 0..3),
        down in proptest::collection::vec(0usize..7, 0..3),
        conf in prop_oneof![Just(None), Just(Some(0usize)), (1usize..400).prop_map(Some)],
        junk in "[a-z{};# \n0-9:]{0,80}",
    ) {
        let mut facts = healthy_facts();
        for i in unreachable {
            facts.hosts.insert(h(HOSTS[i]), HostFacts { unreachable: Some("no route".into()), ..HostFacts::default() });
        }
        for (i, u) in stopped {
            facts.hosts.entry(h(HOSTS[i])).or_default().services.insert(NODE_UNITS[u].into(), "failed".into());
        }
        facts.lb_conf = match conf {
            None => None,
            Some(0) => Some(junk.clone()),
            // The guide's config cut anywhere, or with junk spliced in.
            Some(n) => facts.lb_conf.map(|c| {
                let at = c.char_indices().map(|(i, _)| i).nth(n).unwrap_or(c.len());
                format!("{}{junk}", &c[..at])
            }),
        };
        let mut observations = vec![];
        let cells: Vec<Cell> = cells.into_iter().map(|(s, d, port, udp, state)| Cell {
            source: if s == 0 { Vantage::Harness } else { Vantage::Host(h(HOSTS[s])) },
            destination: h(HOSTS[d]),
            port,
            protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
            state,
            latency_ms: None,
            detail: None,
        }).collect();
        let cell_reasons = cells.iter().filter(|c| c.state != CellState::Open).map(|c| format!("{}: {}, expected open", c.label(), c.state)).collect();
        observations.push(Observation::new(CheckName::Reachability, Findings::Reachability(ReachabilityFindings { cells }), Verdict::from_reasons(cell_reasons)));
        let mut nodes = BTreeMap::new();
        for (i, state) in ns {
            nodes.insert(h(HOSTS[i]), NodeDns { nameservers: [("10.213.7.2".to_owned(), state)].into(), probe: ProbeLookup { resolved: state.answers(), addresses: vec![], failure: None } });
        }
        observations.push(Observation::new(CheckName::Dns, Findings::Dns(DnsFindings { probe_name: "p".into(), nodes }), Verdict::from_reasons(vec!["node-1: x".into()])));
        for (i, text) in reasons {
            let check = CheckName::ALL[i % CheckName::ALL.len()];
            if check != CheckName::Reachability && check != CheckName::Dns {
                observations.push(Observation::unfinished(check, text, None));
            }
        }
        let mut expect = Expectations::installed();
        for i in down {
            expect.down.insert(h(HOSTS[i]));
            facts.hosts.remove(&h(HOSTS[i]));
        }
        let t = topology();
        let evidence = Evidence::new(&observations, &facts, &t, &expect);
        let total = evidence.symptoms.len();
        let d = from_evidence(&evidence);
        prop_assert_eq!(d.explained() + d.unexplained.len(), total);
        prop_assert!(d.findings.iter().all(|f| !f.explains.is_empty()));
        let text = render(&d, 60);
        prop_assert!(text.lines().all(|l| l.chars().count() <= 60 || !l.trim().contains(' ')));
    }
}

/// What a bundle keeps: observations and facts written as JSON and read back diagnose as the
/// originals do.
#[test]
fn observations_read_back_from_json_diagnose_alike() {
    let mut facts = healthy_facts();
    facts.hosts.get_mut(&h("node-2")).unwrap().unreachable = Some("timed out".into());
    let observations = vec![
        matrix(|source, dest, _| {
            (dest == "node-2" || *source == Vantage::Host(h("node-2")))
                .then_some(CellState::TimedOut)
        }),
        dns(&[
            ("node-1", NameserverState::TimedOut),
            ("node-3", NameserverState::Resolves),
        ]),
    ];
    let before = diagnose_with(&observations, &facts, &Expectations::installed());
    let json = serde_json::to_string(&observations).unwrap();
    let back: Vec<Observation> = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    let facts_back: Facts = serde_json::from_str(&serde_json::to_string(&facts).unwrap()).unwrap();
    let after = diagnose_with(&back, &facts_back, &Expectations::installed());
    assert_eq!(after, before);
    assert_eq!(
        rules(&after),
        ["host-down", "resolver-misconfigured"],
        "{after:?}"
    );
}

#[test]
fn the_rule_ids_scenarios_may_name_are_the_rules() {
    assert_eq!(rule_ids(), crate::finding::RULE_IDS);
}
