//! Logging in (`POST /v1/login`) with a login attempt's credential: the verifier is asked, while
//! the person waits, whether the verify scan passed, and a pass opens a new session.
//!
//! Validate is asked at most once per attempt: the attempt moves `pending → validating` under a
//! condition before the call, so a double click or a retry finds it taken. Only when the
//! verifier provably did not process the call does the attempt go back to `pending` for another
//! try; any other error ends it, since asking again could only find the token used up (and a
//! maybe-used token must never be validated twice).
//!
//! Independent calls overlap, each pair chosen so that the answers keep the order they had one
//! after the other: the attempt is read while its counter is hit, the user is read while the
//! verifier validates, and a passed attempt is ended while the new session is written.
//!
//! A decoy attempt (opened for an unknown username in uniform mode, see `verify_login`) ends
//! exactly as a real attempt whose scan never reached the verifier, without the verifier call
//! but in the time of a recent real one.

use std::time::Instant;

use super::attempt::{AttemptSteps, Claimed};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::crypto::Credential;
use crate::domain::AssurancePolicy;
use crate::domain::rate_limits::Limit;
use crate::domain::reasons;
use crate::latency_mirror::LatencyMirror;
use crate::ports::{
    AttemptStatus, ClientContext, Clock, FaceTokens, LoginAttempt, LoginAttemptStore,
    RateLimitSignals, RateLimiter, Session, SessionStore, User, UserStore,
};
use crate::use_cases::failure::Failure;
use crate::use_cases::failure::new_credential;

/// The per-attempt limit's name in metrics and logs.
pub const ATTEMPT_LIMIT: &str = "login_attempt";

pub use super::attempt::NEVER_SCANNED;

/// What logging in needs.
pub struct Login<'a> {
    pub attempts: &'a dyn LoginAttemptStore,
    pub users: &'a dyn UserStore,
    pub sessions: &'a dyn SessionStore,
    pub tokens: &'a dyn FaceTokens,
    pub limiter: &'a dyn RateLimiter,
    pub signals: &'a dyn RateLimitSignals,
    pub clock: &'a dyn Clock,
    /// Logins one attempt's credential may try per window: slows guessing the attempt's secret
    /// and hammering one attempt.
    pub per_attempt: Limit,
    /// The new session ends after this long unused…
    pub session_idle_seconds: i64,
    /// …and after this long in any case.
    pub session_absolute_seconds: i64,
    /// Recent durations of real verify-validate calls, which a decoy imitates.
    pub validate_latency: &'a LatencyMirror,
    /// How login scans are judged (recorded with the session as its `acr`).
    pub policy: &'a AssurancePolicy,
}

/// A session opened by a passed login.
#[derive(Debug)]
pub struct LoggedIn {
    /// The session's credential, handed to the person once: only its hash is stored.
    pub credential: Credential,
    pub session: Session,
    pub user: User,
}

/// How a login ended. Every outcome but `LoggedIn` leaves the person without a session.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Boxed: a session and a user are large beside the other outcomes.
    LoggedIn(Box<LoggedIn>),
    /// The scan failed, was never made (the verifier refused the token), or the attempt was a
    /// decoy (whose `user_id` is empty). The attempt is over; `reason` is a sanitised code.
    VerificationFailed { reason: String, user_id: String },
    /// No attempt matches the credential (unknown id, or a wrong secret).
    Unauthorized,
    /// The attempt's token ran out before the login.
    AttemptExpired,
    /// The attempt had been validated, or was being validated, when it was read.
    AttemptUsed,
    /// Another request moved the attempt to `validating` between its read and this request's
    /// move (a double click): that request validates, this one must not.
    TakenMeanwhile,
    /// The scan passed, but the user was erased after the attempt was opened.
    UserGone,
    /// The scan passed, but an operator has locked the account (`domain::account_lock`): no
    /// session. Only the account's owner, who just proved their face, ever gets this answer.
    Locked { user_id: String },
}

impl LoginOutcome {
    /// What the trail records: a session opened, or a verification that failed (a decoy's
    /// has no user). Refused credentials and replays decided nothing about the person.
    pub fn audit_event(&self, request_id: &str, now: i64) -> Option<AuditEvent> {
        let event = match self {
            LoginOutcome::LoggedIn(logged_in) => {
                AuditEvent::new(AuditKind::LoginSucceeded, Actor::Person, now)?
                    .user(&logged_in.user.user_id)
            }
            LoginOutcome::VerificationFailed { reason, user_id } => {
                let event =
                    AuditEvent::new(AuditKind::LoginFailed, Actor::Person, now)?.reason(reason);
                if user_id.is_empty() {
                    event
                } else {
                    event.user(user_id)
                }
            }
            _ => return None,
        };
        Some(event.request(Some(request_id)))
    }
}

impl Login<'_> {
    fn steps(&self) -> AttemptSteps<'_> {
        AttemptSteps {
            attempts: self.attempts,
            limiter: self.limiter,
            signals: self.signals,
            per_attempt: self.per_attempt,
            limit_name: ATTEMPT_LIMIT,
            key_prefix: "login#attempt",
        }
    }

    /// Logs in with `credential`; `client` is what the verifier may see of the person.
    pub async fn run(
        &self,
        credential: &Credential,
        client: ClientContext<'_>,
    ) -> Result<LoginOutcome, Failure> {
        let now = self.clock.now();
        let steps = self.steps();
        // A step-up attempt is bound to a session and never opens one.
        let Some(attempt) = steps
            .find_counted(credential, now)
            .await?
            .filter(|a| a.session_id.is_none())
        else {
            return Ok(LoginOutcome::Unauthorized);
        };
        let attempt = match steps.claim(attempt, now).await? {
            Claimed::Held(attempt) => attempt,
            Claimed::Expired => return Ok(LoginOutcome::AttemptExpired),
            Claimed::Used => return Ok(LoginOutcome::AttemptUsed),
            Claimed::TakenMeanwhile => return Ok(LoginOutcome::TakenMeanwhile),
        };
        if attempt.decoy {
            return Ok(self.decoy(&attempt).await);
        }
        // The user is read while the verifier validates: the two are independent.
        let started = Instant::now();
        let (verdict, user) = futures::join!(
            async {
                let verdict = self
                    .tokens
                    .verify_validate(
                        &attempt.iproov_user_id,
                        &attempt.iproov_token,
                        self.policy,
                        client,
                    )
                    .await;
                self.validate_latency.record(started.elapsed());
                verdict
            },
            self.users.get(&attempt.user_id),
        );
        let verdict = match verdict {
            Ok(verdict) => verdict,
            Err(err) => {
                let reason = steps.not_validated(&attempt, err).await?;
                return Ok(failed(reason.to_owned(), &attempt));
            }
        };
        if !verdict.passed {
            let reason = reasons::sanitise_reason(verdict.reason.as_deref());
            steps
                .end(&attempt, AttemptStatus::Failed, Some(&reason))
                .await;
            tracing::info!(reason = %reason, "login verification failed");
            return Ok(failed(reason, &attempt));
        }
        let user = match user {
            Ok(Some(user)) => user,
            other => {
                // The scan passed, so the attempt is used up whatever happens next.
                steps.end(&attempt, AttemptStatus::Passed, None).await;
                return match other {
                    Err(err) => Err(err.into()),
                    Ok(_) => Ok(LoginOutcome::UserGone),
                };
            }
        };
        if !user.lock.permits_sign_in() {
            steps
                .end(
                    &attempt,
                    AttemptStatus::Passed,
                    Some(crate::domain::AccountLock::REFUSAL),
                )
                .await;
            tracing::info!("login refused: account locked");
            return Ok(LoginOutcome::Locked {
                user_id: user.user_id,
            });
        }
        self.open_session(&attempt, user, now)
            .await
            .map(|logged_in| LoginOutcome::LoggedIn(Box::new(logged_in)))
    }

    /// A decoy ends as a real attempt whose token never saw a scan, without asking the
    /// verifier, in the time a real validate recently took.
    async fn decoy(&self, attempt: &LoginAttempt) -> LoginOutcome {
        let started = Instant::now();
        self.steps()
            .end(attempt, AttemptStatus::Failed, Some(NEVER_SCANNED))
            .await;
        self.validate_latency.imitate(started.elapsed()).await;
        failed(NEVER_SCANNED.to_owned(), attempt)
    }

    /// For a passed attempt: a new session for `user`, written while the attempt ends
    /// (`passed`). The two items are independent and the end is best effort whatever happens
    /// to the session, so only the session's failure is answered, as when they ran one after
    /// the other.
    async fn open_session(
        &self,
        attempt: &LoginAttempt,
        user: User,
        now: i64,
    ) -> Result<LoggedIn, Failure> {
        let credential = new_credential()?;
        let session = Session {
            id: credential.id.clone(),
            secret_hash: credential.secret_hash(),
            user_id: user.user_id.clone(),
            created_at: now,
            last_seen: now,
            absolute_expires_at: now + self.session_absolute_seconds,
            acr: Some(self.policy.assurance_type.acr().to_owned()),
            elevated_until: None,
        };
        let steps = self.steps();
        let ((), created) = futures::join!(
            steps.end(attempt, AttemptStatus::Passed, None),
            self.sessions.create(&session, self.session_idle_seconds),
        );
        created?;
        tracing::info!("logged in");
        Ok(LoggedIn {
            credential,
            session,
            user,
        })
    }
}

/// A failed verification of `attempt` (a decoy's `user_id` is empty).
fn failed(reason: String, attempt: &LoginAttempt) -> LoginOutcome {
    LoginOutcome::VerificationFailed {
        reason,
        user_id: attempt.user_id.clone(),
    }
}
