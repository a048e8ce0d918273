//! How far a VM's boot got, read from its serial console while it boots.
//!
//! Under TCG the same boot takes two or three times longer on one machine than on another of
//! the same kind, so a fixed deadline either fails a slow machine or waits far too long for a
//! hung guest. A boot is waited for as long as it makes progress instead: the console grows,
//! or the guest reaches the next [`Milestone`] (kernel, init, each cloud-init stage, sshd).
//! It fails when the console stays silent for the stall window, or at an overall ceiling; the
//! error then says where each VM of the topology stood, not only the last lines of one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// A point of a boot the console (or the harness itself) shows, in the order a boot reaches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Milestone {
    /// The kernel printed its banner.
    Kernel,
    /// The kernel handed over to systemd.
    Init,
    /// cloud-init's four stages, as its banners name them.
    CloudInitLocal,
    CloudInitNetwork,
    CloudInitConfig,
    CloudInitFinal,
    /// systemd started the SSH server.
    Sshd,
    /// cloud-init printed that it finished.
    CloudInitDone,
    /// The harness's own view: sshd took the run key.
    Ssh,
    /// The harness's own view: `cloud-init status` says done.
    Ready,
}

impl Milestone {
    /// Console text that marks the milestone, tried on every line.
    const MARKS: [(Milestone, &'static [&'static str]); 8] = [
        (Milestone::Kernel, &["Linux version "]),
        (
            Milestone::Init,
            &["Run /sbin/init", "systemd[1]: ", "Welcome to "],
        ),
        (Milestone::CloudInitLocal, &["running 'init-local'"]),
        (Milestone::CloudInitNetwork, &["running 'init' at"]),
        (Milestone::CloudInitConfig, &["running 'modules:config'"]),
        (Milestone::CloudInitFinal, &["running 'modules:final'"]),
        (
            Milestone::Sshd,
            &["Started ssh.service", "Started OpenBSD Secure Shell server"],
        ),
        (Milestone::CloudInitDone, &["Cloud-init v. ", "finished at"]),
    ];

    pub fn label(self) -> &'static str {
        match self {
            Milestone::Kernel => "kernel",
            Milestone::Init => "init",
            Milestone::CloudInitLocal => "cloud-init init-local",
            Milestone::CloudInitNetwork => "cloud-init init",
            Milestone::CloudInitConfig => "cloud-init modules:config",
            Milestone::CloudInitFinal => "cloud-init modules:final",
            Milestone::Sshd => "sshd started",
            Milestone::CloudInitDone => "cloud-init finished",
            Milestone::Ssh => "ssh answered",
            Milestone::Ready => "ready",
        }
    }

    /// Whether `line` marks this milestone. The finish banner needs both of its parts on one
    /// line (`Cloud-init v. 22.4.2 finished at …`), every other mark any one of its texts.
    fn marked_by(self, marks: &[&str], line: &str) -> bool {
        if self == Milestone::CloudInitDone {
            marks.iter().all(|m| line.contains(m))
        } else {
            marks.iter().any(|m| line.contains(m))
        }
    }
}

/// The milestones a console text shows, each once, in the order first seen.
pub fn milestones_in(text: &str) -> Vec<Milestone> {
    let mut seen = Vec::new();
    for line in text.lines() {
        let line = without_escapes(line);
        for (milestone, marks) in Milestone::MARKS {
            if !seen.contains(&milestone) && milestone.marked_by(marks, &line) {
                seen.push(milestone);
            }
        }
    }
    seen
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reached {
    pub milestone: Milestone,
    #[serde(with = "crate::remote::millis")]
    pub at: Duration,
}

/// The line without its terminal escape sequences: systemd colours the unit names it prints
/// (`Started \x1b[0;1;39mssh.service\x1b[0m`).
fn without_escapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        // CSI: ESC [ parameters… final byte in @..~
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// One VM's boot as watched so far: each milestone with the time since the VM started at
/// which it was first seen.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BootProgress {
    pub reached: Vec<Reached>,
    /// Set when the boot was given up, with the reason.
    pub failed: Option<String>,
}

impl BootProgress {
    pub fn reach(&mut self, milestone: Milestone, at: Duration) -> bool {
        if self.at(milestone).is_some() {
            return false;
        }
        self.reached.push(Reached { milestone, at });
        true
    }

    pub fn at(&self, milestone: Milestone) -> Option<Duration> {
        self.reached
            .iter()
            .find(|r| r.milestone == milestone)
            .map(|r| r.at)
    }
}

impl fmt::Display for BootProgress {
    /// `kernel 3 s · init 9 s · cloud-init init-local 61 s · … · next: sshd started`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut reached = self.reached.clone();
        reached.sort_by_key(|r| r.at);
        let parts: Vec<String> = reached
            .iter()
            .map(|r| format!("{} {:.0} s", r.milestone.label(), r.at.as_secs_f64()))
            .collect();
        if parts.is_empty() {
            f.write_str("nothing on its console")?;
        } else {
            f.write_str(&parts.join(" · "))?;
        }
        if let Some(reason) = &self.failed {
            write!(f, " · gave up: {reason}")?;
        } else if self.at(Milestone::Ready).is_none() {
            let next = Milestone::MARKS
                .iter()
                .map(|(m, _)| *m)
                .chain([Milestone::Ssh, Milestone::Ready])
                .find(|m| self.at(*m).is_none());
            if let Some(next) = next {
                write!(f, " · not yet: {}", next.label())?;
            }
        }
        Ok(())
    }
}

/// How long a boot may take: it goes on while the console shows progress.
#[derive(Clone, Copy, Debug)]
pub struct BootLimits {
    /// Fail when the console showed nothing new (no output, no milestone) for this long.
    pub stall: Duration,
    /// Fail at this time since the VM started whatever the console shows.
    pub ceiling: Duration,
}

/// Why a watched boot was given up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stalled {
    Silent { for_: Duration },
    Ceiling { after: Duration },
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stalled::Silent { for_ } => write!(
                f,
                "its console showed nothing new for {:.0} s",
                for_.as_secs_f64()
            ),
            Stalled::Ceiling { after } => write!(
                f,
                "still booting after {:.0} s, the ceiling",
                after.as_secs_f64()
            ),
        }
    }
}

/// Watches one VM's console: [`ConsoleWatch::poll`] reads what was added since the last poll,
/// records new milestones, and says whether the boot stalled.
pub struct ConsoleWatch {
    console: PathBuf,
    started: Instant,
    limits: BootLimits,
    progress: Arc<Mutex<BootProgress>>,
    read: usize,
    /// The text after the last full line, kept until its line is complete.
    partial: String,
    /// How many milestones were known at the last poll: one the harness recorded itself (ssh,
    /// ready) is news too.
    known: usize,
    last_news: Instant,
}

impl ConsoleWatch {
    pub fn new(
        console: &Path,
        started: Instant,
        limits: BootLimits,
        progress: Arc<Mutex<BootProgress>>,
    ) -> Self {
        ConsoleWatch {
            console: console.to_owned(),
            started,
            limits,
            progress,
            read: 0,
            partial: String::new(),
            known: 0,
            last_news: started,
        }
    }

    /// Reads the console's new text; returns the milestones it reached now, or why the boot is
    /// given up.
    pub fn poll(&mut self, now: Instant) -> Result<Vec<Milestone>, Stalled> {
        let bytes = std::fs::read(&self.console).unwrap_or_default();
        let mut reached = Vec::new();
        let known = self.progress.lock().unwrap().reached.len();
        if known > self.known {
            self.last_news = now;
        }
        if bytes.len() > self.read {
            let new = String::from_utf8_lossy(&bytes[self.read..]).into_owned();
            self.read = bytes.len();
            self.last_news = now;
            let text = std::mem::take(&mut self.partial) + &new;
            let (complete, rest) = match text.rfind('\n') {
                Some(i) => (&text[..=i], &text[i + 1..]),
                None => ("", text.as_str()),
            };
            let at = now.saturating_duration_since(self.started);
            let mut progress = self.progress.lock().unwrap();
            for milestone in milestones_in(complete) {
                if progress.reach(milestone, at) {
                    reached.push(milestone);
                }
            }
            self.partial = rest.to_owned();
        }
        self.known = self.progress.lock().unwrap().reached.len();
        self.judge(now).map(|()| reached)
    }

    fn judge(&self, now: Instant) -> Result<(), Stalled> {
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed >= self.limits.ceiling {
            return Err(Stalled::Ceiling { after: elapsed });
        }
        let silent = now.saturating_duration_since(self.last_news);
        if silent >= self.limits.stall {
            return Err(Stalled::Silent { for_: silent });
        }
        Ok(())
    }
}

/// The last `n` lines of a console, as a person reads them: without escape sequences,
/// carriage returns or blank lines.
pub fn tail(console: &str, n: usize) -> String {
    let lines: Vec<String> = console
        .lines()
        .map(|l| without_escapes(l).replace('\r', "").trim_end().to_owned())
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Where every VM of a topology stood, one line each, for an error about one of them.
pub fn summary(boots: &[(String, BootProgress)]) -> String {
    let width = boots.iter().map(|(h, _)| h.len()).max().unwrap_or(0);
    boots
        .iter()
        .map(|(host, progress)| format!("  {host:<width$}  {progress}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSOLE: &str = include_str!("../../../../fixtures/outputs/serial/debian-12-boot.log");

    #[test]
    fn a_real_console_shows_every_milestone_in_boot_order() {
        let seen = milestones_in(CONSOLE);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![
                Milestone::Kernel,
                Milestone::Init,
                Milestone::CloudInitLocal,
                Milestone::CloudInitNetwork,
                Milestone::CloudInitConfig,
                Milestone::CloudInitFinal,
                Milestone::Sshd,
                Milestone::CloudInitDone,
            ],
            "seen: {seen:?}"
        );
        assert_eq!(seen[0], Milestone::Kernel);
    }

    #[test]
    fn a_console_tail_reads_as_text() {
        let text = "[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mssh.service\x1b[0m.\r\r\n\r\n\x1b[Kmodules:final\r\n";
        assert_eq!(
            tail(text, 5),
            "[  OK  ] Started ssh.service.\nmodules:final"
        );
        assert_eq!(tail(text, 1), "modules:final");
        assert_eq!(tail("", 3), "");
    }

    #[test]
    fn sshd_counts_once_started_not_while_starting() {
        let starting =
            "         Starting \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell server...\r";
        assert_eq!(milestones_in(starting), vec![]);
        let started = "[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell server.\r";
        assert_eq!(milestones_in(started), vec![Milestone::Sshd]);
    }

    #[test]
    fn a_console_cut_short_shows_only_what_it_reached() {
        let cut = CONSOLE
            .find("running 'modules:config'")
            .expect("the fixture reaches modules:config");
        let seen = milestones_in(&CONSOLE[..cut]);
        assert!(seen.contains(&Milestone::CloudInitNetwork), "{seen:?}");
        assert!(!seen.contains(&Milestone::CloudInitConfig), "{seen:?}");
        assert!(!seen.contains(&Milestone::CloudInitDone), "{seen:?}");
    }

    /// A watch of a console in `dir` with the stall window and ceiling given in seconds.
    fn watch(dir: &Path, stall: u64, ceiling: u64) -> (ConsoleWatch, PathBuf, Instant) {
        let limits = BootLimits {
            stall: Duration::from_secs(stall),
            ceiling: Duration::from_secs(ceiling),
        };
        let console = dir.join("vm.serial.log");
        let started = Instant::now();
        let progress = Arc::new(Mutex::new(BootProgress::default()));
        (
            ConsoleWatch::new(&console, started, limits, progress),
            console,
            started,
        )
    }

    #[test]
    fn a_growing_console_keeps_the_boot_alive_and_silence_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut watch, console, t0) = watch(dir.path(), 60, 1000);
        assert_eq!(watch.poll(t0 + Duration::from_secs(59)), Ok(vec![]));
        // Output half a line at a time: a milestone counts once its line is complete.
        std::fs::write(&console, "[    0.000000] Linux vers").unwrap();
        assert_eq!(watch.poll(t0 + Duration::from_secs(50)), Ok(vec![]));
        std::fs::write(&console, "[    0.000000] Linux version 6.1.0\n").unwrap();
        assert_eq!(
            watch.poll(t0 + Duration::from_secs(100)),
            Ok(vec![Milestone::Kernel])
        );
        // 100 s after the VM started, but only 40 s after the last news: still booting.
        assert_eq!(watch.poll(t0 + Duration::from_secs(140)), Ok(vec![]));
        assert_eq!(
            watch.poll(t0 + Duration::from_secs(161)),
            Err(Stalled::Silent {
                for_: Duration::from_secs(61)
            })
        );
        let progress = watch.progress.lock().unwrap();
        assert_eq!(
            progress.at(Milestone::Kernel),
            Some(Duration::from_secs(100))
        );
        assert_eq!(
            progress.to_string(),
            "kernel 100 s · not yet: init",
            "the summary names the next milestone"
        );
    }

    #[test]
    fn a_console_that_never_stops_talking_still_meets_the_ceiling() {
        let dir = tempfile::tempdir().unwrap();
        let (mut watch, console, t0) = watch(dir.path(), 60, 300);
        let mut text = String::new();
        for s in (0..300).step_by(30) {
            text.push_str("rcu: INFO: rcu_sched self-detected stall on CPU\n");
            std::fs::write(&console, &text).unwrap();
            assert!(watch.poll(t0 + Duration::from_secs(s)).is_ok(), "at {s} s");
        }
        text.push_str("more\n");
        std::fs::write(&console, &text).unwrap();
        assert_eq!(
            watch.poll(t0 + Duration::from_secs(300)),
            Err(Stalled::Ceiling {
                after: Duration::from_secs(300)
            })
        );
    }

    #[test]
    fn the_harness_milestones_are_news_and_end_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let (mut watch, _console, t0) = watch(dir.path(), 60, 1000);
        let shared = watch.progress.clone();
        let record = |m, s| shared.lock().unwrap().reach(m, Duration::from_secs(s));
        record(Milestone::Ssh, 50);
        // Silent for 100 s, but the harness saw ssh answer at 50 s: that was news.
        assert!(watch.poll(t0 + Duration::from_secs(50)).is_ok());
        assert!(watch.poll(t0 + Duration::from_secs(100)).is_ok());
        assert!(watch.poll(t0 + Duration::from_secs(111)).is_err());
        record(Milestone::Ready, 101);
        let progress = shared.lock().unwrap().clone();
        assert_eq!(progress.to_string(), "ssh answered 50 s · ready 101 s");
        let summary = summary(&[
            ("dns".into(), progress),
            (
                "node-1".into(),
                BootProgress {
                    reached: vec![Reached {
                        milestone: Milestone::Kernel,
                        at: Duration::from_secs(2),
                    }],
                    failed: Some("its console showed nothing new for 600 s".into()),
                },
            ),
        ]);
        assert_eq!(
            summary,
            "  dns     ssh answered 50 s · ready 101 s\n  node-1  kernel 2 s · gave up: its console showed nothing new for 600 s"
        );
    }
}
