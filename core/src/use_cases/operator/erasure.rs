//! Queuing an account's erasure on an operator's request (`DELETE /admin/users/{user_id}`):
//! the same message `DELETE /v1/users` queues, without the face step-up a person needs (the
//! operator is authenticated by IAM, and the request is audited). The erasure function ends
//! the sessions and grants and removes the data, with its retries and dead-letter queue.

use super::{Caller, record};
use crate::audit::{AuditKind, AuditTrail};
use crate::ports::{Clock, ErasureQueue, ErasureRequested, UserStore};
use crate::use_cases::failure::Failure;

/// What queuing an erasure needs.
pub struct OperatorErasure<'a> {
    pub users: &'a dyn UserStore,
    pub queue: &'a dyn ErasureQueue,
    pub trail: &'a dyn AuditTrail,
    pub clock: &'a dyn Clock,
}

impl OperatorErasure<'_> {
    /// Queues the erasure of `user_id`, tagged with the caller's request id (the erasure's
    /// logs then name it); `None` when there is no such user (erased already, or never was).
    pub async fn run(&self, caller: Caller<'_>, user_id: &str) -> Result<Option<()>, Failure> {
        if self.users.get(user_id).await?.is_none() {
            return Ok(None);
        }
        self.queue
            .publish(&ErasureRequested {
                user_id: user_id.to_owned(),
                request_id: Some(caller.request_id.to_owned()),
            })
            .await?;
        record(
            self.trail,
            self.clock,
            caller,
            AuditKind::OperatorErasureRequested,
            user_id,
        )
        .await?;
        tracing::info!("erasure requested by an operator");
        Ok(Some(()))
    }
}
