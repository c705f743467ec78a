//! Appending events to the chain, linearly whoever else appends at the same time: read the
//! head, link the records to it one after the other, and write the records, the head and each
//! event's idempotency marker in one conditional transaction that only applies if the head is
//! still the one read. A writer that lost the race reads the new head and links again; a
//! duplicate delivery of an event finds its marker and is dropped from the transaction, the
//! rest retried. So the chain never forks and holds each event once.
//!
//! Why a whole batch per transaction: DynamoDB bills a transactional write twice, so one event
//! per transaction (record, head, marker) costs 6 write units, while `n` events in one
//! transaction share the head's: `2 * (2n + 1)`, 42 instead of 60 for a batch of 10, and one
//! head read instead of ten. A batch of one makes exactly the calls one event always made.

use std::collections::HashMap;

use super::chain::{self, Head};
use super::event::AuditEvent;
use super::ports::{Appended, ChainEntry, ChainStore, MAX_ENTRIES};
use crate::ports::{Clock, StoreError};

/// How often a writer links again after losing the race for the head, within one delivery.
/// Past it, the messages come back later (the writers' contention has passed by then).
pub const MAX_LINK_ATTEMPTS: u32 = 25;

pub struct AppendEvent<'a> {
    pub chain: &'a dyn ChainStore,
    pub clock: &'a dyn Clock,
}

/// How an append ended, for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Recorded as record `seq`.
    Appended { seq: u64 },
    /// Recorded before (a duplicate delivery, or the same event twice in one batch): nothing
    /// written for it.
    AlreadyRecorded,
    /// Other writers won the head `MAX_LINK_ATTEMPTS` times: try the delivery again later.
    Contended,
}

/// Each event's outcome, in the order given.
pub type BatchOutcomes = Vec<Result<AppendOutcome, StoreError>>;

impl AppendEvent<'_> {
    /// Appends one event: a batch of one.
    pub async fn run(&self, event: &AuditEvent) -> Result<AppendOutcome, StoreError> {
        self.run_batch(std::slice::from_ref(event))
            .await
            .into_iter()
            .next()
            .unwrap_or(Err(StoreError::Corrupt("event")))
    }

    /// Appends `events` in their order, in as few transactions as the store allows
    /// ([`MAX_ENTRIES`] events each; one for any SQS batch). Outcomes stay per event: a
    /// duplicate is dropped and the others retried, an event that cannot be encoded fails
    /// alone; a store error or lasting contention fails the events of its transaction. An
    /// event given twice is appended once; its repeat is [`AppendOutcome::AlreadyRecorded`]
    /// (one transaction cannot write one marker twice).
    pub async fn run_batch(&self, events: &[AuditEvent]) -> BatchOutcomes {
        let mut outcomes: Vec<Option<Result<AppendOutcome, StoreError>>> = vec![None; events.len()];
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let mut repeats = Vec::new();
        let mut unique = Vec::new();
        for (i, event) in events.iter().enumerate() {
            match first_of.get(event.id.as_str()) {
                Some(&first) => repeats.push((i, first)),
                None => {
                    first_of.insert(&event.id, i);
                    unique.push(i);
                }
            }
        }
        for chunk in unique.chunks(MAX_ENTRIES) {
            self.append_chunk(events, chunk.to_vec(), &mut outcomes)
                .await;
        }
        for (repeat, first) in repeats {
            outcomes[repeat] = match &outcomes[first] {
                Some(Ok(AppendOutcome::Appended { .. })) => {
                    Some(Ok(AppendOutcome::AlreadyRecorded))
                }
                other => other.clone(),
            };
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Err(StoreError::Corrupt("event"))))
            .collect()
    }

    /// Appends the events at `pending` (at most [`MAX_ENTRIES`], distinct ids) and sets their
    /// outcomes. One head read, then one transaction per attempt; a duplicate does not count
    /// as a lost race (it removes an event, so it ends), and the head read is reused for the
    /// retry without it: if another writer moved the head meanwhile, the store says so.
    async fn append_chunk(
        &self,
        events: &[AuditEvent],
        mut pending: Vec<usize>,
        outcomes: &mut [Option<Result<AppendOutcome, StoreError>>],
    ) {
        let mut known_head: Option<Option<Head>> = None;
        let mut races = 0;
        while !pending.is_empty() {
            if races == MAX_LINK_ATTEMPTS {
                for &i in &pending {
                    outcomes[i] = Some(Ok(AppendOutcome::Contended));
                }
                return;
            }
            let head = match known_head.take() {
                Some(head) => head,
                None => match self.chain.head().await {
                    Ok(head) => head,
                    Err(err) => return fail(&pending, &err, outcomes),
                },
            };
            let (linked, entries) = self.link_all(events, &pending, head.as_ref(), outcomes);
            pending = linked;
            if entries.is_empty() {
                return;
            }
            match self.chain.append(head.as_ref(), &entries).await {
                Err(err) => return fail(&pending, &err, outcomes),
                Ok(Appended::Appended) => {
                    for (&i, entry) in pending.iter().zip(&entries) {
                        let seq = entry.record.seq;
                        outcomes[i] = Some(Ok(AppendOutcome::Appended { seq }));
                    }
                    return;
                }
                Ok(Appended::Duplicates(positions))
                    if positions.iter().any(|&p| p < pending.len()) =>
                {
                    let mut keep = vec![true; pending.len()];
                    for p in positions.into_iter().filter(|&p| p < pending.len()) {
                        keep[p] = false;
                        outcomes[pending[p]] = Some(Ok(AppendOutcome::AlreadyRecorded));
                    }
                    let mut keep = keep.into_iter();
                    pending.retain(|_| keep.next().unwrap_or(false));
                    known_head = Some(head);
                }
                Ok(Appended::Duplicates(_) | Appended::HeadMoved) => {
                    races += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    /// Links the events at `pending` after `head`, one after the other, at this moment. An
    /// event that cannot be encoded fails alone; the ones linked are returned with their
    /// entries, in the same order.
    fn link_all(
        &self,
        events: &[AuditEvent],
        pending: &[usize],
        head: Option<&Head>,
        outcomes: &mut [Option<Result<AppendOutcome, StoreError>>],
    ) -> (Vec<usize>, Vec<ChainEntry>) {
        let now = self.clock.now();
        let mut tip = head.cloned();
        let (mut linked, mut entries) = (Vec::new(), Vec::new());
        for &i in pending {
            match chain::link(tip.as_ref(), &events[i], now) {
                Some(record) => {
                    tip = Some(record.as_head());
                    linked.push(i);
                    entries.push(ChainEntry {
                        record,
                        event_id: events[i].id.clone(),
                    });
                }
                None => outcomes[i] = Some(Err(StoreError::Corrupt("event"))),
            }
        }
        (linked, entries)
    }
}

fn fail(
    pending: &[usize],
    err: &StoreError,
    outcomes: &mut [Option<Result<AppendOutcome, StoreError>>],
) {
    for &i in pending {
        outcomes[i] = Some(Err(err.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::verify;
    use crate::audit::{Actor, AuditKind};
    use crate::memory::FixedClock;
    use crate::memory::audit::{ChainCall, MemoryChain};

    /// The use case over a test chain and clock.
    fn writer<'a>(store: &'a MemoryChain, clock: &'a FixedClock) -> AppendEvent<'a> {
        AppendEvent {
            chain: store,
            clock,
        }
    }

    fn event(kind: AuditKind) -> AuditEvent {
        AuditEvent::new(kind, Actor::Person, 1_700_000_000)
            .unwrap()
            .user("00112233445566778899aabbccddeeff")
    }

    #[tokio::test]
    async fn events_are_appended_in_order_and_the_chain_verifies() {
        // given an empty chain
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = writer(&store, &clock);
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
        let append = writer(&store, &clock);
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
        let append = writer(&store, &clock);
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
        let append = writer(&store, &clock);
        assert!(append.run(&event(AuditKind::LoggedOut)).await.is_err());
        assert!(store.snapshot().0.is_empty());
    }

    fn events(n: usize) -> Vec<AuditEvent> {
        (0..n).map(|_| event(AuditKind::LoginSucceeded)).collect()
    }

    #[tokio::test]
    async fn a_batch_of_one_makes_the_calls_one_event_always_made() {
        // given an empty chain
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = writer(&store, &clock);
        // when a batch of one event is appended
        let outcomes = append.run_batch(&events(1)).await;
        // then it is record 1, after one head read and one transaction of record, head and
        // marker: the bench's one-message row prices the old per-event code
        assert_eq!(outcomes, [Ok(AppendOutcome::Appended { seq: 1 })]);
        assert_eq!(
            store.calls(),
            [ChainCall::Head, ChainCall::Append { items: 3 }]
        );
    }

    #[tokio::test]
    async fn a_batch_of_ten_is_one_head_read_and_one_transaction() {
        // given a chain holding one record
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = writer(&store, &clock);
        append.run(&event(AuditKind::LoggedOut)).await.unwrap();
        // when a batch of ten events is appended
        let outcomes = append.run_batch(&events(10)).await;
        // then they are records 2 to 11, in the batch's order, of a sound chain
        let expected: Vec<_> = (2..=11)
            .map(|seq| Ok(AppendOutcome::Appended { seq }))
            .collect();
        assert_eq!(outcomes, expected);
        let (records, head) = store.snapshot();
        assert_eq!(
            verify(&records, head.as_ref(), None).map(|v| v.last),
            Ok(11)
        );
        // and it took one head read and one transaction of 10 records, 10 markers and the head
        assert_eq!(
            store.calls()[2..],
            [ChainCall::Head, ChainCall::Append { items: 21 }]
        );
    }

    #[tokio::test]
    async fn a_duplicate_inside_a_batch_is_dropped_and_the_rest_appended() {
        // given a chain that already holds an event
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = writer(&store, &clock);
        let recorded = event(AuditKind::ErasureCompleted);
        append.run(&recorded).await.unwrap();
        // when it is delivered again in the middle of a batch of three
        let batch = [
            event(AuditKind::LoginSucceeded),
            recorded,
            event(AuditKind::LoggedOut),
        ];
        let outcomes = append.run_batch(&batch).await;
        // then only the duplicate is already recorded; the others follow it in order
        assert_eq!(
            outcomes,
            [
                Ok(AppendOutcome::Appended { seq: 2 }),
                Ok(AppendOutcome::AlreadyRecorded),
                Ok(AppendOutcome::Appended { seq: 3 }),
            ]
        );
        let (records, head) = store.snapshot();
        assert_eq!(verify(&records, head.as_ref(), None).map(|v| v.last), Ok(3));
        // and the retry without it reused the head read: the cancelled transaction, then one
        // of two records, two markers and the head
        assert_eq!(
            store.calls()[2..],
            [
                ChainCall::Head,
                ChainCall::Append { items: 7 },
                ChainCall::Append { items: 5 },
            ]
        );
    }

    #[tokio::test]
    async fn the_same_event_twice_in_a_batch_is_appended_once() {
        // given a batch holding one event twice (SQS delivers at least once)
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = writer(&store, &clock);
        let e = event(AuditKind::RegistrationCompleted);
        let batch = [e.clone(), event(AuditKind::LoggedOut), e];
        // when it is appended
        let outcomes = append.run_batch(&batch).await;
        // then the first is appended, the repeat already recorded, in one transaction
        assert_eq!(
            outcomes,
            [
                Ok(AppendOutcome::Appended { seq: 1 }),
                Ok(AppendOutcome::Appended { seq: 2 }),
                Ok(AppendOutcome::AlreadyRecorded),
            ]
        );
        assert_eq!(
            store.calls(),
            [ChainCall::Head, ChainCall::Append { items: 5 }]
        );
    }

    #[tokio::test]
    async fn concurrent_batches_never_fork_the_chain() {
        // given four batches of ten appended at once, each sharing events with the next one
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = writer(&store, &clock);
        let all = events(34);
        let batches: Vec<Vec<AuditEvent>> =
            (0..4).map(|b| all[b * 8..b * 8 + 10].to_vec()).collect();
        // when they race for the head
        let outcomes = futures::future::join_all(batches.iter().map(|b| append.run_batch(b))).await;
        // then every event is appended exactly once, as one linear, sound chain
        let outcomes: Vec<_> = outcomes.into_iter().flatten().collect();
        let appended = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(AppendOutcome::Appended { .. })))
            .count();
        let repeated = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(AppendOutcome::AlreadyRecorded)))
            .count();
        assert_eq!((appended, repeated), (34, 6));
        let (records, head) = store.snapshot();
        assert_eq!(
            verify(&records, head.as_ref(), None).map(|v| v.last),
            Ok(34)
        );
    }

    #[tokio::test]
    async fn a_batch_larger_than_a_transaction_is_split() {
        // given sixty events, more than one transaction can take
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        let append = writer(&store, &clock);
        // when they are appended
        let outcomes = append.run_batch(&events(60)).await;
        // then they are records 1 to 60, in two transactions of at most 100 items
        assert!(outcomes.iter().all(Result::is_ok));
        let (records, head) = store.snapshot();
        assert_eq!(
            verify(&records, head.as_ref(), None).map(|v| v.last),
            Ok(60)
        );
        assert_eq!(
            store.calls(),
            [
                ChainCall::Head,
                ChainCall::Append { items: 99 },
                ChainCall::Head,
                ChainCall::Append { items: 23 },
            ]
        );
    }

    #[tokio::test]
    async fn a_store_outage_fails_every_event_of_the_batch() {
        // given a chain whose next transaction fails
        let (store, clock) = (MemoryChain::default(), FixedClock::at(1_700_000_000));
        store.outages.fail_next("append", 1);
        let append = writer(&store, &clock);
        // when a batch of three is appended, then each event fails and nothing is written
        let outcomes = append.run_batch(&events(3)).await;
        assert!(outcomes.iter().all(Result::is_err));
        assert!(store.snapshot().0.is_empty());
    }
}
