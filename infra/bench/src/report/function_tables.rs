//! The Functions section of `docs/performance.md`: cold start, memory and size of each function
//! against the floor, each long-lived instance's first invocation, and the start-up steps timed
//! one by one.

use std::fmt::Write as _;

use super::{Report, mib, ratio};
use crate::catalogue::FLOORS;
use crate::measure::ms;

/// A table row of `columns` for something not measured: the `lead` cells (its name…), the
/// reason, dashes for the other columns.
pub(super) fn unmeasured_row(lead: &[&str], why: &str, columns: usize) -> String {
    let dashes = " – |".repeat(columns.saturating_sub(lead.len() + 1));
    format!("| {} | not measured: {why} |{dashes}", lead.join(" | "))
}

impl Report {
    /// `## Functions (cold start, memory, size)`.
    pub(super) fn function_tables(&self, m: &mut String) {
        let floor = self.floor();
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
            if let Some(why) = &f.unavailable {
                let _ = writeln!(m, "{}", unmeasured_row(&[f.name], why, 13));
                continue;
            }
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
        let runners: Vec<String> = FLOORS
            .iter()
            .filter_map(|fl| {
                let script = fl.script.as_ref()?;
                let row = self.functions.iter().find(|f| f.name == fl.function)?;
                let by = match (&row.runner, &row.unavailable) {
                    (Some(r), _) => r.clone(),
                    (None, Some(why)) => format!("not measured: {why}"),
                    (None, None) => "not measured".to_owned(),
                };
                Some(format!(
                    "`{}` ({}, `{}`): {by}",
                    fl.function, fl.runtime, script.path
                ))
            })
            .collect();
        if !runners.is_empty() {
            let _ = writeln!(
                m,
                "\nThe floors: `floor` is an empty `lambda_http` function built like the others; \
                 the Python and Node floors are custom-runtime bootstraps written as scripts — the \
                 Runtime API loop with the standard library only and an empty handler, run by the \
                 interpreter found in `PATH` (its own executable, past any version manager's shim), \
                 so they have no bootstrap binary to size. No budget applies to a floor; every \
                 \"× floor\" is against the Rust one. {}.",
                runners.join("; ")
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
                        "`aws_adapters::config::aws()`: SDK configuration from the environment, compiled-in TLS roots"
                    }
                    "first_sdk_client_ms" => "first `aws_sdk_dynamodb::Client::new(&sdk)`",
                    "second_sdk_client_ms" => "another SDK client from the same config",
                    "iproov_client_ms" => {
                        "`IProovClient::new` (hyper transport, `aws_adapters::tls::client_config()`)"
                    }
                    other => other,
                };
                let _ = writeln!(m, "| {label} | {v:.2} |");
            }
        }
    }
}
