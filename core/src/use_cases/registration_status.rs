//! Where my registration stands (`GET /v1/users/registration`): its state, what went wrong
//! after a failure, and — once completed — a login session.
//!
//! The login session is derived from the registration credential (keyed hash), so the
//! validator, which never sees that credential, does not have to hand a plaintext session
//! secret to anyone, and nothing secret is stored. It is handed out once: later polls report
//! `completed` without it, so a registration credential that leaks after the person signed in
//! (or after the account was erased) opens nothing.

use super::failure::Failure;
use crate::crypto::{Credential, keyed_hash};
use crate::domain::{AssuranceType, Registration, RegistrationStatus, reasons};
use crate::ports::{Clock, KeyRing, RegistrationStore, Session, SessionStore, StoreError};

/// What reading a registration needs.
pub struct RegistrationStatusQuery<'a> {
    pub registrations: &'a dyn RegistrationStore,
    pub sessions: &'a dyn SessionStore,
    pub keys: &'a dyn KeyRing,
    pub clock: &'a dyn Clock,
    pub max_attempts: u32,
    /// The registration journey's assurance type: what the completed enrolment proved, the
    /// `acr` of the session it opens.
    pub assurance: AssuranceType,
    pub session_idle_seconds: i64,
    pub session_absolute_seconds: i64,
}

/// A registration as its owner sees it.
#[derive(Debug)]
pub struct RegistrationView {
    pub status: RegistrationStatus,
    pub attempt: u32,
    pub attempts_left: u32,
    /// After a failure or expiry: the domain reason code and its hint.
    pub failure: Option<(String, &'static str)>,
    /// The login session this completed registration opened, the first time it is asked for.
    pub login: Option<(Session, Credential)>,
}

impl RegistrationStatusQuery<'_> {
    /// `credential` is the one that found `registration`.
    pub async fn run(
        &self,
        credential: &Credential,
        registration: &Registration,
    ) -> Result<RegistrationView, Failure> {
        let now = self.clock.now();
        let status = registration.status_at(now);
        let failure = match status {
            RegistrationStatus::Failed => {
                let reason = registration
                    .reason
                    .clone()
                    .unwrap_or_else(|| "unknown".into());
                let hint = reasons::hint_for(&reason);
                Some((reason, hint))
            }
            RegistrationStatus::Expired => {
                Some(("scan_expired".into(), reasons::hint_for("scan_expired")))
            }
            _ => None,
        };
        let login = if status == RegistrationStatus::Completed {
            self.login_session(credential, registration, now).await?
        } else {
            None
        };
        Ok(RegistrationView {
            status,
            attempt: registration.attempt,
            attempts_left: self.max_attempts.saturating_sub(registration.attempt),
            failure,
            login,
        })
    }

    /// The login session opened by completing this registration, the first time it is asked
    /// for; `None` ever after. Repeatable: the session's id and secret are derived, so a retry
    /// after a crash writes the same session (an existing one is fine).
    async fn login_session(
        &self,
        registration_credential: &Credential,
        registration: &Registration,
        now: i64,
    ) -> Result<Option<(Session, Credential)>, Failure> {
        if registration.login_issued {
            return Ok(None);
        }
        let key = self.keys.pseudonym_key().await?;
        let key = key.as_ref().as_ref();
        let session_id =
            keyed_hash(key, "login-from-registration", &registration.id)[..32].to_owned();
        let credential = Credential::derive(
            session_id.clone(),
            key,
            "login-secret",
            registration_credential,
        );
        let session = Session {
            id: session_id,
            secret_hash: credential.secret_hash(),
            user_id: registration.user_id.clone(),
            created_at: now,
            last_seen: now,
            absolute_expires_at: now + self.session_absolute_seconds,
            acr: Some(self.assurance.acr().to_owned()),
            elevated_until: None,
        };
        match self
            .sessions
            .create(&session, self.session_idle_seconds)
            .await
        {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(err) => return Err(err.into()),
        }
        self.registrations
            .mark_login_issued(&registration.id)
            .await?;
        Ok(Some((session, credential)))
    }
}
