//! One SQS batch: messages are processed concurrently, each in its own span, and only the ones
//! that should come back are reported (`ReportBatchItemFailures`), so one poison message never
//! makes the good ones run twice.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use shared::ports::ScanSubmitted;
use tracing::Instrument;

use crate::validate::{self, Deps, Disposition};

/// Shortens the wait before a failed message comes back: exponential in its receive count,
/// with full jitter, instead of the queue's long visibility timeout (sized for crashes).
pub struct Backoff {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl Backoff {
    const BASE_SECONDS: u32 = 2;
    const CAP_SECONDS: u32 = 120;

    fn delay(receive_count: u32) -> i32 {
        let exp = Self::BASE_SECONDS
            .saturating_mul(1 << receive_count.saturating_sub(1).min(10))
            .min(Self::CAP_SECONDS);
        let jittered = rand::random_range(exp / 2..=exp);
        i32::try_from(jittered.max(1)).unwrap_or(1)
    }

    async fn defer(&self, record: &SqsMessage) {
        let Some(handle) = record.receipt_handle.as_deref() else {
            return;
        };
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let delay = Self::delay(receive_count);
        if let Err(err) = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(handle)
            .visibility_timeout(delay)
            .send()
            .await
        {
            // Not fatal: the message comes back after the queue's own visibility timeout.
            use aws_sdk_sqs::error::ProvideErrorMetadata;
            tracing::warn!(
                error = err.code().unwrap_or("sqs_error"),
                "could not shorten retry delay"
            );
        }
    }
}

pub async fn handle(deps: &Deps, backoff: &Backoff, event: SqsEvent) -> SqsBatchResponse {
    let cold_start = shared::telemetry::take_cold_start();
    let results = join_all(event.records.into_iter().map(|record| {
        let message_id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("message", message_id = %message_id, cold_start);
        async move {
            let disposition = one(deps, &record).await;
            if disposition == Disposition::Retry {
                backoff.defer(&record).await;
            }
            (message_id, disposition)
        }
        .instrument(span)
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

async fn one(deps: &Deps, record: &SqsMessage) -> Disposition {
    let body = record.body.as_deref().unwrap_or("");
    let Ok(message) = serde_json::from_str::<ScanSubmitted>(body) else {
        // Malformed: let it come back until the queue moves it to the DLQ for a human to see.
        tracing::error!("malformed message; leaving it for the dead-letter queue");
        return Disposition::Retry;
    };
    let request_id = message.request_id.clone().unwrap_or_default();
    let span = tracing::info_span!("scan", registration_id = %message.registration_id, attempt = message.attempt, request_id = %request_id);
    let sent_ms = record
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse::<i64>().ok());
    validate::process(deps, &message, sent_ms)
        .instrument(span)
        .await
}

#[cfg(test)]
mod tests {
    use super::Backoff;

    #[test]
    fn retry_delay_grows_with_receive_count_and_is_capped() {
        for _ in 0..50 {
            let first = Backoff::delay(1);
            assert!((1..=2).contains(&first), "{first}");
            let third = Backoff::delay(3);
            assert!((4..=8).contains(&third), "{third}");
            assert!(Backoff::delay(30) <= 120);
        }
    }
}
