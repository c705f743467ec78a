//! Asking to be erased (`DELETE /v1/users`): every session of the person ends now; the data
//! itself (user record, username claim, images, the verifier's enrolment) is removed later by
//! the erasure use case (`erase_user`), through a queue with retries and a dead-letter queue.
//!
//! It needs a face step-up on this session within the step-up window (`step_up`): a session
//! left open, or a stolen session credential, must not be enough to erase a person.
//!
//! The request is queued first: if the queue cannot take it, nothing has changed and the person
//! can simply try again, still logged in. Ending the sessions first would leave a person logged
//! out with no erasure scheduled and no session to ask again with.

use super::{Authenticated, SessionAuth};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::crypto::Credential;
use crate::ports::{ErasureQueue, ErasureRequested};
use crate::use_cases::failure::Failure;

/// What requesting an erasure needs.
pub struct RequestErasure<'a> {
    pub auth: SessionAuth<'a>,
    pub queue: &'a dyn ErasureQueue,
}

/// How a request from a live session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureRequest {
    /// Queued, and `revoked` sessions of `user_id` ended.
    Scheduled { user_id: String, revoked: usize },
    /// The queue could not take the request: nothing changed, the session still works.
    QueueUnavailable,
    /// The session has no live step-up elevation: nothing changed.
    StepUpRequired,
}

impl ErasureRequest {
    /// What the trail records: a scheduled erasure; the refusals changed nothing.
    pub fn audit_event(&self, request_id: &str, now: i64) -> Option<AuditEvent> {
        match self {
            ErasureRequest::Scheduled { user_id, .. } => Some(
                AuditEvent::new(AuditKind::ErasureRequested, Actor::Person, now)?
                    .user(user_id)
                    .request(Some(request_id)),
            ),
            ErasureRequest::QueueUnavailable | ErasureRequest::StepUpRequired => None,
        }
    }
}

impl RequestErasure<'_> {
    /// Queues the erasure of the session's user, tagged with `request_id` so the erasure's logs
    /// can be traced back to this request, then ends all the user's sessions.
    pub async fn run(
        &self,
        credential: &Credential,
        request_id: &str,
    ) -> Result<Authenticated<ErasureRequest>, Failure> {
        let live = match self.auth.open(credential).await? {
            Authenticated::Live(live) => live,
            Authenticated::Refused(why) => return Ok(Authenticated::Refused(why)),
        };
        let now = self.auth.clock.now();
        if live.session.elevated_until.is_none_or(|until| now >= until) {
            self.auth.beside(&live, async {}).await;
            return Ok(Authenticated::Live(ErasureRequest::StepUpRequired));
        }
        let request = ErasureRequested {
            user_id: live.session.user_id.clone(),
            request_id: Some(request_id.to_owned()),
        };
        // The session's activity is recorded beside the hand-over: its sessions end next anyway.
        if self
            .auth
            .beside(&live, self.queue.publish(&request))
            .await
            .is_err()
        {
            return Ok(Authenticated::Live(ErasureRequest::QueueUnavailable));
        }
        let revoked = self.auth.control.revoke_all(&request.user_id).await?;
        tracing::info!(revoked, "erasure requested");
        Ok(Authenticated::Live(ErasureRequest::Scheduled {
            user_id: request.user_id,
            revoked,
        }))
    }
}
