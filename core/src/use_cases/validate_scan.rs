//! Validating one submitted enrolment scan (the scan validator's job), safely repeatable at
//! every step:
//!
//! 1. `submitted → validating` (conditional): only one copy of a message wins; a copy that finds
//!    another holder comes back later, and takes over only if the holder vanished (its lease ran
//!    out and no outcome was recorded).
//! 2. Enrol-validate at the verifier, once.
//! 3. The outcome is recorded before anything else, so a crash after it never needs a second
//!    validate (which the verifier would refuse: a token is single-use).
//! 4. On pass: the image is stored, then the user and its username claim are written in one
//!    conditional transaction, then `completed`. Strictly in that order: the image exists only
//!    in the verifier's validate answer, which cannot be asked for twice, so a user written
//!    first could be left pointing at an image that will never be stored. Each step is
//!    idempotent, so a repeat after a crash finishes the job. An image that cannot be stored
//!    (the upload failed, or a crash lost it) ends the attempt as `scan_not_stored`, with its
//!    enrolment removed: the person scans again.
//! 5. A username taken meanwhile by another registration fails this one as `username_taken`,
//!    after its image and its enrolment at the verifier are removed: no user record will ever
//!    lead an erasure to them.
//!
//! The use case decides and records; what the outcome means to the outside (metrics, analytics
//! events, the SQS disposition) is the handler's business.

use super::biometric_data;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::domain::registration::Outcome;
use crate::domain::{Registration, RegistrationStatus, reasons};
use crate::ports::{
    Clock, EnrolmentVerifier, FaceImage, ImageStore, RegistrationStore, ScanSubmitted, StoreError,
    User, UserCreated, UserStore, VerifierError,
};

/// What validating one scan needs.
pub struct ValidateScan<'a> {
    pub registrations: &'a dyn RegistrationStore,
    pub users: &'a dyn UserStore,
    pub images: &'a dyn ImageStore,
    pub verifier: &'a dyn EnrolmentVerifier,
    pub clock: &'a dyn Clock,
    /// After this long, a `validating` registration with no recorded outcome may be taken over.
    pub lease_seconds: i64,
}

/// How one delivery of a scan message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanValidated {
    /// The user exists and the registration is completed.
    Completed,
    /// The attempt failed for this domain reason code; the person may retry.
    Failed { reason: String },
    /// Nothing was decided: the message should come back later.
    Retry(RetryReason),
    /// Nothing (more) to do for this message.
    Dropped(DropReason),
}

/// Why a message should come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryReason {
    /// Another delivery holds the validation.
    HeldElsewhere,
    /// The verifier did not give an answer (not processed, or outcome unknown).
    VerifierUnavailable { code: String },
    /// The losing registration's image or enrolment could not be removed yet.
    CleanupPending,
}

/// Why a message is dropped without any change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The registration is gone (expired or erased).
    RegistrationGone,
    /// The message is for an earlier attempt.
    EarlierAttempt,
    /// The registration is already past validation (a duplicate delivery).
    AlreadyDecided,
}

/// The result of one delivery, whether the verifier gave an answer during it (the handler
/// measures validation lag only then), and the user the registration creates (for the
/// handler's pseudonymous analytics event; `None` when the registration is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub result: ScanValidated,
    pub verifier_answered: bool,
    pub user_id: Option<String>,
}

impl Validation {
    fn without_verifier(result: ScanValidated, registration: Option<&Registration>) -> Self {
        Self {
            result,
            verifier_answered: false,
            user_id: registration.map(|r| r.user_id.clone()),
        }
    }
}

impl Validation {
    /// What the trail records of this delivery: the registration completed (with the user it
    /// created) or failed (with its reason code); retries and drops decided nothing new.
    pub fn audit_event(&self, message: &ScanSubmitted, now: i64) -> Option<AuditEvent> {
        let event = match &self.result {
            ScanValidated::Completed => {
                let event = AuditEvent::new(AuditKind::RegistrationCompleted, Actor::System, now)?;
                match &self.user_id {
                    Some(user_id) => event.user(user_id),
                    None => event,
                }
            }
            ScanValidated::Failed { reason } => {
                AuditEvent::new(AuditKind::RegistrationFailed, Actor::System, now)?.reason(reason)
            }
            ScanValidated::Retry(_) | ScanValidated::Dropped(_) => return None,
        };
        Some(
            event
                .registration(&message.registration_id)
                .request(message.request_id.as_deref()),
        )
    }
}

impl ValidateScan<'_> {
    /// Processes one delivery of `message`. A store failure is an `Err`: nothing was decided
    /// beyond what was already recorded, and the message should come back.
    pub async fn run(&self, message: &ScanSubmitted) -> Result<Validation, StoreError> {
        let Some(registration) = self.registrations.get(&message.registration_id).await? else {
            tracing::warn!("registration not found (expired or erased); dropping message");
            return Ok(Validation::without_verifier(
                ScanValidated::Dropped(DropReason::RegistrationGone),
                None,
            ));
        };
        if registration.attempt != message.attempt {
            tracing::info!(
                current_attempt = registration.attempt,
                "message for an earlier attempt; dropping"
            );
            return Ok(Validation::without_verifier(
                ScanValidated::Dropped(DropReason::EarlierAttempt),
                Some(&registration),
            ));
        }
        match (registration.status, registration.outcome) {
            (RegistrationStatus::Validating, Some(Outcome::Passed)) => {
                tracing::info!("outcome already recorded; finishing without a second validate");
                let result = self.finish(&registration, None).await?;
                Ok(Validation::without_verifier(result, Some(&registration)))
            }
            (RegistrationStatus::Submitted | RegistrationStatus::Validating, None) => {
                self.validate(&registration).await
            }
            (status, _) => {
                tracing::info!(
                    status = status.as_str(),
                    "nothing to do for this state; dropping"
                );
                Ok(Validation::without_verifier(
                    ScanValidated::Dropped(DropReason::AlreadyDecided),
                    Some(&registration),
                ))
            }
        }
    }

    async fn validate(&self, registration: &Registration) -> Result<Validation, StoreError> {
        let now = self.clock.now();
        match self
            .registrations
            .begin_validation(
                &registration.id,
                registration.attempt,
                now,
                self.lease_seconds,
            )
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                tracing::info!("another worker holds this validation; retrying later");
                return Ok(Validation::without_verifier(
                    ScanValidated::Retry(RetryReason::HeldElsewhere),
                    Some(registration),
                ));
            }
            Err(e) => return Err(e),
        }
        let verdict = self
            .verifier
            .enrol_validate(&registration.iproov_user_id, &registration.iproov_token)
            .await;
        let now = self.clock.now();
        let answered = matches!(verdict, Ok(_) | Err(VerifierError::InvalidToken));
        let result = match verdict {
            Ok(verdict) if verdict.passed => {
                let image = verdict
                    .image
                    .map(|image| (image_key(registration, image.content_type), image));
                self.registrations
                    .record_outcome(
                        &registration.id,
                        registration.attempt,
                        Outcome::Passed,
                        None,
                        image.as_ref().map(|(key, _)| key.as_str()),
                        now,
                    )
                    .await?;
                tracing::info!("scan passed");
                self.finish(registration, image).await?
            }
            Ok(verdict) => {
                let reason = reasons::sanitise_reason(verdict.reason.as_deref());
                tracing::info!(reason = %reason, "scan failed");
                self.record_failure(registration, &reason, now).await?
            }
            Err(VerifierError::InvalidToken) => {
                // Already validated by a vanished worker, expired, or never streamed: the
                // person has to scan again.
                let reason = if now >= registration.token_expires_at {
                    "scan_expired"
                } else {
                    "validation_unknown"
                };
                tracing::warn!(reason, "the verifier refused the token");
                self.record_failure(registration, reason, now).await?
            }
            Err(
                err @ (VerifierError::NotProcessed { .. } | VerifierError::OutcomeUnknown { .. }),
            ) => {
                // Not processed (429, refused connection) or unknown (timeout, 5xx): give the
                // attempt back and ask again later; an unknown outcome that was in fact consumed
                // will come back as invalid_token and end as a retryable failure.
                tracing::warn!(
                    iproov_error = err.code(),
                    outcome_unknown = matches!(err, VerifierError::OutcomeUnknown { .. }),
                    "validate did not complete; retrying later"
                );
                self.registrations
                    .release(&registration.id, registration.attempt, now)
                    .await?;
                ScanValidated::Retry(RetryReason::VerifierUnavailable {
                    code: err.code().to_owned(),
                })
            }
            Err(err) => {
                tracing::error!(iproov_error = err.code(), "validate rejected");
                self.record_failure(registration, "unknown", now).await?
            }
        };
        Ok(Validation {
            result,
            verifier_answered: answered,
            user_id: Some(registration.user_id.clone()),
        })
    }

    async fn record_failure(
        &self,
        registration: &Registration,
        reason: &str,
        now: i64,
    ) -> Result<ScanValidated, StoreError> {
        self.registrations
            .record_outcome(
                &registration.id,
                registration.attempt,
                Outcome::Failed,
                Some(reason),
                None,
                now,
            )
            .await?;
        Ok(ScanValidated::Failed {
            reason: reason.to_owned(),
        })
    }

    /// Stores a passed registration (the image, then the user; see the module doc for why), then
    /// `completed`; or, if the username was taken meanwhile, removes what this registration
    /// left and fails it.
    async fn finish(
        &self,
        registration: &Registration,
        image: Option<(String, FaceImage)>,
    ) -> Result<ScanValidated, StoreError> {
        let image_key = image
            .as_ref()
            .map(|(key, _)| key.clone())
            .or_else(|| registration.image_key.clone());
        let now = self.clock.now();
        if image.is_none()
            && let Some(key) = registration.image_key.as_deref()
            && !self.images.exists(key).await?
        {
            return self.unstored_scan(registration, now).await;
        }
        let user = User {
            user_id: registration.user_id.clone(),
            username: registration.username.clone(),
            display_name: registration.display_name.clone(),
            iproov_user_id: registration.iproov_user_id.clone(),
            name_index: registration.name_index.clone(),
            image_key,
            registration_id: Some(registration.id.clone()),
            consent: registration.consent.clone(),
            created_at: now,
            lock: crate::domain::AccountLock::Open,
        };
        if let Some((key, image)) = image
            && let Err(err) = self.images.put(&key, image.bytes, image.content_type).await
        {
            // This delivery holds the only copy of the image and the SDK already retried:
            // no later delivery can store it, so end the attempt now, without a user.
            tracing::warn!(error = %err, "the passed scan's image could not be stored");
            return self
                .without_user(registration, reasons::Reason::ScanNotStored, now)
                .await;
        }
        match self.users.create(&user).await? {
            UserCreated::Created | UserCreated::AlreadyExisted => {}
            UserCreated::NameTaken => {
                tracing::warn!("username was claimed by another registration meanwhile");
                return self
                    .without_user(registration, reasons::Reason::UsernameTaken, now)
                    .await;
            }
        }
        match self
            .registrations
            .complete(&registration.id, registration.attempt, now)
            .await
        {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
        tracing::info!("registration completed");
        Ok(ScanValidated::Completed)
    }

    /// A passed scan whose image is not in the store: either a clean-up after a taken username
    /// removed it (and is being repeated), or the upload failed in the delivery that validated
    /// and the image cannot be asked for again. No user may point at a missing image, so
    /// either way the enrolment (and any stray version) is removed and the attempt fails, as
    /// `username_taken` or `scan_not_stored`; the person scans again. An upload may still be in
    /// flight while the validating delivery's lease lasts: come back later then.
    async fn unstored_scan(
        &self,
        registration: &Registration,
        now: i64,
    ) -> Result<ScanValidated, StoreError> {
        let name_taken = self
            .users
            .find_by_name(&registration.name_index)
            .await?
            .is_some_and(|claim| claim.user_id != registration.user_id);
        if !name_taken && registration.holder_may_be_alive(now, self.lease_seconds) {
            tracing::info!("image not stored yet and its uploader may be alive; retrying later");
            return Ok(ScanValidated::Retry(RetryReason::HeldElsewhere));
        }
        let reason = if name_taken {
            reasons::Reason::UsernameTaken
        } else {
            tracing::warn!("the passed scan's image was never stored");
            reasons::Reason::ScanNotStored
        };
        self.without_user(registration, reason, now).await
    }

    /// Ends a passed attempt that will not become a user: its image versions and enrolment
    /// are removed first (if either removal fails, the message comes back and tries again),
    /// then the attempt fails for `reason` and the person may scan again.
    async fn without_user(
        &self,
        registration: &Registration,
        reason: reasons::Reason,
        now: i64,
    ) -> Result<ScanValidated, StoreError> {
        if !self.remove_biometric_data(registration).await {
            return Ok(ScanValidated::Retry(RetryReason::CleanupPending));
        }
        self.registrations
            .fail(&registration.id, registration.attempt, reason.as_str(), now)
            .await?;
        Ok(ScanValidated::Failed {
            reason: reason.as_str().to_owned(),
        })
    }

    /// Removes the face image (every version under the user's prefix) and the enrolment of a
    /// registration that will never become a user. True when both are gone. Both removals are
    /// idempotent, so a delivery that finds one failed simply tries both again.
    async fn remove_biometric_data(&self, registration: &Registration) -> bool {
        let (images, enrolment) = futures::join!(
            biometric_data::remove_images(self.images, &registration.user_id),
            biometric_data::remove_enrolment(self.verifier, &registration.iproov_user_id),
        );
        images && enrolment
    }
}

/// Where a registration's face image goes: random ids only, no PII, under the user's prefix
/// (which erasure deletes whole).
pub fn image_key(registration: &Registration, content_type: &str) -> String {
    let ext = if content_type == "image/jpeg" {
        "jpg"
    } else {
        "png"
    };
    format!(
        "{}{}-{}.{ext}",
        biometric_data::images_prefix(&registration.user_id),
        registration.id,
        registration.attempt
    )
}
