//! A small SVG writer: the report's pictures are bars, ticks, shaded spans and one polyline on
//! a time axis, which a plotting crate would draw no better. Writing them here keeps the page
//! free of fonts and scripts fetched from anywhere, and gives every shape a class the page's
//! CSS colours and a test can find.

use std::fmt::Write;

use super::page::escape;

/// A drawing of `width` × `height` user units, scaled to the page's width.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Self {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    /// A rectangle with a class and a tooltip (`<title>`).
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            w.max(0.5),
            h.max(0.5),
            escape(title)
        );
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.body,
            r#"<line class="{class}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"/>"#
        );
    }

    /// Text anchored at its start (`anchor`: `start`, `middle`, `end`).
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.body,
            r#"<text class="{class}" x="{x:.1}" y="{y:.1}" text-anchor="{anchor}">{}</text>"#,
            escape(text)
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], class: &str) {
        if points.is_empty() {
            return;
        }
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            self.body,
            r#"<polyline class="{class}" points="{}"/>"#,
            pts.join(" ")
        );
    }

    pub fn finish(self, class: &str, label: &str) -> String {
        format!(
            r#"<svg class="{class}" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">{}</svg>"#,
            self.width,
            self.height,
            escape(label),
            self.body
        )
    }
}

/// A linear map from a domain (`from..to`) onto a range of user units.
#[derive(Clone, Copy)]
pub struct Scale {
    from: f64,
    to: f64,
    start: f64,
    end: f64,
}

impl Scale {
    pub fn new(from: f64, to: f64, start: f64, end: f64) -> Self {
        let to = if to > from { to } else { from + 1.0 };
        Scale {
            from,
            to,
            start,
            end,
        }
    }

    pub fn at(&self, v: f64) -> f64 {
        self.start
            + (v.clamp(self.from, self.to) - self.from) / (self.to - self.from)
                * (self.end - self.start)
    }
}

/// Tick values for an axis of `span` (in the axis's unit), about `count` of them, at round
/// steps (1, 2, 5 × a power of ten).
pub fn ticks(span: f64, count: usize) -> Vec<f64> {
    if span <= 0.0 || count == 0 {
        return vec![0.0];
    }
    let raw = span / count as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|v| *v <= span + step * 1e-9)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_round_steps() {
        assert_eq!(ticks(10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(95.0, 4), vec![0.0, 50.0]);
        assert_eq!(ticks(0.0, 4), vec![0.0]);
    }

    #[test]
    fn scales_map_and_clamp() {
        let s = Scale::new(0.0, 100.0, 10.0, 110.0);
        assert_eq!(s.at(50.0), 60.0);
        assert_eq!(s.at(-5.0), 10.0);
        assert_eq!(s.at(500.0), 110.0);
    }

    #[test]
    fn text_is_escaped() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.text(0.0, 0.0, "start", "t", "<a & b>");
        let out = svg.finish("x", "x");
        assert!(out.contains("&lt;a &amp; b&gt;"), "{out}");
    }
}
