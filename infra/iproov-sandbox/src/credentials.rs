//! The credentials the sandbox accepts, which a test may rotate while the server runs.
//!
//! They start as the [`SandboxConfig`] values. `PUT /sandbox/credentials` replaces any subset of
//! them, optionally keeping the values it replaced acceptable for a grace period (a real rotation
//! overlaps: old and new secret both work until every caller has picked up the new one), and
//! `POST /sandbox/reset` restores the start-up values.
//!
//! Values are compared in constant time and never printed: `Debug` redacts them and the control
//! surface only ever shows their fingerprints.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::config::SandboxConfig;
use crate::paths::token_fingerprint;

/// Longest grace period `PUT /sandbox/credentials` accepts, in seconds (an hour).
pub const MAX_GRACE_SECONDS: u64 = 3600;

/// Longest credential value, in characters.
pub const MAX_CREDENTIAL_CHARS: usize = 256;

/// One of the four credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    ApiKey,
    Secret,
    OauthClientId,
    OauthClientSecret,
}

impl Field {
    pub const ALL: [Field; 4] = [
        Field::ApiKey,
        Field::Secret,
        Field::OauthClientId,
        Field::OauthClientSecret,
    ];

    /// The name used in `SandboxConfig`, in the control bodies and in answers.
    pub fn name(self) -> &'static str {
        match self {
            Field::ApiKey => "api_key",
            Field::Secret => "secret",
            Field::OauthClientId => "oauth_client_id",
            Field::OauthClientSecret => "oauth_client_secret",
        }
    }

    /// Why `value` cannot be this credential, or `None` when it can. The reason never quotes
    /// the value.
    pub fn refusal(self, value: &str) -> Option<String> {
        let name = self.name();
        let length = value.chars().count();
        if !(1..=MAX_CREDENTIAL_CHARS).contains(&length) {
            return Some(format!(
                "`{name}` must be 1 to {MAX_CREDENTIAL_CHARS} characters long"
            ));
        }
        if value.chars().any(char::is_control) {
            return Some(format!("`{name}` must not contain control characters"));
        }
        // HTTP Basic (RFC 7617) splits user and password at the first colon, so a client id
        // holding one could never authenticate.
        if self == Field::OauthClientId && value.contains(':') {
            return Some(format!("`{name}` must not contain `:` (HTTP Basic user)"));
        }
        None
    }
}

/// One complete set of credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialSet {
    api_key: String,
    secret: String,
    oauth_client_id: String,
    oauth_client_secret: String,
}

impl CredentialSet {
    pub fn from_config(config: &SandboxConfig) -> Self {
        CredentialSet {
            api_key: config.api_key.clone(),
            secret: config.secret.clone(),
            oauth_client_id: config.oauth_client_id.clone(),
            oauth_client_secret: config.oauth_client_secret.clone(),
        }
    }

    fn get(&self, field: Field) -> &str {
        match field {
            Field::ApiKey => &self.api_key,
            Field::Secret => &self.secret,
            Field::OauthClientId => &self.oauth_client_id,
            Field::OauthClientSecret => &self.oauth_client_secret,
        }
    }

    fn slot(&mut self, field: Field) -> &mut String {
        match field {
            Field::ApiKey => &mut self.api_key,
            Field::Secret => &mut self.secret,
            Field::OauthClientId => &mut self.oauth_client_id,
            Field::OauthClientSecret => &mut self.oauth_client_secret,
        }
    }

    fn claim_matches(&self, api_key: &str, secret: &str) -> bool {
        let key_ok = constant_time_eq(api_key, &self.api_key);
        let secret_ok = constant_time_eq(secret, &self.secret);
        key_ok & secret_ok
    }

    fn api_key_matches(&self, api_key: &str) -> bool {
        constant_time_eq(api_key, &self.api_key)
    }

    fn oauth_client_matches(&self, client_id: &str, client_secret: &str) -> bool {
        let id_ok = constant_time_eq(client_id, &self.oauth_client_id);
        let secret_ok = constant_time_eq(client_secret, &self.oauth_client_secret);
        id_ok & secret_ok
    }

    /// `{"api_key": FP, "secret": FP, …}`: fingerprints only, never a value.
    fn fingerprints(&self) -> Map<String, Value> {
        Field::ALL
            .iter()
            .map(|field| {
                (
                    field.name().to_owned(),
                    json!(token_fingerprint(self.get(*field))),
                )
            })
            .collect()
    }
}

/// Credentials never reach a log line, not even through `{:?}`.
impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSet")
            .field("api_key", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("oauth_client_id", &"<redacted>")
            .field("oauth_client_secret", &"<redacted>")
            .finish()
    }
}

/// The set replaced by the last rotation, still accepted until `until`.
#[derive(Debug)]
struct Previous {
    set: CredentialSet,
    until: Instant,
}

/// What the sandbox accepts right now.
#[derive(Debug)]
pub struct Credentials {
    current: CredentialSet,
    previous: Option<Previous>,
}

impl Credentials {
    pub fn new(config: &SandboxConfig) -> Self {
        Credentials {
            current: CredentialSet::from_config(config),
            previous: None,
        }
    }

    /// Replaces the given fields. The whole set they replace stays accepted for `grace` (zero:
    /// not at all). Only the set just replaced is kept: a rotation ends the grace period of the
    /// one before it.
    pub fn rotate(&mut self, changes: Vec<(Field, String)>, grace: Duration, now: Instant) {
        let replaced = self.current.clone();
        for (field, value) in changes {
            *self.current.slot(field) = value;
        }
        self.previous = now
            .checked_add(grace)
            .filter(|_| !grace.is_zero())
            .map(|until| Previous {
                set: replaced,
                until,
            });
    }

    /// The previous set while its grace period lasts.
    fn previous(&self, now: Instant) -> Option<&Previous> {
        self.previous
            .as_ref()
            .filter(|previous| now < previous.until)
    }

    /// The sets a call may authenticate with: the current one, then the previous one during
    /// its grace period.
    fn accepted(&self, now: Instant) -> impl Iterator<Item = &CredentialSet> {
        std::iter::once(&self.current).chain(self.previous(now).map(|previous| &previous.set))
    }

    /// `api_key` and `secret` of the claim calls, both from the same set (a new key with an old
    /// secret is refused).
    pub fn claim_matches(&self, api_key: &str, secret: &str, now: Instant) -> bool {
        self.accepted(now)
            .fold(false, |ok, set| ok | set.claim_matches(api_key, secret))
    }

    /// The `api_key` of the access-token path and of availability.
    pub fn api_key_matches(&self, api_key: &str, now: Instant) -> bool {
        self.accepted(now)
            .fold(false, |ok, set| ok | set.api_key_matches(api_key))
    }

    /// The OAuth client (HTTP Basic user and password), both from the same set.
    pub fn oauth_client_matches(&self, client_id: &str, client_secret: &str, now: Instant) -> bool {
        self.accepted(now).fold(false, |ok, set| {
            ok | set.oauth_client_matches(client_id, client_secret)
        })
    }

    /// The answer of `GET` and `PUT /sandbox/credentials`.
    pub fn to_json(&self, now: Instant) -> Value {
        let previous = self.previous(now).map(|previous| {
            let mut answer = previous.set.fingerprints();
            let left = previous.until.saturating_duration_since(now);
            answer.insert("grace_seconds_left".into(), json!(left.as_secs_f64()));
            Value::Object(answer)
        });
        json!({
            "current": Value::Object(self.current.fingerprints()),
            "previous": previous,
        })
    }
}

fn constant_time_eq(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = u8::from(given.len() != expected.len());
    for (index, byte) in expected.iter().enumerate() {
        difference |= byte ^ given.get(index).copied().unwrap_or(!byte);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const START_KEY: &str = "sandbox-api-key";
    const START_SECRET: &str = "sandbox-secret";

    fn rotated_key(grace: Duration, now: Instant) -> Credentials {
        let mut credentials = Credentials::new(&SandboxConfig::default());
        credentials.rotate(
            vec![
                (Field::ApiKey, "new-key".to_owned()),
                (Field::Secret, "new-secret".to_owned()),
            ],
            grace,
            now,
        );
        credentials
    }

    #[test]
    fn credentials_compare_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abd", "abc"));
        assert!(!constant_time_eq("ab", "abc"));
        assert!(!constant_time_eq("abcd", "abc"));
        assert!(!constant_time_eq("", "abc"));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn without_grace_only_the_new_values_are_accepted() {
        let now = Instant::now();
        let credentials = rotated_key(Duration::ZERO, now);
        assert!(credentials.claim_matches("new-key", "new-secret", now));
        assert!(!credentials.claim_matches(START_KEY, START_SECRET, now));
        assert!(!credentials.api_key_matches(START_KEY, now));
        assert!(credentials.oauth_client_matches("sandbox-oauth-id", "sandbox-oauth-secret", now));
    }

    #[test]
    fn the_previous_values_are_accepted_until_the_grace_period_ends() {
        let now = Instant::now();
        let credentials = rotated_key(Duration::from_secs(10), now);
        let almost = now + Duration::from_millis(9_999);
        let over = now + Duration::from_secs(10);
        assert!(credentials.claim_matches(START_KEY, START_SECRET, almost));
        assert!(credentials.api_key_matches(START_KEY, almost));
        assert!(credentials.claim_matches("new-key", "new-secret", almost));
        assert!(!credentials.claim_matches(START_KEY, "new-secret", almost));
        assert!(!credentials.claim_matches(START_KEY, START_SECRET, over));
        assert!(!credentials.api_key_matches(START_KEY, over));
        assert!(credentials.to_json(almost)["previous"].is_object());
        assert_eq!(credentials.to_json(over)["previous"], Value::Null);
    }

    #[test]
    fn a_second_rotation_ends_the_first_grace_period() {
        let now = Instant::now();
        let mut credentials = rotated_key(Duration::from_secs(60), now);
        credentials.rotate(
            vec![(Field::Secret, "newer-secret".to_owned())],
            Duration::ZERO,
            now,
        );
        assert!(!credentials.claim_matches(START_KEY, START_SECRET, now));
        assert!(!credentials.claim_matches("new-key", "new-secret", now));
        assert!(credentials.claim_matches("new-key", "newer-secret", now));
    }

    #[test]
    fn debug_and_json_never_show_a_value() {
        let now = Instant::now();
        let credentials = rotated_key(Duration::from_secs(60), now);
        let printed = format!("{credentials:?} {}", credentials.to_json(now));
        for value in [
            START_KEY,
            START_SECRET,
            "new-key",
            "new-secret",
            "sandbox-oauth-id",
            "sandbox-oauth-secret",
        ] {
            assert!(!printed.contains(value), "{printed}");
        }
        assert!(printed.contains(&token_fingerprint("new-key")), "{printed}");
    }

    #[test]
    fn values_are_checked_for_length_control_characters_and_basic_colons() {
        assert_eq!(Field::ApiKey.refusal("k"), None);
        assert_eq!(Field::ApiKey.refusal(&"é".repeat(256)), None);
        assert!(Field::ApiKey.refusal("").is_some());
        assert!(Field::Secret.refusal(&"x".repeat(257)).is_some());
        assert!(Field::Secret.refusal("a\nb").is_some());
        assert!(Field::Secret.refusal("a\u{7f}b").is_some());
        assert!(Field::OauthClientId.refusal("a:b").is_some());
        assert_eq!(Field::OauthClientSecret.refusal("a:b"), None);
        let refusal = Field::Secret.refusal("top\tsecret").unwrap_or_default();
        assert!(!refusal.contains("top"), "{refusal}");
    }
}
