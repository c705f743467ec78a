//! The route probe of `make bench`: a Lambda function that replays, for one route, the backend
//! calls that route made in the same run (the script in its event, built by the harness from
//! the route's samples: infra/bench/src/route_script.rs), each through the SDK clients built as
//! the functions build them (`aws_adapters::config::aws`, `Client::new`) or, for iProov, through
//! reqwest set up as the functions' iProov transport is — and nothing else: no HTTP framework,
//! no use case, no parsing beyond what the SDK does. Run under the same emulator, environment
//! and proxy as the functions, its own time is what those SDK calls cost on this machine, so a
//! route's own time over it is what our code adds (the warm budget is that ratio).

mod calls;

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};

use calls::Clients;

/// One backend call of the script (the harness's `ScriptCall`).
#[derive(Deserialize)]
pub struct Call {
    pub name: String,
    pub resource: String,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub items: u32,
    pub consistent: bool,
}

/// The event: a route's calls in stages, the key prefix of its items, and whether this
/// invocation only writes the items its reads will find (not measured).
#[derive(Deserialize)]
struct Script {
    key: String,
    #[serde(default)]
    seed: bool,
    stages: Vec<Vec<Call>>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Leaked once per process, as the functions keep their clients for the process's life.
    let clients: &'static Clients = Box::leak(Box::new(Clients::new()?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let script: Script = serde_json::from_value(event.payload)?;
        let failed = if script.seed {
            clients.seed(&script.key, &script.stages).await
        } else {
            replay(clients, &script).await
        };
        Ok::<_, lambda_runtime::Error>(json!({ "failed": failed }))
    }))
    .await
}

/// The stages one after the other, the calls of a stage concurrently (as the route made them);
/// the names of the calls that failed.
async fn replay(clients: &Clients, script: &Script) -> Vec<String> {
    let mut failed = Vec::new();
    for (s, stage) in script.stages.iter().enumerate() {
        let outcomes = futures::future::join_all(stage.iter().enumerate().map(|(i, call)| {
            let slot = format!("{}#{s}#{i}", script.key);
            async move { (call, clients.call(call, &slot).await) }
        }))
        .await;
        for (call, outcome) in outcomes {
            if let Err(why) = outcome {
                failed.push(format!("{}: {why}", call.name));
            }
        }
    }
    failed
}
