//! Every wait is a poll with a deadline. The probe returns `Ready(value)` or `NotYet(what it
//! saw)`; when the deadline passes, the error carries the last thing seen, so a failure says
//! what state the system was stuck in, not just "timed out".

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

pub enum Poll<T> {
    Ready(T),
    NotYet(String),
}

/// Poll `probe` every `interval` until it is ready or `deadline` passes. Errors from the probe
/// count as "not yet" (a host may be rebooting) and are reported if they are the last try.
pub async fn until<T, F, Fut>(
    what: &str,
    deadline: Duration,
    interval: Duration,
    mut probe: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let started = Instant::now();
    loop {
        let last = match probe().await {
            Ok(Poll::Ready(v)) => return Ok(v),
            Ok(Poll::NotYet(seen)) => seen,
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) => e.to_string(),
        };
        if started.elapsed() + interval > deadline {
            return Err(Error::CheckFailed(format!(
                "{what}: not reached within {}s; last seen: {last}",
                deadline.as_secs()
            )));
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_error_names_the_last_state_seen() {
        let mut n = 0;
        let err = until(
            "three pods ready",
            Duration::from_millis(50),
            Duration::from_millis(10),
            || {
                n += 1;
                let seen = format!("{n} of 3 ready");
                async move { Ok::<Poll<()>, Error>(Poll::NotYet(seen)) }
            },
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("three pods ready: not reached within 0s; last seen: "),
            "{err}"
        );
        assert!(err.ends_with("of 3 ready"), "{err}");
    }

    #[tokio::test]
    async fn ready_returns_the_value() {
        let v = until(
            "x",
            Duration::from_secs(1),
            Duration::from_millis(1),
            || async { Ok::<_, Error>(Poll::Ready(7)) },
        )
        .await
        .unwrap();
        assert_eq!(v, 7);
    }
}
