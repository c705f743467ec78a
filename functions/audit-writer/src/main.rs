//! Audit writer: the one consumer of the audit queue. Appends every audited event to the hash
//! chain in the audit table, then queues the webhook it triggers, if any. Wires its adapters
//! once, then serves SQS batches.

mod append;

use std::sync::Arc;

use aws_adapters::config;
use aws_adapters::sqs_batch;
use aws_adapters::wiring;
use lambda_runtime::{LambdaEvent, service_fn};
use onboarding_core::ports::SystemClock;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let deps = Arc::new(append::Deps {
        chain: wiring::audit_chain(&sdk)?,
        webhooks: wiring::webhook_queue(&sdk)?,
        clock: Arc::new(SystemClock),
    });
    // The whole batch at once: its events are appended in the batch's order in one transaction
    // (one head read, one write per record and marker, one head update), and their webhooks
    // queued in one call. A failed message comes back after the queue's visibility timeout
    // (the role has no sqs:ChangeMessageVisibility).
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let deps = deps.clone();
        async move {
            let response = sqs_batch::run_together(event.payload, |events| async move {
                append::record(&deps, &events).await
            })
            .await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
