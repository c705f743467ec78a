//! The performance budgets (issue #7) and the checks of one run against them: each function's
//! init against the (Rust) floor's, each route's own time against the route probe's (the same SDK
//! calls with nothing of ours around them) and its sequential round trips, memory, the
//! arm64 bootstrap size and the validator's batch. A miss makes `make bench` exit 1. The floors
//! are references, not subjects: no budget applies to them.

use super::own_ratio::OWN_RATIO_MAX;
use super::{Report, mib, ratio};
use crate::catalogue::is_floor;
use crate::measure::ms;

/// Budgets of issue #7.
pub const INIT_RATIO_MAX: f64 = 1.5;
pub const RSS_MAX_MIB: f64 = 32.0;
pub const ARM64_MAX_MIB: f64 = 8.0;
pub const BATCH_RATIO_MAX: f64 = 1.5;

/// One budget applied to one subject (a function, a route, the validator).
pub struct Check {
    pub budget: &'static str,
    pub subject: String,
    pub value: String,
    pub limit: String,
    /// `None`: not measurable in this run.
    pub pass: Option<bool>,
    /// By how much, when missed.
    pub margin: String,
}

impl Report {
    /// Every check of this run, in the order the report lists them.
    pub(super) fn budgets(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let floor = self.floor();
        let floor_init = ms(floor.init.p50);
        let functions = || self.functions.iter().filter(|f| !is_floor(f.name));
        let routes = || self.routes.iter().filter(|r| !is_floor(r.spec.function));
        for f in functions() {
            let x = ratio(ms(f.init.p50), floor_init);
            checks.push(Check {
                budget: "init ≤ 1.5 × floor",
                subject: f.name.into(),
                value: format!("{:.2} ms = {x:.2}× floor", ms(f.init.p50)),
                limit: format!("{:.2} ms", floor_init * INIT_RATIO_MAX),
                pass: Some(x <= INIT_RATIO_MAX),
                margin: format!(
                    "+{:.2} ms ({:.0}% over)",
                    ms(f.init.p50) - floor_init * INIT_RATIO_MAX,
                    (x / INIT_RATIO_MAX - 1.0) * 100.0
                ),
            });
        }
        for r in &self.own_ratios {
            checks.push(Check {
                budget: "warm own p99 ≤ 1.3 × route probe p99",
                subject: r.route.into(),
                value: format!(
                    "{:.3} ms vs probe {:.3} ms = {:.2}× (p50 {:.2}×)",
                    ms(r.own.p99),
                    ms(r.probe.p99),
                    r.p99(),
                    r.p50()
                ),
                limit: format!("{:.3} ms", r.limit_ms()),
                pass: r.pass(),
                margin: format!(
                    "+{:.3} ms ({:.0}% over)",
                    ms(r.own.p99) - r.limit_ms(),
                    (r.p99() / OWN_RATIO_MAX - 1.0) * 100.0
                ),
            });
        }
        for r in routes() {
            checks.push(Check {
                budget: "sequential backend round trips = documented minimum",
                subject: r.spec.key.into(),
                value: r.stages_mode.to_string(),
                limit: r.spec.min_stages.to_string(),
                pass: (r.n > 0).then_some(r.stages_mode <= r.spec.min_stages),
                margin: format!("{} more", r.stages_mode.saturating_sub(r.spec.min_stages)),
            });
        }
        for f in functions() {
            checks.push(Check {
                budget: "max RSS ≤ 32 MiB",
                subject: f.name.into(),
                value: format!("{:.1} MiB", f.max_rss_mib),
                limit: "32 MiB".into(),
                pass: Some(f.max_rss_mib <= RSS_MAX_MIB),
                margin: format!("+{:.1} MiB", f.max_rss_mib - RSS_MAX_MIB),
            });
        }
        for f in functions() {
            checks.push(Check {
                budget: "arm64 bootstrap ≤ 8 MiB",
                subject: f.name.into(),
                value: f
                    .size_arm64
                    .map_or("not built".into(), |s| format!("{:.2} MiB ({s} B)", mib(s))),
                limit: "8 MiB (8388608 B)".into(),
                pass: f.size_arm64.map(|s| mib(s) <= ARM64_MAX_MIB),
                margin: f.size_arm64.map_or(String::new(), |s| {
                    format!("+{} B", s.saturating_sub(8 * 1024 * 1024))
                }),
            });
        }
        let x = ratio(ms(self.batch.p50), ms(self.single.p50));
        checks.push(Check {
            budget: "validator batch of 10 ≤ 1.5 × one message",
            subject: format!("scan-validator, iProov latency {} ms", self.latency_ms),
            value: format!(
                "{:.1} ms vs {:.1} ms = {x:.2}×",
                ms(self.batch.p50),
                ms(self.single.p50)
            ),
            limit: "1.5×".into(),
            pass: (self.rounds > 0).then_some(x <= BATCH_RATIO_MAX),
            margin: format!("+{:.2}×", x - BATCH_RATIO_MAX),
        });
        checks
    }
}
