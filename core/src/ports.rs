//! The capabilities handlers depend on, as small traits. AWS adapters implement them for real;
//! tests may substitute their own. Each handler asks only for what it uses.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::Sealed;
use crate::domain::consent::ConsentEvidence;
use crate::domain::registration::Outcome;
use crate::domain::{AssurancePolicy, ConsentRecord, Registration};

/// Why a store call failed. `Conflict` is an expected race (a condition did not hold);
/// `Unavailable` means the backend could not be reached or refused; `Corrupt` means an item did
/// not have the shape we write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("condition not met")]
    Conflict,
    #[error("backend unavailable ({0})")]
    Unavailable(String),
    #[error("stored item is missing attribute {0}")]
    Corrupt(&'static str),
}

/// A shared counter store, for rate limits (see `domain::rate_limits`).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit on `key` in the current window of `limit` and decides.
    async fn hit(
        &self,
        key: &str,
        limit: crate::domain::rate_limits::Limit,
        now: i64,
    ) -> Result<crate::domain::rate_limits::Decision, StoreError>;
}

/// Time, injectable so expiry logic can be tested.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// Registration records and their guarded state changes. Every change is conditional on the
/// state it starts from, so concurrent or repeated callers cannot both win.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    async fn get(&self, id: &str) -> Result<Option<Registration>, StoreError>;
    /// Inserts a new registration; `Conflict` if the id exists.
    async fn create(&self, registration: &Registration) -> Result<(), StoreError>;
    /// Starts attempt `attempt + 1` with a fresh token and the consent given for it, if attempt
    /// `attempt` failed or expired.
    async fn restart(
        &self,
        id: &str,
        attempt: u32,
        token: &str,
        token_expires_at: i64,
        consent: &ConsentRecord,
        now: i64,
    ) -> Result<(), StoreError>;
    /// `awaiting_scan → submitted` for this attempt, if its token has not expired.
    async fn submit(&self, id: &str, attempt: u32, now: i64) -> Result<(), StoreError>;
    /// Undoes `submit` when the queue could not take the message.
    async fn unsubmit(&self, id: &str, attempt: u32) -> Result<(), StoreError>;
    /// `submitted → validating`, or takes over a `validating` whose holder vanished (lease
    /// older than `lease_seconds` and no outcome recorded).
    async fn begin_validation(
        &self,
        id: &str,
        attempt: u32,
        now: i64,
        lease_seconds: i64,
    ) -> Result<(), StoreError>;
    /// Records iProov's answer; the first thing done with it. A failure ends the attempt.
    async fn record_outcome(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        reason: Option<&str>,
        image_key: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Gives a `validating` attempt with no recorded outcome back to `submitted`, when iProov
    /// provably did not process it (or the outcome is unknown and a retry must ask again).
    async fn release(&self, id: &str, attempt: u32, now: i64) -> Result<(), StoreError>;
    /// Ends a `validating` attempt as failed for a reason found after the outcome.
    async fn fail(&self, id: &str, attempt: u32, reason: &str, now: i64) -> Result<(), StoreError>;
    /// Passed attempt fully stored: `completed`.
    async fn complete(&self, id: &str, attempt: u32, now: i64) -> Result<(), StoreError>;
    /// Notes that the login session derived from this registration has been opened once.
    async fn mark_login_issued(&self, id: &str) -> Result<(), StoreError>;
    /// Removes the registration record (erasure): its sealed names, username index, iProov id
    /// and token go with it, and its credential stops resolving. Deleting what is gone is fine.
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
}

/// A registered user.
#[derive(Debug, Clone)]
pub struct User {
    pub user_id: String,
    /// Sealed with owner `user_id` (see `envelope`).
    pub username: Sealed,
    pub display_name: Sealed,
    pub iproov_user_id: String,
    pub name_index: String,
    pub image_key: Option<String>,
    /// The registration that created this user, so erasure can find and delete it (users
    /// created before this field existed have none; their registration expires by TTL).
    pub registration_id: Option<String>,
    /// The consent the registration recorded (none for users created before it was).
    pub consent: Option<ConsentRecord>,
    pub created_at: i64,
    /// An operator's lock: a locked account opens and elevates nothing (`AccountLock`).
    pub lock: crate::domain::AccountLock,
}

/// The username claim: enough to start a login with one read.
#[derive(Debug, Clone)]
pub struct NameClaim {
    pub user_id: String,
    pub iproov_user_id: String,
}

/// How a user insert ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCreated {
    Created,
    /// This very user already exists (a repeated step): nothing changed.
    AlreadyExisted,
    /// Another user holds the username.
    NameTaken,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn find_by_name(&self, name_index: &str) -> Result<Option<NameClaim>, StoreError>;
    async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError>;
    /// Inserts the user and claims the username in one transaction.
    async fn create(&self, user: &User) -> Result<UserCreated, StoreError>;
    /// Deletes the user and releases the username, in one transaction; idempotent.
    async fn delete(&self, user: &User) -> Result<(), StoreError>;
}

/// An operator's lock on accounts (the operator API): the flag every sign-in path reads with
/// the user (`domain::account_lock`).
#[async_trait]
pub trait AccountLocks: Send + Sync {
    /// Locks `user_id` as of `at`; a lock already in place keeps its first time. `Ok(None)`
    /// when there is no such user; otherwise the lock now in place.
    async fn lock(
        &self,
        user_id: &str,
        at: i64,
    ) -> Result<Option<crate::domain::AccountLock>, StoreError>;
    /// Lifts the lock (unlocking an open account is fine); `Ok(false)` when there is no such
    /// user.
    async fn unlock(&self, user_id: &str) -> Result<bool, StoreError>;
}

/// An open login session (only the hash of its secret is stored).
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub secret_hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub absolute_expires_at: i64,
    /// The assurance of the face scan that opened the session (`AssuranceType::acr`); none for
    /// sessions opened before it was recorded.
    pub acr: Option<String>,
    /// Until when a face step-up elevates the session (sensitive actions need it); never past
    /// `absolute_expires_at`, and gone with the session.
    pub elevated_until: Option<i64>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a session; `Conflict` if one with this id exists.
    async fn create(&self, session: &Session, idle_seconds: i64) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError>;
}

/// Face images, encrypted at rest, never served back.
#[async_trait]
pub trait ImageStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    /// Whether an object is stored under exactly `key` (a retry that no longer holds the image
    /// asks before it lets a user point at it).
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;
    /// Deletes every version of every object under `prefix` (a user's `faces/{user_id}/`);
    /// returns how many versions were deleted. Erasure and a lost username race both use it:
    /// biometric data must not outlive the user it belongs to.
    async fn delete_all_versions(&self, prefix: &str) -> Result<usize, StoreError>;
}

/// The message that asks the validator to check a submitted scan: ids only, never PII.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScanSubmitted {
    pub registration_id: String,
    pub attempt: u32,
    /// Correlates the validator's logs with the API request that submitted the scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[async_trait]
pub trait ScanQueue: Send + Sync {
    async fn publish(&self, message: &ScanSubmitted) -> Result<(), StoreError>;
}

/// The message that asks the erasure function to remove a user: ids only, never PII. Unknown
/// fields are tolerated, so a message written by an older or newer version (or by an operator
/// by hand, docs/operations.md) still erases.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErasureRequested {
    pub user_id: String,
    /// Correlates the erasure's logs with the request (or ticket) that asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[async_trait]
pub trait ErasureQueue: Send + Sync {
    async fn publish(&self, message: &ErasureRequested) -> Result<(), StoreError>;
}

/// Where a login attempt stands. Validate is called only from `Pending`, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    Pending,
    Validating,
    Passed,
    Failed,
}

impl AttemptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Validating => "validating",
            Self::Passed => "passed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "validating" => Self::Validating,
            "passed" => Self::Passed,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// A login attempt: a verify token issued for one user, to be validated once.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    pub id: String,
    pub secret_hash: String,
    pub user_id: String,
    pub iproov_user_id: String,
    pub iproov_token: String,
    pub status: AttemptStatus,
    pub expires_at: i64,
    pub created_at: i64,
    /// Opened for an unknown username in uniform mode: no user and no iProov token behind it
    /// (`user_id`, `iproov_user_id` empty); login ends it as a failed verification.
    pub decoy: bool,
    /// A step-up attempt: the session that opened it, the only one that may complete it. A
    /// login never accepts it (a step-up never opens a session), and a step-up accepts nothing
    /// else.
    pub session_id: Option<String>,
}

#[async_trait]
pub trait LoginAttemptStore: Send + Sync {
    async fn create(&self, attempt: &LoginAttempt) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<LoginAttempt>, StoreError>;
    /// Conditional move `from → to`; `Conflict` when the attempt is not in `from`.
    async fn transition(
        &self,
        id: &str,
        from: AttemptStatus,
        to: AttemptStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;
}

/// Session operations beyond create/get, used by the account routes.
#[async_trait]
pub trait SessionControl: Send + Sync {
    /// Records activity, for the idle timeout; called at most once a minute per session.
    async fn touch(&self, id: &str, now: i64) -> Result<(), StoreError>;
    /// Ends one session.
    async fn revoke(&self, id: &str) -> Result<(), StoreError>;
    /// Ends every session of a user; returns how many.
    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError>;
    /// Elevates a live session until `until` (a passed step-up); `Conflict` if the session is
    /// gone, so a step-up completed after logout elevates nothing.
    async fn elevate(&self, id: &str, until: i64) -> Result<(), StoreError>;
}

/// Which journey opened an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptKind {
    Login,
    StepUp,
}

impl AttemptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::StepUp => "step_up",
        }
    }
}

/// An attempt as an operator sees it: when, which journey, where it ended. Never its token,
/// secret hash or the session it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptSummary {
    pub created_at: i64,
    pub kind: AttemptKind,
    pub status: AttemptStatus,
    /// The failure's reason code, when it failed.
    pub reason: Option<String>,
}

/// A session as an operator sees it: its times only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSummary {
    pub created_at: i64,
    pub last_seen: i64,
    pub absolute_expires_at: i64,
}

impl SessionSummary {
    /// Live at `now` under an idle timeout of `idle_seconds`: the rule `SessionAuth` applies.
    pub fn is_live(&self, now: i64, idle_seconds: i64) -> bool {
        now < self.absolute_expires_at && now < self.last_seen + idle_seconds
    }
}

/// A user's sessions and attempts, for the operator API: read through an index that carries
/// times and states only (no secret hashes, no tokens), and the end of every session.
#[async_trait]
pub trait UserActivity: Send + Sync {
    /// The user's login sessions, whatever their expiry (the caller decides which are live).
    async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionSummary>, StoreError>;
    /// The user's most recent attempts (login and step-up), newest first, at most `limit`.
    async fn attempts_of(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<AttemptSummary>, StoreError>;
    /// Ends every login session of the user (its attempts stay, for the record); how many.
    async fn end_sessions(&self, user_id: &str) -> Result<usize, StoreError>;
}

/// A face image as the verifier returned it.
#[derive(Clone, PartialEq, Eq)]
pub struct FaceImage {
    pub bytes: Vec<u8>,
    /// `image/png` or `image/jpeg`.
    pub content_type: &'static str,
}

impl std::fmt::Debug for FaceImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FaceImage({}, {} bytes)",
            self.content_type,
            self.bytes.len()
        )
    }
}

/// What the verifier said about one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanVerdict {
    pub passed: bool,
    /// The verifier's failure reason code, if it gave one (raw: the core sanitises it).
    pub reason: Option<String>,
    pub image: Option<FaceImage>,
}

/// Why the verifier gave no verdict. Each kind decides what the use case does next; `code` is
/// the verifier's stable error code, for logs and metrics only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifierError {
    /// The token is unknown, used up or never scanned: asking again cannot help.
    InvalidToken,
    /// No such user (a delete that already happened).
    NotFound,
    /// Not processed (rate limited, refused connection): the same call may be made again.
    NotProcessed { code: String },
    /// Maybe processed (timeout after sending, 5xx): asking again may find the token used up.
    OutcomeUnknown { code: String },
    /// Refused for a reason a retry will not change (bad credentials, bad request).
    Rejected { code: String },
}

impl VerifierError {
    /// The stable code, for logs and metrics.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::NotFound => "not_found",
            Self::NotProcessed { code }
            | Self::OutcomeUnknown { code }
            | Self::Rejected { code } => code,
        }
    }
}

/// The face verifier's enrolment side (iProov's REST API in production): validating an
/// enrolment scan once, and removing an enrolment.
#[async_trait]
pub trait EnrolmentVerifier: Send + Sync {
    /// Asks, once, whether the scan streamed with `token` for `verifier_user_id` passed.
    async fn enrol_validate(
        &self,
        verifier_user_id: &str,
        token: &str,
    ) -> Result<ScanVerdict, VerifierError>;
    /// Removes the enrolment of `verifier_user_id` (`NotFound` when there is none).
    async fn delete_enrolment(&self, verifier_user_id: &str) -> Result<(), VerifierError>;
}

/// The end user as the verifier may see them during a validate: an address (the verifier's
/// adapter decides what of it leaves, e.g. IPv4 only) and a client hint such as the User-Agent.
#[derive(Clone, Copy)]
pub struct ClientContext<'a> {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: &'a str,
}

impl std::fmt::Debug for ClientContext<'_> {
    /// The address is personal data: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientContext")
            .field("ip", &self.ip.map(|_| "<redacted>"))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// The face verifier's token side (iProov's REST API in production): the single-use tokens an
/// app streams a scan with, for an enrolment or a verification, and validating a verification
/// while the person waits. Every call may spend the verifier's quota, so the use cases reach it
/// only after their rate limits.
#[async_trait]
pub trait FaceTokens: Send + Sync {
    /// The verifier's pseudonymous id for one of our users: a keyed hash, so the verifier can
    /// neither learn nor correlate our ids.
    fn verifier_user_id(&self, pseudonym_key: &[u8], user_id: &str) -> String;
    /// Where the app's SDK streams the scan to (handed to the client with the token).
    fn sdk_base_url(&self) -> String;
    /// A token to enrol `verifier_user_id`'s face, judged under `policy`.
    async fn enrol_token(
        &self,
        verifier_user_id: &str,
        policy: &AssurancePolicy,
    ) -> Result<String, VerifierError>;
    /// A token to verify `verifier_user_id`'s face against its enrolment, judged under `policy`.
    async fn verify_token(
        &self,
        verifier_user_id: &str,
        policy: &AssurancePolicy,
    ) -> Result<String, VerifierError>;
    /// Asks, once, whether the verification streamed with `token` (issued under `policy`)
    /// passed.
    async fn verify_validate(
        &self,
        verifier_user_id: &str,
        token: &str,
        policy: &AssurancePolicy,
        client: ClientContext<'_>,
    ) -> Result<ScanVerdict, VerifierError>;
}

/// Why a personal field could not be sealed or opened (the key service refused or is down, or
/// the sealed value is not ours). Never carries the field's value.
#[derive(Debug, thiserror::Error)]
#[error("personal field sealing failed ({0})")]
pub struct SealError(pub String);

/// Personal fields (username, display name) encrypted at rest, bound to their field and owner so
/// a sealed value cannot be moved to another user or field.
#[async_trait]
pub trait FieldSealer: Send + Sync {
    async fn seal(&self, field: &str, owner: &str, plaintext: &str) -> Result<Sealed, SealError>;
    async fn open(&self, field: &str, owner: &str, sealed: &Sealed) -> Result<String, SealError>;
}

/// Why the application's keys could not be read (the secret store is down or refused).
#[derive(Debug, thiserror::Error)]
#[error("application keys unavailable ({0})")]
pub struct KeysUnavailable(pub String);

/// The key for keyed hashes (username blind index, rate-limit keys, pseudonyms): a secret the
/// deployment owns and may rotate, so it is read through a port, not held in code.
pub type PseudonymKey = std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>;

#[async_trait]
pub trait KeyRing: Send + Sync {
    async fn pseudonym_key(&self) -> Result<PseudonymKey, KeysUnavailable>;
}

/// What operators must hear about the rate limits while requests go on: every refusal, and a
/// username tried from more networks than its ceiling allows (an alarm, never a refusal).
/// Logs and metrics in production (the alarms read them).
pub trait RateLimitSignals: Send + Sync {
    /// A request was refused by `limit` (a route's or counter's name in metrics and logs).
    fn refused(&self, limit: &'static str, retry_after: u32);
    /// One username passed its ceiling across networks on `route` (`registration`, `login`).
    fn username_ceiling_passed(&self, route: &'static str);
}

/// Evidence of consent that outlives the user it was given by (GDPR Art. 7(1)): written by
/// erasure, never deleted by it, removed by the store itself when `keep_until` passes (DynamoDB
/// TTL). Erasure can only add to it.
#[async_trait]
pub trait ConsentEvidenceStore: Send + Sync {
    /// Keeps `evidence`; keeping it again (a repeated erasure) leaves the first copy as it is.
    async fn keep(&self, evidence: &ConsentEvidence) -> Result<(), StoreError>;
}
