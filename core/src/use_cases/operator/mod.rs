//! The operator API's journeys (`/admin/…`, authorised by IAM at the gateway): look an account
//! up, lock and unlock it, end its sessions, queue its erasure, list its recent attempts.
//!
//! The caller is an IAM principal API Gateway authenticated with SigV4 ([`Caller`]); nothing in
//! here trusts a header. Every journey is audited with `Actor::Operator { principal }`:
//! - a read (lookup, attempts) records its event *first*: nothing is disclosed unrecorded, and
//!   a trail that cannot take the event refuses the read;
//! - a change (lock, unlock, end sessions, erasure) is made first and recorded after: the
//!   record says what happened, never what was only intended. If the trail then fails, the
//!   operator is told (an error), and since every change is idempotent, repeating it records it.
//!
//! Answers carry ids, times and states only: never a username, display name, token or hash.

pub mod attempts;
pub mod erasure;
pub mod lock;
pub mod lookup;
pub mod sessions;

use crate::audit::{Actor, AuditEvent, AuditKind, AuditTrail};
use crate::ports::Clock;
use crate::use_cases::failure::Failure;

/// Who is calling: the principal API Gateway authenticated, and the request, for the trail.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The IAM principal's ARN (`requestContext.authorizer.iam.userArn`).
    pub principal: &'a str,
    pub request_id: &'a str,
}

/// A user id as this backend issues them (32 lowercase hex digits): anything else names no
/// user, and is refused before any store is asked.
pub fn is_user_id(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Records one operator event about `user_id`. A trail that cannot take it is a store
/// failure: the caller answers it like one.
pub(crate) async fn record(
    trail: &dyn AuditTrail,
    clock: &dyn Clock,
    caller: Caller<'_>,
    kind: AuditKind,
    user_id: &str,
) -> Result<(), Failure> {
    let actor = Actor::Operator {
        principal: caller.principal.to_owned(),
    };
    let event = AuditEvent::new(kind, actor, clock.now())
        .ok_or(Failure::NoRandomness)?
        .user(user_id)
        .request(Some(caller.request_id));
    trail.record(&event).await.map_err(|err| {
        tracing::error!(error = %err, kind = ?kind, "audit trail refused an operator event");
        Failure::Store(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_issued_ids_name_a_user() {
        assert!(is_user_id("00112233445566778899aabbccddeeff"));
        assert!(!is_user_id("00112233445566778899AABBCCDDEEFF"));
        assert!(!is_user_id("u1"));
        assert!(!is_user_id("../../etc/passwd0000000000000000"));
    }
}
