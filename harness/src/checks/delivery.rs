//! How long a check waits for GELF records to show up in the log index.
//!
//! A record is lost once it has waited longer than the *delivery window*: ten times the
//! slowest delivery measured for the records that did arrive in the same checkpoint (the log
//! path's and the matrix's alike), never less than a floor nor more than the check's ceiling.
//! While nothing has arrived the window is the ceiling. So a healthy checkpoint ends as soon as
//! its records are found, and one that loses records (a node down behind the LB) gives up after
//! a few seconds instead of the ceiling. Searches start tens of milliseconds apart and back off.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The window is this many times the slowest delivery seen.
pub const FACTOR: u32 = 10;
/// No window is shorter (before the provider's pace).
pub const FLOOR: Duration = Duration::from_secs(5);
const FIRST_POLL: Duration = Duration::from_millis(20);
const MAX_POLL: Duration = Duration::from_millis(500);

/// The delays of the records delivered (or the requests answered) so far, shared by whoever
/// waits on the same kind of thing: a checkpoint's checks for records, one check's requests.
#[derive(Clone, Debug, Default)]
pub struct Deliveries(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    delays: Mutex<Vec<Duration>>,
    recorded: tokio::sync::Notify,
}

impl Deliveries {
    /// A record was found (an answer came) `delay` after it was sent.
    pub fn record(&self, delay: Duration) {
        self.0.delays.lock().unwrap().push(delay);
        self.0.recorded.notify_waiters();
    }

    /// The window as the deliveries so far size it, between `floor` and `ceiling`.
    pub fn window(&self, floor: Duration, ceiling: Duration) -> Window {
        let delays = self.0.delays.lock().unwrap();
        Window::sized(delays.iter().copied().max(), delays.len(), floor, ceiling)
    }

    /// `request`, sent at `sent`, until it answers or has waited the window (which moves as
    /// other answers come): its answer, recorded, or the window it waited.
    pub async fn bounded<T>(
        &self,
        (floor, ceiling): (Duration, Duration),
        sent: Instant,
        request: impl std::future::Future<Output = T>,
    ) -> Result<T, Window> {
        tokio::pin!(request);
        loop {
            let changed = self.0.recorded.notified();
            let window = self.window(floor, ceiling);
            tokio::select! {
                answer = &mut request => {
                    self.record(sent.elapsed());
                    return Ok(answer);
                }
                () = tokio::time::sleep_until((sent + window.length).into()) => {
                    return Err(window);
                }
                () = changed => {}
            }
        }
    }
}

/// A delivery window and what sized it: what a lost record's finding names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(with = "crate::remote::millis")]
    pub length: Duration,
    /// The slowest delivery it was sized from, in milliseconds; `None` when nothing was
    /// delivered.
    pub slowest_ms: Option<u64>,
    /// How many deliveries had been measured.
    pub delivered: usize,
    #[serde(with = "crate::remote::millis")]
    pub floor: Duration,
    #[serde(with = "crate::remote::millis")]
    pub ceiling: Duration,
}

impl Window {
    pub fn sized(
        slowest: Option<Duration>,
        delivered: usize,
        floor: Duration,
        ceiling: Duration,
    ) -> Window {
        let floor = floor.min(ceiling);
        let length = match slowest {
            Some(s) => (s * FACTOR).clamp(floor, ceiling),
            None => ceiling,
        };
        Window {
            length,
            slowest_ms: slowest.map(|s| s.as_millis() as u64),
            delivered,
            floor,
            ceiling,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        write!(f, "{}", secs(self.length))?;
        let Some(slowest) = self.slowest_ms.map(Duration::from_millis) else {
            return write!(f, " (the ceiling: no record delivered in this checkpoint)");
        };
        let plural = if self.delivered == 1 { "y" } else { "ies" };
        write!(
            f,
            " ({FACTOR}× the slowest of {} deliver{plural}, {}",
            self.delivered,
            secs(slowest)
        )?;
        let sized = slowest * FACTOR;
        if sized < self.floor {
            write!(f, ", raised to the {} floor)", secs(self.floor))
        } else if sized > self.ceiling {
            write!(f, ", capped at the {} ceiling)", secs(self.ceiling))
        } else {
            write!(f, ")")
        }
    }
}

/// Pauses between searches: tens of milliseconds at first, half a second at most.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST_POLL }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (self.next * 3 / 2).min(MAX_POLL);
        Some(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_window_is_ten_times_the_slowest_delivery_between_floor_and_ceiling() {
        let d = Deliveries::default();
        let w = d.window(S(5), S(45));
        assert_eq!(w.length, S(45));
        assert_eq!(
            w.to_string(),
            "45.0 s (the ceiling: no record delivered in this checkpoint)"
        );

        d.record(MS(120));
        d.record(MS(310));
        let w = d.window(S(5), S(45));
        assert_eq!(w.length, S(5));
        assert_eq!(
            w.to_string(),
            "5.0 s (10× the slowest of 2 deliveries, 0.3 s, raised to the 5.0 s floor)"
        );

        d.record(MS(900));
        assert_eq!(d.window(S(5), S(45)).length, S(9));
        assert_eq!(
            d.window(S(5), S(45)).to_string(),
            "9.0 s (10× the slowest of 3 deliveries, 0.9 s)"
        );

        d.record(S(8));
        let w = d.window(S(5), S(20));
        assert_eq!(w.length, S(20));
        assert!(
            w.to_string().ends_with("capped at the 20.0 s ceiling)"),
            "{w}"
        );
    }

    #[test]
    fn a_floor_above_the_ceiling_gives_way_to_it() {
        assert_eq!(Window::sized(Some(MS(1)), 1, S(10), S(4)).length, S(4));
    }

    #[test]
    fn clones_share_one_checkpoints_deliveries() {
        let d = Deliveries::default();
        d.clone().record(S(2));
        assert_eq!(d.window(S(1), S(60)).slowest_ms, Some(2000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_waits_until_the_window_the_others_answers_size() {
        let answers = Deliveries::default();
        let limits = (S(2), S(10));
        let sent = Instant::now();
        let clock = tokio::time::Instant::now();
        let quick = answers.bounded(limits, sent, async {
            tokio::time::sleep(MS(100)).await;
            "quick"
        });
        let hung = answers.bounded(limits, sent, std::future::pending::<&str>());
        let (quick, hung) = tokio::join!(quick, hung);
        assert_eq!(quick, Ok("quick"));
        // 10× the quick answer's 0.1 s is under the floor: the hung request waited 2 s, not 10.
        let window = hung.unwrap_err();
        assert_eq!(window.length, S(2));
        let waited = clock.elapsed();
        assert!(waited >= S(2) && waited < MS(2100), "{waited:?}");
    }

    #[test]
    fn polls_start_at_tens_of_milliseconds_and_back_off_to_half_a_second() {
        let polls: Vec<u64> = Backoff::default()
            .take(12)
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(
            polls,
            [20, 30, 45, 67, 101, 151, 227, 341, 500, 500, 500, 500]
        );
    }
}
