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
    /// Let it come back after this many seconds (with a [`Backoff`]; without one, after the
    /// queue's visibility timeout). Either not sooner: something it waits for (another
    /// delivery's lease) cannot end before then, and coming back earlier would only spend the
    /// message's receives on its way to the dead-letter queue. Or this soon: nothing it could
    /// wait for would change its outcome (a malformed body).
    RetryAfter(u32),
}

/// What a handler may want to know of the message beyond its body.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// When SQS accepted the message (`SentTimestamp`, ms since the epoch).
    pub sent_ms: Option<i64>,
}

/// How soon a malformed message comes back, with a [`Backoff`]: no wait makes its body
/// readable, so it only has to use up its receives on its way to the dead-letter queue, where a
/// person looks at it. Backing it off like a failed call would only keep it from there longer.
const MALFORMED_BACK_AFTER_SECONDS: u32 = 1;

/// Processes a batch: `handle` gets each well-formed message; a malformed one is left to come
/// back (after one second with a [`Backoff`]) until the queue moves it to its dead-letter queue,
/// for a person to look at.
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
            match (disposition, backoff) {
                (Disposition::Retry, Some(backoff)) => backoff.defer(&record, None).await,
                (Disposition::RetryAfter(seconds), Some(backoff)) => {
                    backoff.defer(&record, Some(seconds)).await
                }
                _ => {}
            }
            (message_id, disposition)
        }
        .instrument(span)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (message_id, disposition) in results {
        if disposition != Disposition::Done {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Like [`run`], but the well-formed messages' bodies go to `handle` together, in the batch's
/// order, and it answers one disposition per message given: for a consumer that treats a batch
/// as one unit of work (the audit writer appends a batch to its chain in one transaction). A
/// malformed message, or one `handle` gives no disposition for, comes back alone. No backoff:
/// failed messages come back after the queue's visibility timeout.
pub async fn run_together<M, F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    M: DeserializeOwned,
    F: FnOnce(Vec<M>) -> Fut,
    Fut: Future<Output = Vec<Disposition>>,
{
    let cold_start = api::telemetry::take_cold_start();
    let mut response = SqsBatchResponse::default();
    let mut failed = |message_id: String| {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = message_id;
        response.batch_item_failures.push(failure);
    };
    let (mut messages, mut ids) = (Vec::new(), Vec::new());
    for record in &event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("message", message_id = %message_id, cold_start);
        match span.in_scope(|| parse::<M>(record)) {
            Some((message, _)) => {
                messages.push(message);
                ids.push(message_id);
            }
            None => failed(message_id),
        }
    }
    if !messages.is_empty() {
        let span = tracing::info_span!("batch", messages = messages.len(), cold_start);
        let mut dispositions = handle(messages).instrument(span).await.into_iter();
        for message_id in ids {
            if dispositions.next().is_none_or(|d| d != Disposition::Done) {
                failed(message_id);
            }
        }
    }
    response
}

/// The message's typed body and delivery, or `None` (logged) when the body is malformed.
fn parse<M: DeserializeOwned>(record: &SqsMessage) -> Option<(M, Delivery)> {
    let body = record.body.as_deref().unwrap_or("");
    let Ok(message) = serde_json::from_str::<M>(body) else {
        tracing::error!("malformed message; leaving it for the dead-letter queue");
        return None;
    };
    let sent_ms = record
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse::<i64>().ok());
    Some((message, Delivery { sent_ms }))
}

async fn one<M, F, Fut>(record: &SqsMessage, handle: &F) -> Disposition
where
    M: DeserializeOwned,
    F: Fn(M, Delivery) -> Fut,
    Fut: Future<Output = Disposition>,
{
    match parse(record) {
        Some((message, delivery)) => handle(message, delivery).await,
        None => Disposition::RetryAfter(MALFORMED_BACK_AFTER_SECONDS),
    }
}

/// Shortens the wait before a failed message comes back: exponential in its receive count,
/// with full jitter, instead of the queue's long visibility timeout (sized for crashes). Needs
/// `sqs:ChangeMessageVisibility` on the queue.
pub struct Backoff {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// The first wait and the longest one, seconds: 2 and 120 for the scan validator (iProov
    /// recovers in minutes); a consumer whose far end may be down for longer (a customer's
    /// webhook endpoint) waits longer.
    pub base_seconds: u32,
    pub cap_seconds: u32,
}

impl Backoff {
    /// SQS's longest visibility timeout, 12 hours.
    const MAX_SECONDS: u32 = 43_200;

    /// The scan validator's bounds on `queue_url`.
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self {
            sqs,
            queue_url,
            base_seconds: 2,
            cap_seconds: 120,
        }
    }

    fn delay(&self, receive_count: u32) -> i32 {
        let cap = self.cap_seconds.clamp(1, Self::MAX_SECONDS);
        let exp = self
            .base_seconds
            .max(1)
            .saturating_mul(1 << receive_count.saturating_sub(1).min(16))
            .min(cap);
        let jittered = rand::random_range(exp / 2..=exp);
        i32::try_from(jittered.max(1)).unwrap_or(1)
    }

    /// Sets the message's next visibility: `after` seconds when given, else the backoff.
    async fn defer(&self, record: &SqsMessage, after: Option<u32>) {
        let Some(handle) = record.receipt_handle.as_deref() else {
            return;
        };
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let delay = match after {
            Some(seconds) => i32::try_from(seconds.max(1)).unwrap_or(i32::MAX),
            None => self.delay(receive_count),
        };
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
    async fn a_malformed_message_comes_back_at_once_and_a_failed_one_is_backed_off() {
        // given a message that is not JSON, and a well-formed one its handler retries
        let retry = |_: Message, _| async { Disposition::Retry };
        // when each is processed
        let malformed = one(&record("poison", "not json"), &retry).await;
        let failed = one(&record("again", r#"{"ok": false}"#), &retry).await;
        // then the malformed one is due back after a second, straight on to its dead-letter
        // queue, and the failed one waits for the backoff
        assert_eq!(
            malformed,
            Disposition::RetryAfter(MALFORMED_BACK_AFTER_SECONDS)
        );
        assert_eq!(failed, Disposition::Retry);
    }

    fn backoff(base_seconds: u32, cap_seconds: u32) -> Backoff {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .build();
        Backoff {
            base_seconds,
            cap_seconds,
            ..Backoff::new(aws_sdk_sqs::Client::from_conf(config), String::new())
        }
    }

    #[tokio::test]
    async fn together_hands_the_well_formed_messages_over_at_once_and_reports_the_failed_ones() {
        // given a batch of four: three well-formed, one not JSON
        let mut event = SqsEvent::default();
        event.records = vec![
            record("a", r#"{"ok": true}"#),
            record("poison", "not json"),
            record("b", r#"{"ok": false}"#),
            record("c", r#"{"ok": true}"#),
        ];
        let seen = std::sync::Mutex::new(Vec::new());
        // when it is run together with a handler that retries the "not ok" ones and forgets
        // the last one
        let response = run_together(event, |messages: Vec<Message>| {
            seen.lock().unwrap().extend(messages.iter().map(|m| m.ok));
            async move { vec![Disposition::Done, Disposition::Retry] }
        })
        .await;
        // then the handler saw the three in the batch's order, and all but "a" come back
        assert_eq!(*seen.lock().unwrap(), [true, false, true]);
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, ["poison", "b", "c"]);
    }

    #[test]
    fn retry_delay_grows_with_receive_count_and_is_capped() {
        let validator = backoff(2, 120);
        for _ in 0..50 {
            let first = validator.delay(1);
            assert!((1..=2).contains(&first), "{first}");
            let third = validator.delay(3);
            assert!((4..=8).contains(&third), "{third}");
            assert!(validator.delay(30) <= 120);
        }
    }

    #[test]
    fn wider_bounds_wait_longer_and_never_past_twelve_hours() {
        let webhooks = backoff(30, 3600);
        for _ in 0..50 {
            let second = webhooks.delay(2);
            assert!((30..=60).contains(&second), "{second}");
            assert!(webhooks.delay(8) <= 3600);
            assert!(backoff(1, u32::MAX).delay(40) <= 43_200);
        }
    }
}
