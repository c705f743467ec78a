//! The report's figures: the samples of each function, each route and the throughput test
//! reduced to the statistics (percentiles, most frequent chain, …) that the tables, the budgets
//! and the chart show.

use std::time::Duration;

use crate::catalogue::RouteSpec;
use crate::measure::{Pcts, Sample, mode, ms};
use crate::results::{FunctionResult, RouteResult, Throughput};

pub struct FunctionRow {
    pub name: &'static str,
    pub init: Pcts,
    pub init_cpu_p50: Duration,
    pub init_rss_mib: f64,
    pub init_calls: usize,
    pub cold_starts: usize,
    pub max_rss_mib: f64,
    pub size_x86: Option<u64>,
    pub size_arm64: Option<u64>,
    pub first: Option<(String, Sample)>,
    /// What runs a script floor (interpreter, version, executable).
    pub runner: Option<String>,
    /// Why it was not measured (a script floor whose interpreter is missing).
    pub unavailable: Option<String>,
}

pub struct RouteRow {
    pub spec: &'static RouteSpec,
    pub n: usize,
    pub invoke: Pcts,
    pub awaiting_p50: Duration,
    pub own: Pcts,
    pub calls_mode: usize,
    pub calls_max: usize,
    pub services: String,
    pub stages_mode: usize,
    pub stages_share: f64,
    pub stages_max: usize,
    pub chain: String,
    pub unexpected: Vec<String>,
    pub stray: usize,
    pub cpu: Pcts,
    pub runq_wait: Pcts,
    /// Backend answers with an error status, over all samples.
    pub failed_calls: usize,
    /// Own time p50 before the first backend call, between calls, after the last one.
    pub split_p50: (Duration, Duration, Duration),
}

impl FunctionRow {
    /// `f`'s figures (zero for a function that never started).
    pub fn of(name: &'static str, f: &FunctionResult) -> FunctionRow {
        let mut cpu = f.init_cpu.clone();
        cpu.sort();
        let mut rss = f.init_rss_kb.clone();
        rss.sort_unstable();
        FunctionRow {
            name,
            init: Pcts::of(&f.init),
            init_cpu_p50: cpu.get(cpu.len() / 2).copied().unwrap_or_default(),
            init_rss_mib: rss.get(rss.len() / 2).copied().unwrap_or(0) as f64 / 1024.0,
            init_calls: f.init_calls,
            cold_starts: f.init.len(),
            max_rss_mib: f.max_rss_kb as f64 / 1024.0,
            size_x86: f.size_x86,
            size_arm64: f.size_arm64,
            first: f.first.clone(),
            runner: f.runner.clone(),
            unavailable: f.unavailable.clone(),
        }
    }
}

impl RouteRow {
    /// The figures of the warm samples of `spec`'s route (none if it never ran).
    pub fn of(spec: &'static RouteSpec, rr: Option<&RouteResult>) -> RouteRow {
        let samples: &[Sample] = rr.map_or(&[], |x| x.samples.as_slice());
        let invoke: Vec<Duration> = samples.iter().map(|s| s.invoke).collect();
        let own: Vec<Duration> = samples.iter().map(Sample::own).collect();
        let awaiting: Vec<Duration> = samples.iter().map(|s| s.awaiting).collect();
        let (stages_mode, stages_n) =
            mode(samples.iter().map(|s| s.stages.len())).unwrap_or((0, 0));
        let (calls_mode, _) = mode(samples.iter().map(|s| s.calls.len())).unwrap_or((0, 0));
        let chain = mode(samples.iter().map(Sample::chain))
            .map(|(c, _)| c)
            .unwrap_or_default();
        let services = mode(samples.iter().map(|s| {
            s.by_service()
                .into_iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }))
        .map(|(c, _)| c)
        .unwrap_or_default();
        RouteRow {
            spec,
            n: samples.len(),
            invoke: Pcts::of(&invoke),
            awaiting_p50: Pcts::of(&awaiting).p50,
            own: Pcts::of(&own),
            calls_mode,
            calls_max: samples.iter().map(|s| s.calls.len()).max().unwrap_or(0),
            services: if services.is_empty() {
                "–".into()
            } else {
                services
            },
            stages_mode,
            stages_share: if samples.is_empty() {
                0.0
            } else {
                stages_n as f64 / samples.len() as f64
            },
            stages_max: samples.iter().map(|s| s.stages.len()).max().unwrap_or(0),
            chain,
            unexpected: rr.map(|x| x.unexpected.clone()).unwrap_or_default(),
            stray: samples.iter().map(|s| s.stray).sum(),
            cpu: Pcts::of(&samples.iter().map(|s| s.cpu).collect::<Vec<_>>()),
            failed_calls: samples.iter().map(Sample::failed_calls).sum(),
            runq_wait: Pcts::of(&samples.iter().map(|s| s.runq_wait).collect::<Vec<_>>()),
            split_p50: {
                let splits: Vec<_> = samples.iter().map(Sample::own_split).collect();
                (
                    Pcts::of(&splits.iter().map(|x| x.0).collect::<Vec<_>>()).p50,
                    Pcts::of(&splits.iter().map(|x| x.1).collect::<Vec<_>>()).p50,
                    Pcts::of(&splits.iter().map(|x| x.2).collect::<Vec<_>>()).p50,
                )
            },
        }
    }
}

/// Wall time (invoke duration) percentiles of the throughput test's invocations.
pub fn wall(v: &[Sample]) -> Pcts {
    Pcts::of(&v.iter().map(|s| s.invoke).collect::<Vec<_>>())
}

/// Mean duration of the calls whose name starts with `prefix` (NaN when there are none).
fn mean_latency(v: &[Sample], prefix: &str) -> f64 {
    let spans: Vec<f64> = v
        .iter()
        .flat_map(|s| s.calls.iter())
        .filter(|c| c.name.starts_with(prefix))
        .map(|c| ms(c.end - c.start))
        .collect();
    if spans.is_empty() {
        f64::NAN
    } else {
        spans.iter().sum::<f64>() / spans.len() as f64
    }
}

/// Mean backend call time per service seen by the validator: one message, batch of ten.
pub fn call_latency(t: &Throughput) -> [(String, f64, f64); 3] {
    [
        (
            "dynamodb".to_owned(),
            mean_latency(&t.single, "dynamodb."),
            mean_latency(&t.batch, "dynamodb."),
        ),
        (
            "s3".to_owned(),
            mean_latency(&t.single, "s3."),
            mean_latency(&t.batch, "s3."),
        ),
        (
            "iproov".to_owned(),
            mean_latency(&t.single, "iproov."),
            mean_latency(&t.batch, "iproov."),
        ),
    ]
}

/// The union of the intervals of the iProov calls and the spread of their start times, p50 over
/// the invocations.
pub fn iproov_union(v: &[Sample]) -> (Duration, Duration) {
    let u: Vec<(Duration, Duration)> = v.iter().map(|s| s.union_of("iproov.")).collect();
    (
        Pcts::of(&u.iter().map(|x| x.0).collect::<Vec<_>>()).p50,
        Pcts::of(&u.iter().map(|x| x.1).collect::<Vec<_>>()).p50,
    )
}
