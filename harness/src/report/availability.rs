//! Availability through the LB over time, from the `availability` record: requests and
//! failures per second, the median and slowest answer, the fault windows shaded and each
//! outage annotated with its length.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::page::{duration, escape};
use super::svg::{ticks, Scale, Svg};
use super::timeline;
use crate::run_record::{RunRecord, WindowRecord};

#[derive(Deserialize)]
struct Plotted {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    started: Option<DateTime<Utc>>,
    #[serde(default)]
    series: Vec<Bucket>,
    #[serde(default)]
    outages: Vec<Outage>,
}

#[derive(Deserialize)]
struct Bucket {
    from_ms: u64,
    requests: u64,
    failures: u64,
    max_latency_ms: u64,
    median_latency_ms: u64,
}

#[derive(Deserialize)]
struct Outage {
    from_ms: u64,
    to_ms: u64,
    failed_requests: u64,
}

const LEFT: f64 = 70.0;
const RIGHT: f64 = 990.0;

/// `None` when the run had no availability probe.
pub fn render(record: &RunRecord) -> Option<String> {
    let value = record.records.get("availability")?;
    let plotted: Plotted = serde_json::from_value(value.clone()).ok()?;
    if plotted.series.is_empty() {
        return Some(format!("<p>{}</p>", escape(&plotted.summary)));
    }
    // The probe's offsets are from its own start; windows are from the run's.
    let offset = match (plotted.started, record.started) {
        (Some(p), Some(r)) => (p - r).num_milliseconds().max(0) as u64,
        _ => 0,
    };
    let span = plotted
        .series
        .last()
        .map(|b| b.from_ms + 1000)
        .unwrap_or(1000);
    let x = Scale::new(0.0, span as f64, LEFT, RIGHT);
    let windows: Vec<WindowRecord> = record
        .windows
        .iter()
        .filter(|w| w.to_ms.is_none_or(|t| t > offset) && w.from_ms < offset + span)
        .map(|w| WindowRecord {
            from_ms: w.from_ms.saturating_sub(offset),
            to_ms: w.to_ms.map(|t| t.saturating_sub(offset)),
            ..w.clone()
        })
        .collect();

    let mut svg = Svg::new(1000.0, 250.0);
    timeline::shade(&mut svg, x, &windows, span, 4.0, 214.0);
    // Requests and failures per second, from the top panel's baseline up.
    let most = plotted
        .series
        .iter()
        .map(|b| b.requests)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let count = Scale::new(0.0, most, 100.0, 20.0);
    svg.text(LEFT - 6.0, 24.0, "end", "lane", &format!("{most} req/s"));
    svg.text(LEFT - 6.0, 100.0, "end", "lane", "0");
    for b in &plotted.series {
        let x0 = x.at(b.from_ms as f64);
        let w = x.at((b.from_ms + 1000) as f64) - x0 - 0.5;
        svg.rect(
            x0,
            count.at(b.requests as f64),
            w,
            100.0 - count.at(b.requests as f64),
            "requests",
            &format!(
                "{}: {} requests, {} failed",
                duration(b.from_ms),
                b.requests,
                b.failures
            ),
        );
        if b.failures > 0 {
            svg.rect(
                x0,
                count.at(b.failures as f64),
                w,
                100.0 - count.at(b.failures as f64),
                "failures",
                &format!("{}: {} failed", duration(b.from_ms), b.failures),
            );
        }
    }
    // Latency: the median and the slowest answer of each second.
    let slowest = plotted
        .series
        .iter()
        .map(|b| b.max_latency_ms)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let latency = Scale::new(0.0, slowest, 200.0, 115.0);
    svg.text(LEFT - 6.0, 120.0, "end", "lane", &format!("{slowest} ms"));
    svg.text(LEFT - 6.0, 200.0, "end", "lane", "latency");
    let points = |f: fn(&Bucket) -> u64| -> Vec<(f64, f64)> {
        plotted
            .series
            .iter()
            .map(|b| (x.at(b.from_ms as f64 + 500.0), latency.at(f(b) as f64)))
            .collect()
    };
    svg.polyline(&points(|b| b.median_latency_ms), "latency median");
    svg.polyline(&points(|b| b.max_latency_ms), "latency max");
    for o in &plotted.outages {
        let (x0, x1) = (x.at(o.from_ms as f64), x.at(o.to_ms as f64));
        svg.rect(
            x0,
            14.0,
            (x1 - x0).max(1.0),
            190.0,
            "outage",
            &format!(
                "outage: {} ({} failed requests)",
                duration(o.to_ms - o.from_ms),
                o.failed_requests
            ),
        );
        svg.text(
            x0,
            12.0,
            "start",
            "outage-label",
            &format!("down {}", duration(o.to_ms - o.from_ms)),
        );
    }
    // The axis reads seconds from the probe's start.
    svg.line(LEFT, 214.0, RIGHT, 214.0, "axis");
    for t in ticks(span as f64 / 1000.0, 8) {
        let px = x.at(t * 1000.0);
        svg.line(px, 4.0, px, 214.0, "grid");
        svg.text(px, 228.0, "middle", "tick", &format!("{t} s"));
    }
    Some(format!(
        "<p>{}</p>{}",
        escape(&plotted.summary),
        svg.finish(
            "availability",
            "requests, failures and latency through the LB over time"
        )
    ))
}
