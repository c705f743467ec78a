//! The last phase: calibration. After the journeys the harness runs itself as a probe
//! (`lambda-bench --probe …`, src/probe.rs) in fresh processes, to tell what the functions' own
//! time is made of: the start-up steps one by one, and the CPU of one DynamoDB call.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Error;
use crate::stack::{self, Stack};

/// Runs the calibration probe (src/probe.rs) in child processes, straight against moto.
pub(super) async fn probes(stack: &Stack) -> Result<Vec<(String, f64, f64)>, Error> {
    println!("bench: calibration: CPU per DynamoDB GetItem (SDK vs bare HTTP, runtime flavours)");
    let table = stack.var("USERS_TABLE")?.to_owned();
    let mut out = Vec::new();
    for (label, flavor, kind) in [
        (
            "AWS SDK, multi-thread runtime (as the functions)",
            "multi",
            "sdk",
        ),
        ("AWS SDK, current-thread runtime", "current", "sdk"),
        (
            "bare HTTP request (reqwest), multi-thread runtime",
            "multi",
            "raw",
        ),
        (
            "bare HTTP request (reqwest), current-thread runtime",
            "current",
            "raw",
        ),
    ] {
        let output = std::process::Command::new(std::env::current_exe()?)
            .args(["--probe", &stack.aws_endpoint, &table, "300", flavor, kind])
            .env_clear()
            .envs([
                ("AWS_ACCESS_KEY_ID", "local"),
                ("AWS_SECRET_ACCESS_KEY", "local"),
                ("AWS_SESSION_TOKEN", "local"),
                ("AWS_REGION", stack::REGION),
            ])
            .output()?;
        let v: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
            format!(
                "probe {label} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        out.push((
            label.to_owned(),
            v["cpu_us_per_call"].as_f64().unwrap_or(f64::NAN),
            v["wall_us_per_call"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    Ok(out)
}

/// Start-up steps of the functions, timed one by one in fresh processes (median of 15).
pub(super) async fn init_probes(
    env: &BTreeMap<String, String>,
) -> Result<Vec<(String, f64)>, Error> {
    println!("bench: calibration: start-up steps");
    let mut runs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..15 {
        let output = std::process::Command::new(std::env::current_exe()?)
            .args(["--probe", "init"])
            .env_clear()
            .envs(env)
            .output()?;
        let v: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
            format!(
                "init probe failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        if let Some(o) = v.as_object() {
            for (k, x) in o {
                runs.entry(k.clone())
                    .or_default()
                    .push(x.as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    Ok(runs
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            (k, v[v.len() / 2])
        })
        .collect())
}
