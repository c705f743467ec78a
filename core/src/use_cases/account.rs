//! The account function's journeys: logging in ([`login`]), and what a logged-in person does
//! with their session — read their account ([`ReadAccount`]), log out ([`Logout`]), prove
//! their face again before a sensitive action ([`step_up`]), ask to be erased
//! ([`request_erasure`], which needs that step-up).
//!
//! Every session route starts with the same check ([`SessionAuth`]). Expiry is decided here, in
//! code: the store's TTL only cleans up, possibly days late. Activity is recorded at most once a
//! minute, so the idle timeout slides without a write on every request.
//!
//! The account is always the session's: no user id is ever taken from the request.

pub mod access_token;
mod attempt;
pub mod login;
pub mod request_erasure;
pub mod step_up;

use super::failure::Failure;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::crypto::Credential;
use crate::ports::{Clock, FieldSealer, Session, SessionControl, SessionStore, User, UserStore};

/// Seconds between two `last_seen` writes for one session: the idle timeout may then end up to
/// this much early, which buys one write per minute instead of one per request.
pub const TOUCH_EVERY_SECONDS: i64 = 60;

/// Why a presented session credential opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRefused {
    /// No session matches (unknown id, wrong secret, revoked), or its user is gone.
    Unauthorized,
    /// The session exists but is past its idle or absolute expiry.
    Expired,
}

/// What a session route did: its result for a live session, or why the session was refused.
#[derive(Debug)]
pub enum Authenticated<T> {
    Live(T),
    Refused(SessionRefused),
}

/// The check every session route starts with.
pub struct SessionAuth<'a> {
    pub sessions: &'a dyn SessionStore,
    pub control: &'a dyn SessionControl,
    pub clock: &'a dyn Clock,
    /// A session unused for this long is over.
    pub idle_seconds: i64,
}

/// A live session whose activity may still have to be recorded: the route records it beside
/// its next call ([`SessionAuth::beside`]), so the write costs no round trip of its own.
#[derive(Debug)]
pub struct LiveSession {
    pub session: Session,
    /// When the activity is due to be recorded: the check's clock reading.
    touch_due: Option<i64>,
}

impl SessionAuth<'_> {
    /// The live session `credential` opens, with its activity recorded (when due) before it
    /// answers: for a route whose next step needs nothing but the session. See [`Self::open`].
    pub async fn check(&self, credential: &Credential) -> Result<Authenticated<Session>, Failure> {
        let live = match self.open(credential).await? {
            Authenticated::Live(live) => live,
            Authenticated::Refused(why) => return Ok(Authenticated::Refused(why)),
        };
        self.beside(&live, async {}).await;
        Ok(Authenticated::Live(live.session))
    }

    /// The live session `credential` opens. Its absolute and idle expiries are checked against
    /// the clock; its activity is due when the last record is a minute old or more, and is
    /// recorded by [`Self::beside`] (a route that ends the session need not record it).
    pub async fn open(
        &self,
        credential: &Credential,
    ) -> Result<Authenticated<LiveSession>, Failure> {
        let now = self.clock.now();
        let Some(session) = self
            .sessions
            .get(&credential.id)
            .await?
            .filter(|s| credential.matches(&s.secret_hash))
        else {
            return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
        };
        let idle_deadline = session.last_seen + self.idle_seconds;
        if now >= session.absolute_expires_at || now >= idle_deadline {
            return Ok(Authenticated::Refused(SessionRefused::Expired));
        }
        let touch_due = (now - session.last_seen >= TOUCH_EVERY_SECONDS).then_some(now);
        Ok(Authenticated::Live(LiveSession { session, touch_due }))
    }

    /// Runs `next` while the session's due activity is recorded: the two are independent. A
    /// failure to record it is only logged (the session just slides less).
    pub async fn beside<T>(&self, live: &LiveSession, next: impl Future<Output = T>) -> T {
        let touch = async {
            if let Some(now) = live.touch_due
                && let Err(err) = self.control.touch(&live.session.id, now).await
            {
                tracing::warn!(error = %err, "could not record session activity");
            }
        };
        let ((), answer) = futures::join!(touch, next);
        answer
    }
}

/// The account as the API shows it: never the image, never the verifier's ids. Its personal
/// fields are open, so `Debug` shows the user id only: an account printed into a log must not
/// carry a name.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub created_at: i64,
    /// The consent the account was registered under (none for accounts older than the record).
    pub consent: Option<crate::domain::ConsentRecord>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// `user`'s account, its personal fields opened (both at once) for one answer only; they
    /// stay sealed everywhere else.
    pub async fn open(sealer: &dyn FieldSealer, user: &User) -> Result<Self, Failure> {
        let (username, display_name) = futures::try_join!(
            sealer.open("username", &user.user_id, &user.username),
            sealer.open("display_name", &user.user_id, &user.display_name),
        )?;
        Ok(Self {
            user_id: user.user_id.clone(),
            username,
            display_name,
            created_at: user.created_at,
            consent: user.consent.clone(),
        })
    }
}

/// Reading my account (`GET /v1/users`).
pub struct ReadAccount<'a> {
    pub auth: SessionAuth<'a>,
    pub users: &'a dyn UserStore,
    pub sealer: &'a dyn FieldSealer,
}

impl ReadAccount<'_> {
    /// The session's account. A session whose user is gone (erased, its sessions not yet
    /// ended) opens nothing, as an unknown session would.
    pub async fn run(&self, credential: &Credential) -> Result<Authenticated<Account>, Failure> {
        let live = match self.auth.open(credential).await? {
            Authenticated::Live(live) => live,
            Authenticated::Refused(why) => return Ok(Authenticated::Refused(why)),
        };
        let user = self.users.get(&live.session.user_id);
        let Some(user) = self.auth.beside(&live, user).await? else {
            return Ok(Authenticated::Refused(SessionRefused::Unauthorized));
        };
        Account::open(self.sealer, &user)
            .await
            .map(Authenticated::Live)
    }
}

/// Logging out (`POST /v1/logout`): the session ends server-side, so a copy of its credential
/// left anywhere opens nothing.
pub struct Logout<'a> {
    pub auth: SessionAuth<'a>,
}

/// A session ended by logout: whose it was, for the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOut {
    pub user_id: String,
}

impl LoggedOut {
    /// What the trail records: the person ended their session.
    pub fn audit_event(&self, request_id: &str, now: i64) -> Option<AuditEvent> {
        Some(
            AuditEvent::new(AuditKind::LoggedOut, Actor::Person, now)?
                .user(&self.user_id)
                .request(Some(request_id)),
        )
    }
}

impl Logout<'_> {
    /// Ends the session; its activity is not recorded, since the session is ending.
    pub async fn run(&self, credential: &Credential) -> Result<Authenticated<LoggedOut>, Failure> {
        let session = match self.auth.open(credential).await? {
            Authenticated::Live(live) => live.session,
            Authenticated::Refused(why) => return Ok(Authenticated::Refused(why)),
        };
        self.auth.control.revoke(&session.id).await?;
        tracing::info!("logged out");
        Ok(Authenticated::Live(LoggedOut {
            user_id: session.user_id,
        }))
    }
}
