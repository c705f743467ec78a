//! The registration queue in SQS. The message body is ids only.

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use crate::ports::{ScanQueue, ScanSubmitted, StoreError};

pub struct SqsScanQueue {
    client: Client,
    queue_url: String,
}

impl SqsScanQueue {
    pub fn new(client: Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

#[async_trait]
impl ScanQueue for SqsScanQueue {
    async fn publish(&self, message: &ScanSubmitted) -> Result<(), StoreError> {
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
