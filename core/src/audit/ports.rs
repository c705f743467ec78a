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

/// How a conditional append ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Record, head and marker written.
    Appended,
    /// The event's marker exists: it was recorded before, nothing written.
    Duplicate,
    /// The head is no longer the one the record links to: another writer appended first.
    HeadMoved,
}

/// Where the chain is kept (one writer role appends; nobody rewrites).
#[async_trait]
pub trait ChainStore: Send + Sync {
    /// The newest record's number, hash and time (strongly consistent); `None`: empty.
    async fn head(&self) -> Result<Option<super::chain::Head>, StoreError>;

    /// Writes `record`, advances the head from `expected` to it and marks `event_id` as
    /// recorded, all or nothing.
    async fn append(
        &self,
        expected: Option<&super::chain::Head>,
        record: &super::chain::ChainRecord,
        event_id: &str,
    ) -> Result<Appended, StoreError>;
}
