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

    /// Queues several deliveries, one outcome per message in `messages`' order: the audit
    /// writer hands over a whole batch's webhooks at once, so a queue that can take several
    /// messages in one call (SQS `SendMessageBatch`) pays one request instead of one per
    /// message. By default, one [`publish`](Self::publish) after the other.
    async fn publish_all(&self, messages: &[WebhookDue]) -> Vec<Result<(), StoreError>> {
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            outcomes.push(self.publish(message).await);
        }
        outcomes
    }
}

/// One record to append and the id of the event it holds (its idempotency marker's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    pub record: super::chain::ChainRecord,
    pub event_id: String,
}

/// How a conditional append ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Every record, every marker and the head written.
    Appended,
    /// The markers of these entries (positions in the slice appended) exist: their events were
    /// recorded before. Nothing written. Never empty; a store that cannot tell which markers
    /// failed answers [`HeadMoved`](Self::HeadMoved) instead, or reads them.
    Duplicates(Vec<usize>),
    /// The head is no longer the one the records link to: another writer appended first.
    HeadMoved,
}

/// Where the chain is kept (one writer role appends; nobody rewrites).
#[async_trait]
pub trait ChainStore: Send + Sync {
    /// The newest record's number, hash and time (strongly consistent); `None`: empty.
    async fn head(&self) -> Result<Option<super::chain::Head>, StoreError>;

    /// Writes `entries`' records (consecutive, the first linked to `expected`), marks each
    /// entry's event as recorded and advances the head from `expected` to the last record, all
    /// or nothing: one transaction of `2 * entries.len() + 1` writes, so at most
    /// [`MAX_ENTRIES`] entries, each event id once. Nothing to write (no entries) is appended.
    async fn append(
        &self,
        expected: Option<&super::chain::Head>,
        entries: &[ChainEntry],
    ) -> Result<Appended, StoreError>;
}

/// The most entries one append takes: DynamoDB transactions hold at most 100 items, and an
/// append of `n` entries writes `2n + 1` (records, markers, head).
pub const MAX_ENTRIES: usize = 49;
