//! One SQS batch, for every queue consumer: messages are parsed into the queue's typed message,
//! processed concurrently, each in its own span, and only the ones that should come back are
//! reported (`ReportBatchItemFailures`), so one poison message never makes the good ones run
//! twice. A consumer may shorten the wait before a failed message comes back ([`Backoff`]).

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use serde::de::DeserializeOwned;
use tracing::Instrument;

/// What should happen to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done (or nothing left to do): delete it.
    Done,
    /// Let it come back (after the backoff, or the queue's visibility timeout).
    Retry,
}

/// What a handler may want to know of the message beyond its body.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// When SQS accepted the message (`SentTimestamp`, ms since the epoch).
    pub sent_ms: Option<i64>,
}

/// Processes a batch: `handle` gets each well-formed message; a malformed one is left to come
/// back until the queue moves it to its dead-letter queue, for a person to look at.
pub async fn run<M, F, Fut>(
    event: SqsEvent,
    backoff: Option<&Backoff>,
    handle: F,
) -> SqsBatchResponse
where
    M: DeserializeOwned,
    F: Fn(M, Delivery) -> Fut,
    Fut: Future<Output = Disposition>,
{
    let cold_start = api::telemetry::take_cold_start();
    let handle = &handle;
    let results = join_all(event.records.into_iter().map(|record| {
        let message_id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("message", message_id = %message_id, cold_start);
        async move {
            let disposition = one(&record, handle).await;
            if let (Disposition::Retry, Some(backoff)) = (disposition, backoff) {
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

/// Like [`run`], but one message after the other, in the batch's order: for a consumer whose
/// messages contend for one thing (the audit writer's chain head), where running them at once
/// would only make them retry against each other. No backoff: failed messages come back after
/// the queue's visibility timeout.
pub async fn run_in_order<M, F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    M: DeserializeOwned,
    F: Fn(M, Delivery) -> Fut,
    Fut: Future<Output = Disposition>,
{
    let cold_start = api::telemetry::take_cold_start();
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("message", message_id = %message_id, cold_start);
        if one(&record, &handle).instrument(span).await == Disposition::Retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn one<M, F, Fut>(record: &SqsMessage, handle: &F) -> Disposition
where
    M: DeserializeOwned,
    F: Fn(M, Delivery) -> Fut,
    Fut: Future<Output = Disposition>,
{
    let body = record.body.as_deref().unwrap_or("");
    let Ok(message) = serde_json::from_str::<M>(body) else {
        tracing::error!("malformed message; leaving it for the dead-letter queue");
        return Disposition::Retry;
    };
    let sent_ms = record
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse::<i64>().ok());
    handle(message, Delivery { sent_ms }).await
}

/// Shortens the wait before a failed message comes back: exponential in its receive count,
/// with full jitter, instead of the queue's long visibility timeout (sized for crashes). Needs
/// `sqs:ChangeMessageVisibility` on the queue.
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn record(id: &str, body: &str) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_owned());
        record.body = Some(body.to_owned());
        record.attributes =
            HashMap::from([("SentTimestamp".to_owned(), "1700000000000".to_owned())]);
        record
    }

    #[derive(serde::Deserialize)]
    struct Message {
        ok: bool,
    }

    #[tokio::test]
    async fn only_retried_and_malformed_messages_are_reported_as_failures() {
        // given a batch with a message to keep, one to retry and one that is not JSON
        let mut event = SqsEvent::default();
        event.records = vec![
            record("keep", r#"{"ok": true}"#),
            record("again", r#"{"ok": false}"#),
            record("poison", "not json"),
        ];
        // when it is run with a handler that retries the "not ok" ones
        let response = run(event, None, |m: Message, delivery| async move {
            assert_eq!(delivery.sent_ms, Some(1_700_000_000_000));
            if m.ok {
                Disposition::Done
            } else {
                Disposition::Retry
            }
        })
        .await;
        // then only those two come back
        let mut failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        failed.sort();
        assert_eq!(failed, ["again", "poison"]);
    }

    #[tokio::test]
    async fn in_order_handles_one_message_after_the_other_and_reports_the_failed_ones() {
        // given a batch of three, the middle one to retry
        let mut event = SqsEvent::default();
        event.records = vec![
            record("a", r#"{"ok": true}"#),
            record("b", r#"{"ok": false}"#),
            record("c", r#"{"ok": true}"#),
        ];
        let seen = std::sync::Mutex::new(Vec::new());
        // when it is run in order
        let response = run_in_order(event, |m: Message, _| {
            seen.lock().unwrap().push(m.ok);
            async move {
                if m.ok {
                    Disposition::Done
                } else {
                    Disposition::Retry
                }
            }
        })
        .await;
        // then the handler saw them in the batch's order, and only "b" comes back
        assert_eq!(*seen.lock().unwrap(), [true, false, true]);
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, ["b"]);
    }

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
