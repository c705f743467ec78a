//! Face step-up: the person proves, again, that they are the session's user, before an action
//! too sensitive for a session that may be hours old (today: erasing the account).
//!
//! `StartStepUp` opens a verify attempt for the session's own user — no username is read from the
//! request — behind the same limits as verify-login (per client IP, and per user from the
//! client's network), and binds it to the session. `CompleteStepUp` validates it once, like a
//! login, and on a pass elevates that session for a short window instead of opening a new one.
//!
//! What keeps it honest:
//! - the attempt is bound to the session that opened it: another session (even the same user's)
//!   is refused before the attempt is touched, so it cannot spend it either;
//! - a login never accepts a step-up attempt, and a step-up never accepts a login attempt;
//! - the elevation never outlives the session (its absolute end caps it, logout deletes it) and
//!   ends on its own after the window;
//! - any failure (a failed scan, the verifier down, a store error) elevates nothing.

use std::net::IpAddr;

use super::attempt::{AttemptSteps, Claimed};
use super::{Authenticated, SessionAuth, SessionRefused};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::crypto::{Credential, keyed_hash};
use crate::domain::rate_limits::Limit;
use crate::domain::{AssurancePolicy, reasons};
use crate::ports::{
    AttemptStatus, ClientContext, FaceTokens, KeyRing, LoginAttempt, LoginAttemptStore,
    RateLimitSignals, RateLimiter, StoreError, UserStore,
};
use crate::use_cases::failure::Failure;
use crate::use_cases::failure::new_credential;
use crate::use_cases::token_route::{RouteKeys, RouteLimits, TokenRouteGuard};

/// The per-attempt limit's name in metrics and logs.
pub const ATTEMPT_LIMIT: &str = "step_up_attempt";

/// Opening a step-up attempt (`POST /v1/step-up`).
pub struct StartStepUp<'a> {
    pub auth: SessionAuth<'a>,
    pub users: &'a dyn UserStore,
    pub attempts: &'a dyn LoginAttemptStore,
    pub tokens: &'a dyn FaceTokens,
    pub keys: &'a dyn KeyRing,
    pub guard: TokenRouteGuard<'a>,
    /// Verify-login's limits under the route name `step_up` (their own counters).
    pub limits: RouteLimits,
    /// How long the verify token (and so the attempt) may wait for its scan.
    pub token_ttl_seconds: i64,
    /// How step-up scans are judged.
    pub policy: &'a AssurancePolicy,
}

/// A step-up attempt the person can scan for now.
#[derive(Debug)]
pub struct StepUpOpened {
    /// Opens nothing without the session it is bound to.
    pub credential: Credential,
    pub expires_at: i64,
    /// The verify token the app streams the scan with.
    pub token: String,
}

impl StartStepUp<'_> {
    /// A step-up attempt for the user of the session `session` names; `ip` counts against the
    /// limits only.
    pub async fn run(
        &self,
        session: &Credential,
        ip: Option<IpAddr>,
    ) -> Result<Authenticated<StepUpOpened>, Failure> {
        let live = match self.auth.open(session).await? {
            Authenticated::Live(live) => live,
            Authenticated::Refused(why) => return Ok(Authenticated::Refused(why)),
        };
        let session = &live.session;
        let now = self.auth.clock.now();
        let key = self.keys.pseudonym_key().await?;
        let key = key.as_ref().as_ref();
        // The person's own counters, keyed by a pseudonym of the user (never the id itself).
        let person = keyed_hash(key, "user", &session.user_id);
        let keys = RouteKeys::new(key, self.limits.route, ip, &person);
        // The session's due activity is recorded beside the limits and the user read.
        let checked =
            self.guard
                .check_alongside(&self.limits, &keys, now, self.users.get(&session.user_id));
        let user = self.auth.beside(&live, checked).await?;
        let Some(user) = user?.filter(|u| u.lock.permits_sign_in()) else {
            // Erased or locked, its sessions not yet ended: the session opens nothing.
            return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
        };
        let token = self
            .tokens
            .verify_token(&user.iproov_user_id, self.policy)
            .await?;
        let credential = new_credential()?;
        let attempt = LoginAttempt {
            id: credential.id.clone(),
            secret_hash: credential.secret_hash(),
            user_id: user.user_id,
            iproov_user_id: user.iproov_user_id,
            iproov_token: token.clone(),
            status: AttemptStatus::Pending,
            expires_at: now + self.token_ttl_seconds,
            created_at: now,
            decoy: false,
            session_id: Some(session.id.clone()),
        };
        self.attempts.create(&attempt).await?;
        Ok(Authenticated::Live(StepUpOpened {
            credential,
            expires_at: attempt.expires_at,
            token,
        }))
    }
}

/// Completing a step-up (`POST /v1/step-up/complete`).
pub struct CompleteStepUp<'a> {
    pub auth: SessionAuth<'a>,
    /// Read while the verifier validates: a user locked (or erased) meanwhile is not elevated.
    pub users: &'a dyn UserStore,
    pub attempts: &'a dyn LoginAttemptStore,
    pub tokens: &'a dyn FaceTokens,
    pub limiter: &'a dyn RateLimiter,
    pub signals: &'a dyn RateLimitSignals,
    /// Completions one attempt's credential may try per window.
    pub per_attempt: Limit,
    /// How step-up scans are judged (the `acr` of the elevation).
    pub policy: &'a AssurancePolicy,
    /// How long a passed step-up elevates the session.
    pub window_seconds: i64,
}

/// How a completion from a live session ended. Only `Elevated` elevates anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepUpOutcome {
    /// The session is elevated until `until`; `acr` names the assurance the scan proved.
    Elevated {
        acr: &'static str,
        until: i64,
        user_id: String,
    },
    /// The scan failed or never reached the verifier; the attempt is over.
    VerificationFailed { reason: String, user_id: String },
    /// No step-up attempt matches the credential (unknown, wrong secret, or a login attempt).
    UnknownAttempt,
    /// The attempt belongs to another session; it was not touched.
    Foreign,
    /// The attempt's token ran out.
    Expired,
    /// The attempt was already completed or is being completed.
    Used,
}

impl StepUpOutcome {
    /// What the trail records: the face proved again, or not; refused attempts decided nothing.
    pub fn audit_event(&self, request_id: &str, now: i64) -> Option<AuditEvent> {
        let event = match self {
            StepUpOutcome::Elevated { user_id, .. } => {
                AuditEvent::new(AuditKind::StepUpPassed, Actor::Person, now)?.user(user_id)
            }
            StepUpOutcome::VerificationFailed { reason, user_id } => {
                AuditEvent::new(AuditKind::StepUpFailed, Actor::Person, now)?
                    .user(user_id)
                    .reason(reason)
            }
            _ => return None,
        };
        Some(event.request(Some(request_id)))
    }
}

impl CompleteStepUp<'_> {
    fn steps(&self) -> AttemptSteps<'_> {
        AttemptSteps {
            attempts: self.attempts,
            limiter: self.limiter,
            signals: self.signals,
            per_attempt: self.per_attempt,
            limit_name: ATTEMPT_LIMIT,
            key_prefix: "step-up#attempt",
        }
    }

    pub async fn run(
        &self,
        session: &Credential,
        attempt: &Credential,
        client: ClientContext<'_>,
    ) -> Result<Authenticated<StepUpOutcome>, Failure> {
        let live = match self.auth.open(session).await? {
            Authenticated::Live(live) => live,
            Authenticated::Refused(why) => return Ok(Authenticated::Refused(why)),
        };
        let session = &live.session;
        let now = self.auth.clock.now();
        let steps = self.steps();
        // The session's due activity is recorded beside the attempt's read.
        let found = self.auth.beside(&live, steps.find_counted(attempt, now));
        let Some(attempt) = found.await? else {
            return Ok(Authenticated::Live(StepUpOutcome::UnknownAttempt));
        };
        match attempt.session_id.as_deref() {
            None => return Ok(Authenticated::Live(StepUpOutcome::UnknownAttempt)),
            Some(bound) if bound != session.id => {
                return Ok(Authenticated::Live(StepUpOutcome::Foreign));
            }
            Some(_) => {}
        }
        let attempt = match steps.claim(attempt, now).await? {
            Claimed::Held(attempt) => attempt,
            Claimed::Expired => return Ok(Authenticated::Live(StepUpOutcome::Expired)),
            Claimed::Used | Claimed::TakenMeanwhile => {
                return Ok(Authenticated::Live(StepUpOutcome::Used));
            }
        };
        // The user is read while the verifier validates: the two are independent.
        let (verdict, user) = futures::join!(
            self.tokens.verify_validate(
                &attempt.iproov_user_id,
                &attempt.iproov_token,
                self.policy,
                client,
            ),
            self.users.get(&attempt.user_id),
        );
        let verdict = match verdict {
            Ok(verdict) => verdict,
            Err(err) => {
                let reason = steps.not_validated(&attempt, err).await?;
                return Ok(Authenticated::Live(failed(reason.to_owned(), &attempt)));
            }
        };
        if !verdict.passed {
            let reason = reasons::sanitise_reason(verdict.reason.as_deref());
            steps
                .end(&attempt, AttemptStatus::Failed, Some(&reason))
                .await;
            tracing::info!(reason = %reason, "step-up verification failed");
            return Ok(Authenticated::Live(failed(reason, &attempt)));
        }
        let may_elevate = match user {
            Ok(Some(user)) => user.lock.permits_sign_in(),
            Ok(None) => false,
            Err(err) => {
                steps.end(&attempt, AttemptStatus::Passed, None).await;
                return Err(err.into());
            }
        };
        if !may_elevate {
            // Locked (or erased) while the scan ran: the attempt is used up, nothing elevated.
            steps
                .end(
                    &attempt,
                    AttemptStatus::Passed,
                    Some(crate::domain::AccountLock::REFUSAL),
                )
                .await;
            return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
        }
        // The scan passed: the attempt is used up whatever happens next, and it ends while the
        // session is elevated (the two items are independent).
        let until = (now + self.window_seconds).min(session.absolute_expires_at);
        let ((), elevated) = futures::join!(
            steps.end(&attempt, AttemptStatus::Passed, None),
            self.auth.control.elevate(&session.id, until),
        );
        match elevated {
            Ok(()) => {}
            // Logged out (or erased) while the scan ran: there is nothing to elevate.
            Err(StoreError::Conflict) => {
                return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
            }
            Err(err) => return Err(err.into()),
        }
        tracing::info!("session stepped up");
        Ok(Authenticated::Live(StepUpOutcome::Elevated {
            acr: self.policy.assurance_type.acr(),
            until,
            user_id: session.user_id.clone(),
        }))
    }
}

fn failed(reason: String, attempt: &LoginAttempt) -> StepUpOutcome {
    StepUpOutcome::VerificationFailed {
        reason,
        user_id: attempt.user_id.clone(),
    }
}
