//! Webhook dispatcher: delivers the webhooks the audit trail's writer queues (`WebhookDue` on
//! WebhookQueue) to the customer's endpoints, signed (docs/webhooks.md). Wires its adapters
//! once, then serves SQS batches; a message that an endpoint did not take comes back with
//! exponential backoff until the queue moves it to WebhookDlq.

mod dispatch;

use std::sync::Arc;

use aws_adapters::config;
use aws_adapters::sqs_batch;
use aws_adapters::wiring;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let deps = Arc::new(dispatch::Deps {
        keys: wiring::webhook_keys(&sdk)?,
        endpoints: wiring::webhook_endpoints()?,
    });
    let backoff = Arc::new(wiring::webhook_backoff(&sdk)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let deps = deps.clone();
        let backoff = backoff.clone();
        async move {
            let response = sqs_batch::run(event.payload, Some(&backoff), |due, delivery| {
                dispatch::process(&deps, due, delivery)
            })
            .await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
