//! In-memory adapters of the ports the person-facing journeys add to the stores: the verifier's
//! token side, the field sealer, the key ring, login attempts, session records and the
//! rate-limit signals.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use async_trait::async_trait;

use super::{MemorySessions, MemoryVerifier, lock};
use crate::domain::{AssurancePolicy, Sealed};
use crate::ports::{
    AttemptStatus, ClientContext, FaceTokens, FieldSealer, KeyRing, KeysUnavailable, LoginAttempt,
    LoginAttemptStore, PseudonymKey, RateLimitSignals, ScanVerdict, SealError, Session,
    SessionStore, StoreError, VerifierError,
};

/// The token side of [`MemoryVerifier`]: tokens are numbered per kind (`enrol-1`, `verify-1`…)
/// and remember whose they are; the next token calls can be told to fail.
#[async_trait]
impl FaceTokens for MemoryVerifier {
    fn verifier_user_id(&self, pseudonym_key: &[u8], user_id: &str) -> String {
        format!(
            "iproov-{}",
            &crate::crypto::keyed_hash(pseudonym_key, "iproov", user_id)[..16]
        )
    }

    fn sdk_base_url(&self) -> String {
        "https://verifier.test".into()
    }

    async fn enrol_token(
        &self,
        verifier_user_id: &str,
        policy: &AssurancePolicy,
    ) -> Result<String, VerifierError> {
        self.issue_token("enrol", verifier_user_id, policy).await
    }

    async fn verify_token(
        &self,
        verifier_user_id: &str,
        policy: &AssurancePolicy,
    ) -> Result<String, VerifierError> {
        if !self.is_enrolled(verifier_user_id) {
            return Err(VerifierError::NotFound);
        }
        self.issue_token("verify", verifier_user_id, policy).await
    }

    async fn verify_validate(
        &self,
        verifier_user_id: &str,
        token: &str,
        _policy: &AssurancePolicy,
        _client: ClientContext<'_>,
    ) -> Result<ScanVerdict, VerifierError> {
        self.validate_once(verifier_user_id, token).await
    }
}

/// Seals by wrapping the value with its field and owner, so a value opened as another field
/// or for another owner is refused, as real sealing's associated data makes it. Not encryption.
#[derive(Default)]
pub struct MemorySealer {
    down: AtomicBool,
}

impl MemorySealer {
    /// The key service refuses from now on (or works again).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), SealError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SealError("key service down (simulated)".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl FieldSealer for MemorySealer {
    async fn seal(&self, field: &str, owner: &str, plaintext: &str) -> Result<Sealed, SealError> {
        tokio::task::yield_now().await;
        self.check()?;
        Ok(Sealed::from_stored(format!(
            "sealed|{field}|{owner}|{plaintext}"
        )))
    }

    async fn open(&self, field: &str, owner: &str, sealed: &Sealed) -> Result<String, SealError> {
        tokio::task::yield_now().await;
        self.check()?;
        sealed
            .as_str()
            .strip_prefix(&format!("sealed|{field}|{owner}|"))
            .map(str::to_owned)
            .ok_or_else(|| SealError("sealed for another field or owner".into()))
    }
}

/// A fixed pseudonym key, which can be made unreachable.
#[derive(Default)]
pub struct MemoryKeys {
    down: AtomicBool,
}

impl MemoryKeys {
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl KeyRing for MemoryKeys {
    async fn pseudonym_key(&self) -> Result<PseudonymKey, KeysUnavailable> {
        if self.down.load(Ordering::SeqCst) {
            return Err(KeysUnavailable("secret store down (simulated)".into()));
        }
        Ok(std::sync::Arc::new(b"test pseudonym key".to_vec()))
    }
}

/// Records what the rate limits signalled.
#[derive(Default)]
pub struct RecordingSignals {
    refused: Mutex<Vec<&'static str>>,
    ceilings: AtomicU32,
}

impl RecordingSignals {
    /// The limits that refused a request, in order.
    pub fn refusals(&self) -> Vec<&'static str> {
        lock(&self.refused).clone()
    }

    /// How often a username ceiling was passed.
    pub fn ceilings_passed(&self) -> u32 {
        self.ceilings.load(Ordering::SeqCst)
    }
}

impl RateLimitSignals for RecordingSignals {
    fn refused(&self, limit: &'static str, _retry_after: u32) {
        lock(&self.refused).push(limit);
    }

    fn username_ceiling_passed(&self, _route: &'static str) {
        self.ceilings.fetch_add(1, Ordering::SeqCst);
    }
}

/// Login attempts with the DynamoDB adapter's guarded transitions.
#[derive(Default)]
pub struct MemoryAttempts {
    attempts: Mutex<HashMap<String, LoginAttempt>>,
    /// The reason each attempt ended with, as the adapter stores it beside the status.
    reasons: Mutex<HashMap<String, String>>,
    pub outages: super::Outages,
}

impl MemoryAttempts {
    /// Every attempt, with the reason it ended with.
    pub fn all(&self) -> Vec<(LoginAttempt, Option<String>)> {
        let reasons = lock(&self.reasons);
        lock(&self.attempts)
            .values()
            .map(|a| (a.clone(), reasons.get(&a.id).cloned()))
            .collect()
    }

    pub fn attempt(&self, id: &str) -> Option<LoginAttempt> {
        lock(&self.attempts).get(id).cloned()
    }

    pub fn count(&self) -> usize {
        lock(&self.attempts).len()
    }
}

#[async_trait]
impl LoginAttemptStore for MemoryAttempts {
    async fn create(&self, attempt: &LoginAttempt) -> Result<(), StoreError> {
        self.outages.enter("create_attempt").await?;
        let mut attempts = lock(&self.attempts);
        if attempts.contains_key(&attempt.id) {
            return Err(StoreError::Conflict);
        }
        attempts.insert(attempt.id.clone(), attempt.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<LoginAttempt>, StoreError> {
        self.outages.enter("get_attempt").await?;
        Ok(self.attempt(id))
    }

    async fn transition(
        &self,
        id: &str,
        from: AttemptStatus,
        to: AttemptStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.outages.enter("transition").await?;
        match lock(&self.attempts).get_mut(id) {
            Some(attempt) if attempt.status == from => {
                attempt.status = to;
                if let Some(reason) = reason {
                    lock(&self.reasons).insert(id.to_owned(), reason.to_owned());
                }
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

#[async_trait]
impl SessionStore for MemorySessions {
    async fn create(&self, session: &Session, _idle_seconds: i64) -> Result<(), StoreError> {
        self.outages.enter("create_session").await?;
        if self.session(&session.id).is_some() {
            return Err(StoreError::Conflict);
        }
        self.open(session.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.outages.enter("get_session").await?;
        Ok(self.session(id))
    }
}

/// A queue of one message type: keeps what was published, in order; `outages.fail_next(
/// "publish", n)` makes it refuse the next `n` messages. One adapter for both queues, so the
/// scan and erasure tests fail a queue the same way.
pub struct MemoryQueue<M> {
    published: Mutex<Vec<M>>,
    pub outages: super::Outages,
}

impl<M> Default for MemoryQueue<M> {
    fn default() -> Self {
        Self {
            published: Mutex::new(Vec::new()),
            outages: super::Outages::default(),
        }
    }
}

impl<M: Clone> MemoryQueue<M> {
    /// The messages the queue took, in order.
    pub fn published(&self) -> Vec<M> {
        lock(&self.published).clone()
    }

    async fn take(&self, message: &M) -> Result<(), StoreError> {
        self.outages.enter("publish").await?;
        lock(&self.published).push(message.clone());
        Ok(())
    }
}

/// The registration queue's test double.
pub type MemoryScanQueue = MemoryQueue<crate::ports::ScanSubmitted>;
/// The erasure queue's test double.
pub type MemoryErasureQueue = MemoryQueue<crate::ports::ErasureRequested>;

#[async_trait]
impl crate::ports::ScanQueue for MemoryScanQueue {
    async fn publish(&self, message: &crate::ports::ScanSubmitted) -> Result<(), StoreError> {
        self.take(message).await
    }
}

#[async_trait]
impl crate::ports::ErasureQueue for MemoryErasureQueue {
    async fn publish(&self, message: &crate::ports::ErasureRequested) -> Result<(), StoreError> {
        self.take(message).await
    }
}

/// The audit trail's test double: the events handed over, in order.
pub type MemoryAuditTrail = MemoryQueue<crate::audit::AuditEvent>;
/// The webhook queue's test double.
pub type MemoryWebhookQueue = MemoryQueue<crate::audit::WebhookDue>;

#[async_trait]
impl crate::audit::AuditTrail for MemoryAuditTrail {
    async fn record(&self, event: &crate::audit::AuditEvent) -> Result<(), StoreError> {
        self.take(event).await
    }
}

#[async_trait]
impl crate::audit::WebhookQueue for MemoryWebhookQueue {
    async fn publish(&self, message: &crate::audit::WebhookDue) -> Result<(), StoreError> {
        self.take(message).await
    }
}

/// The limits the token-route use cases get in tests: generous, so a test that is not about
/// limits never meets one; tests about limits set their own.
pub const TEST_LIMIT: crate::domain::rate_limits::Limit = crate::domain::rate_limits::Limit {
    limit: 100,
    window_seconds: 600,
};

/// Enrol and verify tokens, attempts: valid this long.
pub const TOKEN_TTL: i64 = 600;
/// A registration, all its attempts: valid this long.
pub const REGISTRATION_TTL: i64 = 86_400;
pub const MAX_ATTEMPTS: u32 = 3;
pub const SESSION_IDLE: i64 = 1_800;
pub const SESSION_ABSOLUTE: i64 = 43_200;

impl super::Backends {
    fn route_limits(route: &'static str) -> crate::use_cases::token_route::RouteLimits {
        crate::use_cases::token_route::RouteLimits {
            route,
            per_ip: TEST_LIMIT,
            per_username: TEST_LIMIT,
            username_ceiling: TEST_LIMIT,
        }
    }

    pub fn start_registration(
        &self,
    ) -> crate::use_cases::start_registration::StartRegistration<'_> {
        crate::use_cases::start_registration::StartRegistration {
            registrations: &self.registrations,
            users: &self.users,
            tokens: &self.verifier,
            sealer: &self.sealer,
            keys: &self.keys,
            guard: self.token_route_guard(),
            clock: &self.clock,
            limits: Self::route_limits("registration"),
            token_ttl_seconds: TOKEN_TTL,
            registration_ttl_seconds: REGISTRATION_TTL,
            max_attempts: MAX_ATTEMPTS,
            policy: &self.policies.registration,
            consent: &self.consent,
        }
    }

    pub fn verify_login<'a>(
        &'a self,
        latency: &'a crate::latency_mirror::LatencyMirror,
    ) -> crate::use_cases::verify_login::VerifyLogin<'a> {
        crate::use_cases::verify_login::VerifyLogin {
            users: &self.users,
            attempts: &self.attempts,
            tokens: &self.verifier,
            keys: &self.keys,
            guard: self.token_route_guard(),
            clock: &self.clock,
            limits: Self::route_limits("login"),
            token_ttl_seconds: TOKEN_TTL,
            uniform_unknown_username: false,
            verify_token_latency: latency,
            policy: &self.policies.login,
        }
    }

    pub fn submit_scan<'a>(
        &'a self,
        queue: &'a MemoryScanQueue,
    ) -> crate::use_cases::submit_scan::SubmitScan<'a> {
        crate::use_cases::submit_scan::SubmitScan {
            registrations: &self.registrations,
            queue,
            clock: &self.clock,
        }
    }

    pub fn registration_status(
        &self,
    ) -> crate::use_cases::registration_status::RegistrationStatusQuery<'_> {
        crate::use_cases::registration_status::RegistrationStatusQuery {
            registrations: &self.registrations,
            sessions: &self.sessions,
            keys: &self.keys,
            clock: &self.clock,
            max_attempts: MAX_ATTEMPTS,
            assurance: self.policies.registration.assurance_type,
            session_idle_seconds: SESSION_IDLE,
            session_absolute_seconds: SESSION_ABSOLUTE,
        }
    }
}
