//! One run of the benchmark, from the bootstraps to the raw figures: the local stack and its
//! proxies, the environment Lambda would give the functions, then the phases in order — cold
//! starts, journeys (with the scan validator's throughput test, and the route probes beside the
//! routes), calibration — and the teardown, which happens whether or not a phase failed.

mod audit_writer;
mod calibration;
mod cold_starts;
mod harness;
mod journeys;
mod oidc;
mod route_probe;

pub use route_probe::SCRIPT_SAMPLES;
mod scan_validator;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Error;
use crate::catalogue::{self, FUNCTIONS};
use crate::cli::Config;
use crate::events;
use crate::proxy::{self, Recorder};
use crate::results::{Results, Throughput};
use crate::runtime;
use crate::stack::{self, Stack};

use harness::{Bench, Launches};

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn file_size(path: PathBuf) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Runs the benchmark: every phase, then the teardown.
pub async fn run(cfg: &Config) -> Result<Results, Error> {
    let started_at = Instant::now();
    let (launches, unavailable) = launches(cfg)?;
    let _ = std::fs::remove_dir_all(&cfg.local_dir);
    std::fs::create_dir_all(cfg.local_dir.join("logs"))?;
    println!("bench: starting moto, provisioning template.yaml, starting the iProov sandbox");
    let stack = Stack::start(&stack::Paths {
        root: &cfg.root,
        local_dir: &cfg.local_dir,
        sandbox_binary: &cfg.sandbox,
    })
    .await?;
    let recorder = Recorder::default();
    let aws_proxy = proxy::start(&stack.aws_endpoint, proxy::Kind::Aws, recorder.clone()).await?;
    let iproov_proxy =
        proxy::start(&stack.sandbox_url, proxy::Kind::IProov, recorder.clone()).await?;

    let env = lambda_env(&stack.env, &aws_proxy, &iproov_proxy);
    let mut results = fresh_results(cfg);
    for (f, why) in unavailable {
        results.functions.entry(f).or_default().unavailable = Some(why);
    }
    for (f, launch) in &launches {
        results.functions.entry(f).or_default().runner = launch.runner.clone();
    }
    let mut bench = Bench {
        cfg,
        stack,
        recorder,
        env,
        launches,
        instances: HashMap::new(),
        results,
        probes: Default::default(),
    };
    let outcome = async {
        bench.cold_starts().await?;
        bench.journeys().await
    }
    .await;
    // The route probes ran beside the routes (src/run/route_probe.rs) and stop with them.
    bench.stop_all();
    if outcome.is_ok() {
        bench.results.probes = calibration::probes(&bench.stack).await?;
        bench.results.init_steps = calibration::init_probes(&bench.env).await?;
    }
    bench.results.sandbox_stats = bench.stack.sandbox_stats().await.unwrap_or(Value::Null);
    bench.stack.stop();
    outcome?;
    bench.results.wall = started_at.elapsed();
    bench.results.load.1 = loadavg();
    Ok(bench.results)
}

/// Functions that cannot be started, with the reason.
type NotMeasured = Vec<(&'static str, String)>;

/// How each function is started; and the script floors that cannot be, with the reason (their
/// interpreter missing from `PATH`: not measured, the rest of the run goes on). A missing
/// bootstrap or script fails the run.
fn launches(cfg: &Config) -> Result<(Launches, NotMeasured), Error> {
    let mut launches = HashMap::new();
    let mut unavailable = Vec::new();
    let path_var = std::env::var_os("PATH");
    for f in FUNCTIONS {
        let spec = catalogue::script(f);
        let file = spec.map_or_else(|| cfg.bootstrap(f), |s| cfg.root.join(s.path));
        if !file.exists() {
            return Err(format!("{} is missing; build with `make bench`", file.display()).into());
        }
        let launch = match spec {
            None => Ok(runtime::Launch::bootstrap(&file)),
            Some(s) => runtime::Launch::script(s, &file, path_var.as_deref()),
        };
        match launch {
            Ok(launch) => {
                launches.insert(f, launch);
            }
            Err(why) => {
                println!("bench: {f}: not measured: {why}");
                unavailable.push((f, why));
            }
        }
    }
    Ok((launches, unavailable))
}

/// What Lambda gives every function (reserved variables win over the template's), over the
/// function environment the provisioner wrote; the endpoints point at the proxies.
fn lambda_env(
    function_env: &BTreeMap<String, String>,
    aws_proxy: &str,
    iproov_proxy: &str,
) -> BTreeMap<String, String> {
    let mut env = function_env.clone();
    for (k, v) in [
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            runtime::MEMORY_MB.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", stack::REGION.to_owned()),
        ("AWS_DEFAULT_REGION", stack::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHLOCAL0000000".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", "local-session-token".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        ("AWS_ENDPOINT_URL", aws_proxy.to_owned()),
        ("IPROOV_BASE_URL", format!("{iproov_proxy}/api/v2")),
    ] {
        env.insert(k.to_owned(), v);
    }
    // The provisioner makes the local gateway's origin the OpenID Connect issuer; the bench runs
    // no gateway, and its events say API Gateway received them on `API_DOMAIN`, so that origin
    // is the issuer (what the template's default, an empty OidcIssuer, makes of it as well).
    env.insert("OIDC_ISSUER".to_owned(), events::API_ORIGIN.to_owned());
    env
}

/// No figures yet but the start time, the load and the sizes of the bootstraps.
fn fresh_results(cfg: &Config) -> Results {
    let mut results = Results {
        functions: BTreeMap::new(),
        routes: BTreeMap::new(),
        throughput: Throughput::default(),
        route_probes: BTreeMap::new(),
        started: time::OffsetDateTime::now_utc(),
        wall: Duration::ZERO,
        sandbox_stats: Value::Null,
        probes: Vec::new(),
        init_steps: Vec::new(),
        load: (loadavg(), String::new()),
    };
    for f in catalogue::built() {
        let r = results.functions.entry(f).or_default();
        r.size_x86 = file_size(cfg.bootstrap(f));
        r.size_arm64 = file_size(cfg.arm64_dir.join(f).join("bootstrap"));
    }
    results
}
