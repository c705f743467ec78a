//! An operator's lock on an account (the operator API, `PUT /admin/users/{user_id}/lock`).
//!
//! A locked account keeps its data but opens and elevates nothing: no login, no step-up, no
//! OpenID Connect tokens. Locking ends what is open at once (sessions, grants); the lock itself
//! is what stops a new one. Every path that opens or elevates a session asks [`AccountLock`]
//! when it reads the user: `Login` (after a passed scan), `StartStepUp` and `CompleteStepUp`,
//! and the OpenID Connect provider's `SealedProfiles` (code and refresh exchanges, userinfo).
//!
//! What the locked person sees is decided here too ([`AccountLock::REFUSAL`]): verify-login
//! answers as for any account, so the route tells nobody that an account exists or is locked
//! (uniform mode stays uniform); only after a *passed* face scan — someone who just proved
//! they are the account's owner — does login say the account is locked.

/// Whether an account may open or elevate sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountLock {
    Open,
    /// Locked by an operator at this time (Unix seconds).
    Locked {
        since: i64,
    },
}

impl AccountLock {
    /// The code a passed login of a locked account is refused with.
    pub const REFUSAL: &'static str = "account_locked";

    /// The lock as stored: the time it was set, or none.
    pub fn from_stored(locked_at: Option<i64>) -> Self {
        match locked_at {
            Some(since) => Self::Locked { since },
            None => Self::Open,
        }
    }

    /// The time to store (none for an open account).
    pub fn locked_at(self) -> Option<i64> {
        match self {
            Self::Open => None,
            Self::Locked { since } => Some(since),
        }
    }

    /// Whether a login, a step-up or a token exchange may go on for this account.
    pub fn permits_sign_in(self) -> bool {
        self == Self::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_never_locked_signs_in() {
        assert!(AccountLock::from_stored(None).permits_sign_in());
    }

    #[test]
    fn a_locked_account_signs_in_nowhere_and_keeps_its_time() {
        let lock = AccountLock::from_stored(Some(1_700_000_000));
        assert!(!lock.permits_sign_in());
        assert_eq!(lock.locked_at(), Some(1_700_000_000));
    }
}
