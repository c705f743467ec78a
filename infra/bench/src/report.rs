//! Budgets, the one-screen summary, `docs/performance.md` and the chart.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use crate::measure::{Pcts, Sample, mode, ms};
use crate::{Config, Error, FUNCTIONS, FunctionResult, ROUTES, Results, RouteSpec};

const MIB: f64 = 1024.0 * 1024.0;
/// Budgets of issue #7.
pub const INIT_RATIO_MAX: f64 = 1.5;
pub const OWN_P99_MAX_MS: f64 = 1.0;
pub const RSS_MAX_MIB: f64 = 32.0;
pub const ARM64_MAX_MIB: f64 = 8.0;
pub const BATCH_RATIO_MAX: f64 = 1.5;

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

pub struct Report {
    pub functions: Vec<FunctionRow>,
    pub routes: Vec<RouteRow>,
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

fn shell(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> Vec<(String, String)> {
    let lscpu = shell("lscpu", &[]);
    let field = |name: &str| {
        lscpu
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .map(|v| v.trim_start_matches(':').trim().to_owned())
            })
            .unwrap_or_default()
    };
    let mem = shell("free", &["-m"]);
    let mem = mem
        .lines()
        .find(|l| l.starts_with("Mem:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|t| format!("{t} MiB"))
        .unwrap_or_default();
    vec![
        (
            "CPU".into(),
            format!(
                "{} ({}, {})",
                field("Model name"),
                field("Architecture"),
                field("Hypervisor vendor")
            ),
        ),
        ("cores (nproc)".into(), shell("nproc", &[])),
        ("memory (free -m, total)".into(), mem),
        ("kernel".into(), shell("uname", &["-sr"])),
        ("rustc".into(), shell("rustc", &["-V"])),
        (
            "cargo-lambda".into(),
            shell("cargo", &["lambda", "--version"]),
        ),
    ]
}

impl Report {
    pub fn new(cfg: &Config, r: &Results) -> Report {
        let empty = FunctionResult::default();
        let functions: Vec<FunctionRow> = FUNCTIONS
            .iter()
            .map(|&name| {
                let f = r.functions.get(name).unwrap_or(&empty);
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
                }
            })
            .collect();
        let routes: Vec<RouteRow> = ROUTES
            .iter()
            .map(|spec| {
                let rr = r.routes.get(spec.key);
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
            })
            .collect();

        let t = &r.throughput;
        let wall = |v: &[Sample]| Pcts::of(&v.iter().map(|s| s.invoke).collect::<Vec<_>>());
        let mean_latency = |v: &[Sample], prefix: &str| {
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
        };
        let call_latency = [
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
        ];
        let union = |v: &[Sample]| {
            let u: Vec<(Duration, Duration)> = v.iter().map(|s| s.union_of("iproov.")).collect();
            (
                Pcts::of(&u.iter().map(|x| x.0).collect::<Vec<_>>()).p50,
                Pcts::of(&u.iter().map(|x| x.1).collect::<Vec<_>>()).p50,
            )
        };
        let mut report = Report {
            iproov_union: [union(&t.single), union(&t.batch)],
            batch_failed_calls: t.batch.iter().map(Sample::failed_calls).sum(),
            batch_calls: mode(t.batch.iter().map(|s| s.calls.len())).map_or(0, |(c, _)| c),
            single_cpu: Pcts::of(&t.single.iter().map(|s| s.cpu).collect::<Vec<_>>()).p50,
            batch_cpu: Pcts::of(&t.batch.iter().map(|s| s.cpu).collect::<Vec<_>>()).p50,
            functions,
            routes,
            checks: Vec::new(),
            single: wall(&t.single),
            batch: wall(&t.batch),
            single_chain: mode(t.single.iter().map(Sample::chain))
                .map(|(c, _)| c)
                .unwrap_or_default(),
            call_latency,
            latency_ms: t.latency_ms,
            rounds: t.single.len(),
            started: r
                .started
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
                ))
                .unwrap_or_default(),
            wall: r.wall,
            machine: machine(),
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

    fn floor(&self) -> &FunctionRow {
        &self.functions[0]
    }

    fn floor_route(&self) -> &RouteRow {
        &self.routes[0]
    }

    fn budgets(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let floor = self.floor();
        let floor_init = ms(floor.init.p50);
        for f in self.functions.iter().skip(1) {
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
        for r in self.routes.iter().skip(1) {
            let v = ms(r.own.p99);
            checks.push(Check {
                budget: "warm p99 (invoke − awaiting backends) ≤ 1 ms",
                subject: r.spec.key.into(),
                value: format!("{v:.3} ms"),
                limit: "1 ms".into(),
                pass: (r.n > 0).then_some(v <= OWN_P99_MAX_MS),
                margin: format!("+{:.3} ms", v - OWN_P99_MAX_MS),
            });
        }
        for r in self.routes.iter().skip(1) {
            checks.push(Check {
                budget: "sequential backend round trips = documented minimum",
                subject: r.spec.key.into(),
                value: r.stages_mode.to_string(),
                limit: r.spec.min_stages.to_string(),
                pass: (r.n > 0).then_some(r.stages_mode <= r.spec.min_stages),
                margin: format!("{} more", r.stages_mode.saturating_sub(r.spec.min_stages)),
            });
        }
        for f in self.functions.iter().skip(1) {
            checks.push(Check {
                budget: "max RSS ≤ 32 MiB",
                subject: f.name.into(),
                value: format!("{:.1} MiB", f.max_rss_mib),
                limit: "32 MiB".into(),
                pass: Some(f.max_rss_mib <= RSS_MAX_MIB),
                margin: format!("+{:.1} MiB", f.max_rss_mib - RSS_MAX_MIB),
            });
        }
        for f in self.functions.iter().skip(1) {
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

    pub fn all_pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass != Some(false))
            && self.routes.iter().all(|r| r.unexpected.is_empty())
    }

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
            "\n{:<44}{:>8}{:>8}{:>9}{:>8}{:>7}{:>5}",
            "route (warm)", "inv p50", "inv p99", "own p99", "×floor", "trips", "min"
        );
        for r in &self.routes {
            let _ = writeln!(
                s,
                "{:<44}{:>8.2}{:>8.2}{:>9.3}{:>8.1}{:>7}{:>5}",
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

    pub fn write(&self, cfg: &Config) -> Result<(), Error> {
        if let Some(dir) = cfg.out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&cfg.out, self.markdown(cfg))?;
        std::fs::write(&cfg.svg, self.svg())?;
        Ok(())
    }

    fn markdown(&self, cfg: &Config) -> String {
        let floor = self.floor();
        let fr = self.floor_route();
        let mut m = String::new();
        let svg_name = cfg.svg.file_name().map_or("performance.svg".into(), |n| {
            n.to_string_lossy().into_owned()
        });
        let checked = self.checks.iter().filter(|c| c.pass.is_some()).count();
        let passed = self.checks.iter().filter(|c| c.pass == Some(true)).count();
        let _ = writeln!(m, "# Performance\n");
        let _ = writeln!(
            m,
            "Generated by `{}` on {} ({:.0} s). **{passed} of {checked} budget checks pass.** \
             The figures below are from that run; the analysis of the misses is in \
             [What misses and why](#what-misses-and-why).\n",
            self.command,
            self.started,
            self.wall.as_secs_f64()
        );
        let _ = writeln!(m, "![each function against the floor]({svg_name})\n");

        let _ = writeln!(m, "## Budgets\n");
        let _ = writeln!(m, "| budget | pass | miss (by how much) |\n|---|---|---|");
        let mut budgets: Vec<&str> = Vec::new();
        for c in &self.checks {
            if !budgets.contains(&c.budget) {
                budgets.push(c.budget);
            }
        }
        for b in budgets {
            let of = |p: Option<bool>| {
                self.checks
                    .iter()
                    .filter(|c| c.budget == b && c.pass == p)
                    .map(|c| {
                        if p == Some(false) {
                            format!("{} ({})", c.subject, c.margin)
                        } else {
                            c.subject.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (pass, miss) = (of(Some(true)), of(Some(false)));
            let _ = writeln!(
                m,
                "| {b} | {} | {} |",
                if pass.is_empty() {
                    "–".to_owned()
                } else {
                    pass
                },
                if miss.is_empty() {
                    "–".to_owned()
                } else {
                    miss
                }
            );
        }
        let _ = writeln!(m, "\nEvery check:\n");
        let _ = writeln!(
            m,
            "| budget | subject | measured | limit | verdict |\n|---|---|---|---|---|"
        );
        for c in &self.checks {
            let verdict = match c.pass {
                Some(true) => "pass".to_owned(),
                Some(false) => format!("**miss** ({})", c.margin),
                None => "not measured".to_owned(),
            };
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {verdict} |",
                c.budget, c.subject, c.value, c.limit
            );
        }

        let _ = writeln!(m, "\n## Functions (cold start, memory, size)\n");
        let _ = writeln!(
            m,
            "Init duration = process start → first `GET /runtime/invocation/next`, over {} cold starts \
             per function (plus the long-lived instance's). Init CPU = CPU time of all threads at that \
             moment. Max RSS = peak resident set (`VmHWM`) over every process of the function, including \
             the long-lived one after all its invocations. Sizes are the `bootstrap` files cargo-lambda \
             produced. MiB = 2^20 bytes (Lambda's \"MB\").\n",
            self.cold
        );
        let _ = writeln!(
            m,
            "| function | cold starts | init p50 ms | init p90 ms | × floor | init CPU ms | backend calls in init | RSS at init MiB | max RSS MiB | × floor | x86_64 bootstrap MiB | arm64 bootstrap MiB | × floor (arm64) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for f in &self.functions {
            let _ = writeln!(
                m,
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.1} | {:.2} | {} | {} | {} |",
                f.name,
                f.cold_starts,
                ms(f.init.p50),
                ms(f.init.p90),
                ratio(ms(f.init.p50), ms(floor.init.p50)),
                ms(f.init_cpu_p50),
                f.init_calls,
                f.init_rss_mib,
                f.max_rss_mib,
                ratio(f.max_rss_mib, floor.max_rss_mib),
                f.size_x86.map_or("–".into(), |b| format!("{:.2}", mib(b))),
                f.size_arm64
                    .map_or("–".into(), |b| format!("{:.2}", mib(b))),
                match (f.size_arm64, floor.size_arm64) {
                    (Some(a), Some(b)) => format!("{:.2}", ratio(a as f64, b as f64)),
                    _ => "–".into(),
                },
            );
        }
        let _ = writeln!(
            m,
            "\nFirst invocation of each long-lived instance (cold: first connections, lazily loaded secrets):\n"
        );
        let _ = writeln!(
            m,
            "| function | route | invoke ms | own ms | backend chain |\n|---|---|---|---|---|"
        );
        for f in &self.functions {
            if let Some((route, s)) = &f.first {
                let _ = writeln!(
                    m,
                    "| {} | {} | {:.2} | {:.2} | {} |",
                    f.name,
                    route,
                    ms(s.invoke),
                    ms(s.own()),
                    s.chain()
                );
            }
        }

        if !self.init_steps.is_empty() {
            let _ = writeln!(
                m,
                "\nCalibration — the start-up steps of the functions timed one by one in a fresh \
                 process with the functions' environment (median of 15; `lambda-bench --probe init`):\n"
            );
            let _ = writeln!(m, "| step | ms |\n|---|---|");
            for (k, v) in &self.init_steps {
                let label = match k.as_str() {
                    "sdk_config_ms" => {
                        "`shared::config::aws()`: SDK configuration from the environment, compiled-in TLS roots"
                    }
                    "first_sdk_client_ms" => "first `aws_sdk_dynamodb::Client::new(&sdk)`",
                    "second_sdk_client_ms" => "another SDK client from the same config",
                    "iproov_client_ms" => {
                        "`IProovClient::new` (hyper transport, `shared::tls::client_config()`)"
                    }
                    other => other,
                };
                let _ = writeln!(m, "| {label} | {v:.2} |");
            }
        }
        let _ = writeln!(m, "\n## Routes (warm invocations)\n");
        let _ = writeln!(
            m,
            "Invoke = `…/next` answered → `…/response` received. Awaiting = union of the intervals \
             during which a backend call was in flight (measured at the proxy: request head in → \
             response handed back). Own = invoke − awaiting: the function's own time, which the \
             1 ms budget applies to. × floor = own p99 ÷ the floor's.\n"
        );
        let _ = writeln!(
            m,
            "| route | function | n | invoke p50 | p90 | p99 | awaiting p50 | own p50 | own p90 | own p99 | × floor |\n|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in &self.routes {
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
        for r in self.routes.iter().skip(1) {
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
        for r in self.routes.iter().skip(1) {
            let _ = writeln!(
                m,
                "- **{}** — observed: {}  \n  minimum: {}",
                r.spec.key, r.chain, r.spec.min_chain
            );
        }

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

        let _ = writeln!(m, "\n## What misses and why\n");
        let _ = writeln!(m, "{}", analysis(&cfg.root));

        let _ = writeln!(m, "\n## Method\n");
        let _ = writeln!(
            m,
            "{}",
            METHOD
                .replace("{N}", &self.n.to_string())
                .replace("{COLD}", &self.cold.to_string())
                .replace("{ROUNDS}", &self.rounds.to_string())
        );
        let _ = writeln!(m, "\n## Machine\n");
        let _ = writeln!(m, "| | |\n|---|---|");
        for (k, v) in &self.machine {
            let _ = writeln!(m, "| {k} | {v} |");
        }
        let _ = writeln!(
            m,
            "| load average at start / end | {} / {} |",
            self.load.0, self.load.1
        );
        let _ = writeln!(
            m,
            "\nAbsolute figures depend on this machine (2 shared vCPUs; other work may run at the same \
             time): the ratios to the floor, measured in the same run, travel to other machines; the \
             init budget is such a ratio, the 1 ms own-time budget is absolute and so depends on \
             the machine."
        );
        let errors: Vec<&RouteRow> = self
            .routes
            .iter()
            .filter(|r| !r.unexpected.is_empty() || r.stray > 0)
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(m, "\n## Irregularities in this run\n");
            for r in errors {
                let _ = writeln!(
                    m,
                    "- {}: {} unexpected answers{}; {} backend calls outside an invocation window",
                    r.spec.key,
                    r.unexpected.len(),
                    r.unexpected.first().map_or(String::new(), |e| format!(
                        " (e.g. `{}`)",
                        e.chars().take(200).collect::<String>()
                    )),
                    r.stray
                );
            }
        }
        m
    }

    /// Four panels: init, max RSS, arm64 (or x86_64) bootstrap, worst warm own-time p99; each
    /// function against the floor and the budget.
    pub fn svg(&self) -> String {
        let floor = self.floor();
        let worst_own: Vec<f64> = self
            .functions
            .iter()
            .map(|f| {
                self.routes
                    .iter()
                    .filter(|r| r.spec.function == f.name && r.n > 0)
                    .map(|r| ms(r.own.p99))
                    .fold(0.0, f64::max)
            })
            .collect();
        let arm = self.functions.iter().all(|f| f.size_arm64.is_some());
        let panels: Vec<(String, Vec<f64>, Option<f64>, &str)> = vec![
            (
                "Init duration p50 (ms)".into(),
                self.functions.iter().map(|f| ms(f.init.p50)).collect(),
                Some(ms(floor.init.p50) * INIT_RATIO_MAX),
                "budget 1.5 × floor",
            ),
            (
                "Max RSS (MiB)".into(),
                self.functions.iter().map(|f| f.max_rss_mib).collect(),
                Some(RSS_MAX_MIB),
                "budget 32 MiB",
            ),
            (
                format!("{} bootstrap (MiB)", if arm { "arm64" } else { "x86_64" }),
                self.functions
                    .iter()
                    .map(|f| {
                        mib(if arm {
                            f.size_arm64.unwrap_or(0)
                        } else {
                            f.size_x86.unwrap_or(0)
                        })
                    })
                    .collect(),
                arm.then_some(ARM64_MAX_MIB),
                "budget 8 MiB",
            ),
            (
                "Warm own time p99, worst route (ms)".into(),
                worst_own,
                Some(OWN_P99_MAX_MS),
                "budget 1 ms",
            ),
        ];
        let (w, ph, pw) = (960.0, 230.0, 470.0);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" viewBox="0 0 {w} {}" font-family="Helvetica, Arial, sans-serif" font-size="11">"##,
            2.0 * ph + 40.0,
            2.0 * ph + 40.0
        );
        let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
        let _ = writeln!(
            s,
            r##"<text x="10" y="18" font-size="14" font-weight="bold">Each function against the floor (empty lambda_http handler) — {}</text>"##,
            xml(&self.started)
        );
        for (i, (title, values, budget, budget_label)) in panels.iter().enumerate() {
            let x0 = 10.0 + (i % 2) as f64 * (pw + 10.0);
            let y0 = 30.0 + (i / 2) as f64 * (ph + 5.0);
            let floor_v = values[0];
            let max = values
                .iter()
                .copied()
                .chain(budget.iter().copied())
                .fold(0.0, f64::max)
                .max(1e-9)
                * 1.15;
            let (lx, bw) = (x0 + 95.0, pw - 95.0 - 120.0);
            let _ = writeln!(
                s,
                r##"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#dddddd"/>"##
            );
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" font-size="12" font-weight="bold">{}</text>"##,
                x0 + 8.0,
                y0 + 16.0,
                xml(title)
            );
            for (j, (name, v)) in FUNCTIONS.iter().zip(values).enumerate() {
                let y = y0 + 28.0 + j as f64 * 27.0;
                let len = (v / max * bw).max(1.0);
                let over = budget.is_some_and(|b| *v > b) && j > 0;
                let color = if j == 0 {
                    "#9e9e9e"
                } else if over {
                    "#d9534f"
                } else {
                    "#4a90d9"
                };
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{}" text-anchor="end">{name}</text>"##,
                    lx - 6.0,
                    y + 13.0
                );
                let _ = writeln!(
                    s,
                    r##"<rect x="{lx}" y="{y}" width="{len:.1}" height="18" fill="{color}"/>"##
                );
                let label = if j == 0 {
                    format!("{v:.2} (floor)")
                } else {
                    format!("{v:.2} ({:.1}×)", ratio(*v, floor_v))
                };
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{}">{}</text>"##,
                    lx + len + 4.0,
                    y + 13.0,
                    xml(&label)
                );
            }
            if let Some(b) = budget {
                let bx = lx + b / max * bw;
                let _ = writeln!(
                    s,
                    r##"<line x1="{bx:.1}" y1="{}" x2="{bx:.1}" y2="{}" stroke="#d9534f" stroke-dasharray="4,3"/><text x="{bx:.1}" y="{}" fill="#d9534f" text-anchor="middle">{}</text>"##,
                    y0 + 24.0,
                    y0 + ph - 14.0,
                    y0 + ph - 4.0,
                    xml(budget_label)
                );
            }
        }
        let _ = writeln!(s, "</svg>");
        s
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The hand-written analysis of the misses (`infra/bench/analysis.md`), read at run time so it
/// can be revised without rebuilding; the tables above are regenerated by every run.
fn analysis(root: &std::path::Path) -> String {
    std::fs::read_to_string(root.join("infra/bench/analysis.md"))
        .unwrap_or_else(|_| "_infra/bench/analysis.md is missing._".to_owned())
}

const METHOD: &str = "\
- **Build**: `cargo lambda build --release` (the workspace's release profile: `opt-level = \"s\"`, \
thin LTO, one codegen unit, stripped, `panic = \"abort\"`), once for x86_64 (the binaries run here) \
and once with `--arm64` (sizes), into `target/bench` so the shared debug target is not locked. \
All binaries of one target are built in one cargo invocation without `-p`, so features are unified \
over the whole workspace exactly as in `sam build`. The floor (`infra/bench/floor`) is built in the \
same invocation.
- **Runtime**: the harness (`infra/bench`) emulates the Lambda Runtime API — one server per function \
process: `GET /2018-06-01/runtime/invocation/next` (with `Lambda-Runtime-Aws-Request-Id`, \
`-Deadline-Ms`, `-Invoked-Function-Arn`, `-Trace-Id`), `POST …/{id}/response`, `POST …/{id}/error`, \
`POST /2018-06-01/runtime/init/error`. Processes start with a clean environment: Lambda's \
(`AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128`, \
`AWS_LAMBDA_FUNCTION_VERSION`, log group/stream, `AWS_REGION`, dummy credentials with a session token, \
`TZ`, `LANG`, `PATH`) over the function environment the project's provisioner writes from \
`template.yaml` (`functions.env`); `AWS_ENDPOINT_URL` and `IPROOV_BASE_URL` point at the proxy.
- **Backends**: the harness starts its own moto server and iProov sandbox (release build) on free \
ports with its own state directory (`target/bench/local`), and provisions them with \
`infra/local/provision.py` — a `make test` running at the same time does not interfere. A timing \
HTTP proxy sits between the functions and moto/sandbox and records every call (service from the \
SigV4 scope, operation from `X-Amz-Target` or the S3 path, iProov path with ids masked).
- **Events**: API Gateway HTTP API payload 2.0 events built like API Gateway builds them (headers, \
`requestContext.http.sourceIp` from 198.18.0.0/15 — one address per simulated client so per-IP \
rate limits behave as in production —, `Authorization: Bearer` credentials as apps send them, JSON \
bodies); SQS events built from real `ReceiveMessage` answers of the provisioned queues, deleted \
after success as the event source mapping does. The journeys are real: {N}+ people register \
(token issuer), poll (awaiting scan), the sandbox passes their scans, they submit, the validator \
validates their messages one per invocation, they poll again (completed: the login session is \
opened), verify-login and log in twice each, read their account, log out one session and request \
erasure with two sessions live; the erasure function erases them.
- **Throughput**: the validator's first (cold) invocation, then {ROUNDS} rounds of one message and \
a batch of ten with the sandbox at 100 ms per call, before the validator's other invocations.
- **Calibration**: after the journeys, the harness runs itself as a probe in fresh processes: the \
functions' start-up steps timed one by one, and the CPU cost of one DynamoDB `GetItem` through the \
SDK and as a bare HTTP request, on both tokio runtime flavours (`src/probe.rs`).
- **Figures**: init over {COLD} cold starts per function (processes started one after the other, \
alternating functions); warm figures exclude each process's first invocation (reported separately); \
percentiles are nearest-rank. The floor runs in the same run with the health event.
- **Limits of the method**: moto and the sandbox run on the same 2 cores, so backend latency is \
not AWS's (it is excluded from the own-time budget, and the throughput test's backend saturation \
is shown separately); the proxy's own overhead counts as backend time, the few microseconds of \
loopback before and after it as function time (conservative for the function).";
