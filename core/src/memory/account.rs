//! The account journeys in the in-memory world: the use cases wired to [`Backends`] with
//! production's default settings (tests change a setting with struct update syntax), and the
//! fixtures both the login and the account tests start from.

use super::Backends;
use crate::crypto::Credential;
use crate::domain::rate_limits::Limit;
use crate::latency_mirror::LatencyMirror;
use crate::ports::{FieldSealer, Session, User, UserStore};
use crate::use_cases::account::login::Login;
use crate::use_cases::account::request_erasure::RequestErasure;
use crate::use_cases::account::step_up::{CompleteStepUp, StartStepUp};
use crate::use_cases::account::{Logout, ReadAccount, SessionAuth};

/// `LOGIN_SESSION_IDLE_SECONDS`' default.
pub const SESSION_IDLE_SECONDS: i64 = 15 * 60;
/// `LOGIN_SESSION_MAX_SECONDS`' default.
pub const SESSION_ABSOLUTE_SECONDS: i64 = 12 * 3600;
/// `RATE_LIMIT_LOGIN_PER_ATTEMPT`'s default.
pub const LOGIN_PER_ATTEMPT: Limit = Limit::per(5, 600);
/// `STEP_UP_WINDOW_MINUTES`' default, in seconds.
pub const STEP_UP_WINDOW_SECONDS: i64 = 5 * 60;

pub use super::journeys::MemoryErasureQueue;

impl Backends {
    /// The session check, with the default idle timeout.
    pub fn session_auth(&self) -> SessionAuth<'_> {
        SessionAuth {
            sessions: &self.sessions,
            control: &self.sessions,
            clock: &self.clock,
            idle_seconds: SESSION_IDLE_SECONDS,
        }
    }

    /// Logging in; a decoy imitates `validate_latency`.
    pub fn login<'a>(&'a self, validate_latency: &'a LatencyMirror) -> Login<'a> {
        Login {
            attempts: &self.attempts,
            users: &self.users,
            sessions: &self.sessions,
            tokens: &self.verifier,
            limiter: &self.limiter,
            signals: &self.signals,
            clock: &self.clock,
            per_attempt: LOGIN_PER_ATTEMPT,
            session_idle_seconds: SESSION_IDLE_SECONDS,
            session_absolute_seconds: SESSION_ABSOLUTE_SECONDS,
            validate_latency,
            policy: &self.policies.login,
        }
    }

    /// Opening a step-up attempt, with verify-login's test limits under the route `step_up`.
    pub fn start_step_up(&self) -> StartStepUp<'_> {
        StartStepUp {
            auth: self.session_auth(),
            users: &self.users,
            attempts: &self.attempts,
            tokens: &self.verifier,
            keys: &self.keys,
            guard: self.token_route_guard(),
            limits: crate::use_cases::token_route::RouteLimits {
                route: "step_up",
                per_ip: super::TEST_LIMIT,
                per_username: super::TEST_LIMIT,
                username_ceiling: super::TEST_LIMIT,
            },
            token_ttl_seconds: super::TOKEN_TTL,
            policy: &self.policies.step_up,
        }
    }

    /// Completing a step-up, with the default window.
    pub fn complete_step_up(&self) -> CompleteStepUp<'_> {
        CompleteStepUp {
            auth: self.session_auth(),
            users: &self.users,
            attempts: &self.attempts,
            tokens: &self.verifier,
            limiter: &self.limiter,
            signals: &self.signals,
            per_attempt: LOGIN_PER_ATTEMPT,
            policy: &self.policies.step_up,
            window_seconds: STEP_UP_WINDOW_SECONDS,
        }
    }

    pub fn read_account(&self) -> ReadAccount<'_> {
        ReadAccount {
            auth: self.session_auth(),
            users: &self.users,
            sealer: &self.sealer,
        }
    }

    pub fn logout(&self) -> Logout<'_> {
        Logout {
            auth: self.session_auth(),
        }
    }

    /// Requesting an erasure through `queue` (the world has no queue of its own).
    pub fn request_erasure<'a>(&'a self, queue: &'a MemoryErasureQueue) -> RequestErasure<'a> {
        RequestErasure {
            auth: self.session_auth(),
            queue,
        }
    }

    /// A registered user `user_id` (created at 0) whose names are sealed as the sealer seals
    /// them, enrolled at the verifier as `iproov-{user_id}`.
    pub async fn registered_user(&self, user_id: &str, username: &str, display_name: &str) -> User {
        let user = User {
            user_id: user_id.to_owned(),
            username: self
                .sealer
                .seal("username", user_id, username)
                .await
                .expect("sealer up"),
            display_name: self
                .sealer
                .seal("display_name", user_id, display_name)
                .await
                .expect("sealer up"),
            iproov_user_id: format!("iproov-{user_id}"),
            name_index: format!("name-{user_id}"),
            image_key: None,
            registration_id: None,
            consent: None,
            created_at: 0,
            lock: crate::domain::AccountLock::Open,
        };
        self.users.create(&user).await.expect("users up");
        self.verifier.enrol(&user.iproov_user_id);
        user
    }

    /// An open session `id` of `user_id`, last seen at `last_seen`, ending at
    /// `absolute_expires_at` at the latest; returns its credential.
    pub fn session_of(
        &self,
        id: &str,
        user_id: &str,
        last_seen: i64,
        absolute_expires_at: i64,
    ) -> Credential {
        let credential = Credential::issue(id.to_owned()).expect("os rng");
        self.sessions.open(Session {
            id: id.to_owned(),
            secret_hash: credential.secret_hash(),
            user_id: user_id.to_owned(),
            created_at: last_seen,
            last_seen,
            absolute_expires_at,
            acr: None,
            elevated_until: None,
        });
        credential
    }
}
