//! The cost model behind `docs/cost.md`: what one registration, login, step-up and erasure
//! cost on AWS at list prices, from what the run measured — every invocation's billed duration,
//! its logs and its counted backend calls — priced by the rules of `rules.rs` with the prices
//! of `prices.rs`, the memory sizes of `template.yaml` and the journeys of `journeys.rs`.
//! Pure: the run's figures in, dollars out; `write` is the only part that touches files.

pub mod journeys;
mod markdown;
pub mod prices;
pub mod rules;
pub mod template;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Error;
use crate::catalogue::{AUDIT_BATCH, AUDIT_BATCH_SIZE, AUDIT_ONE};
use crate::cli::Config;
use crate::measure::Sample;
use crate::proxy::CallSize;
use crate::results::Results;
use journeys::{Journey, via_api};
use prices::Prices;
use rules::{Assumptions, Line, billed_ms, call_usage, invocation_usage, months};
use template::TemplateFacts;

/// Quantities by line (units of each line's price).
pub type Usage = BTreeMap<Line, f64>;

/// One invocation as the cost model needs it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub duration: Duration,
    pub log_bytes: Option<u64>,
    /// (service, operation, shape) of each backend call.
    pub calls: Vec<(String, String, CallSize)>,
}

impl Invocation {
    pub fn of(s: &Sample) -> Invocation {
        Invocation {
            duration: s.invoke,
            log_bytes: s.log_bytes,
            calls: s
                .calls
                .iter()
                .map(|c| {
                    let (service, op) = c.name.split_once('.').unwrap_or((&c.name, ""));
                    (service.to_owned(), op.to_owned(), c.size)
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RouteRun {
    pub function: String,
    /// Warm invocations (each process's first is the function's `first`).
    pub warm: Vec<Invocation>,
}

#[derive(Debug, Clone, Default)]
pub struct FunctionRun {
    pub init: Vec<Duration>,
    /// The first invocation of the long-lived process, and its route.
    pub first: Option<(String, Invocation)>,
    /// Why it was not measured (a script floor whose interpreter is missing).
    pub unavailable: Option<String>,
}

/// What the run measured, by route and by function.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub routes: BTreeMap<String, RouteRun>,
    pub functions: BTreeMap<String, FunctionRun>,
}

impl Measured {
    pub fn of(r: &Results) -> Measured {
        let routes = crate::catalogue::ROUTES
            .iter()
            .map(|spec| {
                let warm = r
                    .routes
                    .get(spec.key)
                    .map(|rr| rr.samples.iter().map(Invocation::of).collect())
                    .unwrap_or_default();
                (
                    spec.key.to_owned(),
                    RouteRun {
                        function: spec.function.to_owned(),
                        warm,
                    },
                )
            })
            .collect();
        let functions = r
            .functions
            .iter()
            .map(|(name, f)| {
                (
                    (*name).to_owned(),
                    FunctionRun {
                        init: f.init.clone(),
                        first: f
                            .first
                            .as_ref()
                            .map(|(route, s)| (route.clone(), Invocation::of(s))),
                        unavailable: f.unavailable.clone(),
                    },
                )
            })
            .collect();
        Measured { routes, functions }
    }
}

/// Everything the model prices with.
pub struct Model {
    pub prices: Prices,
    pub template: TemplateFacts,
    pub assumptions: Assumptions,
}

/// A route's cost per invocation: its warm mean plus the cold-start share of what a cold
/// start adds, and the figures behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteCost {
    pub route: String,
    pub function: String,
    pub memory_mb: u32,
    pub invocations: usize,
    pub billed_ms: f64,
    pub log_bytes: Option<f64>,
    pub usage: Usage,
    /// What one cold start adds to an invocation of this function (before the share).
    pub cold_extra: Usage,
}

/// One line of a journey's bill.
#[derive(Debug, Clone, PartialEq)]
pub struct LineCost {
    pub line: Line,
    pub per_journey: f64,
    pub usd_per_million: f64,
    pub share: f64,
}

/// What the audit writer spends on one audit event, from one of its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PerEvent {
    pub route: String,
    /// Events per invocation of the row.
    pub batch: usize,
    /// The row's usage per invocation, divided by `batch`.
    pub usage: Usage,
    pub usd_per_million: f64,
}

/// A journey's audit events and what appending them costs per event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditCost {
    /// Messages the journey's routes put on the audit queue (their warm means, times each
    /// step's `times`).
    pub events: f64,
    /// One event per invocation: what every event cost before batches were appended together.
    pub single: Option<PerEvent>,
    /// A full batch: what the journey's totals are priced at.
    pub batch: Option<PerEvent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JourneyCost {
    pub name: String,
    pub steps: Vec<(f64, RouteCost)>,
    pub audit: AuditCost,
    /// Routes of the journey the run has no warm invocation of: the journey is incomplete.
    pub missing: Vec<String>,
    pub lines: Vec<LineCost>,
    pub total_per_million: f64,
}

impl JourneyCost {
    /// The line that costs the most (none while nothing costs anything).
    pub fn dominant(&self) -> Option<&LineCost> {
        self.lines
            .iter()
            .filter(|l| l.usd_per_million > 0.0)
            .max_by(|a, b| a.usd_per_million.total_cmp(&b.usd_per_million))
    }
}

fn add(into: &mut Usage, from: impl IntoIterator<Item = (Line, f64)>, times: f64) {
    for (line, q) in from {
        *into.entry(line).or_default() += q * times;
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

impl Model {
    /// What one invocation used, billed for `billed` ms.
    fn usage_of(&self, inv: &Invocation, billed: f64, memory_mb: u32, api: bool) -> Usage {
        let a = &self.assumptions;
        let kept = months(self.template.image_retention_days);
        let mut u = Usage::new();
        let logs = inv.log_bytes.unwrap_or(0) as f64;
        add(
            &mut u,
            invocation_usage(billed, memory_mb, api, logs, a),
            1.0,
        );
        for (service, op, size) in &inv.calls {
            add(&mut u, call_usage(service, op, size, a, kept), 1.0);
        }
        u
    }

    /// The mean of a route's warm invocations, per invocation.
    fn warm(&self, route: &str, run: &RouteRun) -> Option<(Usage, f64)> {
        let memory = self.template.memory_of(&run.function);
        let n = run.warm.len();
        if n == 0 {
            return None;
        }
        let mut u = Usage::new();
        for inv in &run.warm {
            add(
                &mut u,
                self.usage_of(inv, billed_ms(inv.duration), memory, via_api(route)),
                1.0 / n as f64,
            );
        }
        let billed = mean(run.warm.iter().map(|i| billed_ms(i.duration)))?;
        Some((u, billed))
    }

    /// What a cold start adds to an invocation of `function`: Lambda bills a custom runtime's
    /// init with its first invocation (rounded up together), and the first invocation loads
    /// lazily (secrets, data keys, connections). Measured as the first invocation, billed with
    /// the mean init, less a warm invocation of the same route; per line, never below zero.
    fn cold_extra(&self, m: &Measured, function: &str) -> Usage {
        let Some(f) = m.functions.get(function) else {
            return Usage::new();
        };
        let (Some((route, first)), Some(init)) =
            (&f.first, mean(f.init.iter().map(Duration::as_secs_f64)))
        else {
            return Usage::new();
        };
        let Some((warm, _)) = m.routes.get(route).and_then(|r| self.warm(route, r)) else {
            return Usage::new();
        };
        let billed = billed_ms(Duration::from_secs_f64(init) + first.duration);
        let cold = self.usage_of(
            first,
            billed,
            self.template.memory_of(function),
            via_api(route),
        );
        Line::ALL
            .iter()
            .filter_map(|line| {
                let extra =
                    cold.get(line).copied().unwrap_or(0.0) - warm.get(line).copied().unwrap_or(0.0);
                (extra > 0.0).then_some((*line, extra))
            })
            .collect()
    }

    /// A route's expected cost per invocation.
    pub fn route(&self, m: &Measured, route: &str) -> Option<RouteCost> {
        let run = m.routes.get(route)?;
        let (mut usage, billed) = self.warm(route, run)?;
        let cold_extra = self.cold_extra(m, &run.function);
        add(
            &mut usage,
            cold_extra.clone(),
            self.assumptions.cold_start_share,
        );
        Some(RouteCost {
            route: route.to_owned(),
            function: run.function.clone(),
            memory_mb: self.template.memory_of(&run.function),
            invocations: run.warm.len(),
            billed_ms: billed,
            log_bytes: mean(
                run.warm
                    .iter()
                    .filter_map(|i| i.log_bytes.map(|b| b as f64)),
            ),
            usage,
            cold_extra,
        })
    }

    /// USD per million of `q` units of `line`, the one conversion every figure of the page uses.
    pub fn per_million(&self, line: Line, q: f64) -> f64 {
        q * self.prices.of(line).per_unit() * 1e6
    }

    /// USD per million of a whole usage.
    pub fn usage_per_million(&self, usage: &Usage) -> f64 {
        usage.iter().map(|(l, q)| self.per_million(*l, *q)).sum()
    }

    /// What the audit writer spends per event on `route`, `batch` events per invocation.
    pub fn per_event(&self, m: &Measured, route: &str, batch: usize) -> Option<PerEvent> {
        let rc = self.route(m, route)?;
        let per = 1.0 / batch.max(1) as f64;
        let usage: Usage = rc.usage.iter().map(|(l, q)| (*l, q * per)).collect();
        let usd_per_million = self.usage_per_million(&usage);
        Some(PerEvent {
            route: route.to_owned(),
            batch,
            usage,
            usd_per_million,
        })
    }

    /// The audit events one journey hands over, and their per-event costs.
    pub fn audit(&self, m: &Measured, j: &Journey) -> AuditCost {
        let events = j
            .steps
            .iter()
            .filter_map(|s| m.routes.get(s.route).map(|r| (s.times, r)))
            .filter_map(|(times, r)| {
                let sent = r.warm.iter().map(|i| {
                    i.calls
                        .iter()
                        .map(|(_, _, size)| f64::from(size.audit_events))
                        .sum::<f64>()
                });
                mean(sent).map(|per_invocation| times * per_invocation)
            })
            .sum();
        AuditCost {
            events,
            single: self.per_event(m, AUDIT_ONE, 1),
            batch: self.per_event(m, AUDIT_BATCH, AUDIT_BATCH_SIZE),
        }
    }

    /// One journey's bill per million journeys: its steps, and its audit events appended in
    /// full batches (docs/cost.md states the assumption).
    pub fn journey(&self, m: &Measured, j: &Journey) -> JourneyCost {
        let mut usage = Usage::new();
        let mut steps = Vec::new();
        let mut missing = Vec::new();
        for s in j.steps {
            match self.route(m, s.route) {
                Some(rc) => {
                    add(&mut usage, rc.usage.clone(), s.times);
                    steps.push((s.times, rc));
                }
                None => missing.push(s.route.to_owned()),
            }
        }
        let audit = self.audit(m, j);
        match &audit.batch {
            Some(per_event) => add(&mut usage, per_event.usage.clone(), audit.events),
            None if audit.events > 0.0 => missing.push(AUDIT_BATCH.to_owned()),
            None => {}
        }
        let mut lines: Vec<LineCost> = Line::ALL
            .iter()
            .map(|&line| {
                let q = usage.get(&line).copied().unwrap_or(0.0);
                LineCost {
                    line,
                    per_journey: q,
                    usd_per_million: self.per_million(line, q),
                    share: 0.0,
                }
            })
            .collect();
        let total: f64 = lines.iter().map(|l| l.usd_per_million).sum();
        for l in &mut lines {
            l.share = if total > 0.0 {
                l.usd_per_million / total
            } else {
                0.0
            };
        }
        JourneyCost {
            name: j.name.to_owned(),
            steps,
            audit,
            missing,
            lines,
            total_per_million: total,
        }
    }

    /// The journey's Lambda compute (GB-s, per million journeys) if every invocation of it were
    /// billed like one of `floor_route` (an empty function's: warm mean, plus the cold-start
    /// share of its init and first invocation), at each step's memory size: the least any
    /// function on that runtime could be billed. `None` if the floor was not measured.
    pub fn floor_compute(&self, m: &Measured, floor_route: &str, j: &Journey) -> Option<f64> {
        let floor = m.routes.get(floor_route)?;
        let (_, warm_ms) = self.warm(floor_route, floor)?;
        let cold = self.cold_extra(m, &floor.function);
        // The extra GB-s at the floor's memory, back to milliseconds.
        let floor_gb = f64::from(self.template.memory_of(&floor.function)) / 1024.0;
        let cold_ms = cold.get(&Line::LambdaGbSeconds).copied().unwrap_or(0.0) / floor_gb * 1000.0;
        let ms = warm_ms + self.assumptions.cold_start_share * cold_ms;
        let gb_s: f64 = j
            .steps
            .iter()
            .filter_map(|s| m.routes.get(s.route).map(|r| (s.times, &r.function)))
            .map(|(times, function)| {
                times * ms / 1000.0 * f64::from(self.template.memory_of(function)) / 1024.0
            })
            .sum();
        Some(self.per_million(Line::LambdaGbSeconds, gb_s))
    }
}

/// `docs/cost.md`, next to `--out`, from the run's results, `template.yaml` and the prices file.
pub fn write(cfg: &Config, r: &Results) -> Result<(), Error> {
    let prices = Prices::parse(&std::fs::read_to_string(cfg.root.join(prices::FILE))?)?;
    let template = TemplateFacts::parse(&std::fs::read_to_string(cfg.root.join("template.yaml"))?)?;
    let model = Model {
        prices,
        template,
        assumptions: Assumptions::default(),
    };
    let started = r
        .started
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default();
    let page = markdown::page(
        &model,
        &Measured::of(r),
        &format!("`{}` on {started}", cfg.command),
    );
    std::fs::write(cfg.out.with_file_name("cost.md"), page)?;
    Ok(())
}

#[cfg(test)]
mod tests;
