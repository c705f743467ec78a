//! The raw figures of one run, as the phases of the run collect them: per function, per route
//! and for the validator throughput test. The report reduces them; `samples.json` keeps every
//! sample for analysis beyond it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Error;
use crate::cli::Config;
use crate::measure::Sample;

/// Figures of one function.
#[derive(Default)]
pub struct FunctionResult {
    pub init: Vec<Duration>,
    pub init_cpu: Vec<Duration>,
    pub init_rss_kb: Vec<u64>,
    /// Backend calls made during init (before the first `GET …/next`), over all cold starts.
    pub init_calls: usize,
    pub max_rss_kb: u64,
    pub size_x86: Option<u64>,
    pub size_arm64: Option<u64>,
    /// The first invocation of the long-lived process (cold: lazy secrets, first connections).
    pub first: Option<(String, Sample)>,
    /// What runs a script floor (interpreter, version, executable).
    pub runner: Option<String>,
    /// Why the function was not measured (a script floor whose interpreter is missing).
    pub unavailable: Option<String>,
}

#[derive(Default)]
pub struct RouteResult {
    pub samples: Vec<Sample>,
    pub unexpected: Vec<String>,
}

/// The validator throughput test.
#[derive(Default)]
pub struct Throughput {
    pub latency_ms: u64,
    pub single: Vec<Sample>,
    pub batch: Vec<Sample>,
}

pub struct Results {
    pub functions: BTreeMap<&'static str, FunctionResult>,
    pub routes: BTreeMap<&'static str, RouteResult>,
    pub throughput: Throughput,
    /// The route probe's samples per route (src/run/route_probe.rs); its `unexpected` holds the
    /// replayed calls that failed, each once.
    pub route_probes: BTreeMap<&'static str, RouteResult>,
    pub started: time::OffsetDateTime,
    pub wall: Duration,
    pub sandbox_stats: Value,
    /// Calibration: (variant, CPU µs per call, wall µs per call).
    pub probes: Vec<(String, f64, f64)>,
    /// Calibration: start-up steps (name, median ms).
    pub init_steps: Vec<(String, f64)>,
    /// `/proc/loadavg` when the measurements started and ended.
    pub load: (String, String),
}

/// Every sample, for analysis beyond the report (`<local-dir>/samples.json`).
pub fn write_samples(cfg: &Config, r: &Results) -> Result<(), Error> {
    let routes: serde_json::Map<String, Value> = r
        .routes
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                Value::Array(v.samples.iter().map(Sample::to_json).collect()),
            )
        })
        .collect();
    let functions: serde_json::Map<String, Value> = r
        .functions
        .iter()
        .map(|(k, f)| {
            (
                (*k).to_owned(),
                json!({
                    "init_us": f.init.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>(),
                    "init_cpu_us": f.init_cpu.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>(),
                    "init_rss_kb": f.init_rss_kb,
                    "max_rss_kb": f.max_rss_kb,
                    "first": f.first.as_ref().map(|(route, s)| json!({"route": route, "sample": s.to_json()})),
                    "runner": f.runner,
                    "not_measured": f.unavailable,
                }),
            )
        })
        .collect();
    let route_probes: serde_json::Map<String, Value> = r
        .route_probes
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                json!({
                    "samples": v.samples.iter().map(Sample::to_json).collect::<Vec<_>>(),
                    "failed": v.unexpected,
                }),
            )
        })
        .collect();
    let out = json!({
        "routes": routes,
        "route_probes": route_probes,
        "functions": functions,
        "throughput": {
            "latency_ms": r.throughput.latency_ms,
            "single": r.throughput.single.iter().map(Sample::to_json).collect::<Vec<_>>(),
            "batch": r.throughput.batch.iter().map(Sample::to_json).collect::<Vec<_>>(),
        },
        "sandbox_stats": r.sandbox_stats,
        "load": [r.load.0, r.load.1],
    });
    std::fs::write(
        cfg.local_dir.join("samples.json"),
        serde_json::to_string(&out)?,
    )?;
    Ok(())
}
