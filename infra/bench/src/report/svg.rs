//! The chart (`docs/performance.svg`): four panels — init, max RSS, bootstrap size, worst warm
//! own time over the route probe's — each function against the (Rust) floor and the budget, drawn as plain SVG so no
//! plotting dependency is needed. The Python and Node floors are in the tables, not here: tens
//! of times the others, they would flatten every bar of the chart.

use std::fmt::Write as _;

use super::budgets::{ARM64_MAX_MIB, INIT_RATIO_MAX, RSS_MAX_MIB};
use super::own_ratio::{OWN_RATIO_MAX, OwnRatio};
use super::{Report, mib, ratio};
use crate::catalogue::{script, spec};
use crate::measure::ms;

impl Report {
    /// Four panels: init, max RSS, arm64 (or x86_64) bootstrap, worst warm own-time p99 over
    /// the route probe's; each function against the floor (which has no probe: 0) and the
    /// budget.
    pub fn svg(&self) -> String {
        let floor = self.floor();
        let shown: Vec<_> = self
            .functions
            .iter()
            .filter(|f| script(f.name).is_none())
            .collect();
        let worst_own: Vec<f64> = shown
            .iter()
            .map(|f| {
                self.own_ratios
                    .iter()
                    .filter(|x| spec(x.route).function == f.name && x.pass().is_some())
                    .map(OwnRatio::p99)
                    .fold(0.0, f64::max)
            })
            .collect();
        let arm = shown.iter().all(|f| f.size_arm64.is_some());
        let panels: Vec<(String, Vec<f64>, Option<f64>, &str)> = vec![
            (
                "Init duration p50 (ms)".into(),
                shown.iter().map(|f| ms(f.init.p50)).collect(),
                Some(ms(floor.init.p50) * INIT_RATIO_MAX),
                "budget 1.5 × floor",
            ),
            (
                "Max RSS (MiB)".into(),
                shown.iter().map(|f| f.max_rss_mib).collect(),
                Some(RSS_MAX_MIB),
                "budget 32 MiB",
            ),
            (
                format!("{} bootstrap (MiB)", if arm { "arm64" } else { "x86_64" }),
                shown
                    .iter()
                    .map(|f| {
                        mib(if arm {
                            f.size_arm64.unwrap_or(0)
                        } else {
                            f.size_x86.unwrap_or(0)
                        })
                    })
                    .collect(),
                arm.then_some(ARM64_MAX_MIB),
                "budget 8 MiB",
            ),
            (
                "Warm own time p99 ÷ route probe's, worst route (×)".into(),
                worst_own,
                Some(OWN_RATIO_MAX),
                "budget 1.3×",
            ),
        ];
        // A panel holds one 27-pixel row per function below its title, and the budget's label.
        let (w, pw) = (960.0, 470.0);
        let ph = (28.0 + shown.len() as f64 * 27.0 + 22.0).max(230.0);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" viewBox="0 0 {w} {}" font-family="Helvetica, Arial, sans-serif" font-size="11">"##,
            2.0 * ph + 40.0,
            2.0 * ph + 40.0
        );
        let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
        let _ = writeln!(
            s,
            r##"<text x="10" y="18" font-size="14" font-weight="bold">Each function against the floor (empty lambda_http handler) — {}</text>"##,
            xml(&self.started)
        );
        for (i, (title, values, budget, budget_label)) in panels.iter().enumerate() {
            let x0 = 10.0 + (i % 2) as f64 * (pw + 10.0);
            let y0 = 30.0 + (i / 2) as f64 * (ph + 5.0);
            let floor_v = values[0];
            let max = values
                .iter()
                .copied()
                .chain(budget.iter().copied())
                .fold(0.0, f64::max)
                .max(1e-9)
                * 1.15;
            let (lx, bw) = (x0 + 95.0, pw - 95.0 - 120.0);
            let _ = writeln!(
                s,
                r##"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#dddddd"/>"##
            );
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" font-size="12" font-weight="bold">{}</text>"##,
                x0 + 8.0,
                y0 + 16.0,
                xml(title)
            );
            for (j, (name, v)) in shown.iter().map(|f| f.name).zip(values).enumerate() {
                let y = y0 + 28.0 + j as f64 * 27.0;
                let len = (v / max * bw).max(1.0);
                let over = budget.is_some_and(|b| *v > b) && j > 0;
                let color = if j == 0 {
                    "#9e9e9e"
                } else if over {
                    "#d9534f"
                } else {
                    "#4a90d9"
                };
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{}" text-anchor="end">{name}</text>"##,
                    lx - 6.0,
                    y + 13.0
                );
                let _ = writeln!(
                    s,
                    r##"<rect x="{lx}" y="{y}" width="{len:.1}" height="18" fill="{color}"/>"##
                );
                // The own-time panel is already a ratio (to each route's probe); the floor has
                // no probe, so nothing to compare with there.
                let label = match (j, floor_v > 0.0) {
                    (0, true) => format!("{v:.2} (floor)"),
                    (0, false) => "no route probe (floor)".to_owned(),
                    (_, true) => format!("{v:.2} ({:.1}×)", ratio(*v, floor_v)),
                    (_, false) => format!("{v:.2}"),
                };
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{}">{}</text>"##,
                    lx + len + 4.0,
                    y + 13.0,
                    xml(&label)
                );
            }
            if let Some(b) = budget {
                let bx = lx + b / max * bw;
                let _ = writeln!(
                    s,
                    r##"<line x1="{bx:.1}" y1="{}" x2="{bx:.1}" y2="{}" stroke="#d9534f" stroke-dasharray="4,3"/><text x="{bx:.1}" y="{}" fill="#d9534f" text-anchor="middle">{}</text>"##,
                    y0 + 24.0,
                    y0 + ph - 14.0,
                    y0 + ph - 4.0,
                    xml(budget_label)
                );
            }
        }
        let _ = writeln!(s, "</svg>");
        s
    }
}

/// Text escaped for SVG.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
