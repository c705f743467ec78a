//! `audit-verify`: proves an audit trail complete and unbroken, or names its first breach.
//!
//! Reads every record and the head of the audit table, checks them with the core's chain rules
//! (`onboarding_core::audit::chain::verify`: contiguous from 1 to the head, every hash and link
//! sound, the head equal to the newest record), then checks that no audited event waits
//! outside the trail: the audit queue drained (it waits up to `--wait` seconds for the writer)
//! and its dead-letter queue empty.
//!
//! ```text
//! audit-verify --stack .local/stack.json                 # the local stack (make audit-verify)
//! audit-verify --table T --queue URL --dlq URL           # any stack; AWS credentials from the
//!                                                        # environment (AWS_ENDPOINT_URL too)
//!     [--retention-days N] [--wait SECONDS]
//! ```
//!
//! Exit status: 0 sound and complete; 1 a breach, or events not in the trail; 2 usage error or
//! a backend that could not be read.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_adapters::adapters::audit_chain::read_trail;
use aws_sdk_sqs::types::QueueAttributeName;
use onboarding_core::audit::chain::{Retention, verify};

/// Where the trail is.
struct Target {
    table: String,
    queue: String,
    dlq: String,
    retention_days: Option<i64>,
    wait: Duration,
}

const USAGE: &str = "usage: audit-verify (--stack FILE | --table NAME --queue URL --dlq URL) \
                     [--retention-days N] [--wait SECONDS]";

fn args() -> Result<Target, String> {
    let mut args = std::env::args().skip(1);
    let (mut stack, mut table, mut queue, mut dlq) = (None, None, None, None);
    let (mut retention_days, mut wait) = (None, 30u64);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--stack" => stack = Some(value()?),
            "--table" => table = Some(value()?),
            "--queue" => queue = Some(value()?),
            "--dlq" => dlq = Some(value()?),
            "--retention-days" => {
                retention_days = Some(value()?.parse().map_err(|_| "--retention-days: a number")?)
            }
            "--wait" => wait = value()?.parse().map_err(|_| "--wait: seconds")?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if let Some(file) = stack {
        return from_stack(&file, retention_days, wait);
    }
    match (table, queue, dlq) {
        (Some(table), Some(queue), Some(dlq)) => Ok(Target {
            table,
            queue,
            dlq,
            retention_days,
            wait: Duration::from_secs(wait),
        }),
        _ => Err(USAGE.to_owned()),
    }
}

/// The local stack's names and endpoint, from the provisioner's stack.json.
fn from_stack(file: &str, retention_days: Option<i64>, wait: u64) -> Result<Target, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{file}: {e} (is the local stack up? make up)"))?;
    let stack: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
    let get = |path: &[&str]| -> Result<String, String> {
        path.iter()
            .try_fold(&stack, |v, k| v.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or(format!("{file} has no {}", path.join(".")))
    };
    // The verifier reads moto directly, not through the functions' IAM-enforcing proxy: it is
    // an operator's tool, not a function.
    let endpoint = get(&["endpoints", "aws"])?;
    // SAFETY of the environment: set once, before any thread or SDK client exists.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL", endpoint) };
    Ok(Target {
        table: get(&["tables", "AuditTable", "name"])?,
        queue: get(&["queues", "AuditQueue", "url"])?,
        dlq: get(&["queues", "AuditDlq", "url"])?,
        retention_days,
        wait: Duration::from_secs(wait),
    })
}

/// Messages waiting or in flight on `url`.
async fn pending(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<u64, String> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(out
        .attributes()
        .map(|a| {
            a.values()
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
        })
        .unwrap_or(0))
}

fn main() -> ExitCode {
    let target = match args() {
        Ok(target) => target,
        Err(message) => {
            eprintln!("audit-verify: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("audit-verify: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(target))
}

async fn run(target: Target) -> ExitCode {
    let sdk = aws_adapters::config::aws();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // Let the writer drain what the last requests handed over.
    let deadline = Instant::now() + target.wait;
    let waiting = loop {
        match pending(&sqs, &target.queue).await {
            Ok(0) => break 0,
            Ok(n) if Instant::now() >= deadline => break n,
            Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(e) => {
                eprintln!("audit-verify: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let dead = match pending(&sqs, &target.dlq).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("audit-verify: {e}");
            return ExitCode::from(2);
        }
    };
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let (records, head) = match read_trail(&dynamo, &target.table).await {
        Ok(trail) => trail,
        Err(e) => {
            eprintln!("audit-verify: cannot read {}: {e}", target.table);
            return ExitCode::from(2);
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let retention = target.retention_days.map(|days| Retention {
        seconds: days * 86_400,
        now,
    });
    let mut sound = true;
    match verify(&records, head.as_ref(), retention) {
        Ok(v) if v.last == 0 => println!("audit trail: empty, sound"),
        Ok(v) => println!(
            "audit trail: records {} to {} sound, every hash links, the head matches record {}",
            v.first, v.last, v.last
        ),
        Err(breach) => {
            println!("audit trail BROKEN: {breach}");
            sound = false;
        }
    }
    if waiting > 0 {
        println!(
            "audit trail INCOMPLETE: {waiting} event(s) still wait in the audit queue after {}s",
            target.wait.as_secs()
        );
        sound = false;
    }
    if dead > 0 {
        println!(
            "audit trail INCOMPLETE: {dead} event(s) in the audit dead-letter queue (docs/operations.md)"
        );
        sound = false;
    }
    if sound {
        println!("audit trail: complete (audit queue drained, dead-letter queue empty)");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
