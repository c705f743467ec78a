//! What a function does when the trail cannot take an event: it tries once more at once, then
//! gives up on the event, and never on the person's action. The action has already happened
//! (a session opened, a user erased): undoing it because the audit queue hiccupped would make
//! SQS a single point of failure of every journey, and some actions cannot be undone. A lost
//! event is therefore counted (the `AuditEventsLost` metric, which raises an alarm) and logged
//! with its id and kind, so the gap is known and can be filled from the logs. docs/audit.md
//! argues the choice.

use super::event::AuditEvent;
use super::ports::AuditTrail;
use crate::ports::StoreError;

/// Calls of the trail per event: the first, and one retry. The SDK already retries transient
/// errors inside each call; a second call covers a connection lost mid-request.
pub const ATTEMPTS: u32 = 2;

/// Whether the trail took an event.
#[derive(Debug)]
pub enum HandedOver {
    Recorded,
    /// Every attempt failed; the last error.
    Lost(StoreError),
}

/// Hands `event` to `trail`, at most [`ATTEMPTS`] times.
pub async fn hand_over(trail: &dyn AuditTrail, event: &AuditEvent) -> HandedOver {
    let mut last = StoreError::Unavailable("not attempted".to_owned());
    for _ in 0..ATTEMPTS {
        match trail.record(event).await {
            Ok(()) => return HandedOver::Recorded,
            Err(err) => last = err,
        }
    }
    HandedOver::Lost(last)
}

/// Hands over what an outcome is audited as, if anything. The trail adapter has counted a
/// loss already (see the module's documentation), so the caller's action goes on either way.
pub async fn record(trail: &dyn AuditTrail, event: Option<AuditEvent>) {
    if let Some(event) = event {
        // The error was counted and logged by the adapter; the action stands.
        let _ = trail.record(&event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, AuditKind};
    use crate::memory::MemoryAuditTrail;

    fn event() -> AuditEvent {
        AuditEvent::new(AuditKind::LoggedOut, Actor::Person, 1).unwrap()
    }

    #[tokio::test]
    async fn one_failure_is_retried_at_once() {
        // given a trail that fails its next call
        let trail = MemoryAuditTrail::default();
        trail.outages.fail_next("publish", 1);
        // when an event is handed over, then the retry records it
        assert!(matches!(
            hand_over(&trail, &event()).await,
            HandedOver::Recorded
        ));
        assert_eq!(trail.published().len(), 1);
    }

    #[tokio::test]
    async fn after_two_failures_the_event_is_lost_after_exactly_two_calls() {
        // given a trail that fails its next three calls
        let trail = MemoryAuditTrail::default();
        trail.outages.fail_next("publish", 3);
        // when an event is handed over, then it is lost
        assert!(matches!(
            hand_over(&trail, &event()).await,
            HandedOver::Lost(StoreError::Unavailable(_))
        ));
        // and only two calls were made: the next event meets the third failure, then succeeds
        assert!(matches!(
            hand_over(&trail, &event()).await,
            HandedOver::Recorded
        ));
        assert_eq!(trail.published().len(), 1);
    }
}
