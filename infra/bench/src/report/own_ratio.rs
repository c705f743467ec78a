//! The warm budget as a ratio: each route's own time against the route probe's, which made the
//! same SDK calls in the same run with nothing of ours around them (src/run/route_probe.rs). An
//! absolute limit (the former "own p99 ≤ 1 ms") cannot hold for a route of several SDK calls on
//! two shared cores; the ratio says what our code adds, and travels to other machines.

use std::fmt::Write as _;

use super::{Report, RouteRow, ratio};
use crate::measure::{Pcts, Sample, ms};
use crate::results::RouteResult;
use crate::run::SCRIPT_SAMPLES;

/// Own time p99 may be at most this multiple of the route probe's.
pub const OWN_RATIO_MAX: f64 = 1.3;

/// One route's own time beside its probe's.
pub struct OwnRatio {
    pub route: &'static str,
    pub own: Pcts,
    pub n: usize,
    pub probe: Pcts,
    pub probe_n: usize,
    /// Calls the probe could not replay or that its backend refused (each once).
    pub probe_failed: Vec<String>,
}

impl OwnRatio {
    pub fn of(route: &RouteRow, probe: Option<&RouteResult>) -> OwnRatio {
        let samples: &[Sample] = probe.map_or(&[], |p| p.samples.as_slice());
        let own: Vec<_> = samples.iter().map(Sample::own).collect();
        OwnRatio {
            route: route.spec.key,
            own: route.own,
            n: route.n,
            probe: Pcts::of(&own),
            probe_n: samples.len(),
            probe_failed: probe.map_or_else(Vec::new, |p| p.unexpected.clone()),
        }
    }

    /// Own p50 ÷ the probe's p50.
    pub fn p50(&self) -> f64 {
        ratio(ms(self.own.p50), ms(self.probe.p50))
    }

    /// Own p99 ÷ the probe's p99: what the budget checks.
    pub fn p99(&self) -> f64 {
        ratio(ms(self.own.p99), ms(self.probe.p99))
    }

    /// Whether the route's own p99 is within 1.3× the probe's; `None` when either was not
    /// measured (no samples, or a probe that took no time to measure).
    pub fn pass(&self) -> Option<bool> {
        (self.n > 0 && self.probe_n > 0 && !self.probe.p99.is_zero())
            .then(|| self.p99() <= OWN_RATIO_MAX)
    }

    /// The p99 the budget allows: 1.3× the probe's, in ms.
    pub fn limit_ms(&self) -> f64 {
        ms(self.probe.p99) * OWN_RATIO_MAX
    }
}

impl Report {
    /// `## Own time against the route probe`.
    pub(super) fn own_ratio_table(&self, m: &mut String) {
        let _ = writeln!(m, "\n## Own time against the route probe\n");
        let _ = writeln!(
            m,
            "The route probe replays each route's backend calls as this run recorded them (the \
             most frequent chain, each call on the same table, queue, bucket or key with about \
             the same request and answer sizes, the calls of a stage concurrently) through the \
             SDK clients built as the functions build them, with nothing of ours around them, \
             under the same emulator and proxy, right after each of the route's invocations \
             from its {SCRIPT_SAMPLES}th on (the script is derived from the first \
             {SCRIPT_SAMPLES}), so both meet the machine in the same state. Own = invoke − \
             awaiting for both. Budget: own p99 ≤ {OWN_RATIO_MAX} × the probe's p99.\n"
        );
        let _ = writeln!(
            m,
            "| route | n | own p50 | own p99 | probe n | probe p50 | probe p99 | ratio p50 | ratio p99 | pass |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in &self.own_ratios {
            let verdict = match r.pass() {
                Some(true) => "pass",
                Some(false) => "**miss**",
                None => "not measured",
            };
            let _ = writeln!(
                m,
                "| {} | {} | {:.3} | {:.3} | {} | {:.3} | {:.3} | {:.2} | {:.2} | {verdict} |",
                r.route,
                r.n,
                ms(r.own.p50),
                ms(r.own.p99),
                r.probe_n,
                ms(r.probe.p50),
                ms(r.probe.p99),
                r.p50(),
                r.p99()
            );
        }
        let failed: Vec<&OwnRatio> = self
            .own_ratios
            .iter()
            .filter(|r| !r.probe_failed.is_empty())
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(
                m,
                "\nReplayed calls that failed (the SDK's work on our side still happened; the \
                 backend refused the stand-in request):\n"
            );
            for r in failed {
                let shown: Vec<String> = r.probe_failed.iter().take(5).cloned().collect();
                let _ = writeln!(m, "- {}: `{}`", r.route, shown.join("`, `"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::catalogue::spec;

    /// `n` samples of `micros` µs each, no backend call.
    fn samples(micros: &[u64]) -> RouteResult {
        let t = Instant::now();
        RouteResult {
            samples: micros
                .iter()
                .map(|&us| Sample::new(t, t + Duration::from_micros(us), &[]))
                .collect(),
            unexpected: Vec::new(),
        }
    }

    fn row(micros: &[u64]) -> RouteRow {
        RouteRow::of(spec("GET /v1/users"), Some(&samples(micros)))
    }

    #[test]
    fn a_route_passes_within_1_3_times_its_probe_and_misses_beyond() {
        // given a route at 1.0 ms (p50) and 2.5 ms (p99) over 100 invocations, and two probes:
        // 1.0 / 2.0 ms and 0.8 / 1.9 ms
        let hundred = |p50: u64, p99: u64| -> Vec<u64> {
            [p50; 98].iter().copied().chain([p99, p99]).collect()
        };
        let route = row(&hundred(1_000, 2_500));
        let close = samples(&hundred(1_000, 2_000));
        let far = samples(&hundred(800, 1_900));

        // when the route is compared with each
        let within = OwnRatio::of(&route, Some(&close));
        let beyond = OwnRatio::of(&route, Some(&far));

        // then 2.5 ÷ 2.0 = 1.25× passes (limit 2.6 ms) and 2.5 ÷ 1.9 = 1.32× misses; the p50
        // ratios are reported too: 1.0× and 1.25×
        assert_eq!(within.pass(), Some(true));
        assert!((within.p99() - 1.25).abs() < 1e-9 && (within.p50() - 1.0).abs() < 1e-9);
        assert!((within.limit_ms() - 2.6).abs() < 1e-9);
        assert_eq!(beyond.pass(), Some(false));
        assert!((beyond.p99() - 2.5 / 1.9).abs() < 1e-9 && (beyond.p50() - 1.25).abs() < 1e-9);
    }

    #[test]
    fn a_route_without_a_probe_or_samples_is_not_measured() {
        // given a route with samples but no probe run, and a probe of a route that never ran
        let route = row(&[1_000, 1_200]);
        let empty = RouteRow::of(spec("GET /v1/users"), None);

        // when they are compared
        let no_probe = OwnRatio::of(&route, None);
        let no_route = OwnRatio::of(&empty, Some(&samples(&[500])));

        // then neither passes nor misses: the check is "not measured" (no exit status 1)
        assert_eq!(no_probe.pass(), None);
        assert_eq!(no_route.pass(), None);
        assert!(no_probe.p99().is_nan());
    }
}
