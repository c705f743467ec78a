//! Rate-limit counters in DynamoDB: one item per key and window, incremented atomically.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use super::dynamo::{map_err, n, opt_n, s};
use onboarding_core::domain::rate_limits::{Decision, Limit, window};
use onboarding_core::ports::RateLimiter;
use onboarding_core::ports::StoreError;

pub struct DynamoRateLimiter {
    client: Client,
    table: String,
}

impl DynamoRateLimiter {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

#[async_trait]
impl RateLimiter for DynamoRateLimiter {
    async fn hit(&self, key: &str, limit: Limit, now: i64) -> Result<Decision, StoreError> {
        let (start, retry_after) = window(limit, now);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("{key}#{start}")))
            .update_expression("ADD hits :one SET #ttl = if_not_exists(#ttl, :expires)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(start + limit.window_seconds + 60))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| map_err(e, |_| false))?;
        let hits = out
            .attributes
            .as_ref()
            .and_then(|a| opt_n(a, "hits"))
            .unwrap_or(1);
        Ok(if hits > i64::from(limit.limit) {
            Decision::Limited { retry_after }
        } else {
            Decision::Allowed
        })
    }
}
