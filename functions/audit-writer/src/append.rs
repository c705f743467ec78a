//! One audited event: the core's append use case links it into the chain
//! (core/src/audit/append.rs); then the webhook it triggers goes to the webhook queue. A
//! duplicate delivery appends nothing but queues its webhook again (at least once: the
//! dispatcher's receivers deduplicate by the event's id), so a crash between the two steps
//! loses no webhook.

use std::sync::Arc;

use aws_adapters::sqs_batch::{Delivery, Disposition};
use onboarding_core::audit::append::{AppendEvent, AppendOutcome};
use onboarding_core::audit::{AuditEvent, ChainStore, WebhookDue, WebhookQueue};
use onboarding_core::ports::Clock;
use tracing::Instrument;

pub struct Deps {
    pub chain: Arc<dyn ChainStore>,
    pub webhooks: Arc<dyn WebhookQueue>,
    pub clock: Arc<dyn Clock>,
}

/// One message, in a span naming the event by id and kind (never its content).
pub async fn process(deps: &Deps, event: AuditEvent, _: Delivery) -> Disposition {
    let span = tracing::info_span!("audit", event_id = %event.id, kind = ?event.kind);
    record(deps, &event).instrument(span).await
}

async fn record(deps: &Deps, event: &AuditEvent) -> Disposition {
    let append = AppendEvent {
        chain: deps.chain.as_ref(),
        clock: deps.clock.as_ref(),
    };
    match append.run(event).await {
        Ok(AppendOutcome::Appended { seq }) => tracing::info!(seq, "audited event appended"),
        Ok(AppendOutcome::AlreadyRecorded) => {
            tracing::info!("audited event already in the trail (duplicate delivery)");
        }
        Ok(AppendOutcome::Contended) => {
            tracing::warn!("the trail's head kept moving; the event comes back later");
            return Disposition::Retry;
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not append; the event comes back later");
            return Disposition::Retry;
        }
    }
    let Some(due) = WebhookDue::for_event(event) else {
        return Disposition::Done;
    };
    match deps.webhooks.publish(&due).await {
        Ok(()) => Disposition::Done,
        Err(err) => {
            tracing::warn!(error = %err, "webhook not queued; the event comes back later");
            Disposition::Retry
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onboarding_core::audit::chain::verify;
    use onboarding_core::audit::{Actor, AuditKind};
    use onboarding_core::memory::audit::MemoryChain;
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
        // given a registration.completed event delivered twice
        let (deps, chain, webhooks) = deps();
        let completed = event(AuditKind::RegistrationCompleted);
        // when both deliveries are processed
        assert_eq!(record(&deps, &completed).await, Disposition::Done);
        assert_eq!(record(&deps, &completed).await, Disposition::Done);
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
            record(&deps, &event(AuditKind::StepUpPassed)).await,
            Disposition::Done
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
        assert_eq!(record(&deps, &erased).await, Disposition::Retry);
        assert_eq!(record(&deps, &erased).await, Disposition::Done);
        // then it is in the trail once and its webhook was queued
        assert_eq!(chain.snapshot().0.len(), 1);
        assert_eq!(webhooks.published().len(), 1);
    }

    #[tokio::test]
    async fn a_chain_outage_brings_the_event_back() {
        let (deps, chain, webhooks) = deps();
        chain.outages.fail_next("head", 1);
        let completed = event(AuditKind::RegistrationCompleted);
        assert_eq!(record(&deps, &completed).await, Disposition::Retry);
        assert!(webhooks.published().is_empty());
    }
}
