//! The availability probe: HTTPS requests through the LB at 20 Hz while faults happen,
//! recording every error, so a run reports the downtime users would have seen.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::context::RunContext;
use crate::events::EventKind;

const INTERVAL: Duration = Duration::from_millis(50);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);

/// One request: when it was sent (from the probe's start), whether it succeeded, the error's
/// kind, and how long it took.
struct Sample {
    at: Duration,
    ok: bool,
    error: Option<String>,
    latency: Duration,
}

#[derive(Default)]
struct Samples {
    results: Vec<Sample>,
    marks: Vec<(Duration, String)>,
}

pub struct AvailabilityProbe {
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    samples: Arc<Mutex<Samples>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct AvailabilityReport {
    pub summary: String,
    pub requests: usize,
    pub errors: usize,
    pub rate_hz: f64,
    pub longest_outage_ms: u64,
    pub total_downtime_ms: u64,
    pub outages: Vec<Outage>,
    pub marks: Vec<(u64, String)>,
    pub error_kinds: Vec<(String, usize)>,
    /// When the probe started (the series' and outages' offsets are from here).
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    /// One bucket per second: what a plot of requests, failures and latency draws.
    pub series: Vec<Bucket>,
}

/// One second of the probe.
#[derive(Debug, Serialize, PartialEq)]
pub struct Bucket {
    pub from_ms: u64,
    pub requests: usize,
    pub failures: usize,
    /// The slowest answer in the second (a failed request counts with its time to fail).
    pub max_latency_ms: u64,
    pub median_latency_ms: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Outage {
    pub from_ms: u64,
    pub to_ms: u64,
    pub failed_requests: usize,
}

impl AvailabilityProbe {
    pub fn start(lb: Ipv4Addr) -> Self {
        let samples = Arc::new(Mutex::new(Samples::default()));
        let started = Instant::now();
        let started_at = chrono::Utc::now();
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .expect("a reqwest client with static settings");
        let url = format!("https://{lb}/");
        let shared = samples.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let at = started.elapsed();
                let result = client.get(&url).send().await;
                let latency = started.elapsed() - at;
                let (ok, error) = match result {
                    Ok(r) if r.status().is_success() => (true, None),
                    Ok(r) => (false, Some(format!("HTTP {}", r.status().as_u16()))),
                    Err(e) if e.is_timeout() => (false, Some("timeout".to_owned())),
                    Err(e) if e.is_connect() => (false, Some("connect".to_owned())),
                    Err(_) => (false, Some("other".to_owned())),
                };
                shared.lock().unwrap().results.push(Sample {
                    at,
                    ok,
                    error,
                    latency,
                });
            }
        });
        AvailabilityProbe {
            started,
            started_at,
            samples,
            task,
        }
    }

    /// Note an event (a fault) on the probe's timeline.
    pub fn mark(&self, label: String) {
        self.samples
            .lock()
            .unwrap()
            .marks
            .push((self.started.elapsed(), label));
    }

    pub async fn finish(self, ctx: &RunContext) {
        self.task.abort();
        let _ = self.task.await;
        let samples = std::mem::take(&mut *self.samples.lock().unwrap());
        let mut report = analyse(&samples, self.started.elapsed());
        report.started = Some(self.started_at);
        ctx.events().send(EventKind::Record {
            key: "availability".into(),
            value: serde_json::to_value(&report).unwrap_or_default(),
        });
    }
}

fn analyse(samples: &Samples, span: Duration) -> AvailabilityReport {
    let ms = |d: Duration| d.as_millis() as u64;
    let mut outages = Vec::new();
    let mut current: Option<(Duration, usize)> = None;
    for Sample { at, ok, .. } in &samples.results {
        match (ok, &mut current) {
            (false, None) => current = Some((*at, 1)),
            (false, Some((_, n))) => *n += 1,
            (true, Some((from, n))) => {
                outages.push(Outage {
                    from_ms: ms(*from),
                    to_ms: ms(*at),
                    failed_requests: *n,
                });
                current = None;
            }
            (true, None) => {}
        }
    }
    if let Some((from, n)) = current {
        let end = samples.results.last().map(|r| r.at).unwrap_or(span);
        outages.push(Outage {
            from_ms: ms(from),
            to_ms: ms(end),
            failed_requests: n,
        });
    }
    let requests = samples.results.len();
    let errors = samples.results.iter().filter(|r| !r.ok).count();
    let longest = outages
        .iter()
        .map(|o| o.to_ms - o.from_ms)
        .max()
        .unwrap_or(0);
    let total: u64 = outages.iter().map(|o| o.to_ms - o.from_ms).sum();
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for e in samples.results.iter().filter_map(|r| r.error.clone()) {
        *kinds.entry(e).or_default() += 1;
    }
    let rate = if span.as_secs_f64() > 0.0 {
        requests as f64 / span.as_secs_f64()
    } else {
        0.0
    };
    AvailabilityReport {
        summary: format!(
            "{requests} requests through the LB at {rate:.1} Hz, {errors} failed; downtime {:.2}s (longest outage {:.2}s)",
            total as f64 / 1000.0,
            longest as f64 / 1000.0
        ),
        requests,
        errors,
        rate_hz: (rate * 10.0).round() / 10.0,
        longest_outage_ms: longest,
        total_downtime_ms: total,
        outages,
        marks: samples.marks.iter().map(|(d, l)| (ms(*d), l.clone())).collect(),
        error_kinds: kinds.into_iter().collect(),
        started: None,
        series: series(&samples.results),
    }
}

/// The samples in one-second buckets.
fn series(results: &[Sample]) -> Vec<Bucket> {
    let mut buckets: std::collections::BTreeMap<u64, Vec<&Sample>> = Default::default();
    for s in results {
        buckets.entry(s.at.as_secs()).or_default().push(s);
    }
    buckets
        .into_iter()
        .map(|(second, samples)| {
            let mut latencies: Vec<u64> = samples
                .iter()
                .map(|s| s.latency.as_millis() as u64)
                .collect();
            latencies.sort_unstable();
            Bucket {
                from_ms: second * 1000,
                requests: samples.len(),
                failures: samples.iter().filter(|s| !s.ok).count(),
                max_latency_ms: latencies.last().copied().unwrap_or(0),
                median_latency_ms: latencies[latencies.len() / 2],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_runs_of_failures_closed_by_the_next_success() {
        let s = |ms: u64, ok: bool| Sample {
            at: Duration::from_millis(ms),
            ok,
            error: (!ok).then(|| "connect".to_owned()),
            latency: Duration::from_millis(if ok { 4 } else { 1000 }),
        };
        let samples = Samples {
            results: vec![
                s(0, true),
                s(50, false),
                s(100, false),
                s(150, true),
                s(200, false),
            ],
            marks: vec![(Duration::from_millis(40), "power-off node-2".into())],
        };
        let r = analyse(&samples, Duration::from_millis(250));
        assert_eq!(r.requests, 5);
        assert_eq!(r.errors, 3);
        assert_eq!(
            r.outages,
            vec![
                Outage {
                    from_ms: 50,
                    to_ms: 150,
                    failed_requests: 2
                },
                Outage {
                    from_ms: 200,
                    to_ms: 200,
                    failed_requests: 1
                }
            ]
        );
        assert_eq!(r.longest_outage_ms, 100);
        assert_eq!(r.error_kinds, vec![("connect".to_owned(), 3)]);
        assert_eq!(
            r.series,
            vec![Bucket {
                from_ms: 0,
                requests: 5,
                failures: 3,
                max_latency_ms: 1000,
                median_latency_ms: 1000
            }]
        );
    }
}
