//! One SQS batch: messages are processed concurrently, each in its own span, and only the ones
//! that should come back are reported (`ReportBatchItemFailures`), so one poison message never
//! makes the good ones run twice.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use shared::ports::ScanSubmitted;
use tracing::Instrument;

use crate::validate::{self, Deps, Disposition};

pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let cold_start = shared::telemetry::take_cold_start();
    let results = join_all(event.records.into_iter().map(|record| {
        let message_id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("message", message_id = %message_id, cold_start);
        async move { (message_id, one(deps, record).await) }.instrument(span)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (message_id, disposition) in results {
        if disposition == Disposition::Retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn one(deps: &Deps, record: SqsMessage) -> Disposition {
    let body = record.body.as_deref().unwrap_or("");
    let Ok(message) = serde_json::from_str::<ScanSubmitted>(body) else {
        // Malformed: let it come back until the queue moves it to the DLQ for a human to see.
        tracing::error!("malformed message; leaving it for the dead-letter queue");
        return Disposition::Retry;
    };
    let request_id = message.request_id.clone().unwrap_or_default();
    let span = tracing::info_span!("scan", registration_id = %message.registration_id, attempt = message.attempt, request_id = %request_id);
    validate::process(deps, &message).instrument(span).await
}
