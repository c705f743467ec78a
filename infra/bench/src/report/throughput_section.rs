//! The Scan validator throughput section of `docs/performance.md`: one message against a batch
//! of ten with slow iProov calls, and whether the batch's calls really run concurrently.

use std::fmt::Write as _;

use super::budgets::BATCH_RATIO_MAX;
use super::{Report, ratio};
use crate::measure::ms;

impl Report {
    /// `## Scan validator throughput`.
    pub(super) fn throughput_section(&self, m: &mut String) {
        let _ = writeln!(m, "\n## Scan validator throughput\n");
        let _ = writeln!(
            m,
            "The sandbox adds {} ms to every iProov call (`PUT /sandbox/latency`); {} rounds of one \
             message, then a batch of ten, on the warm validator, run before the validator's other \
             invocations while the users table is nearly empty (moto deep-copies a whole table on \
             every TransactWriteItems). Wall time = invoke duration.\n",
            self.latency_ms, self.rounds
        );
        let _ = writeln!(m, "| event | p50 ms | max ms |\n|---|---|---|");
        let _ = writeln!(
            m,
            "| 1 message | {:.1} | {:.1} |",
            ms(self.single.p50),
            ms(self.single.max)
        );
        let _ = writeln!(
            m,
            "| batch of 10 | {:.1} | {:.1} |",
            ms(self.batch.p50),
            ms(self.batch.max)
        );
        let _ = writeln!(
            m,
            "\nRatio {:.2}× (budget {BATCH_RATIO_MAX}×). One message: {}.\n",
            ratio(ms(self.batch.p50), ms(self.single.p50)),
            self.single_chain,
        );
        let _ = writeln!(
            m,
            "Is the validator concurrent? The ten iProov enrol/validate calls of a batch are in \
             flight together for {:.1} ms (union of their intervals, p50; one message: {:.1} ms), \
             their start times spread over {:.1} ms — processed one after the other they would need \
             ≥ {} ms for them alone. A batch makes {} backend calls; {} answers were errors over all \
             batches (retried by the SDK). The function used {:.1} ms of CPU per batch ({:.1} ms for \
             one message).\n",
            ms(self.iproov_union[1].0),
            ms(self.iproov_union[0].0),
            ms(self.iproov_union[1].1),
            10 * self.latency_ms,
            self.batch_calls,
            self.batch_failed_calls,
            ms(self.batch_cpu),
            ms(self.single_cpu),
        );
        let _ = writeln!(
            m,
            "Mean backend call time seen by the function (moto is a single Python process):\n"
        );
        let _ = writeln!(
            m,
            "| service | 1 message ms | batch of 10 ms |\n|---|---|---|"
        );
        for (svc, a, b) in &self.call_latency {
            let _ = writeln!(m, "| {svc} | {a:.2} | {b:.2} |");
        }
    }
}
