//! The run on a time axis: the steps in one lane, the procedure's commands in another, and
//! every fault and misconfiguration as a shaded window across both.

use super::page::duration;
use super::svg::{ticks, Scale, Svg};
use crate::events::{Outcome, WindowKind};
use crate::run_record::{RunRecord, WindowRecord};

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 990.0;

/// The run's end as the record knows it: its duration, or the last thing it saw.
pub fn span_ms(record: &RunRecord) -> u64 {
    let last_step = record
        .steps
        .iter()
        .map(|s| s.started_ms + s.duration_ms)
        .max()
        .unwrap_or(0);
    let last_command = record
        .commands
        .iter()
        .map(|c| c.started_ms + c.duration_ms)
        .max()
        .unwrap_or(0);
    record.duration_ms.max(last_step).max(last_command).max(1)
}

/// Shade `windows` over `top..bottom` (what the timeline and the availability plot share).
pub fn shade(
    svg: &mut Svg,
    x: Scale,
    windows: &[WindowRecord],
    end_ms: u64,
    top: f64,
    bottom: f64,
) {
    for w in windows {
        let to = w.to_ms.unwrap_or(end_ms);
        let class = match w.kind {
            WindowKind::Fault => "window fault",
            WindowKind::Misconfiguration => "window misconfiguration",
        };
        let title = format!(
            "{}: {} – {}{}",
            w.label,
            duration(w.from_ms),
            duration(to),
            if w.to_ms.is_none() {
                " (still in effect at the end)"
            } else {
                ""
            }
        );
        let (x0, x1) = (x.at(w.from_ms as f64), x.at(to as f64));
        svg.rect(x0, top, x1 - x0, bottom - top, class, &title);
        svg.text(x0 + 2.0, bottom - 3.0, "start", "window-label", &w.label);
    }
}

/// A time axis along `y`, in seconds or minutes as the span asks.
pub fn axis(svg: &mut Svg, x: Scale, span_ms: u64, y: f64, top: f64) {
    svg.line(LEFT, y, RIGHT, y, "axis");
    let minutes = span_ms > 180_000;
    let unit = if minutes { 60_000.0 } else { 1000.0 };
    for t in ticks(span_ms as f64 / unit, 8) {
        let px = x.at(t * unit);
        svg.line(px, top, px, y, "grid");
        let label = if minutes {
            format!("{t} min")
        } else {
            format!("{t} s")
        };
        svg.text(px, y + 13.0, "middle", "tick", &label);
    }
}

pub fn render(record: &RunRecord) -> String {
    let end = span_ms(record);
    let x = Scale::new(0.0, end as f64, LEFT, RIGHT);
    let mut svg = Svg::new(WIDTH, 110.0);
    shade(&mut svg, x, &record.windows, end, 4.0, 84.0);
    svg.text(LEFT - 6.0, 36.0, "end", "lane", "steps");
    svg.text(LEFT - 6.0, 66.0, "end", "lane", "commands");
    for s in &record.steps {
        let class = match s.outcome {
            Some(Outcome::Passed) => "step passed",
            Some(Outcome::Failed) => "step failed",
            _ => "step skipped",
        };
        let (x0, x1) = (
            x.at(s.started_ms as f64),
            x.at((s.started_ms + s.duration_ms) as f64),
        );
        svg.rect(
            x0,
            24.0,
            x1 - x0,
            18.0,
            class,
            &format!(
                "step {}: {} ({})",
                s.index + 1,
                s.name,
                duration(s.duration_ms)
            ),
        );
        if x1 - x0 > 60.0 {
            let name: String = s.name.chars().take(((x1 - x0) / 6.0) as usize).collect();
            svg.text(x0 + 3.0, 20.0, "start", "step-label", &name);
        }
    }
    for c in &record.commands {
        let Some(id) = c.id else { continue };
        let class = if c.passed {
            "command"
        } else {
            "command failed"
        };
        let (x0, x1) = (
            x.at(c.started_ms as f64),
            x.at((c.started_ms + c.duration_ms) as f64),
        );
        svg.rect(
            x0,
            56.0,
            (x1 - x0).max(1.5),
            16.0,
            class,
            &format!("{id} on {} ({})", c.host, duration(c.duration_ms)),
        );
    }
    axis(&mut svg, x, end, 90.0, 4.0);
    svg.finish(
        "timeline",
        "the run's steps and commands over time, with fault windows",
    )
}
