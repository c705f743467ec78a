//! Budgets, the one-screen summary, `docs/performance.md` and the chart: a run's raw figures
//! (`Results`) reduced once into a `Report`, which each output renders.

mod budget_tables;
mod budgets;
mod figures;
mod function_tables;
mod machine;
mod markdown;
mod method;
mod own_ratio;
mod route_tables;
mod summary;
mod svg;
#[cfg(test)]
mod tests;
mod throughput_section;

use std::time::Duration;

use crate::Error;
use crate::catalogue::{FUNCTIONS, ROUTES};
use crate::cli::Config;
use crate::measure::{Pcts, Sample, mode};
use crate::results::{FunctionResult, Results};

use budgets::Check;
use figures::{FunctionRow, RouteRow};
use own_ratio::OwnRatio;

const MIB: f64 = 1024.0 * 1024.0;

/// A run, reduced to what the outputs show.
pub struct Report {
    pub functions: Vec<FunctionRow>,
    pub routes: Vec<RouteRow>,
    /// Each measured route's own time against the route probe's (the floors have none).
    pub own_ratios: Vec<OwnRatio>,
    pub checks: Vec<Check>,
    pub single: Pcts,
    pub batch: Pcts,
    pub single_chain: String,
    pub call_latency: [(String, f64, f64); 3],
    /// iProov validate: union of the intervals and spread of the start times (p50 over rounds),
    /// one message and batch.
    pub iproov_union: [(Duration, Duration); 2],
    /// Backend calls answered with an error in the batches (SDK retries), and calls per batch.
    pub batch_failed_calls: usize,
    pub batch_calls: usize,
    pub single_cpu: Duration,
    pub batch_cpu: Duration,
    pub latency_ms: u64,
    pub rounds: usize,
    pub started: String,
    pub wall: Duration,
    pub machine: Vec<(String, String)>,
    pub command: String,
    pub n: usize,
    pub cold: usize,
    pub load: (String, String),
    pub probes: Vec<(String, f64, f64)>,
    pub init_steps: Vec<(String, f64)>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

impl Report {
    pub fn new(cfg: &Config, r: &Results) -> Report {
        let empty = FunctionResult::default();
        let functions: Vec<FunctionRow> = FUNCTIONS
            .iter()
            .map(|&name| FunctionRow::of(name, r.functions.get(name).unwrap_or(&empty)))
            .collect();
        let routes: Vec<RouteRow> = ROUTES
            .iter()
            .map(|spec| RouteRow::of(spec, r.routes.get(spec.key)))
            .collect();

        let own_ratios = routes
            .iter()
            .filter(|row| !crate::catalogue::is_floor(row.spec.function))
            .map(|row| OwnRatio::of(row, r.route_probes.get(row.spec.key)))
            .collect();

        let t = &r.throughput;
        let mut report = Report {
            own_ratios,
            iproov_union: [
                figures::iproov_union(&t.single),
                figures::iproov_union(&t.batch),
            ],
            batch_failed_calls: t.batch.iter().map(Sample::failed_calls).sum(),
            batch_calls: mode(t.batch.iter().map(|s| s.calls.len())).map_or(0, |(c, _)| c),
            single_cpu: Pcts::of(&t.single.iter().map(|s| s.cpu).collect::<Vec<_>>()).p50,
            batch_cpu: Pcts::of(&t.batch.iter().map(|s| s.cpu).collect::<Vec<_>>()).p50,
            functions,
            routes,
            checks: Vec::new(),
            single: figures::wall(&t.single),
            batch: figures::wall(&t.batch),
            single_chain: mode(t.single.iter().map(Sample::chain))
                .map(|(c, _)| c)
                .unwrap_or_default(),
            call_latency: figures::call_latency(t),
            latency_ms: t.latency_ms,
            rounds: t.single.len(),
            started: r
                .started
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
                ))
                .unwrap_or_default(),
            wall: r.wall,
            machine: machine::machine(),
            command: cfg.command.clone(),
            n: cfg.n,
            cold: cfg.cold,
            load: r.load.clone(),
            probes: r.probes.clone(),
            init_steps: r.init_steps.clone(),
        };
        report.checks = report.budgets();
        report
    }

    /// The floor: the empty function every other is compared with.
    fn floor(&self) -> &FunctionRow {
        &self.functions[0]
    }

    /// The floor's route.
    fn floor_route(&self) -> &RouteRow {
        &self.routes[0]
    }

    /// Why `function` was not measured, if it was not (a script floor without its interpreter).
    fn not_measured(&self, function: &str) -> Option<&str> {
        self.functions
            .iter()
            .find(|f| f.name == function)
            .and_then(|f| f.unavailable.as_deref())
    }

    /// Every measured budget met and no unexpected answer: `make bench` exits 0.
    pub fn all_pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass != Some(false))
            && self.routes.iter().all(|r| r.unexpected.is_empty())
    }

    /// Writes `docs/performance.md` (`--out`) and the chart (`--svg`).
    pub fn write(&self, cfg: &Config) -> Result<(), Error> {
        if let Some(dir) = cfg.out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&cfg.out, self.markdown(cfg))?;
        std::fs::write(&cfg.svg, self.svg())?;
        Ok(())
    }
}
