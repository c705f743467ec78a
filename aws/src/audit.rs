//! The audit trail as every function is wired with it: the audit queue (`AUDIT_QUEUE_URL`)
//! behind the core's hand-over rule (core/src/audit/hand_over.rs). An event the queue did not
//! take after the retry is counted (`AuditEventsLost`, which the `AuditEventsLostAlarm`
//! watches) and logged by id and kind only, then the error goes back to the caller, whose
//! action stands. docs/audit.md argues why.

use async_trait::async_trait;

use crate::adapters::queue::SqsQueue;
use crate::metrics::{self, Metric};
use onboarding_core::audit::hand_over::{HandedOver, hand_over};
use onboarding_core::audit::{AuditEvent, AuditTrail};
use onboarding_core::ports::StoreError;

pub struct CountedTrail {
    queue: SqsQueue,
}

impl CountedTrail {
    pub fn new(queue: SqsQueue) -> Self {
        Self { queue }
    }
}

#[async_trait]
impl AuditTrail for CountedTrail {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        match hand_over(&self.queue, event).await {
            HandedOver::Recorded => Ok(()),
            HandedOver::Lost(err) => {
                metrics::emit(Metric::AuditEventLost);
                // Ids and a closed-vocabulary kind only: the event itself is pseudonymous.
                tracing::error!(
                    event_id = %event.id,
                    kind = ?event.kind,
                    error = %err,
                    "audited event lost: the audit queue did not take it"
                );
                Err(err)
            }
        }
    }
}
