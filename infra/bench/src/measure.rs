//! What one invocation cost, and the statistics over many.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::proxy::{Call, CallSize};

/// One backend call, relative to the start of its invocation.
#[derive(Debug, Clone)]
pub struct CallSpan {
    pub name: String,
    pub start: Duration,
    pub end: Duration,
    /// HTTP status the backend answered.
    pub status: u16,
    /// Its billable shape (bodies, DynamoDB items), for the cost model.
    pub size: CallSize,
    /// The table, queue, bucket or key it addressed (src/proxy.rs).
    pub resource: String,
}

/// One invocation.
#[derive(Debug, Clone)]
pub struct Sample {
    /// `…/next` answered → `…/response` received.
    pub invoke: Duration,
    /// Union of the backend call intervals (concurrent calls counted once).
    pub awaiting: Duration,
    pub calls: Vec<CallSpan>,
    /// Calls grouped into sequential stages: a call that starts while an earlier one is still
    /// in flight joins its stage.
    pub stages: Vec<Vec<String>>,
    /// Backend calls recorded outside the invocation's window (should be none).
    pub stray: usize,
    /// CPU time of the function process during the invocation.
    pub cpu: Duration,
    /// Time its threads waited for a CPU during the invocation.
    pub runq_wait: Duration,
    /// Bytes the function wrote to stdout and stderr during the invocation (what CloudWatch
    /// Logs would ingest from it); `None` where the harness did not measure it.
    pub log_bytes: Option<u64>,
}

impl Sample {
    pub fn new(answered: Instant, received: Instant, calls: &[Call]) -> Sample {
        let mut inside: Vec<&Call> = Vec::new();
        let mut stray = 0;
        for c in calls {
            if c.start >= answered && c.end <= received {
                inside.push(c);
            } else {
                stray += 1;
            }
        }
        inside.sort_by_key(|c| c.start);
        let mut spans = Vec::new();
        let mut stages: Vec<Vec<String>> = Vec::new();
        let mut awaiting = Duration::ZERO;
        let mut current: Option<(Instant, Instant)> = None;
        for c in &inside {
            let name = format!("{}.{}", c.service, c.op);
            spans.push(CallSpan {
                name: name.clone(),
                start: c.start - answered,
                end: c.end - answered,
                status: c.status,
                size: c.size,
                resource: c.resource.clone(),
            });
            match current {
                Some((s, e)) if c.start < e => {
                    current = Some((s, e.max(c.end)));
                    if let Some(stage) = stages.last_mut() {
                        stage.push(name);
                    }
                }
                _ => {
                    if let Some((s, e)) = current {
                        awaiting += e - s;
                    }
                    current = Some((c.start, c.end));
                    stages.push(vec![name]);
                }
            }
        }
        if let Some((s, e)) = current {
            awaiting += e - s;
        }
        Sample {
            invoke: received - answered,
            awaiting,
            calls: spans,
            stages,
            stray,
            cpu: Duration::ZERO,
            runq_wait: Duration::ZERO,
            log_bytes: None,
        }
    }

    /// Own time before the first backend call, after the last one, and between calls.
    pub fn own_split(&self) -> (Duration, Duration, Duration) {
        let Some(first) = self.calls.iter().map(|c| c.start).min() else {
            return (self.invoke, Duration::ZERO, Duration::ZERO);
        };
        let last = self.calls.iter().map(|c| c.end).max().unwrap_or(first);
        let before = first;
        let after = self.invoke.saturating_sub(last);
        let between = self.own().saturating_sub(before + after);
        (before, between, after)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let us = |d: Duration| d.as_micros() as u64;
        serde_json::json!({
            "invoke_us": us(self.invoke),
            "awaiting_us": us(self.awaiting),
            "own_us": us(self.own()),
            "cpu_us": us(self.cpu),
            "runq_wait_us": us(self.runq_wait),
            "log_bytes": self.log_bytes,
            "calls": self.calls.iter().map(|c| serde_json::json!([c.name, us(c.start), us(c.end), c.status, c.size.request_bytes, c.size.response_bytes, c.size.items, c.size.consistent])).collect::<Vec<_>>(),
        })
    }

    /// Time the function itself spent: invoke duration minus time awaiting backends.
    pub fn own(&self) -> Duration {
        self.invoke.saturating_sub(self.awaiting)
    }

    /// The stages as text: `a ∥ b → c`.
    pub fn chain(&self) -> String {
        if self.stages.is_empty() {
            return "(none)".to_owned();
        }
        self.stages
            .iter()
            .map(|stage| {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for name in stage {
                    *counts.entry(name.as_str()).or_default() += 1;
                }
                counts
                    .into_iter()
                    .map(|(n, k)| {
                        if k > 1 {
                            format!("{n} ×{k}")
                        } else {
                            n.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ∥ ")
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }

    /// Backend calls answered with an error status (conditional check failures, conflicts
    /// the SDK retried, …).
    pub fn failed_calls(&self) -> usize {
        self.calls.iter().filter(|c| c.status >= 300).count()
    }

    /// Union of the intervals of the calls whose name starts with `prefix`, and the spread of
    /// their start times.
    pub fn union_of(&self, prefix: &str) -> (Duration, Duration) {
        let mut spans: Vec<(Duration, Duration)> = self
            .calls
            .iter()
            .filter(|c| c.name.starts_with(prefix))
            .map(|c| (c.start, c.end))
            .collect();
        spans.sort();
        let spread = match (spans.first(), spans.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => Duration::ZERO,
        };
        let mut total = Duration::ZERO;
        let mut current: Option<(Duration, Duration)> = None;
        for (s, e) in spans {
            match current {
                Some((cs, ce)) if s < ce => current = Some((cs, ce.max(e))),
                _ => {
                    if let Some((cs, ce)) = current {
                        total += ce - cs;
                    }
                    current = Some((s, e));
                }
            }
        }
        if let Some((cs, ce)) = current {
            total += ce - cs;
        }
        (total, spread)
    }

    /// Calls per service.
    pub fn by_service(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in &self.calls {
            let service = c.name.split('.').next().unwrap_or("?").to_owned();
            *out.entry(service).or_default() += 1;
        }
        out
    }
}

/// Nearest-rank percentile of durations.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut v = values.to_vec();
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The most frequent value and how often it occurs.
pub fn mode<T: Ord + Clone>(values: impl IntoIterator<Item = T>) -> Option<(T, usize)> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n)
}

/// p50/p90/p99 of a set of samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pcts {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Pcts {
    pub fn of(values: &[Duration]) -> Pcts {
        Pcts {
            p50: percentile(values, 50.0),
            p90: percentile(values, 90.0),
            p99: percentile(values, 99.0),
            max: values.iter().max().copied().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(base: Instant, op: &str, from_ms: u64, to_ms: u64) -> Call {
        Call {
            service: "dynamodb".into(),
            op: op.into(),
            start: base + Duration::from_millis(from_ms),
            end: base + Duration::from_millis(to_ms),
            status: 200,
            size: CallSize::default(),
            resource: String::new(),
        }
    }

    #[test]
    fn overlapping_calls_form_one_stage_and_count_once() {
        // given a 10 ms invocation with two overlapping calls (1–4 ms, 2–5 ms), then one more
        let t0 = Instant::now();
        let calls = [
            call(t0, "UpdateItem", 1, 4),
            call(t0, "UpdateItem", 2, 5),
            call(t0, "GetItem", 6, 8),
        ];

        // when it is sampled
        let s = Sample::new(t0, t0 + Duration::from_millis(10), &calls);

        // then the overlapping calls form one stage, awaited once: 4 + 2 ms awaiting, 4 ms own
        assert_eq!(s.stages.len(), 2);
        assert_eq!(s.awaiting, Duration::from_millis(6));
        assert_eq!(s.own(), Duration::from_millis(4));
        assert_eq!(s.chain(), "dynamodb.UpdateItem ×2 → dynamodb.GetItem");
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        // given 1, 2, …, 200 ms
        let v: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();

        // when their percentiles are taken
        let (p50, p99) = (percentile(&v, 50.0), percentile(&v, 99.0));

        // then each is a sample, the one at rank ⌈p × n⌉ (no interpolation)
        assert_eq!(p50, Duration::from_millis(100));
        assert_eq!(p99, Duration::from_millis(198));
    }
}
