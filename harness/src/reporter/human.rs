//! Progress for people: a live spinner with the running command on a terminal, plain
//! timestamped lines otherwise (CI logs, pipes). Both print the same finished lines.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Reporter;
use crate::events::{EventKind, Outcome, RunEvent};
use crate::run_record::RunRecord;

pub struct HumanReporter {
    spinner: Option<ProgressBar>,
    /// Where plain lines go instead of stderr (the run log in the artifacts).
    file: Option<std::fs::File>,
    steps: usize,
    verbose: bool,
    /// Only what needs a person: warnings, failures, diagnoses, the verdict.
    quiet: bool,
    /// Colour the marks (never in a file).
    color: bool,
    record: RunRecord,
}

impl HumanReporter {
    pub fn new(verbose: bool, quiet: bool) -> Self {
        let spinner = (std::io::stderr().is_terminal() && !quiet).then(|| {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        HumanReporter {
            spinner,
            file: None,
            steps: 0,
            verbose,
            quiet,
            color: console::colors_enabled_stderr(),
            record: RunRecord::new(),
        }
    }

    /// The same lines, written to `path` (every command shown, no spinner).
    pub fn to_file(path: &std::path::Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(HumanReporter {
            spinner: None,
            file: Some(std::fs::File::create(path)?),
            steps: 0,
            verbose: true,
            quiet: false,
            color: false,
            record: RunRecord::new(),
        })
    }

    /// A line of progress: not shown with `--quiet`.
    fn line(&self, elapsed: Duration, text: &str) {
        if !self.quiet {
            self.say(elapsed, text);
        }
    }

    /// A line that needs a person (a warning, a failure, a diagnosis, the verdict): always.
    fn say(&self, elapsed: Duration, text: &str) {
        // Continuation lines line up under the text, past the time stamp.
        let text = text.replace('\n', "\n          ");
        let text = text.as_str();
        let stamped = format!("[{:>7.1}s] {text}", elapsed.as_secs_f64());
        match (&self.spinner, &self.file) {
            (_, Some(f)) => {
                let mut f = f;
                let _ = writeln!(f, "{stamped}");
            }
            (Some(pb), None) => pb.println(stamped),
            (None, None) => {
                let _ = writeln!(std::io::stderr(), "{stamped}");
            }
        }
    }

    fn status(&self, text: String) {
        if let Some(pb) = &self.spinner {
            pb.set_message(text);
        }
    }
}

impl HumanReporter {
    /// An outcome's word, green or red on a terminal that takes colour.
    fn paint(&self, outcome: &Outcome, word: &'static str) -> String {
        if !self.color {
            return word.to_owned();
        }
        let styled = console::style(word).for_stderr();
        match outcome {
            Outcome::Passed => styled.green().to_string(),
            Outcome::Failed => styled.red().bold().to_string(),
            Outcome::Skipped => styled.dim().to_string(),
        }
    }

    fn mark(&self, outcome: &Outcome) -> String {
        self.paint(outcome, mark(outcome))
    }
}

fn mark(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "ok",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "skipped",
    }
}

impl Reporter for HumanReporter {
    fn event(&mut self, event: &RunEvent) {
        self.record.apply(event);
        let t = event.elapsed;
        match &event.kind {
            EventKind::RunStarted {
                run_id,
                scenario,
                provider,
                steps,
            } => {
                self.steps = *steps;
                self.line(
                    t,
                    &format!("run {run_id}: scenario {scenario} on {provider}, {steps} steps"),
                );
            }
            EventKind::Progress { message } => {
                if self.verbose || self.spinner.is_none() {
                    self.line(t, message);
                }
                self.status(message.clone());
            }
            EventKind::Warning { message } => self.say(t, &format!("warning: {message}")),
            EventKind::ProvisionStarted => self.status("provisioning the topology".into()),
            EventKind::ProvisionFinished { hosts } => {
                let list: Vec<String> = hosts.iter().map(|(h, a)| format!("{h}={a}")).collect();
                self.line(t, &format!("topology up: {}", list.join(" ")));
            }
            EventKind::StepStarted { index, line, name } => {
                self.line(
                    t,
                    &format!("step {}/{} {name} (line {line})", index + 1, self.steps),
                );
                self.status(name.clone());
            }
            EventKind::StepFinished {
                index,
                name,
                outcome,
                duration,
                message,
            } => {
                let mut text = format!(
                    "step {}/{} {name}: {} in {:.1}s",
                    index + 1,
                    self.steps,
                    self.mark(outcome),
                    duration.as_secs_f64()
                );
                if let (Some(m), false) = (message, *outcome == Outcome::Passed) {
                    text.push_str(&format!("\n{}", indent(m)));
                }
                if *outcome == Outcome::Failed {
                    self.say(t, &text);
                } else {
                    self.line(t, &text);
                }
            }
            EventKind::CommandStarted { id, host, command } => {
                let id = id.map(|i| format!("{i} ")).unwrap_or_default();
                self.status(format!("{id}{host}: {}", first_line(command)));
            }
            EventKind::CommandFinished {
                id,
                host,
                command,
                exit_status,
                passed,
                duration,
                artifact,
                ..
            } => {
                if id.is_some() || self.verbose || !passed {
                    let id = id.map(|i| format!("{i} ")).unwrap_or_default();
                    let status = match exit_status {
                        Some(0) => "ok".to_owned(),
                        Some(code) => format!("exit {code}"),
                        None => "no status".to_owned(),
                    };
                    let mut text = format!(
                        "  {id}{host}: {} -> {status} ({:.1}s)",
                        first_line(command),
                        duration.as_secs_f64()
                    );
                    if !passed {
                        text.push_str(&format!("  [output: {}]", artifact.display()));
                        self.say(t, &text);
                    } else {
                        self.line(t, &text);
                    }
                }
            }
            EventKind::CheckFinished {
                checkpoint,
                check,
                outcome,
                message,
                ..
            } => {
                let mut text = format!("  check {checkpoint}/{check}: {}", self.mark(outcome));
                if let (Some(m), false) = (message, *outcome == Outcome::Passed) {
                    text.push_str(&format!("\n{}", indent(&reasons(m, width()))));
                }
                if *outcome == Outcome::Failed {
                    self.say(t, &text);
                } else {
                    self.line(t, &text);
                }
            }
            EventKind::Diagnosed {
                checkpoint,
                diagnosis,
            } => {
                let text = crate::diagnosis::render(diagnosis, width());
                self.say(t, &format!("  {checkpoint}: {}", text.trim_end()));
            }
            EventKind::CommandRejected { id, host, reason } => {
                self.say(t, &format!("  {id} {host}: counted as failed: {reason}"));
            }
            EventKind::Record { key, value } => {
                if let Some(summary) = value.get("summary").and_then(|s| s.as_str()) {
                    self.line(t, &format!("{key}: {summary}"));
                }
            }
            EventKind::Window { label, open, .. } => {
                if self.verbose {
                    let verb = if *open { "in effect" } else { "over" };
                    self.line(t, &format!("window {verb}: {label}"));
                }
            }
            EventKind::TeardownStarted => self.status("tearing down".into()),
            EventKind::ResourceReleased(r) => {
                if let Some(e) = &r.error {
                    self.say(t, &format!("teardown: {} {}: {e}", r.kind, r.name));
                }
            }
            EventKind::RunFinished {
                outcome,
                exit_code,
                message,
            } => {
                if let Some(pb) = self.spinner.take() {
                    pb.finish_and_clear();
                }
                // A check (`check --run`) has no steps, no procedure, no teardown.
                if self.steps == 0 {
                    let checks = &self.record.checks;
                    if checks.is_empty() && *exit_code != 0 {
                        // The error that kept every check from running is the caller's to say.
                        self.say(
                            t,
                            &format!(
                                "{}: no check ran; exit {exit_code}",
                                self.paint(outcome, verdict(outcome))
                            ),
                        );
                        return;
                    }
                    let passed = checks
                        .iter()
                        .filter(|c| c.outcome == Outcome::Passed)
                        .count();
                    let mut text = format!(
                        "{}: {passed} of {} checks passed; exit {exit_code}",
                        self.paint(outcome, verdict(outcome)),
                        checks.len()
                    );
                    if let Some(m) = message {
                        text.push_str(&format!("\n{}", indent(m)));
                    }
                    self.say(t, &text);
                    return;
                }
                let p = crate::run_record::summarize(&self.record.commands);
                let released = self.record.teardown.len();
                let leaked = self
                    .record
                    .teardown
                    .iter()
                    .filter(|r| r.error.is_some())
                    .count();
                let mut text = format!(
                    "{}: {} of {} procedure commands passed",
                    self.paint(outcome, verdict(outcome)),
                    p.passed.len(),
                    p.total
                );
                if !p.failed.is_empty() {
                    text.push_str(&format!(", failed: {}", join_ids(&p.failed)));
                }
                if !p.not_run.is_empty() && p.not_run.len() < p.total {
                    text.push_str(&format!(", not run: {}", join_ids(&p.not_run)));
                }
                text.push_str(&format!(
                    "; {released} resources released{}; exit {exit_code}",
                    if leaked > 0 {
                        format!(", {leaked} FAILED to release")
                    } else {
                        String::new()
                    }
                ));
                if let Some(m) = message {
                    text.push_str(&format!("\n{}", indent(m)));
                }
                self.say(t, &text);
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(pb) = self.spinner.take() {
            pb.finish_and_clear();
        }
        Ok(())
    }
}

fn verdict(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "PASSED",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "SKIPPED",
    }
}

fn join_ids(ids: &[crate::procedure::CommandId]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > 110 {
        format!("{}…", line.chars().take(110).collect::<String>())
    } else if s.lines().count() > 1 {
        format!("{line} …")
    } else {
        line.to_owned()
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the terminal allows a line, less the time stamp (100 when it is no terminal).
fn width() -> usize {
    let columns = console::Term::stderr()
        .size_checked()
        .map(|(_, w)| w as usize)
        .unwrap_or(112);
    columns.saturating_sub(12).max(40)
}

/// A check's reasons (joined by `; `), one per line, each cut to `width`, at most twelve:
/// the rest is counted, and the run record has them all.
fn reasons(message: &str, width: usize) -> String {
    const SHOWN: usize = 12;
    let (check, rest) = message.split_once(": ").unwrap_or(("", message));
    let all: Vec<&str> = rest.split("; ").collect();
    let mut lines: Vec<String> = all
        .iter()
        .take(SHOWN)
        .map(|r| {
            let line = if check.is_empty() {
                r.to_string()
            } else {
                format!("{check}: {r}")
            };
            if line.chars().count() > width {
                let cut: String = line.chars().take(width.saturating_sub(1)).collect();
                format!("{cut}…")
            } else {
                line
            }
        })
        .collect();
    if all.len() > SHOWN {
        lines.push(format!(
            "… and {} more (run.json has them all)",
            all.len() - SHOWN
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_checks_reasons_are_one_per_line_cut_to_the_width_and_counted_past_twelve() {
        let many: Vec<String> = (0..30)
            .map(|i| {
                format!(
                    "harness → node-2:{i}/tcp: timed out, expected open{}",
                    "x".repeat(i * 4)
                )
            })
            .collect();
        let text = reasons(&format!("reachability: {}", many.join("; ")), 60);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 13, "{text}");
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{text}");
        assert!(lines[0].starts_with("reachability: harness → node-2:0/tcp"));
        assert_eq!(lines[12], "… and 18 more (run.json has them all)");
    }

    use super::*;

    fn at(kind: EventKind) -> RunEvent {
        RunEvent {
            timestamp: chrono::Utc::now(),
            elapsed: Duration::from_secs(1),
            kind,
        }
    }

    fn check(name: &str, outcome: Outcome) -> RunEvent {
        at(EventKind::CheckFinished {
            checkpoint: "check".into(),
            check: name.into(),
            outcome,
            duration: Duration::from_millis(5),
            message: None,
            findings: None,
        })
    }

    fn last_line(events: &[RunEvent]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        let mut reporter = HumanReporter::to_file(&path).unwrap();
        for e in events {
            reporter.event(e);
        }
        reporter.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let finished = text.rfind("[").unwrap();
        text[finished..].to_owned()
    }

    #[test]
    fn checks_of_a_kept_run_are_summed_up_as_checks_not_as_procedure_commands() {
        let line = last_line(&[
            check("dns", Outcome::Passed),
            check("https", Outcome::Failed),
            check("etcd", Outcome::Passed),
            at(EventKind::RunFinished {
                outcome: Outcome::Failed,
                exit_code: 1,
                message: Some("https: no answer".into()),
            }),
        ]);
        assert!(
            line.contains("FAILED: 2 of 3 checks passed; exit 1"),
            "{line}"
        );
        assert!(line.contains("https: no answer"), "{line}");
        assert!(!line.contains("procedure commands"), "{line}");
    }

    #[test]
    fn a_run_is_summed_up_with_its_procedure_commands() {
        let line = last_line(&[
            at(EventKind::RunStarted {
                run_id: "r".into(),
                scenario: "s".into(),
                provider: "docker".into(),
                steps: 1,
            }),
            at(EventKind::RunFinished {
                outcome: Outcome::Passed,
                exit_code: 0,
                message: None,
            }),
        ]);
        assert!(
            line.contains("PASSED: 0 of 28 procedure commands passed"),
            "{line}"
        );
    }
}
