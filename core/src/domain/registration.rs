//! A registration: one person's way from "I want an account" to a stored user. It lives in its
//! own record (not the user table) because most registrations are abandoned, and it carries the
//! iProov token server-side so the client never chooses what gets validated.

use crate::domain::{ConsentRecord, Sealed};

/// The states of docs/api.md. `Expired` is never stored: it is how an `awaiting_scan` registration
/// whose token has run out is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    AwaitingScan,
    Submitted,
    Validating,
    Completed,
    Failed,
    Expired,
}

impl RegistrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingScan => "awaiting_scan",
            Self::Submitted => "submitted",
            Self::Validating => "validating",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "awaiting_scan" => Self::AwaitingScan,
            "submitted" => Self::Submitted,
            "validating" => Self::Validating,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

/// What iProov said about one attempt, recorded before anything else happens with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "passed" => Some(Outcome::Passed),
            "failed" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// A registration record.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: String,
    pub secret_hash: String,
    /// Our id for the user to be; fixed at the start so every retry derives the same iProov id.
    pub user_id: String,
    pub iproov_user_id: String,
    /// Blind index of the username (keyed hash), for uniqueness checks.
    pub name_index: String,
    /// Sealed (envelope-encrypted) with owner `user_id`.
    pub username: Sealed,
    pub display_name: Sealed,
    pub status: RegistrationStatus,
    pub attempt: u32,
    pub iproov_token: String,
    pub token_expires_at: i64,
    pub reason: Option<String>,
    pub outcome: Option<Outcome>,
    pub image_key: Option<String>,
    pub validating_since: Option<i64>,
    pub login_issued: bool,
    /// The consent that covers the current attempt's scan (the latest accepted: a retry asks
    /// again). `None` only for registrations started before consent was recorded.
    pub consent: Option<ConsentRecord>,
    pub created_at: i64,
    /// After this the record may be deleted (DynamoDB TTL) and the credential is dead.
    pub expires_at: i64,
}

impl Registration {
    /// The status as the client should see it at `now`.
    pub fn status_at(&self, now: i64) -> RegistrationStatus {
        if self.status == RegistrationStatus::AwaitingScan && now >= self.token_expires_at {
            RegistrationStatus::Expired
        } else {
            self.status
        }
    }

    /// Whether a fresh attempt (new token) may start now.
    pub fn can_retry(&self, now: i64, max_attempts: u32) -> bool {
        self.attempt_over(now) && self.attempt < max_attempts
    }

    /// Whether the current attempt has ended without a user: failed, or its token ran out
    /// unused. The state a restart starts from.
    pub fn attempt_over(&self, now: i64) -> bool {
        matches!(
            self.status_at(now),
            RegistrationStatus::Failed | RegistrationStatus::Expired
        )
    }

    /// Whether the record is at attempt `attempt` in `status` (every guarded change names both,
    /// so a message for an earlier attempt never moves a later one).
    pub fn is_at(&self, status: RegistrationStatus, attempt: u32) -> bool {
        self.status == status && self.attempt == attempt
    }

    /// Whether the delivery that began validating may still be at work at `now`: its lease
    /// (`lease_seconds`, longer than the validator's timeout) has not run out. Only then can a
    /// step it has not confirmed yet (an upload) still be in flight.
    pub fn holder_may_be_alive(&self, now: i64, lease_seconds: i64) -> bool {
        self.validating_since
            .is_some_and(|since| now < since + lease_seconds)
    }

    /// Whether attempt `attempt` is being validated and no outcome is recorded yet: the only
    /// state an outcome may be recorded in, or the validation given back.
    pub fn awaits_outcome(&self, attempt: u32) -> bool {
        self.is_at(RegistrationStatus::Validating, attempt) && self.outcome.is_none()
    }
}
