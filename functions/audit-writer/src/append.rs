//! One batch of audited events: the core's batch append links them into the chain in one
//! transaction (core/src/audit/append.rs); then the webhooks they trigger go to the webhook
//! queue together. A duplicate delivery appends nothing but queues its webhook again (at least
//! once: the dispatcher's receivers deduplicate by the event's id), so a crash between the two
//! steps loses no webhook. Outcomes stay per message: only the events that could not be
//! appended, or whose webhook was not queued, come back.

use std::sync::Arc;

use aws_adapters::sqs_batch::Disposition;
use onboarding_core::audit::append::{AppendEvent, AppendOutcome};
use onboarding_core::audit::{AuditEvent, ChainStore, WebhookDue, WebhookQueue};
use onboarding_core::ports::{Clock, StoreError};

pub struct Deps {
    pub chain: Arc<dyn ChainStore>,
    pub webhooks: Arc<dyn WebhookQueue>,
    pub clock: Arc<dyn Clock>,
}

/// The batch's well-formed events, one disposition each, in their order.
pub async fn record(deps: &Deps, events: &[AuditEvent]) -> Vec<Disposition> {
    let append = AppendEvent {
        chain: deps.chain.as_ref(),
        clock: deps.clock.as_ref(),
    };
    let outcomes = append.run_batch(events).await;
    let mut dispositions = Vec::with_capacity(events.len());
    let (mut due, mut announced) = (Vec::new(), Vec::new());
    for (event, outcome) in events.iter().zip(outcomes) {
        let disposition = logged(event, outcome);
        if disposition == Disposition::Done
            && let Some(webhook) = WebhookDue::for_event(event)
        {
            announced.push(dispositions.len());
            due.push(webhook);
        }
        dispositions.push(disposition);
    }
    if due.is_empty() {
        return dispositions;
    }
    let mut published = deps.webhooks.publish_all(&due).await.into_iter();
    for i in announced {
        let Some(event) = events.get(i) else { continue };
        // A queue that answers for fewer messages than it was given did not queue the rest.
        if let Err(err) = published
            .next()
            .unwrap_or(Err(StoreError::Unavailable("no answer".to_owned())))
        {
            tracing::warn!(event_id = %event.id, kind = ?event.kind, error = %err,
                "webhook not queued; the event comes back later");
            if let Some(disposition) = dispositions.get_mut(i) {
                *disposition = Disposition::Retry;
            }
        }
    }
    dispositions
}

/// The event's append outcome, logged by id and kind (never its content), as a disposition.
fn logged(event: &AuditEvent, outcome: Result<AppendOutcome, StoreError>) -> Disposition {
    let span = tracing::info_span!("audit", event_id = %event.id, kind = ?event.kind);
    let _in_span = span.enter();
    match outcome {
        Ok(AppendOutcome::Appended { seq }) => {
            tracing::info!(seq, "audited event appended");
            Disposition::Done
        }
        Ok(AppendOutcome::AlreadyRecorded) => {
            tracing::info!("audited event already in the trail (duplicate delivery)");
            Disposition::Done
        }
        Ok(AppendOutcome::Contended) => {
            tracing::warn!("the trail's head kept moving; the event comes back later");
            Disposition::Retry
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not append; the event comes back later");
            Disposition::Retry
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onboarding_core::audit::chain::verify;
    use onboarding_core::audit::{Actor, AuditKind};
    use onboarding_core::memory::audit::{ChainCall, MemoryChain};
    use onboarding_core::memory::{FixedClock, MemoryWebhookQueue};

    fn deps() -> (Deps, Arc<MemoryChain>, Arc<MemoryWebhookQueue>) {
        let chain = Arc::new(MemoryChain::default());
        let webhooks = Arc::new(MemoryWebhookQueue::default());
        let deps = Deps {
            chain: chain.clone(),
            webhooks: webhooks.clone(),
            clock: Arc::new(FixedClock::at(1_700_000_000)),
        };
        (deps, chain, webhooks)
    }

    fn event(kind: AuditKind) -> AuditEvent {
        AuditEvent::new(kind, Actor::System, 1_700_000_000)
            .unwrap()
            .user("00112233445566778899aabbccddeeff")
    }

    #[tokio::test]
    async fn a_completed_registration_is_appended_then_announced_once_per_delivery() {
        // given a registration.completed event delivered twice, in two batches
        let (deps, chain, webhooks) = deps();
        let completed = event(AuditKind::RegistrationCompleted);
        // when both deliveries are processed
        let batch = std::slice::from_ref(&completed);
        assert_eq!(record(&deps, batch).await, [Disposition::Done]);
        assert_eq!(record(&deps, batch).await, [Disposition::Done]);
        // then the trail holds it once, and each delivery queued the webhook with its id
        let (records, head) = chain.snapshot();
        assert_eq!(records.len(), 1);
        assert!(verify(&records, head.as_ref(), None).is_ok());
        let queued = webhooks.published();
        assert_eq!(queued.len(), 2);
        assert!(queued.iter().all(|w| w.id == completed.id));
    }

    #[tokio::test]
    async fn an_event_without_a_webhook_is_only_appended() {
        let (deps, chain, webhooks) = deps();
        assert_eq!(
            record(&deps, &[event(AuditKind::StepUpPassed)]).await,
            [Disposition::Done]
        );
        assert_eq!(chain.snapshot().0.len(), 1);
        assert!(webhooks.published().is_empty());
    }

    #[tokio::test]
    async fn a_webhook_queue_outage_brings_the_event_back_without_appending_it_twice() {
        // given a webhook queue that fails once
        let (deps, chain, webhooks) = deps();
        webhooks.outages.fail_next("publish", 1);
        let erased = event(AuditKind::ErasureCompleted);
        // when the event is delivered, fails, and is delivered again
        let batch = std::slice::from_ref(&erased);
        assert_eq!(record(&deps, batch).await, [Disposition::Retry]);
        assert_eq!(record(&deps, batch).await, [Disposition::Done]);
        // then it is in the trail once and its webhook was queued
        assert_eq!(chain.snapshot().0.len(), 1);
        assert_eq!(webhooks.published().len(), 1);
    }

    #[tokio::test]
    async fn a_chain_outage_brings_the_event_back() {
        let (deps, chain, webhooks) = deps();
        chain.outages.fail_next("head", 1);
        let completed = event(AuditKind::RegistrationCompleted);
        assert_eq!(record(&deps, &[completed]).await, [Disposition::Retry]);
        assert!(webhooks.published().is_empty());
    }

    #[tokio::test]
    async fn a_batch_is_one_append_and_its_duplicate_is_announced_again() {
        // given a trail that already holds a completed registration
        let (deps, chain, webhooks) = deps();
        let completed = event(AuditKind::RegistrationCompleted);
        record(&deps, std::slice::from_ref(&completed)).await;
        // when a batch of four arrives with that event delivered again among them
        let batch = [
            event(AuditKind::LoginSucceeded),
            completed.clone(),
            event(AuditKind::StepUpPassed),
            event(AuditKind::ErasureCompleted),
        ];
        // then every message is done
        assert_eq!(record(&deps, &batch).await, [Disposition::Done; 4]);
        // and the three new events were appended in the batch's order, after one head read,
        // one cancelled transaction (the duplicate's marker) and one of three records
        let (records, head) = chain.snapshot();
        assert_eq!(verify(&records, head.as_ref(), None).map(|v| v.last), Ok(4));
        assert_eq!(
            chain.calls()[2..],
            [
                ChainCall::Head,
                ChainCall::Append { items: 9 },
                ChainCall::Append { items: 7 }
            ]
        );
        // and the webhooks of the login, the duplicate and the erasure were queued again
        let queued: Vec<String> = webhooks.published().into_iter().map(|w| w.id).collect();
        let ids = |events: &[&AuditEvent]| -> Vec<String> {
            events.iter().map(|e| e.id.clone()).collect()
        };
        assert_eq!(queued, ids(&[&completed, &batch[0], &completed, &batch[3]]));
    }

    #[tokio::test]
    async fn only_the_event_whose_webhook_was_not_queued_comes_back() {
        // given a webhook queue that fails its next message
        let (deps, chain, webhooks) = deps();
        webhooks.outages.fail_next("publish", 1);
        // when a batch of two announced events arrives
        let batch = [
            event(AuditKind::LoginSucceeded),
            event(AuditKind::RegistrationFailed),
        ];
        // then both are appended, and only the first, whose webhook failed, comes back
        assert_eq!(
            record(&deps, &batch).await,
            [Disposition::Retry, Disposition::Done]
        );
        assert_eq!(chain.snapshot().0.len(), 2);
        assert_eq!(webhooks.published().len(), 1);
    }
}
