//! The one-screen summary `make bench` prints at the end: the headline figures against the
//! floor, and every missed budget and unexpected answer.

use std::fmt::Write as _;

use super::budgets::Check;
use super::{Report, mib, ratio};
use crate::measure::ms;

impl Report {
    /// The one-screen summary printed at the end.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let floor = self.floor();
        let fr = self.floor_route();
        let _ = writeln!(
            s,
            "\n== make bench: {} cold starts per function, ≥{} warm invocations per route ==",
            self.cold, self.n
        );
        let _ = writeln!(
            s,
            "{:<15}{:>10}{:>8}{:>10}{:>8}{:>11}{:>11}",
            "function", "init ms", "×floor", "RSS MiB", "×floor", "x86 MiB", "arm64 MiB"
        );
        for f in &self.functions {
            if let Some(why) = &f.unavailable {
                let _ = writeln!(s, "{:<15}  not measured: {why}", f.name);
                continue;
            }
            let _ = writeln!(
                s,
                "{:<15}{:>10.2}{:>8.2}{:>10.1}{:>8.2}{:>11.2}{:>11}",
                f.name,
                ms(f.init.p50),
                ratio(ms(f.init.p50), ms(floor.init.p50)),
                f.max_rss_mib,
                ratio(f.max_rss_mib, floor.max_rss_mib),
                f.size_x86.map_or(f64::NAN, mib),
                f.size_arm64
                    .map_or("–".into(), |b| format!("{:.2}", mib(b))),
            );
        }
        let _ = writeln!(
            s,
            "\n{:<44}{:>8}{:>8}{:>9}{:>8}{:>8}{:>7}{:>5}",
            "route (warm)", "inv p50", "inv p99", "own p99", "×floor", "×probe", "trips", "min"
        );
        for r in &self.routes {
            if let Some(why) = self.not_measured(r.spec.function) {
                let _ = writeln!(s, "{:<44}  not measured: {why}", r.spec.key);
                continue;
            }
            // Own p99 over the route probe's (the warm budget); none for a floor.
            let over_probe = self
                .own_ratios
                .iter()
                .find(|x| x.route == r.spec.key && x.pass().is_some())
                .map_or("–".to_owned(), |x| format!("{:.2}", x.p99()));
            let _ = writeln!(
                s,
                "{:<44}{:>8.2}{:>8.2}{:>9.3}{:>8.1}{over_probe:>8}{:>7}{:>5}",
                r.spec.key,
                ms(r.invoke.p50),
                ms(r.invoke.p99),
                ms(r.own.p99),
                ratio(ms(r.own.p99), ms(fr.own.p99)),
                r.stages_mode,
                r.spec.min_stages,
            );
        }
        let _ = writeln!(
            s,
            "\nvalidator, iProov +{} ms: 1 message {:.1} ms, batch of 10 {:.1} ms ({:.2}×)",
            self.latency_ms,
            ms(self.single.p50),
            ms(self.batch.p50),
            ratio(ms(self.batch.p50), ms(self.single.p50))
        );
        let missed: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| c.pass == Some(false))
            .collect();
        let _ = writeln!(
            s,
            "\nbudgets: {} checked, {} passed, {} missed",
            self.checks.iter().filter(|c| c.pass.is_some()).count(),
            self.checks.iter().filter(|c| c.pass == Some(true)).count(),
            missed.len()
        );
        for c in &missed {
            let _ = writeln!(
                s,
                "  MISS {:<48} {:<40} {} (limit {}; {})",
                c.budget, c.subject, c.value, c.limit, c.margin
            );
        }
        for r in &self.routes {
            if !r.unexpected.is_empty() {
                let _ = writeln!(
                    s,
                    "  ERROR {}: {} unexpected answers, e.g. {}",
                    r.spec.key,
                    r.unexpected.len(),
                    r.unexpected[0]
                );
            }
        }
        let _ = writeln!(
            s,
            "report: docs/performance.md, chart: docs/performance.svg ({:.0} s)",
            self.wall.as_secs_f64()
        );
        s
    }
}
