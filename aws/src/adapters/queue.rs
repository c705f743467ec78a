//! The queues in SQS. A message body is one of the core's typed messages (or an audited event)
//! as JSON: ids only.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use serde::Serialize;

use onboarding_core::audit::{AuditEvent, AuditTrail, WebhookDue, WebhookQueue};
use onboarding_core::ports::{
    ErasureQueue, ErasureRequested, ScanQueue, ScanSubmitted, StoreError,
};

/// One SQS queue; which messages it carries is decided by the port it is wired as.
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: String) -> Self {
        Self { client, queue_url }
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
            .map_err(|e| {
                use aws_sdk_sqs::error::ProvideErrorMetadata;
                StoreError::Unavailable(e.code().unwrap_or("sqs_error").to_owned())
            })
    }
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

/// The webhook queue: the audit writer queues the webhooks the dispatcher delivers.
#[async_trait]
impl WebhookQueue for SqsQueue {
    async fn publish(&self, message: &WebhookDue) -> Result<(), StoreError> {
        self.send(message).await
    }
}
