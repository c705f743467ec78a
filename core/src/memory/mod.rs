//! In-memory adapters of the core's ports, for unit tests of the use cases: the same guarded
//! state changes as the DynamoDB adapters (their condition expressions are mirrored here rule
//! for rule), a versioned image store, and a verifier that behaves like iProov's single-use
//! tokens. Never the proof that a journey works: that is the end-to-end suite on the local
//! stack.
//!
//! Every adapter yields to the scheduler inside each call, so concurrent use cases interleave
//! the way concurrent deliveries do, and each can be told to fail its next calls of one kind
//! (a store outage, or a crash at that step).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;

pub mod account;
pub mod audit;
pub mod consent;
mod journeys;
pub mod oidc;
pub mod operator;

pub use journeys::{
    MAX_ATTEMPTS, MemoryAttempts, MemoryAuditTrail, MemoryKeys, MemoryQueue, MemoryScanQueue,
    MemorySealer, MemoryWebhookQueue, REGISTRATION_TTL, RecordingSignals, SESSION_ABSOLUTE,
    SESSION_IDLE, TEST_LIMIT, TOKEN_TTL,
};

use crate::domain::rate_limits::{Decision, Limit};
use crate::domain::registration::Outcome;
use crate::domain::{Registration, RegistrationStatus};
use crate::ports::{
    Clock, EnrolmentVerifier, FaceImage, ImageStore, NameClaim, RateLimiter, RegistrationStore,
    ScanVerdict, Session, SessionControl, StoreError, User, UserCreated, UserStore, VerifierError,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Calls of one kind that should fail next, by operation name (`"record_outcome"`, `"put"`…).
#[derive(Default)]
pub struct Outages(Mutex<HashMap<&'static str, u32>>);

impl Outages {
    /// The next `times` calls of `operation` fail as unavailable.
    pub fn fail_next(&self, operation: &'static str, times: u32) {
        *lock(&self.0).entry(operation).or_default() += times;
    }

    /// Yields (so concurrent callers interleave), then fails if an outage is pending.
    async fn enter(&self, operation: &'static str) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        let mut pending = lock(&self.0);
        match pending.get_mut(operation) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(StoreError::Unavailable(format!("{operation} (simulated)")))
            }
            _ => Ok(()),
        }
    }
}

/// A clock the test moves.
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn at(now: i64) -> Self {
        Self(AtomicI64::new(now))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Registration records with the DynamoDB adapter's conditions.
#[derive(Default)]
pub struct MemoryRegistrations {
    records: Mutex<HashMap<String, Registration>>,
    pub outages: Outages,
}

impl MemoryRegistrations {
    /// The record as stored now.
    pub fn record(&self, id: &str) -> Option<Registration> {
        lock(&self.records).get(id).cloned()
    }

    /// How many registrations are stored.
    pub fn count(&self) -> usize {
        lock(&self.records).len()
    }

    /// Applies `change` when `guard` holds for the stored record; `Conflict` otherwise (a
    /// missing record fails every condition, as in DynamoDB).
    async fn guarded(
        &self,
        operation: &'static str,
        id: &str,
        guard: impl FnOnce(&Registration) -> bool,
        change: impl FnOnce(&mut Registration),
    ) -> Result<(), StoreError> {
        self.outages.enter(operation).await?;
        let mut records = lock(&self.records);
        match records.get_mut(id) {
            Some(r) if guard(r) => {
                change(r);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

#[async_trait]
impl RegistrationStore for MemoryRegistrations {
    async fn get(&self, id: &str) -> Result<Option<Registration>, StoreError> {
        self.outages.enter("get").await?;
        Ok(self.record(id))
    }

    async fn create(&self, registration: &Registration) -> Result<(), StoreError> {
        self.outages.enter("create").await?;
        let mut records = lock(&self.records);
        if records.contains_key(&registration.id) {
            return Err(StoreError::Conflict);
        }
        records.insert(registration.id.clone(), registration.clone());
        Ok(())
    }

    async fn restart(
        &self,
        id: &str,
        attempt: u32,
        token: &str,
        token_expires_at: i64,
        consent: &crate::domain::ConsentRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        let token = token.to_owned();
        let consent = consent.clone();
        self.guarded(
            "restart",
            id,
            |r| r.attempt == attempt && r.attempt_over(now),
            |r| {
                r.status = RegistrationStatus::AwaitingScan;
                r.attempt = attempt + 1;
                r.iproov_token = token;
                r.token_expires_at = token_expires_at;
                r.reason = None;
                r.outcome = None;
                r.validating_since = None;
                r.consent = Some(consent);
            },
        )
        .await
    }

    async fn submit(&self, id: &str, attempt: u32, now: i64) -> Result<(), StoreError> {
        self.guarded(
            "submit",
            id,
            |r| r.is_at(RegistrationStatus::AwaitingScan, attempt) && r.token_expires_at > now,
            |r| r.status = RegistrationStatus::Submitted,
        )
        .await
    }

    async fn unsubmit(&self, id: &str, attempt: u32) -> Result<(), StoreError> {
        self.guarded(
            "unsubmit",
            id,
            |r| r.is_at(RegistrationStatus::Submitted, attempt),
            |r| r.status = RegistrationStatus::AwaitingScan,
        )
        .await
    }

    async fn begin_validation(
        &self,
        id: &str,
        attempt: u32,
        now: i64,
        lease_seconds: i64,
    ) -> Result<(), StoreError> {
        self.guarded(
            "begin_validation",
            id,
            |r| {
                r.is_at(RegistrationStatus::Submitted, attempt)
                    || (r.awaits_outcome(attempt)
                        && r.validating_since.is_some_and(|s| s < now - lease_seconds))
            },
            |r| {
                r.status = RegistrationStatus::Validating;
                r.validating_since = Some(now);
            },
        )
        .await
    }

    async fn record_outcome(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        reason: Option<&str>,
        image_key: Option<&str>,
        _now: i64,
    ) -> Result<(), StoreError> {
        let reason = reason.unwrap_or("unknown").to_owned();
        let image_key = image_key.map(str::to_owned);
        self.guarded(
            "record_outcome",
            id,
            |r| r.awaits_outcome(attempt),
            |r| {
                r.outcome = Some(outcome);
                match outcome {
                    Outcome::Passed => {
                        if image_key.is_some() {
                            r.image_key = image_key;
                        }
                    }
                    Outcome::Failed => {
                        r.status = RegistrationStatus::Failed;
                        r.reason = Some(reason);
                    }
                }
            },
        )
        .await
    }

    async fn release(&self, id: &str, attempt: u32, _now: i64) -> Result<(), StoreError> {
        self.guarded(
            "release",
            id,
            |r| r.awaits_outcome(attempt),
            |r| {
                r.status = RegistrationStatus::Submitted;
                r.validating_since = None;
            },
        )
        .await
    }

    async fn fail(
        &self,
        id: &str,
        attempt: u32,
        reason: &str,
        _now: i64,
    ) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.guarded(
            "fail",
            id,
            |r| r.is_at(RegistrationStatus::Validating, attempt),
            |r| {
                r.status = RegistrationStatus::Failed;
                r.reason = Some(reason);
            },
        )
        .await
    }

    async fn complete(&self, id: &str, attempt: u32, _now: i64) -> Result<(), StoreError> {
        self.guarded(
            "complete",
            id,
            |r| {
                r.is_at(RegistrationStatus::Validating, attempt)
                    && r.outcome == Some(Outcome::Passed)
            },
            |r| r.status = RegistrationStatus::Completed,
        )
        .await
    }

    async fn mark_login_issued(&self, id: &str) -> Result<(), StoreError> {
        self.guarded(
            "mark_login_issued",
            id,
            |r| r.status == RegistrationStatus::Completed,
            |r| r.login_issued = true,
        )
        .await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.outages.enter("delete").await?;
        lock(&self.records).remove(id);
        Ok(())
    }
}

/// Users and username claims, written together or not at all (the DynamoDB transaction).
#[derive(Default)]
pub struct MemoryUsers {
    users: Mutex<HashMap<String, User>>,
    claims: Mutex<HashMap<String, NameClaim>>,
    pub outages: Outages,
}

impl MemoryUsers {
    /// How many users exist (claims are checked to match).
    pub fn count(&self) -> usize {
        let users = lock(&self.users).len();
        assert_eq!(
            users,
            lock(&self.claims).len(),
            "users and claims out of step"
        );
        users
    }

    pub fn user(&self, user_id: &str) -> Option<User> {
        lock(&self.users).get(user_id).cloned()
    }

    /// A claim held by someone else, as another registration's completed user would.
    pub fn claim(&self, name_index: &str, user_id: &str) {
        lock(&self.claims).insert(
            name_index.to_owned(),
            NameClaim {
                user_id: user_id.to_owned(),
                iproov_user_id: format!("iproov-{user_id}"),
            },
        );
        lock(&self.users).insert(
            user_id.to_owned(),
            User {
                user_id: user_id.to_owned(),
                username: crate::domain::Sealed::from_stored("sealed".into()),
                display_name: crate::domain::Sealed::from_stored("sealed".into()),
                iproov_user_id: format!("iproov-{user_id}"),
                name_index: name_index.to_owned(),
                image_key: None,
                registration_id: None,
                consent: None,
                created_at: 0,
                lock: crate::domain::AccountLock::Open,
            },
        );
    }
}

#[async_trait]
impl UserStore for MemoryUsers {
    async fn find_by_name(&self, name_index: &str) -> Result<Option<NameClaim>, StoreError> {
        self.outages.enter("find_by_name").await?;
        Ok(lock(&self.claims).get(name_index).cloned())
    }

    async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.outages.enter("get").await?;
        Ok(self.user(user_id))
    }

    async fn create(&self, user: &User) -> Result<UserCreated, StoreError> {
        self.outages.enter("create").await?;
        let mut users = lock(&self.users);
        let mut claims = lock(&self.claims);
        if !users.contains_key(&user.user_id) && !claims.contains_key(&user.name_index) {
            users.insert(user.user_id.clone(), user.clone());
            claims.insert(
                user.name_index.clone(),
                NameClaim {
                    user_id: user.user_id.clone(),
                    iproov_user_id: user.iproov_user_id.clone(),
                },
            );
            return Ok(UserCreated::Created);
        }
        // A cancelled transaction: the claim tells a repeat from a name held by someone else.
        match claims.get(&user.name_index) {
            Some(claim) if claim.user_id == user.user_id => Ok(UserCreated::AlreadyExisted),
            Some(_) => Ok(UserCreated::NameTaken),
            None => Err(StoreError::Conflict),
        }
    }

    async fn delete(&self, user: &User) -> Result<(), StoreError> {
        self.outages.enter("delete").await?;
        lock(&self.users).remove(&user.user_id);
        lock(&self.claims).remove(&user.name_index);
        Ok(())
    }
}

/// Rate-limit counters, one window (the clock is not consulted): counts hits per key.
#[derive(Default)]
pub struct MemoryRateLimiter {
    hits: Mutex<HashMap<String, u32>>,
    pub outages: Outages,
}

impl MemoryRateLimiter {
    /// Hits counted on `key` so far (0 if never hit).
    pub fn count(&self, key: &str) -> u32 {
        lock(&self.hits).get(key).copied().unwrap_or(0)
    }

    /// Sets the counter of `key`, as earlier requests would have.
    pub fn preset(&self, key: &str, hits: u32) {
        lock(&self.hits).insert(key.to_owned(), hits);
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, limit: Limit, _now: i64) -> Result<Decision, StoreError> {
        self.outages.enter("hit").await?;
        let mut hits = lock(&self.hits);
        let count = hits.entry(key.to_owned()).or_default();
        *count += 1;
        Ok(if *count > limit.limit {
            Decision::Limited { retry_after: 60 }
        } else {
            Decision::Allowed
        })
    }
}

/// Open login sessions.
#[derive(Default)]
pub struct MemorySessions {
    sessions: Mutex<HashMap<String, Session>>,
    pub outages: Outages,
}

impl MemorySessions {
    pub fn open(&self, session: Session) {
        lock(&self.sessions).insert(session.id.clone(), session);
    }

    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.sessions).get(id).cloned()
    }

    /// How many sessions `user_id` has open.
    pub fn of(&self, user_id: &str) -> usize {
        lock(&self.sessions)
            .values()
            .filter(|s| s.user_id == user_id)
            .count()
    }
}

#[async_trait]
impl SessionControl for MemorySessions {
    async fn touch(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.outages.enter("touch").await?;
        if let Some(session) = lock(&self.sessions).get_mut(id) {
            session.last_seen = now;
        }
        Ok(())
    }

    async fn revoke(&self, id: &str) -> Result<(), StoreError> {
        self.outages.enter("revoke").await?;
        lock(&self.sessions).remove(id);
        Ok(())
    }

    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        self.outages.enter("revoke_all").await?;
        let mut sessions = lock(&self.sessions);
        let before = sessions.len();
        sessions.retain(|_, s| s.user_id != user_id);
        Ok(before - sessions.len())
    }

    async fn elevate(&self, id: &str, until: i64) -> Result<(), StoreError> {
        self.outages.enter("elevate").await?;
        match lock(&self.sessions).get_mut(id) {
            Some(session) => {
                session.elevated_until = Some(until);
                Ok(())
            }
            None => Err(StoreError::Conflict),
        }
    }
}

/// A versioned object store: every put adds a version.
#[derive(Default)]
pub struct MemoryImages {
    versions: Mutex<BTreeMap<String, Vec<Vec<u8>>>>,
    pub outages: Outages,
}

impl MemoryImages {
    /// Versions stored under `prefix`, over all keys.
    pub fn versions_under(&self, prefix: &str) -> usize {
        lock(&self.versions)
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.len())
            .sum()
    }

    pub fn has(&self, key: &str) -> bool {
        lock(&self.versions).contains_key(key)
    }
}

#[async_trait]
impl ImageStore for MemoryImages {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        self.outages.enter("put").await?;
        lock(&self.versions)
            .entry(key.to_owned())
            .or_default()
            .push(bytes);
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.outages.enter("exists").await?;
        Ok(lock(&self.versions).get(key).is_some_and(|v| !v.is_empty()))
    }

    async fn delete_all_versions(&self, prefix: &str) -> Result<usize, StoreError> {
        self.outages.enter("delete_all_versions").await?;
        let deleted = self.versions_under(prefix);
        lock(&self.versions).retain(|k, _| !k.starts_with(prefix));
        Ok(deleted)
    }
}

/// What the person in front of the camera did with a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    Passed,
    Failed(&'static str),
}

/// A verifier with iProov's token rules: a token answers one validate (a scan must have been
/// streamed), then `invalid_token`; errors can be scheduled ahead of the answer.
#[derive(Default)]
pub struct MemoryVerifier {
    scans: Mutex<HashMap<String, Scan>>,
    consumed: Mutex<HashSet<String>>,
    validations: Mutex<HashMap<String, u32>>,
    refusals: Mutex<HashMap<String, u32>>,
    enrolled: Mutex<HashSet<String>>,
    /// Errors the next validate calls get, in order, before any answer.
    scheduled: Mutex<Vec<VerifierError>>,
    /// Errors the next enrolment deletes get.
    delete_failures: Mutex<u32>,
    /// Errors the next token requests get, in order.
    token_failures: Mutex<Vec<VerifierError>>,
    /// Tokens issued, by kind (`enrol`, `verify`): the quota spent.
    issued: Mutex<HashMap<&'static str, u32>>,
    /// The policy each token was issued under.
    policies: Mutex<HashMap<String, crate::domain::AssurancePolicy>>,
}

impl MemoryVerifier {
    /// The person scanned with `token`, with this result.
    pub fn scan(&self, token: &str, scan: Scan) {
        lock(&self.scans).insert(token.to_owned(), scan);
    }

    /// The next validate calls fail with these errors, in order. An `OutcomeUnknown` consumes
    /// the token (the request reached the verifier); a `NotProcessed` does not.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = VerifierError>) {
        let mut scheduled = lock(&self.scheduled);
        let mut errors: Vec<_> = errors.into_iter().collect();
        errors.reverse();
        errors.extend(scheduled.drain(..));
        *scheduled = errors;
    }

    /// `user_id` has an enrolment (a scan passed for it earlier).
    pub fn enrol(&self, user_id: &str) {
        lock(&self.enrolled).insert(user_id.to_owned());
    }

    pub fn fail_next_deletes(&self, times: u32) {
        *lock(&self.delete_failures) += times;
    }

    /// How many validate calls reached the verifier for `token` (refused ones included).
    pub fn validations(&self, token: &str) -> u32 {
        lock(&self.validations).get(token).copied().unwrap_or(0)
    }

    /// How many validate calls for `token` were refused as `invalid_token` (a token asked for
    /// again after it was used up, or never scanned).
    pub fn refusals(&self, token: &str) -> u32 {
        lock(&self.refusals).get(token).copied().unwrap_or(0)
    }

    pub fn is_enrolled(&self, user_id: &str) -> bool {
        lock(&self.enrolled).contains(user_id)
    }

    /// The next token requests fail with these errors, in order.
    pub fn fail_next_tokens(&self, errors: impl IntoIterator<Item = VerifierError>) {
        let mut scheduled = lock(&self.token_failures);
        let mut errors: Vec<_> = errors.into_iter().collect();
        errors.reverse();
        errors.extend(scheduled.drain(..));
        *scheduled = errors;
    }

    /// How many tokens of `kind` (`enrol`, `verify`) were issued: the verifier quota spent.
    pub fn tokens_issued(&self, kind: &str) -> u32 {
        lock(&self.issued).get(kind).copied().unwrap_or(0)
    }

    /// The policy `token` was issued under.
    pub fn policy_of(&self, token: &str) -> Option<crate::domain::AssurancePolicy> {
        lock(&self.policies).get(token).cloned()
    }

    /// A numbered token of `kind` (`enrol-1`, `verify-2`…), or the next scheduled failure.
    async fn issue_token(
        &self,
        kind: &'static str,
        _user_id: &str,
        policy: &crate::domain::AssurancePolicy,
    ) -> Result<String, VerifierError> {
        tokio::task::yield_now().await;
        if let Some(err) = lock(&self.token_failures).pop() {
            return Err(err);
        }
        let token = {
            let mut issued = lock(&self.issued);
            let n = issued.entry(kind).or_default();
            *n += 1;
            format!("{kind}-{n}")
        };
        lock(&self.policies).insert(token.clone(), policy.clone());
        Ok(token)
    }

    /// One validate: a scheduled error first (an `OutcomeUnknown` consumes the token: the
    /// request reached the verifier), else the scan's verdict once, then `invalid_token`.
    async fn validate_once(
        &self,
        user_id: &str,
        token: &str,
    ) -> Result<ScanVerdict, VerifierError> {
        tokio::task::yield_now().await;
        if let Some(err) = lock(&self.scheduled).pop() {
            if matches!(err, VerifierError::OutcomeUnknown { .. }) {
                *lock(&self.validations).entry(token.to_owned()).or_default() += 1;
                self.answer(user_id, token);
            }
            return Err(err);
        }
        *lock(&self.validations).entry(token.to_owned()).or_default() += 1;
        let answer = self.answer(user_id, token);
        if answer.is_none() {
            *lock(&self.refusals).entry(token.to_owned()).or_default() += 1;
        }
        answer.ok_or(VerifierError::InvalidToken)
    }
}

/// The image a passed enrolment returns.
pub fn sample_image() -> FaceImage {
    FaceImage {
        bytes: b"\x89PNG\r\n\x1a\nimage".to_vec(),
        content_type: "image/png",
    }
}

#[async_trait]
impl EnrolmentVerifier for MemoryVerifier {
    async fn enrol_validate(
        &self,
        user_id: &str,
        token: &str,
    ) -> Result<ScanVerdict, VerifierError> {
        self.validate_once(user_id, token).await
    }

    async fn delete_enrolment(&self, user_id: &str) -> Result<(), VerifierError> {
        tokio::task::yield_now().await;
        let mut failures = lock(&self.delete_failures);
        if *failures > 0 {
            *failures -= 1;
            return Err(VerifierError::NotProcessed {
                code: "unavailable".into(),
            });
        }
        if lock(&self.enrolled).remove(user_id) {
            Ok(())
        } else {
            Err(VerifierError::NotFound)
        }
    }
}

impl MemoryVerifier {
    /// Consumes `token` and gives its verdict, if it was scanned and not yet consumed.
    fn answer(&self, user_id: &str, token: &str) -> Option<ScanVerdict> {
        let scan = lock(&self.scans).get(token).cloned()?;
        if !lock(&self.consumed).insert(token.to_owned()) {
            return None;
        }
        Some(match scan {
            Scan::Passed => {
                lock(&self.enrolled).insert(user_id.to_owned());
                ScanVerdict {
                    passed: true,
                    reason: None,
                    image: Some(sample_image()),
                }
            }
            Scan::Failed(reason) => ScanVerdict {
                passed: false,
                reason: Some(reason.to_owned()),
                image: None,
            },
        })
    }
}

/// Every in-memory adapter and a test clock: one world for a use case's unit tests, wired into
/// the use cases the way a function wires the real adapters.
pub struct Backends {
    pub registrations: MemoryRegistrations,
    pub users: MemoryUsers,
    pub images: MemoryImages,
    pub sessions: MemorySessions,
    /// OpenID Connect grants (erasure ends a person's).
    pub grants: oidc::MemoryGrants,
    pub attempts: MemoryAttempts,
    pub verifier: MemoryVerifier,
    pub sealer: MemorySealer,
    pub keys: MemoryKeys,
    pub limiter: MemoryRateLimiter,
    pub signals: RecordingSignals,
    pub clock: FixedClock,
    /// Each journey's assurance policy (Genuine Presence, no risk profile, by default).
    pub policies: crate::domain::AssurancePolicies,
    /// The consent versions ([`consent::test_catalog`]).
    pub consent: crate::domain::ConsentCatalog,
    /// Consent evidence kept by erasure.
    pub evidence: consent::MemoryConsentEvidence,
}

impl Backends {
    /// Empty stores, the clock at `now`.
    pub fn at(now: i64) -> Self {
        Self {
            registrations: MemoryRegistrations::default(),
            users: MemoryUsers::default(),
            images: MemoryImages::default(),
            sessions: MemorySessions::default(),
            grants: oidc::MemoryGrants::default(),
            attempts: MemoryAttempts::default(),
            verifier: MemoryVerifier::default(),
            sealer: MemorySealer::default(),
            keys: MemoryKeys::default(),
            limiter: MemoryRateLimiter::default(),
            signals: RecordingSignals::default(),
            clock: FixedClock::at(now),
            policies: crate::domain::AssurancePolicies::default(),
            consent: consent::test_catalog(),
            evidence: consent::MemoryConsentEvidence::default(),
        }
    }

    /// The counters of the token routes, signalling to this world's recorder.
    pub fn token_route_guard(&self) -> crate::use_cases::token_route::TokenRouteGuard<'_> {
        crate::use_cases::token_route::TokenRouteGuard {
            limiter: &self.limiter,
            signals: &self.signals,
        }
    }

    pub fn validate_scan(
        &self,
        lease_seconds: i64,
    ) -> crate::use_cases::validate_scan::ValidateScan<'_> {
        crate::use_cases::validate_scan::ValidateScan {
            registrations: &self.registrations,
            users: &self.users,
            images: &self.images,
            verifier: &self.verifier,
            clock: &self.clock,
            lease_seconds,
        }
    }

    pub fn erase_user(&self) -> crate::use_cases::erase_user::EraseUser<'_> {
        crate::use_cases::erase_user::EraseUser {
            users: &self.users,
            registrations: &self.registrations,
            sessions: &self.sessions,
            grants: &self.grants,
            images: &self.images,
            verifier: &self.verifier,
            evidence: &self.evidence,
            clock: &self.clock,
            evidence_retention_seconds: EVIDENCE_RETENTION,
        }
    }
}

/// How long the in-memory world keeps consent evidence after erasure (three years).
pub const EVIDENCE_RETENTION: i64 = 3 * 365 * 86_400;

/// A registration submitted at `now` (attempt 1, token `token-1` valid for 10 minutes, for
/// user `user-1`, iProov id `iproov-user-1`, username index `name-1`); tests change what they
/// need with struct update syntax.
pub fn submitted_registration(now: i64) -> Registration {
    Registration {
        id: "reg-1".into(),
        secret_hash: "h".into(),
        user_id: "user-1".into(),
        iproov_user_id: "iproov-user-1".into(),
        name_index: "name-1".into(),
        username: crate::domain::Sealed::from_stored("v2.k.alice".into()),
        display_name: crate::domain::Sealed::from_stored("v2.k.Alice".into()),
        status: RegistrationStatus::Submitted,
        attempt: 1,
        iproov_token: "token-1".into(),
        token_expires_at: now + 600,
        reason: None,
        outcome: None,
        image_key: None,
        validating_since: None,
        login_issued: false,
        consent: Some(crate::domain::ConsentRecord {
            version: consent::CURRENT_CONSENT.into(),
            text_sha256: crate::domain::consent::text_sha256("I agree (test)."),
            language: crate::domain::Language::English,
            accepted_at: now - 10,
            channel: crate::domain::Channel::App,
        }),
        created_at: now - 10,
        expires_at: now + 86_400,
    }
}
