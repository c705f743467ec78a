//! A calibration probe, run as a child process of the harness (`lambda-bench --probe …`): the CPU
//! one DynamoDB `GetItem` costs the calling process, through the AWS SDK exactly as the functions
//! build it (`aws_config::defaults(BehaviorVersion::latest())`, `Client::new`) or as a bare HTTP
//! request of the same shape (reqwest), on tokio's multi-thread runtime (what `#[tokio::main]`
//! gives the functions) or its current-thread runtime. It tells how much of a function's own
//! time is the SDK's per-call work and how much the runtime's cross-thread wake-ups.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::Error;

pub struct Probe {
    pub endpoint: String,
    pub table: String,
    pub calls: usize,
    pub current_thread: bool,
    pub raw: bool,
}

impl Probe {
    /// `--probe init`: how long each start-up step the functions take costs, in a fresh process
    /// (one JSON line, ms), in the order the functions take them on a current-thread runtime:
    /// `aws_adapters::config::aws`, two SDK clients, `wiring::iproov_client` (its hyper
    /// transport with `aws_adapters::tls`).
    pub fn init_steps() -> Result<(), Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let steps = rt.block_on(async {
            let t = Instant::now();
            let sdk = aws_adapters::config::aws();
            let load = t.elapsed();
            let t = Instant::now();
            let first = aws_sdk_dynamodb::Client::new(&sdk);
            let client1 = t.elapsed();
            let t = Instant::now();
            let second = aws_sdk_dynamodb::Client::new(&sdk);
            let client2 = t.elapsed();
            drop((first, second));
            let t = Instant::now();
            let iproov = aws_adapters::wiring::iproov_client(
                iproov_client::IProovConfig::new("https://iproov.example/api/v2", "bench"),
                std::sync::Arc::new(iproov_client::StaticCredentials::new(
                    iproov_client::IProovCredentials {
                        api_key: String::new(),
                        secret: String::new(),
                        oauth_client_id: String::new(),
                        oauth_client_secret: String::new(),
                    },
                )),
            )
            .expect("the iProov client builds from a valid configuration");
            let iproov_build = t.elapsed();
            drop(iproov);
            json!({
                "sdk_config_ms": ms(load),
                "first_sdk_client_ms": ms(client1),
                "second_sdk_client_ms": ms(client2),
                "iproov_client_ms": ms(iproov_build),
            })
        });
        println!("{steps}");
        Ok(())
    }

    pub fn from_args(args: &[String]) -> Result<Probe, Error> {
        let get = |i: usize| {
            args.get(i)
                .cloned()
                .ok_or("usage: --probe <endpoint> <table> <calls> <multi|current> <sdk|raw>")
        };
        Ok(Probe {
            endpoint: get(0)?,
            table: get(1)?,
            calls: get(2)?.parse()?,
            current_thread: get(3)? == "current",
            raw: get(4)? == "raw",
        })
    }

    /// Runs the probe and prints one JSON line: CPU and wall time per call, in µs.
    pub fn run(&self) -> Result<(), Error> {
        let rt = if self.current_thread {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
        };
        let (cpu, wall) = rt.block_on(async {
            if self.raw {
                self.raw_calls().await
            } else {
                self.sdk_calls().await
            }
        })?;
        let per = |d: Duration| d.as_secs_f64() * 1e6 / self.calls as f64;
        println!(
            "{}",
            json!({"cpu_us_per_call": per(cpu), "wall_us_per_call": per(wall)})
        );
        Ok(())
    }

    async fn sdk_calls(&self) -> Result<(Duration, Duration), Error> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let call = |i: usize| {
            client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(format!("probe#{i}")))
                .consistent_read(true)
                .send()
        };
        for i in 0..20 {
            call(i).await?;
        }
        let (cpu0, t0) = (own_cpu(), Instant::now());
        for i in 0..self.calls {
            call(i).await?;
        }
        Ok((own_cpu() - cpu0, t0.elapsed()))
    }

    async fn raw_calls(&self) -> Result<(Duration, Duration), Error> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let call = |i: usize| {
            http.post(&self.endpoint)
                .header("x-amz-target", "DynamoDB_20120810.GetItem")
                .header("content-type", "application/x-amz-json-1.0")
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/dynamodb/aws4_request, \
                     SignedHeaders=host, Signature=0",
                )
                .body(
                    json!({"TableName": self.table, "Key": {"pk": {"S": format!("probe#{i}")}}, "ConsistentRead": true})
                        .to_string(),
                )
                .send()
        };
        for i in 0..20 {
            call(i).await?.bytes().await?;
        }
        let (cpu0, t0) = (own_cpu(), Instant::now());
        for i in 0..self.calls {
            let r = call(i).await?;
            let body = r.bytes().await?;
            let _: serde_json::Value = serde_json::from_slice(&body)?;
        }
        Ok((own_cpu() - cpu0, t0.elapsed()))
    }
}

fn own_cpu() -> Duration {
    crate::runtime::cpu_time(std::process::id())
}
