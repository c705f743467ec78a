//! `make bench`: the functions' release bootstraps under an emulated Lambda Runtime API, against
//! the local stack (moto, iProov sandbox) behind a counting proxy, with the same figures for empty
//! functions (the floors: `lambda_http`, Python, Node). Writes `docs/performance.md`, a chart and
//! the cost model (`cost.md`), prints a summary; exits 1 on a missed budget, 2 on a failure.
//!
//! ```text
//! lambda-bench --root . --x86-dir target/bench/lambda-x86_64 --arm64-dir target/bench/lambda-arm64 \
//!     --sandbox target/bench/lambda-x86_64/iproov-sandbox/bootstrap \
//!     --local-dir target/bench/local --out docs/performance.md --svg docs/performance.svg
//! ```
// The ten lines above are also the `--help` text (src/cli.rs).

mod catalogue;
mod cli;
mod cost;
mod events;
mod measure;
mod probe;
mod proxy;
mod report;
mod results;
mod route_script;
mod run;
mod runtime;
mod stack;

use cli::Config;

/// A failure of the benchmark itself (exit status 2), as opposed to a missed budget (1).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--probe") {
        let outcome = if args.get(2).map(String::as_str) == Some("init") {
            probe::Probe::init_steps()
        } else {
            probe::Probe::from_args(&args[2..]).and_then(|p| p.run())
        };
        if let Err(e) = outcome {
            eprintln!("probe: {e}");
            std::process::exit(2);
        }
        return;
    }
    let cfg = match Config::from_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run::run(&cfg) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    });
    let results = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: failed: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = results::write_samples(&cfg, &results) {
        eprintln!("bench: cannot write samples.json: {e}");
    }
    let report = report::Report::new(&cfg, &results);
    if let Err(e) = report.write(&cfg) {
        eprintln!("bench: cannot write the report: {e}");
        std::process::exit(2);
    }
    if let Err(e) = cost::write(&cfg, &results) {
        eprintln!("bench: cannot write docs/cost.md: {e}");
        std::process::exit(2);
    }
    print!("{}", report.summary());
    std::process::exit(if report.all_pass() { 0 } else { 1 });
}
