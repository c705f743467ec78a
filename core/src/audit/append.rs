//! Appending one event to the chain, linearly whoever else appends at the same time: read the
//! head, link the record to it, and write record, head and the event's idempotency marker in
//! one conditional transaction that only applies if the head is still the one read. A writer
//! that lost the race reads the new head and links again; a duplicate delivery of an event
//! finds its marker and appends nothing. So the chain never forks and holds each event once.

use super::chain::{self, ChainRecord, Head};
use super::event::AuditEvent;
use super::ports::{Appended, ChainStore};
use crate::ports::{Clock, StoreError};

/// How often a writer links again after losing the race for the head, within one delivery.
/// Past it, the message comes back later (the writers' contention has passed by then).
pub const MAX_LINK_ATTEMPTS: u32 = 25;

pub struct AppendEvent<'a> {
    pub chain: &'a dyn ChainStore,
    pub clock: &'a dyn Clock,
}

/// How an append ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Recorded as record `seq`.
    Appended { seq: u64 },
    /// Recorded before (a duplicate delivery): nothing written.
    AlreadyRecorded,
    /// Other writers won the head `MAX_LINK_ATTEMPTS` times: try the delivery again later.
    Contended,
}

impl AppendEvent<'_> {
    pub async fn run(&self, event: &AuditEvent) -> Result<AppendOutcome, StoreError> {
        for _ in 0..MAX_LINK_ATTEMPTS {
            let head: Option<Head> = self.chain.head().await?;
            let record: ChainRecord = chain::link(head.as_ref(), event, self.clock.now())
                .ok_or(StoreError::Corrupt("event"))?;
            match self.chain.append(head.as_ref(), &record, &event.id).await? {
                Appended::Appended => return Ok(AppendOutcome::Appended { seq: record.seq }),
                Appended::Duplicate => return Ok(AppendOutcome::AlreadyRecorded),
                Appended::HeadMoved => tokio::task::yield_now().await,
            }
        }
        Ok(AppendOutcome::Contended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::verify;
    use crate::audit::{Actor, AuditKind};
    use crate::memory::FixedClock;
    use crate::memory::audit::MemoryChain;

    fn event(kind: AuditKind) -> AuditEvent {
        AuditEvent::new(kind, Actor::Person, 1_700_000_000)
            .unwrap()
            .user("00112233445566778899aabbccddeeff")
    }

    #[tokio::test]
    async fn events_are_appended_in_order_and_the_chain_verifies() {
        // given an empty chain
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = AppendEvent {
            chain: &store,
            clock: &clock,
        };
        // when two events are appended
        let first = append.run(&event(AuditKind::LoginSucceeded)).await.unwrap();
        let second = append.run(&event(AuditKind::LoggedOut)).await.unwrap();
        // then they are records 1 and 2 of a sound chain
        assert_eq!(first, AppendOutcome::Appended { seq: 1 });
        assert_eq!(second, AppendOutcome::Appended { seq: 2 });
        let (records, head) = store.snapshot();
        assert!(verify(&records, head.as_ref(), None).is_ok());
    }

    #[tokio::test]
    async fn a_duplicate_delivery_is_recorded_once() {
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = AppendEvent {
            chain: &store,
            clock: &clock,
        };
        let e = event(AuditKind::ErasureRequested);
        append.run(&e).await.unwrap();
        // when the same event is delivered again
        let again = append.run(&e).await.unwrap();
        // then nothing more is written
        assert_eq!(again, AppendOutcome::AlreadyRecorded);
        assert_eq!(store.snapshot().0.len(), 1);
    }

    #[tokio::test]
    async fn concurrent_writers_never_fork_the_chain() {
        // given ten events appended at once, two of them the same event delivered twice
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = AppendEvent {
            chain: &store,
            clock: &clock,
        };
        let mut events: Vec<AuditEvent> = (0..9).map(|_| event(AuditKind::LoginFailed)).collect();
        events.push(events[0].clone());
        // when they race for the head
        let outcomes = futures::future::join_all(events.iter().map(|e| append.run(e))).await;
        // then nine are appended once each, as one linear, sound chain
        let appended = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(AppendOutcome::Appended { .. })))
            .count();
        assert_eq!(appended, 9);
        let (records, head) = store.snapshot();
        assert_eq!(verify(&records, head.as_ref(), None).map(|v| v.last), Ok(9));
    }

    #[tokio::test]
    async fn a_store_outage_is_an_error_not_a_record() {
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        store.outages.fail_next("append", 1);
        let append = AppendEvent {
            chain: &store,
            clock: &clock,
        };
        assert!(append.run(&event(AuditKind::LoggedOut)).await.is_err());
        assert!(store.snapshot().0.is_empty());
    }
}
