//! One audited event. Every field is an id we generated, a closed-vocabulary code, or a time:
//! no constructor takes free text that reaches the record unchecked, so personal data cannot
//! get in by accident (the log canary and the trail's own tests check it).

use serde::{Deserialize, Serialize};

/// What happened. Serialised as dotted names (`registration.completed`), the names
/// docs/audit.md lists; add, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditKind {
    #[serde(rename = "registration.started")]
    RegistrationStarted,
    #[serde(rename = "registration.completed")]
    RegistrationCompleted,
    #[serde(rename = "registration.failed")]
    RegistrationFailed,
    #[serde(rename = "login.succeeded")]
    LoginSucceeded,
    #[serde(rename = "login.failed")]
    LoginFailed,
    #[serde(rename = "step_up.passed")]
    StepUpPassed,
    #[serde(rename = "step_up.failed")]
    StepUpFailed,
    #[serde(rename = "session.logged_out")]
    LoggedOut,
    #[serde(rename = "erasure.requested")]
    ErasureRequested,
    #[serde(rename = "erasure.completed")]
    ErasureCompleted,
    /// An OpenID Connect grant began (a code was exchanged for tokens).
    #[serde(rename = "oidc.grant_issued")]
    OidcGrantIssued,
    /// A refresh token was exchanged for new tokens (credential refresh).
    #[serde(rename = "oidc.tokens_refreshed")]
    OidcTokensRefreshed,
    /// A grant ended: revoked by its client, by a replayed code or refresh token, or by logout.
    #[serde(rename = "oidc.grant_revoked")]
    OidcGrantRevoked,
    #[serde(rename = "operator.user_looked_up")]
    OperatorUserLookedUp,
    #[serde(rename = "operator.attempts_listed")]
    OperatorAttemptsListed,
    #[serde(rename = "operator.account_locked")]
    OperatorAccountLocked,
    #[serde(rename = "operator.account_unlocked")]
    OperatorAccountUnlocked,
    #[serde(rename = "operator.sessions_ended")]
    OperatorSessionsEnded,
    #[serde(rename = "operator.erasure_requested")]
    OperatorErasureRequested,
}

/// Who caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// The person the event is about, through the public API.
    Person,
    /// An operator, as the IAM principal (an ARN) API Gateway authenticated with SigV4.
    Operator { principal: String },
    /// A relying party of the OpenID Connect provider, by its client id.
    Client { client_id: String },
    /// The backend itself (the scan validator, the erasure function).
    System,
}

/// One audited event, as the functions hand it over. The trail's writer adds the sequence
/// number and the chain hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// A random id (32 hex digits): duplicate deliveries of one event are recorded once, and
    /// webhooks carry it as their idempotency id.
    pub id: String,
    /// When it happened, Unix seconds.
    pub at: i64,
    pub kind: AuditKind,
    pub actor: Actor,
    /// The user it is about (our random user id), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The registration it is about, for registration events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    /// A failure's reason code (the core's reason table), for `*.failed` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request that caused it, to join the trail with the functions' logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Why a grant ended, recorded as an `oidc.grant_revoked` event's reason: a closed list, like
/// the reason table's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationCause {
    /// The client revoked one of its tokens (RFC 7009).
    ClientRevoked,
    /// An authorization code was presented again after its exchange.
    CodeReplayed,
    /// A spent refresh token was presented again.
    RefreshReused,
    /// RP-initiated logout ended it.
    Logout,
}

impl RevocationCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientRevoked => "client_revoked",
            Self::CodeReplayed => "code_replayed",
            Self::RefreshReused => "refresh_reused",
            Self::Logout => "logout",
        }
    }
}

impl AuditEvent {
    /// An `oidc.*` event of `client_id`'s grant: the client is the actor.
    pub fn grant(kind: AuditKind, client_id: &str, at: i64) -> Option<Self> {
        Self::new(
            kind,
            Actor::Client {
                client_id: client_id.to_owned(),
            },
            at,
        )
    }

    /// A grant's end, with its cause as the reason.
    pub fn grant_revoked(client_id: &str, cause: RevocationCause, at: i64) -> Option<Self> {
        let mut event = Self::grant(AuditKind::OidcGrantRevoked, client_id, at)?;
        event.reason = Some(cause.as_str().to_owned());
        Some(event)
    }

    /// A new event of `kind` by `actor` at `at`, with a fresh random id (`None` when the
    /// system's random source failed).
    pub fn new(kind: AuditKind, actor: Actor, at: i64) -> Option<Self> {
        let id = crate::crypto::random_bytes::<16>()
            .ok()
            .map(|b| crate::crypto::hex(&b))?;
        Some(Self {
            id,
            at,
            kind,
            actor,
            user_id: None,
            registration_id: None,
            reason: None,
            request_id: None,
        })
    }

    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    pub fn registration(mut self, registration_id: &str) -> Self {
        self.registration_id = Some(registration_id.to_owned());
        self
    }

    /// Only codes of the core's reason table are kept; anything else becomes `other`.
    pub fn reason(mut self, code: &str) -> Self {
        self.reason = Some(
            crate::domain::reasons::Reason::from_code(code)
                .as_str()
                .to_owned(),
        );
        self
    }

    pub fn request(mut self, request_id: Option<&str>) -> Self {
        self.request_id = request_id.map(str::to_owned);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_their_dotted_names() {
        let json = serde_json::to_string(&AuditKind::RegistrationCompleted).unwrap();
        assert_eq!(json, "\"registration.completed\"");
    }

    #[test]
    fn a_reason_outside_the_table_is_recorded_as_other() {
        let event = AuditEvent::new(AuditKind::LoginFailed, Actor::Person, 1)
            .unwrap()
            .reason("Alice Smith");
        assert_eq!(event.reason.as_deref(), Some("other"));
    }
}
