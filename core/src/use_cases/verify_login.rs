//! Opening a login attempt (`POST /v1/verify-login`): find the user by the username's blind
//! index, get a verify token for the user's pseudonymous verifier id, and store a short-lived
//! attempt that keeps the token server-side.
//!
//! An unknown username is, by default, said to be unknown, which lets apps send the person to
//! registration. In uniform mode it gets an attempt exactly like a known one instead — a decoy,
//! stored like a real one, whose token no scan can satisfy — so the route cannot be used to
//! learn who has an account. The decoy makes no verifier call (no quota spent on guesses) but
//! takes as long as a recent real one (`latency_mirror`), and login ends it exactly as a real
//! attempt whose scan never reached the verifier.

use std::net::IpAddr;

use super::failure::Failure;
use super::failure::new_credential;
use super::token_route::{RouteKeys, RouteLimits, TokenRouteGuard};
use crate::crypto::{Credential, hex, keyed_hash, random_bytes};
use crate::domain::{AssurancePolicy, Username};
use crate::latency_mirror::LatencyMirror;
use crate::ports::{
    AttemptStatus, Clock, FaceTokens, KeyRing, LoginAttempt, LoginAttemptStore, UserStore,
};

/// What opening a login attempt needs.
pub struct VerifyLogin<'a> {
    pub users: &'a dyn UserStore,
    pub attempts: &'a dyn LoginAttemptStore,
    pub tokens: &'a dyn FaceTokens,
    pub keys: &'a dyn KeyRing,
    pub guard: TokenRouteGuard<'a>,
    pub clock: &'a dyn Clock,
    pub limits: RouteLimits,
    /// How long a verify token (and so the attempt) may wait for its scan.
    pub token_ttl_seconds: i64,
    /// Unknown usernames get a decoy attempt instead of `NotRegistered`.
    pub uniform_unknown_username: bool,
    /// Recent durations of verify-token calls, which a decoy imitates.
    pub verify_token_latency: &'a LatencyMirror,
    /// How login scans are judged.
    pub policy: &'a AssurancePolicy,
}

/// An attempt the person can scan for now. A decoy looks exactly the same.
#[derive(Debug)]
pub struct OpenedAttempt {
    pub credential: Credential,
    pub expires_at: i64,
    /// The verify token the app streams the scan with.
    pub token: String,
    /// A decoy (uniform mode): for this process's own logs and counts only, never the answer.
    pub decoy: bool,
}

#[derive(Debug)]
pub enum VerifyLoginOutcome {
    Opened(OpenedAttempt),
    /// No account uses this username (explicit mode only).
    NotRegistered,
}

impl VerifyLogin<'_> {
    pub async fn run(
        &self,
        username: &Username,
        ip: Option<IpAddr>,
    ) -> Result<VerifyLoginOutcome, Failure> {
        let now = self.clock.now();
        let key = self.keys.pseudonym_key().await?;
        let key = key.as_ref().as_ref();
        let name_index = keyed_hash(key, "username", username.as_str());
        let keys = RouteKeys::new(key, self.limits.route, ip, &name_index);
        let claim = self
            .guard
            .check_alongside(
                &self.limits,
                &keys,
                now,
                self.users.find_by_name(&name_index),
            )
            .await?;
        let Some(claim) = claim? else {
            if self.uniform_unknown_username {
                return self.decoy(now).await.map(VerifyLoginOutcome::Opened);
            }
            return Ok(VerifyLoginOutcome::NotRegistered);
        };
        let started = std::time::Instant::now();
        let token = self
            .tokens
            .verify_token(&claim.iproov_user_id, self.policy)
            .await;
        self.verify_token_latency.record(started.elapsed());
        let token = token?;
        let credential = new_credential()?;
        let attempt = LoginAttempt {
            id: credential.id.clone(),
            secret_hash: credential.secret_hash(),
            user_id: claim.user_id,
            iproov_user_id: claim.iproov_user_id,
            iproov_token: token.clone(),
            status: AttemptStatus::Pending,
            expires_at: now + self.token_ttl_seconds,
            created_at: now,
            decoy: false,
            session_id: None,
        };
        self.attempts.create(&attempt).await?;
        Ok(VerifyLoginOutcome::Opened(OpenedAttempt {
            credential,
            expires_at: attempt.expires_at,
            token,
            decoy: false,
        }))
    }

    /// A stored decoy attempt with a random token, in the time of a real verify-token call.
    async fn decoy(&self, now: i64) -> Result<OpenedAttempt, Failure> {
        let started = std::time::Instant::now();
        let credential = new_credential()?;
        let token = hex(&random_bytes::<32>().map_err(|_| Failure::NoRandomness)?);
        let attempt = LoginAttempt {
            id: credential.id.clone(),
            secret_hash: credential.secret_hash(),
            user_id: String::new(),
            iproov_user_id: String::new(),
            iproov_token: token.clone(),
            status: AttemptStatus::Pending,
            expires_at: now + self.token_ttl_seconds,
            created_at: now,
            decoy: true,
            session_id: None,
        };
        self.verify_token_latency.imitate(started.elapsed()).await;
        self.attempts.create(&attempt).await?;
        Ok(OpenedAttempt {
            credential,
            expires_at: attempt.expires_at,
            token,
            decoy: true,
        })
    }
}
