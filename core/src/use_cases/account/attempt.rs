//! The steps a verify attempt goes through, whichever journey opened it (a login, a step-up):
//! found with one hit on its own counter, moved `pending → validating` under a condition so the
//! verifier is asked at most once, and ended — or, when the verifier provably did nothing, given
//! back to `pending` for another try. Login and step-up differ only in what a pass opens.

use crate::crypto::Credential;
use crate::domain::rate_limits::Limit;
use crate::ports::{
    AttemptStatus, LoginAttempt, LoginAttemptStore, RateLimitSignals, RateLimiter, StoreError,
    VerifierError,
};
use crate::use_cases::failure::Failure;
use crate::use_cases::limits;

/// Why an attempt the verifier never judged failed: its token was refused (never scanned, or
/// already used), or it was a decoy.
pub const NEVER_SCANNED: &str = "validation_unknown";

/// Where an attempt stands before it is validated.
#[derive(Debug)]
pub enum Claimed {
    /// This request holds the attempt (`validating`) and may ask the verifier, once.
    Held(Box<LoginAttempt>),
    /// The attempt's token ran out.
    Expired,
    /// The attempt had been validated, or was being validated, when it was read.
    Used,
    /// Another request took it between its read and this request's move (a double click).
    TakenMeanwhile,
}

/// An attempt's storage steps, with the counter that slows guessing its secret.
pub struct AttemptSteps<'a> {
    pub attempts: &'a dyn LoginAttemptStore,
    pub limiter: &'a dyn RateLimiter,
    pub signals: &'a dyn RateLimitSignals,
    /// Uses of one attempt's credential per window.
    pub per_attempt: Limit,
    /// The counter's name in metrics and logs.
    pub limit_name: &'static str,
    /// The counter's key before the attempt id.
    pub key_prefix: &'static str,
}

impl AttemptSteps<'_> {
    /// The attempt `credential` names, with one hit counted on its per-attempt limit.
    ///
    /// The counter's key is the credential's id, known before the read, so both calls run at
    /// once. The answers keep their order: no matching attempt is `None` (never a refusal: the
    /// limit must not tell which ids exist), then the limit. A credential with a wrong secret
    /// counts against the attempt it names too, which only makes guessing that secret slower.
    pub async fn find_counted(
        &self,
        credential: &Credential,
        now: i64,
    ) -> Result<Option<LoginAttempt>, Failure> {
        let key = format!("{}#{}", self.key_prefix, credential.id);
        let hits = [(key.as_str(), self.per_attempt)];
        let (limited, found) = futures::join!(
            async {
                limits::check(self.limiter, &hits, now)
                    .await
                    .map_err(|refusal| Failure::refused(self.signals, self.limit_name, refusal))
            },
            self.attempts.get(&credential.id),
        );
        let Some(attempt) = found?.filter(|a| credential.matches(&a.secret_hash)) else {
            return Ok(None);
        };
        limited?;
        Ok(Some(attempt))
    }

    /// Takes `attempt` for validation, if it is still pending and unexpired.
    pub async fn claim(&self, attempt: LoginAttempt, now: i64) -> Result<Claimed, Failure> {
        if attempt.status == AttemptStatus::Pending && now >= attempt.expires_at {
            return Ok(Claimed::Expired);
        }
        if attempt.status != AttemptStatus::Pending {
            return Ok(Claimed::Used);
        }
        match self
            .attempts
            .transition(
                &attempt.id,
                AttemptStatus::Pending,
                AttemptStatus::Validating,
                None,
            )
            .await
        {
            Ok(()) => Ok(Claimed::Held(Box::new(attempt))),
            Err(StoreError::Conflict) => Ok(Claimed::TakenMeanwhile),
            Err(err) => Err(err.into()),
        }
    }

    /// The verifier gave no verdict. `InvalidToken` is a scan that never happened: `Ok` with
    /// [`NEVER_SCANNED`], the attempt failed. Not processed: the attempt goes back to `pending`
    /// and the same request may be made again. Anything else (outcome unknown, refused, no such
    /// user): the token may be used up, so the attempt ends and the person starts again.
    pub async fn not_validated(
        &self,
        attempt: &LoginAttempt,
        error: VerifierError,
    ) -> Result<&'static str, Failure> {
        match error {
            VerifierError::InvalidToken => {
                self.end(attempt, AttemptStatus::Failed, Some(NEVER_SCANNED))
                    .await;
                Ok(NEVER_SCANNED)
            }
            error @ VerifierError::NotProcessed { .. } => {
                if let Err(err) = self
                    .attempts
                    .transition(
                        &attempt.id,
                        AttemptStatus::Validating,
                        AttemptStatus::Pending,
                        None,
                    )
                    .await
                {
                    tracing::warn!(error = %err, "could not give the attempt back");
                }
                Err(Failure::Verifier {
                    error,
                    start_again: false,
                })
            }
            error => {
                self.end(attempt, AttemptStatus::Failed, Some(NEVER_SCANNED))
                    .await;
                Err(Failure::Verifier {
                    error,
                    start_again: true,
                })
            }
        }
    }

    /// Moves a `validating` attempt to its end. Best effort: an attempt left `validating` is
    /// just as final for a second request (it is not `pending`), so a failure is logged, not
    /// answered.
    pub async fn end(&self, attempt: &LoginAttempt, to: AttemptStatus, reason: Option<&str>) {
        if let Err(err) = self
            .attempts
            .transition(&attempt.id, AttemptStatus::Validating, to, reason)
            .await
        {
            tracing::warn!(error = %err, "could not record the attempt's end");
        }
    }
}
