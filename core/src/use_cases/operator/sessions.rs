//! Ending every session of an account (`DELETE /admin/users/{user_id}/sessions`): its login
//! sessions and its OpenID Connect grants, at once. The account stays usable: the person logs
//! in again (lock it to stop that).

use super::{Caller, record};
use crate::audit::{AuditKind, AuditTrail};
use crate::oidc::ports::UserGrants;
use crate::ports::{Clock, UserActivity, UserStore};
use crate::use_cases::failure::Failure;

/// What ending sessions needs.
pub struct EndSessions<'a> {
    pub users: &'a dyn UserStore,
    pub activity: &'a dyn UserActivity,
    pub grants: &'a dyn UserGrants,
    pub trail: &'a dyn AuditTrail,
    pub clock: &'a dyn Clock,
}

/// What ending sessions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub sessions_ended: usize,
    pub grants_ended: usize,
}

impl EndSessions<'_> {
    /// Ends `user_id`'s sessions and grants; `None` when there is no such user.
    pub async fn run(&self, caller: Caller<'_>, user_id: &str) -> Result<Option<Ended>, Failure> {
        if self.users.get(user_id).await?.is_none() {
            return Ok(None);
        }
        let (sessions, grants) = futures::join!(
            self.activity.end_sessions(user_id),
            self.grants.revoke_all(user_id),
        );
        let ended = Ended {
            sessions_ended: sessions?,
            grants_ended: grants?,
        };
        record(
            self.trail,
            self.clock,
            caller,
            AuditKind::OperatorSessionsEnded,
            user_id,
        )
        .await?;
        tracing::info!(
            sessions_ended = ended.sessions_ended,
            grants_ended = ended.grants_ended,
            "sessions ended by an operator"
        );
        Ok(Some(ended))
    }
}
