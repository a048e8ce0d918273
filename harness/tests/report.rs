//! The HTML report of a record made from events by hand (a run that installed, powered a node
//! off under the availability probe, and saw a port dropped): every section rendered, and,
//! in headless Chromium, seen as a person would see it with nothing fetched and no error
//! logged. The detectors themselves are shown to work on pages that do fetch and do log.

mod support;

use std::time::Duration;

use acura_ha::checks::{Cell, CellState, Findings, ReachabilityFindings, Vantage};
use acura_ha::events::{EventKind, Outcome, RunEvent, WindowKind};
use acura_ha::finding::{Diagnosis, Finding, Symptom};
use acura_ha::procedure::CommandId;
use acura_ha::report::browser;
use acura_ha::run_record::RunRecord;
use acura_ha::topology::{HostName, Protocol};

fn at(ms: u64, kind: EventKind) -> RunEvent {
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    RunEvent {
        timestamp: start + chrono::Duration::milliseconds(ms as i64),
        elapsed: Duration::from_millis(ms),
        kind,
    }
}

fn matrix(dropped: bool) -> serde_json::Value {
    let mut cells = Vec::new();
    for source in ["deployer", "node-1", "node-3"] {
        for dest in ["node-1", "node-2", "node-3"] {
            if source == dest {
                continue;
            }
            for port in [22u16, 443, 4443] {
                let state = if dropped && dest == "node-3" && port == 4443 {
                    CellState::TimedOut
                } else {
                    CellState::Open
                };
                cells.push(Cell {
                    source: Vantage::Host(HostName::from(source)),
                    destination: HostName::from(dest),
                    port,
                    protocol: Protocol::Tcp,
                    state,
                    latency_ms: Some(1),
                    detail: None,
                });
            }
        }
    }
    serde_json::to_value(Findings::Reachability(ReachabilityFindings { cells })).unwrap()
}

/// The events of a run that installed, powered a node off and saw a port dropped.
fn events() -> Vec<RunEvent> {
    let mut events = vec![
        at(
            0,
            EventKind::RunStarted {
                run_id: "12071000-abcd".into(),
                scenario: "report <check>".into(),
                provider: "docker".into(),
                steps: 3,
            },
        ),
        at(
            0,
            EventKind::StepStarted {
                index: 0,
                line: 10,
                name: "install-masters".into(),
            },
        ),
    ];
    for n in 1..=5u8 {
        events.push(at(
            1000 * u64::from(n),
            EventKind::CommandFinished {
                id: Some(CommandId(n)),
                host: HostName::from("deployer"),
                command: format!("command {n}"),
                exit_status: Some(0),
                passed: true,
                duration: Duration::from_millis(800),
                artifact: format!("commands/{n:04}.log").into(),
                excerpt: Some(format!("line of C{n} <output>")),
            },
        ));
    }
    events.extend([
        at(
            6000,
            EventKind::StepFinished {
                index: 0,
                name: "install-masters".into(),
                outcome: Outcome::Passed,
                duration: Duration::from_millis(6000),
                message: None,
            },
        ),
        at(
            6000,
            EventKind::StepStarted {
                index: 1,
                line: 11,
                name: "fault power-off node-2".into(),
            },
        ),
        at(
            6000,
            EventKind::Window {
                label: "power-off node-2".into(),
                kind: WindowKind::Fault,
                host: Some(HostName::from("node-2")),
                open: true,
            },
        ),
        at(
            7000,
            EventKind::StepFinished {
                index: 1,
                name: "fault power-off node-2".into(),
                outcome: Outcome::Passed,
                duration: Duration::from_millis(1000),
                message: None,
            },
        ),
        at(
            7000,
            EventKind::StepStarted {
                index: 2,
                line: 12,
                name: "checkpoint degraded".into(),
            },
        ),
        at(
            9000,
            EventKind::CheckFinished {
                checkpoint: "degraded".into(),
                check: "reachability".into(),
                outcome: Outcome::Failed,
                duration: Duration::from_millis(2000),
                message: Some("node-3:4443/tcp timed out from everywhere".into()),
                findings: Some(matrix(true)),
            },
        ),
        at(
            9000,
            EventKind::Diagnosed {
                checkpoint: "degraded".into(),
                diagnosis: Diagnosis {
                    findings: vec![Finding {
                        rule: "port-dropped".into(),
                        cause: "a firewall on node-3 drops 4443/tcp".into(),
                        evidence: vec!["every source timed out".into()],
                        explains: vec![Symptom {
                            check: "reachability".into(),
                            text: "deployer → node-3:4443/tcp: timed out".into(),
                        }],
                        remedy: "open 4443/tcp on node-3".into(),
                    }],
                    unexplained: Vec::new(),
                },
            },
        ),
        at(
            9500,
            EventKind::Window {
                label: "power-off node-2".into(),
                kind: WindowKind::Fault,
                host: Some(HostName::from("node-2")),
                open: false,
            },
        ),
        at(
            9500,
            EventKind::Record {
                key: "availability".into(),
                value: serde_json::json!({
                    "summary": "60 requests through the LB at 20.0 Hz, 4 failed",
                    "started": "2026-12-07T10:00:06Z",
                    "total_downtime_ms": 200,
                    "outages": [{"from_ms": 1000, "to_ms": 1200, "failed_requests": 4}],
                    "series": [
                        {"from_ms": 0, "requests": 20, "failures": 0, "max_latency_ms": 9, "median_latency_ms": 3},
                        {"from_ms": 1000, "requests": 20, "failures": 4, "max_latency_ms": 1000, "median_latency_ms": 4},
                        {"from_ms": 2000, "requests": 20, "failures": 0, "max_latency_ms": 8, "median_latency_ms": 3}
                    ]
                }),
            },
        ),
        at(
            9600,
            EventKind::RunFinished {
                outcome: Outcome::Failed,
                exit_code: 1,
                message: Some("step 3 `checkpoint degraded` failed".into()),
            },
        ),
    ]);
    events
}

/// A record as a run's events build it.
fn record() -> RunRecord {
    let mut record = RunRecord::new();
    for e in &events() {
        record.apply(e);
    }
    record
}

/// Each event as `--events` streams it: one JSON object per line, following its schema.
#[test]
fn streamed_events_follow_their_schema() {
    for event in events() {
        let line = acura_ha::reporter::EventStream::line(&event);
        assert!(!line.contains('\n'), "one line: {line}");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        support::assert_follows_schema("events", &value);
    }
}

#[test]
fn every_section_is_rendered_from_the_record_alone_and_text_is_escaped() {
    let record = record();
    // What a tool reads back is what was written.
    let back: RunRecord = serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
    support::assert_follows_schema("run-record", &serde_json::to_value(&record).unwrap());
    let page = acura_ha::report::render(&back);
    assert_eq!(page, acura_ha::report::render(&record));
    for id in acura_ha::report::SECTIONS {
        assert!(page.contains(&format!(r#"<section id="{id}">"#)), "{id}");
    }
    assert!(page.contains("report &lt;check&gt;"), "titles are escaped");
    assert!(
        page.contains("line of C3 &lt;output&gt;"),
        "excerpts are escaped"
    );
    assert!(!page.contains("<script"), "no script at all");
    assert!(page.contains(r#"class="window fault""#));
    assert!(page.contains(r#"data-rule="port-dropped""#));
    assert_eq!(page.matches(r#"<td class="timed-out""#).count(), 2);
    assert_eq!(back.windows[0].from_ms, 6000);
    assert_eq!(back.windows[0].to_ms, Some(9500));
    assert_eq!(back.commands[2].started_ms, 2200);
}

#[test]
fn headless_chromium_sees_every_section_fetches_nothing_and_logs_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, acura_ha::report::render(&record())).unwrap();
    let seen = browser::open(&page, Duration::from_secs(60)).unwrap();
    assert!(seen.requests.is_empty(), "{:?}", seen.requests);
    assert!(seen.console_errors.is_empty(), "{:?}", seen.console_errors);
    let f = &seen.facts;
    assert_eq!(f.sections, acura_ha::report::SECTIONS);
    assert_eq!(f.verdict, "failed");
    assert_eq!(f.findings, ["port-dropped"]);
    assert_eq!(f.timeline_windows, 1);
    assert_eq!(f.command_rows, 5);
    assert_eq!(f.matrix_cells, 21);
    assert_eq!((f.availability_bars, f.outages), (3, 1));
    assert!(seen.screenshot_png.starts_with(b"\x89PNG"), "a PNG");
    // Kept with the suite's artifacts, for a person to look at.
    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("report-by-hand.png"), &seen.screenshot_png).unwrap();
    std::fs::copy(&page, artifacts.join("report-by-hand.html")).unwrap();
}

/// The detectors see what a page that is not self-contained does.
#[test]
fn a_page_that_fetches_or_logs_is_seen_doing_so() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("leaky.html");
    std::fs::write(
        &page,
        r#"<!DOCTYPE html><html><body><section id="verdict"></section>
<img src="http://report-assets.invalid/logo.png"><script>console.error("boom")</script></body></html>"#,
    )
    .unwrap();
    let seen = browser::open(&page, Duration::from_secs(60)).unwrap();
    assert!(
        seen.requests
            .iter()
            .any(|r| r.contains("report-assets.invalid")),
        "{:?}",
        seen.requests
    );
    assert!(
        seen.console_errors.iter().any(|e| e.contains("boom")),
        "{:?}",
        seen.console_errors
    );
    assert_eq!(seen.facts.sections, ["verdict"]);
}

/// The same run where nothing was dropped: the matrix open, nothing to diagnose, passed.
fn healthy() -> RunRecord {
    let mut r = record();
    r.checks[0].findings = Some(matrix(false));
    r.checks[0].outcome = Outcome::Passed;
    r.checks[0].message = None;
    r.diagnoses.clear();
    r.outcome = Some(Outcome::Passed);
    r.exit_code = Some(0);
    r.message = None;
    r
}

#[test]
fn a_diff_of_a_healthy_and_a_broken_checkpoint_names_exactly_the_changed_cells_and_the_new_finding()
{
    use acura_ha::run_diff::{diff, Threshold};
    let d = diff(&healthy(), &record(), Threshold::default());
    assert!(!d.is_same_result());
    let cells: Vec<(&str, Option<&str>, Option<&str>)> = d
        .cells
        .iter()
        .map(|c| (c.cell.as_str(), c.from.as_deref(), c.to.as_deref()))
        .collect();
    assert_eq!(
        cells,
        [
            (
                "deployer → node-3:4443/tcp",
                Some("open"),
                Some("timed out")
            ),
            ("node-1 → node-3:4443/tcp", Some("open"), Some("timed out")),
        ]
    );
    assert_eq!(d.findings.len(), 1);
    assert_eq!(
        (d.findings[0].change, d.findings[0].rule.as_str()),
        ("new", "port-dropped")
    );
    assert_eq!(d.checks.len(), 1, "{:?}", d.checks);
    assert!(d.verdict.is_some());
    let text = acura_ha::run_diff::render_text(&d);
    assert!(
        text.contains("verdict: passed (exit 0) → failed (exit 1)"),
        "{text}"
    );
    assert!(
        text.contains("finding new degraded: [port-dropped]"),
        "{text}"
    );
}

#[test]
fn a_diff_of_two_like_runs_keeps_the_verdict_and_names_the_step_that_moved() {
    use acura_ha::run_diff::{diff, Threshold};
    let a = record();
    let mut b = record();
    b.steps[0].duration_ms = 15_000; // install-masters: 6 s → 15 s
    b.steps[1].duration_ms = 1_150; // +15 %: below the threshold
    let d = diff(&a, &b, Threshold::default());
    assert!(d.is_same_result(), "{d:?}");
    assert!(d.verdict.is_none());
    assert_eq!(d.steps.len(), 1, "{:?}", d.steps);
    assert_eq!(d.steps[0].name, "install-masters");
    assert_eq!(d.steps[0].change_pct, Some(150.0));
    let slowest = d.slowest_step.as_ref().unwrap();
    assert_eq!(
        (slowest.name.as_str(), slowest.to_ms),
        ("install-masters", Some(15_000))
    );
    let text = acura_ha::run_diff::render_text(&d);
    assert!(text.contains("verdict: unchanged"), "{text}");
    assert!(
        text.contains("moved step 1 `install-masters`: 6.0s → 15.0s (+150.0%)"),
        "{text}"
    );
}

fn acura_ha(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Through the binary: `report` renders a record to the same page the run wrote, `diff`
/// prints text, JSON on `--json -` and an HTML page, and exits 1 on a changed result; a file
/// that is not a record is invalid input named by line, column and field, and a record of a
/// newer format is refused by its version.
#[test]
fn report_and_diff_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    std::fs::write(&a, serde_json::to_string_pretty(&healthy()).unwrap()).unwrap();
    std::fs::write(&b, serde_json::to_string_pretty(&record()).unwrap()).unwrap();
    let html = dir.path().join("out/report.html");
    let (code, _, err) = acura_ha(&[
        "report".as_ref(),
        b.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read_to_string(&html).unwrap(),
        acura_ha::report::render(&record())
    );

    let diff_html = dir.path().join("diff.html");
    let (code, out, err) = acura_ha(&[
        "diff".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--json".as_ref(),
        "-".as_ref(),
        "--html".as_ref(),
        diff_html.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    support::assert_follows_schema("diff", &json);
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["cells"].as_array().unwrap().len(), 2);
    assert!(std::fs::read_to_string(&diff_html)
        .unwrap()
        .contains("port-dropped"));
    let (code, out, _) = acura_ha(&["diff".as_ref(), a.as_os_str(), a.as_os_str()]);
    assert_eq!(code, Some(0));
    assert!(out.contains("same result"), "{out}");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"format_version\": 1,\n  \"steps\": 7\n}\n").unwrap();
    let (code, _, err) = acura_ha(&[
        "report".as_ref(),
        bad.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("bad.json: line 3, column") && err.contains("field `steps`"),
        "{err}"
    );
    std::fs::write(&bad, r#"{"format_version": 99}"#).unwrap();
    let (code, _, err) = acura_ha(&["diff".as_ref(), bad.as_os_str(), a.as_os_str()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("a run record of format 99"), "{err}");
}

/// JUnit keeps stable names (`<scenario>::<checkpoint>::<check>`, `<scenario>::command::Cnn`),
/// puts the checkpoint's diagnosis into a failing check's text, and a command's output into
/// its `system-out`.
#[test]
fn junit_names_are_stable_and_failures_carry_the_diagnosis_and_output() {
    use acura_ha::reporter::{JunitReporter, Reporter};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit.xml");
    let mut junit = JunitReporter::new(path.clone());
    for e in events() {
        junit.event(&e);
    }
    junit.finish().unwrap();
    let xml = std::fs::read_to_string(&path).unwrap();
    for name in [
        "report &lt;check&gt;::degraded::reachability",
        "report &lt;check&gt;::degraded::diagnosis",
        "report &lt;check&gt;::command::C01",
        "report &lt;check&gt;::command::C05",
        "report &lt;check&gt;::step::01-install-masters",
    ] {
        assert!(xml.contains(&format!(r#"name="{name}""#)), "{name}:\n{xml}");
    }
    let reachability = xml
        .split("<testcase")
        .find(|c| c.contains("::degraded::reachability"))
        .unwrap();
    assert!(reachability.contains("<failure"), "{reachability}");
    assert!(
        reachability.contains("diagnosis of degraded"),
        "{reachability}"
    );
    assert!(reachability.contains("[port-dropped]"), "{reachability}");
    let c3 = xml
        .split("<testcase")
        .find(|c| c.contains("::command::C03"))
        .unwrap();
    assert!(
        c3.contains("<system-out>line of C3 &lt;output&gt;</system-out>"),
        "{c3}"
    );
}
