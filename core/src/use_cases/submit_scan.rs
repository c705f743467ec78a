//! "My scan finished" (`POST /v1/users`): the registration moves `awaiting_scan → submitted`
//! and the validator is asked, through the scan queue, to check it. The client's word is all
//! this takes: no token is read from the client; the registration's own token is what the
//! validator checks.
//!
//! The state change and the message go together: if the queue refuses the message, the state
//! change is undone, so the person can submit again and nothing waits for a message that never
//! left.

use crate::domain::{Registration, RegistrationStatus};
use crate::ports::{Clock, RegistrationStore, ScanQueue, ScanSubmitted, StoreError};

/// What submitting a scan needs.
pub struct SubmitScan<'a> {
    pub registrations: &'a dyn RegistrationStore,
    pub queue: &'a dyn ScanQueue,
    pub clock: &'a dyn Clock,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The validator has the message.
    Submitted,
    /// The attempt's token expired before the scan was submitted.
    Expired,
    /// The registration is not awaiting a scan (it is in this state).
    WrongState(RegistrationStatus),
    /// The queue refused the message; the registration awaits its scan again.
    QueueUnavailable,
}

impl SubmitScan<'_> {
    /// Submits the current attempt of `registration` (as the caller's credential found it);
    /// `request_id` correlates the validator's logs with this request.
    pub async fn run(
        &self,
        registration: &Registration,
        request_id: Option<String>,
    ) -> Result<SubmitOutcome, StoreError> {
        let now = self.clock.now();
        if let Some(refused) = refusal(registration.status_at(now)) {
            return Ok(refused);
        }
        match self
            .registrations
            .submit(&registration.id, registration.attempt, now)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                // Someone else moved it first (a double submit): report where it is now.
                let current = self.registrations.get(&registration.id).await?;
                let status = current.map_or(RegistrationStatus::Expired, |r| r.status_at(now));
                // Still awaiting after a refused submit: it moved and came back meanwhile.
                return Ok(refusal(status).unwrap_or(SubmitOutcome::WrongState(status)));
            }
            Err(err) => return Err(err),
        }
        let message = ScanSubmitted {
            registration_id: registration.id.clone(),
            attempt: registration.attempt,
            request_id,
        };
        if let Err(err) = self.queue.publish(&message).await {
            tracing::error!(error = %err, registration_id = %registration.id, "could not enqueue scan");
            if let Err(undo) = self
                .registrations
                .unsubmit(&registration.id, registration.attempt)
                .await
            {
                tracing::error!(error = %undo, registration_id = %registration.id, "could not undo submit");
            }
            return Ok(SubmitOutcome::QueueUnavailable);
        }
        Ok(SubmitOutcome::Submitted)
    }
}

/// Why a registration in `status` cannot take a scan; `None` when it can.
fn refusal(status: RegistrationStatus) -> Option<SubmitOutcome> {
    match status {
        RegistrationStatus::AwaitingScan => None,
        RegistrationStatus::Expired => Some(SubmitOutcome::Expired),
        other => Some(SubmitOutcome::WrongState(other)),
    }
}
