//! Erasing one user (the erasure function's job, after `DELETE /v1/users` or an operator's
//! request). Every step is idempotent, and the record that lets us find the rest (the user item)
//! goes last, so a crash midway leaves enough to finish on the next delivery.
//!
//! Everything before that last step runs at once, since all of it is keyed by the user id in
//! the message: the user read (followed by the enrolment delete and the registration delete,
//! which need the verifier id and the registration id the record holds), the end of the
//! sessions, and the image deletes. The user record is deleted only when all of them succeeded.
//!
//! The person's OpenID Connect grants go with the sessions, and with them every refresh and
//! access token issued to other applications.
//!
//! The consent the user gave is the one thing that stays (GDPR Art. 7(1): we must be able to
//! show it was given for the processing that happened): before the user record goes, its
//! consent record is kept as evidence — the pseudonymous user id, version, text hash, language,
//! time and channel, nothing else — for the retention the deployment chose, after which the
//! evidence store removes it by itself. Erasure can add evidence but never delete it.
//!
//! The registration record goes too: it holds the sealed username and display name, the
//! username index, the verifier id and token, and its credential could otherwise still open a
//! login session for the erased user.

use super::biometric_data;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::domain::consent::ConsentEvidence;
use crate::oidc::ports::UserGrants;
use crate::ports::{
    Clock, ConsentEvidenceStore, EnrolmentVerifier, ImageStore, RegistrationStore, SessionControl,
    User, UserStore,
};

/// What erasing a user needs.
pub struct EraseUser<'a> {
    pub users: &'a dyn UserStore,
    pub registrations: &'a dyn RegistrationStore,
    pub sessions: &'a dyn SessionControl,
    pub grants: &'a dyn UserGrants,
    pub images: &'a dyn ImageStore,
    pub verifier: &'a dyn EnrolmentVerifier,
    pub evidence: &'a dyn ConsentEvidenceStore,
    pub clock: &'a dyn Clock,
    /// How long consent evidence is kept after erasure (`ConsentEvidenceRetentionDays`).
    pub evidence_retention_seconds: i64,
}

/// How one delivery of an erasure request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    /// Everything is gone, the user record last.
    Done,
    /// The user record was already gone (a repeated message); whatever a crash had left under
    /// the user's id was removed again.
    AlreadyErased,
    /// Some step failed: the user record stays, so the next delivery can find the rest.
    Retry,
}

impl Erased {
    /// What the trail records: only the delivery that erased the user completes the erasure.
    pub fn audit_event(
        self,
        user_id: &str,
        request_id: Option<&str>,
        now: i64,
    ) -> Option<AuditEvent> {
        match self {
            Erased::Done => Some(
                AuditEvent::new(AuditKind::ErasureCompleted, Actor::System, now)?
                    .user(user_id)
                    .request(request_id),
            ),
            Erased::AlreadyErased | Erased::Retry => None,
        }
    }
}

impl EraseUser<'_> {
    pub async fn run(&self, user_id: &str) -> Erased {
        let (user, sessions, grants, images) = futures::join!(
            self.read_user_and_delete_what_it_names(user_id),
            self.sessions.revoke_all(user_id),
            self.grants.revoke_all(user_id),
            biometric_data::remove_images(self.images, user_id),
        );
        let mut done = images;
        if let Err(err) = sessions {
            tracing::warn!(error = %err, "could not end sessions; will retry");
            done = false;
        }
        if let Err(err) = grants {
            tracing::warn!(error = %err, "could not end OpenID Connect grants; will retry");
            done = false;
        }
        let user = match user {
            Ok(Some(user)) => user,
            Ok(None) => {
                // Erased before (a repeated message); the other steps found nothing, or
                // finished what a crash had left.
                tracing::info!("user already erased");
                return if done {
                    Erased::AlreadyErased
                } else {
                    Erased::Retry
                };
            }
            Err(()) => return Erased::Retry,
        };
        if !done {
            // The user record stays: it is what lets the next delivery find the rest.
            return Erased::Retry;
        }
        if let Err(err) = self.users.delete(&user).await {
            tracing::warn!(error = %err, "could not delete user record; will retry");
            return Erased::Retry;
        }
        tracing::info!("user erased");
        Erased::Done
    }

    /// The user record (`None` if already erased), after deleting the enrolment and the
    /// registration record it names, while the rest of the erasure runs. `Err` (logged here)
    /// means the message must come back.
    async fn read_user_and_delete_what_it_names(&self, user_id: &str) -> Result<Option<User>, ()> {
        let user = match self.users.get(user_id).await {
            Ok(Some(user)) => user,
            Ok(None) => return Ok(None),
            Err(err) => {
                tracing::warn!(error = %err, "could not read user; will retry");
                return Err(());
            }
        };
        let registration = async {
            match &user.registration_id {
                Some(id) => self.registrations.delete(id).await,
                None => Ok(()),
            }
        };
        let evidence = async {
            match &user.consent {
                Some(consent) => {
                    let evidence = ConsentEvidence::after_erasure(
                        &user.user_id,
                        consent,
                        self.clock.now(),
                        self.evidence_retention_seconds,
                    );
                    self.evidence.keep(&evidence).await
                }
                None => Ok(()),
            }
        };
        let (enrolment, registration, evidence) = futures::join!(
            biometric_data::remove_enrolment(self.verifier, &user.iproov_user_id),
            registration,
            evidence
        );
        let mut done = enrolment;
        if let Err(err) = registration {
            tracing::warn!(error = %err, "could not delete the registration record; will retry");
            done = false;
        }
        if let Err(err) = evidence {
            // The user record stays until the evidence is kept: it is what the evidence is
            // made from.
            tracing::warn!(error = %err, "could not keep the consent evidence; will retry");
            done = false;
        }
        if done { Ok(Some(user)) } else { Err(()) }
    }
}
