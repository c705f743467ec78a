//! Where audited events go. Both are queues in AWS (one writer appends the trail; the webhook
//! dispatcher delivers), so a function hands an event over in one call and never waits for
//! the chain or a customer's endpoint.

use async_trait::async_trait;

use super::event::AuditEvent;
use super::webhooks::WebhookDue;
use crate::ports::StoreError;

#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// Hands one event to the trail. An error means the event is not recorded: the caller
    /// decides whether that undoes its action or is only counted (docs/audit.md says which).
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError>;
}

#[async_trait]
pub trait WebhookQueue: Send + Sync {
    /// Queues one delivery to every configured endpoint (at least once, with backoff).
    async fn publish(&self, message: &WebhookDue) -> Result<(), StoreError>;
}
