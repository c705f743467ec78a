//! The queues in SQS. A message body is one of the core's typed messages (or an audited event)
//! as JSON: ids only.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::Serialize;

use onboarding_core::audit::{AuditEvent, AuditTrail, WebhookDue, WebhookQueue};
use onboarding_core::ports::{
    ErasureQueue, ErasureRequested, ScanQueue, ScanSubmitted, StoreError,
};

/// The most messages one `SendMessageBatch` takes.
const MAX_PER_BATCH: usize = 10;

/// One SQS queue; which messages it carries is decided by the port it is wired as.
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// Sends `messages` with `SendMessageBatch`, ten at a time (SQS's limit per call), one
    /// outcome per message in their order: a message SQS refused, or one left out of the
    /// answer, failed; a call that failed fails its ten. One message goes with `SendMessage`, as
    /// it always did (same price, one request either way).
    async fn send_all(&self, messages: &[impl Serialize]) -> Vec<Result<(), StoreError>> {
        if let [message] = messages {
            return vec![self.send(message).await];
        }
        let mut outcomes = Vec::with_capacity(messages.len());
        for chunk in messages.chunks(MAX_PER_BATCH) {
            outcomes.extend(self.send_chunk(chunk).await);
        }
        outcomes
    }

    async fn send_chunk(&self, messages: &[impl Serialize]) -> Vec<Result<(), StoreError>> {
        let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(messages.len());
        let (mut entries, mut in_call) = (Vec::new(), Vec::new());
        for (i, message) in messages.iter().enumerate() {
            let entry = serde_json::to_string(message).ok().and_then(|body| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .ok()
            });
            match entry {
                Some(entry) => {
                    entries.push(entry);
                    in_call.push(i);
                    // Until the answer lists it as sent.
                    outcomes.push(Err(StoreError::Unavailable("not sent".to_owned())));
                }
                None => outcomes.push(Err(StoreError::Corrupt("message"))),
            }
        }
        if entries.is_empty() {
            return outcomes;
        }
        let sent = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        match sent {
            Ok(answer) => {
                let sent = answer.successful().iter().map(|e| (e.id(), Ok(())));
                let refused = answer.failed().iter().map(|e| {
                    let err = StoreError::Unavailable(e.code().to_owned());
                    (e.id(), Err(err))
                });
                for (id, result) in sent.chain(refused) {
                    if let Some(outcome) =
                        id.parse::<usize>().ok().and_then(|i| outcomes.get_mut(i))
                    {
                        *outcome = result;
                    }
                }
            }
            Err(e) => {
                let err = unavailable(&e);
                for &i in &in_call {
                    outcomes[i] = Err(err.clone());
                }
            }
        }
        outcomes
    }

    async fn send(&self, message: &impl Serialize) -> Result<(), StoreError> {
        let body = serde_json::to_string(message).map_err(|_| StoreError::Corrupt("message"))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(&e))
    }
}

/// A failed SQS call, as the store error the ports know: its error code.
fn unavailable(e: &impl aws_sdk_sqs::error::ProvideErrorMetadata) -> StoreError {
    StoreError::Unavailable(e.code().unwrap_or("sqs_error").to_owned())
}

#[async_trait]
impl ScanQueue for SqsQueue {
    async fn publish(&self, message: &ScanSubmitted) -> Result<(), StoreError> {
        self.send(message).await
    }
}

#[async_trait]
impl ErasureQueue for SqsQueue {
    async fn publish(&self, message: &ErasureRequested) -> Result<(), StoreError> {
        self.send(message).await
    }
}

/// The audit queue: every function hands its audited events to the trail's one writer.
#[async_trait]
impl AuditTrail for SqsQueue {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.send(event).await
    }
}

/// The webhook queue: the audit writer queues the webhooks the dispatcher delivers, a whole
/// batch's in one `SendMessageBatch` (same `sqs:SendMessage` permission).
#[async_trait]
impl WebhookQueue for SqsQueue {
    async fn publish(&self, message: &WebhookDue) -> Result<(), StoreError> {
        self.send(message).await
    }

    async fn publish_all(&self, messages: &[WebhookDue]) -> Vec<Result<(), StoreError>> {
        self.send_all(messages).await
    }
}
