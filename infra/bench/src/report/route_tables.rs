//! The Routes and round-trips sections of `docs/performance.md`: warm invoke and own time per
//! route, where the own time goes, what one DynamoDB call costs, and the backend round trips
//! observed against the minimum each design allows.

use std::fmt::Write as _;

use super::function_tables::unmeasured_row;
use super::{Report, ratio};
use crate::catalogue::is_floor;
use crate::measure::ms;

impl Report {
    /// `## Routes (warm invocations)` and `## Backend round trips per request`.
    pub(super) fn route_tables(&self, m: &mut String) {
        let fr = self.floor_route();
        let _ = writeln!(m, "\n## Routes (warm invocations)\n");
        let _ = writeln!(
            m,
            "Invoke = `…/next` answered → `…/response` received. Awaiting = union of the intervals \
             during which a backend call was in flight (measured at the proxy: request head in → \
             response handed back). Own = invoke − awaiting: the function's own time, which the \
             warm budget compares with the route probe's (next section). × floor = own p99 ÷ the \
             floor's.\n"
        );
        let _ = writeln!(
            m,
            "| route | function | n | invoke p50 | p90 | p99 | awaiting p50 | own p50 | own p90 | own p99 | × floor |\n|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in &self.routes {
            if let Some(why) = self.not_measured(r.spec.function) {
                let _ = writeln!(
                    m,
                    "{}",
                    unmeasured_row(&[r.spec.key, r.spec.function], why, 11)
                );
                continue;
            }
            let _ = writeln!(
                m,
                "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} | {:.1} |",
                r.spec.key,
                r.spec.function,
                r.n,
                ms(r.invoke.p50),
                ms(r.invoke.p90),
                ms(r.invoke.p99),
                ms(r.awaiting_p50),
                ms(r.own.p50),
                ms(r.own.p90),
                ms(r.own.p99),
                ratio(ms(r.own.p99), ms(fr.own.p99)),
            );
        }
        let _ = writeln!(m, "\n(all times in ms)\n");
        let _ = writeln!(
            m,
            "Where the own time goes: CPU = CPU time of the function process during the invocation \
             (all threads, from `/proc/<pid>/task/*/schedstat`; the rest of the own time is wake-ups \
             and loopback I/O); run-queue wait = time its threads were runnable but another process \
             had the CPU (contention on this 2-core machine); before / between / after = own time \
             before the first backend call, between calls, after the last call (p50 of each).\n"
        );
        let _ = writeln!(
            m,
            "| route | CPU p50 | CPU p99 | run-queue wait p50 | p99 | before p50 | between p50 | after p50 | backend calls |\n|---|---|---|---|---|---|---|---|---|"
        );
        for r in &self.routes {
            if let Some(why) = self.not_measured(r.spec.function) {
                let _ = writeln!(m, "{}", unmeasured_row(&[r.spec.key], why, 9));
                continue;
            }
            let _ = writeln!(
                m,
                "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                r.spec.key,
                ms(r.cpu.p50),
                ms(r.cpu.p99),
                ms(r.runq_wait.p50),
                ms(r.runq_wait.p99),
                ms(r.split_p50.0),
                ms(r.split_p50.1),
                ms(r.split_p50.2),
                r.calls_mode,
            );
        }
        let _ = writeln!(m);
        if !self.probes.is_empty() {
            let _ = writeln!(
                m,
                "Calibration — what one DynamoDB `GetItem` costs the calling process (CPU per call, \
                 300 calls straight to moto after 20 warm-up calls, in a separate process; the wall \
                 time includes moto). For scale: the floor function uses {:.3} ms of CPU per whole \
                 invocation.\n",
                ms(fr.cpu.p50)
            );
            let _ = writeln!(
                m,
                "| client | CPU µs per call | wall µs per call |\n|---|---|---|"
            );
            for (label, cpu, wall) in &self.probes {
                let _ = writeln!(m, "| {label} | {cpu:.0} | {wall:.0} |");
            }
            let _ = writeln!(m);
        }
        let _ = writeln!(m, "## Backend round trips per request\n");
        let _ = writeln!(
            m,
            "Calls counted at the proxy, per service; *sequential* = stages of the request's critical \
             path (calls whose intervals overlap form one stage). Observed = the most frequent value \
             over the route's invocations (share in brackets), max = the largest seen (e.g. a secret \
             refreshed after its 5-minute cache TTL, or the iProov OAuth token renewed every 50 \
             uses). Minimum = the fewest sequential stages the design allows with the same calls: \
             only real dependencies (data, or an ordering the design requires for safety) order \
             two calls.\n"
        );
        let _ = writeln!(
            m,
            "| route | calls | by service | error answers (all samples) | sequential observed | max | minimum | verdict |\n|---|---|---|---|---|---|---|---|"
        );
        for r in self.routes.iter().filter(|r| !is_floor(r.spec.function)) {
            let verdict = if r.n == 0 {
                "–"
            } else if r.stages_mode <= r.spec.min_stages {
                "pass"
            } else {
                "**miss**"
            };
            let _ = writeln!(
                m,
                "| {} | {} (max {}) | {} | {} | {} ({:.0}%) | {} | {} | {verdict} |",
                r.spec.key,
                r.calls_mode,
                r.calls_max,
                r.services,
                r.failed_calls,
                r.stages_mode,
                r.stages_share * 100.0,
                r.stages_max,
                r.spec.min_stages,
            );
        }
        let _ = writeln!(
            m,
            "\nObserved chains (most frequent) and the minimum chain the design allows:\n"
        );
        for r in self.routes.iter().filter(|r| !is_floor(r.spec.function)) {
            let _ = writeln!(
                m,
                "- **{}** — observed: {}  \n  minimum: {}",
                r.spec.key, r.chain, r.spec.min_chain
            );
        }
    }
}
