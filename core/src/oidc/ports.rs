//! What the provider needs from the outside world: the stores of its records and the keys that
//! sign and check tokens. The AWS adapters implement them (DynamoDB, KMS); `memory::oidc`
//! implements them for the unit tests.
//!
//! Every single-use step is one conditional write in the store, never a read then a write in
//! the core: the store is where concurrent requests meet, so only it can let exactly one win.
//! Reads (`get`) must be strongly consistent, so a step just written is seen by the next
//! request. Records carry their own expiry, checked by the core against the clock; a store
//! TTL on the same field is only cleanup.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::OidcClient;
use super::jwks::PublishedKey;
use crate::ports::StoreError;

/// The client registrations (written by operators or a registration tool, never by code).
#[async_trait]
pub trait ClientRegistry: Send + Sync {
    /// The registration of `client_id`, or `None` when there is none.
    async fn get(&self, client_id: &str) -> Result<Option<OidcClient>, StoreError>;
}

/// A validated authorization request, waiting for the person to sign in (10 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// Random, 128 bits: the sign-in page's `?request=` value.
    pub id: String,
    pub client_id: String,
    /// As presented (it matched a registered one); the code is bound to it.
    pub redirect_uri: String,
    /// The requested scope, space-separated.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 challenge, when the client sent one (always for public clients).
    pub code_challenge: Option<String>,
    pub max_age: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The pending authorization requests.
#[async_trait]
pub trait AuthorizationRequests: Send + Sync {
    /// Inserts `request`; `Conflict` if its id exists (a conditional put).
    async fn put(&self, request: &PendingAuthorization) -> Result<(), StoreError>;
    /// The request `id` (strongly consistent), expired or not.
    async fn get(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError>;
    /// Deletes request `id`, only if it exists: `Conflict` when it does not (a conditional
    /// delete). Of concurrent completions of one request exactly one gets `Ok`: this is what
    /// makes a request single-use.
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
}

/// Where a redeemed code's tokens went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    pub at: i64,
    /// The grant the redemption created: revoked if the code is presented again.
    pub grant_id: String,
}

/// A one-time authorization code, stored by the hash of its secret (a `Credential`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub id: String,
    pub secret_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    pub user_id: String,
    /// When the person scanned their face: the login session's creation.
    pub auth_time: i64,
    pub acr: Option<String>,
    /// When the authorization request was made.
    pub requested_at: i64,
    pub created_at: i64,
    pub expires_at: i64,
    /// Set once, by [`AuthorizationCodes::redeem`].
    pub redeemed: Option<Redemption>,
}

/// The authorization codes.
#[async_trait]
pub trait AuthorizationCodes: Send + Sync {
    /// Inserts `code`; `Conflict` if its id exists (a conditional put).
    async fn put(&self, code: &AuthorizationCode) -> Result<(), StoreError>;
    /// The code `id` (strongly consistent), with its redemption if any.
    async fn get(&self, id: &str) -> Result<Option<AuthorizationCode>, StoreError>;
    /// Records that the code was redeemed at `now` into grant `grant_id`, only if it exists
    /// and was never redeemed: `Conflict` otherwise (one conditional update, e.g.
    /// `attribute_exists(pk) AND attribute_not_exists(redeemed_at)`). Of concurrent
    /// redemptions exactly one gets `Ok`.
    async fn redeem(&self, id: &str, grant_id: &str, now: i64) -> Result<(), StoreError>;
}

/// What a person allowed one client: the root every token of one authorization hangs from.
/// Access and refresh tokens are valid only while their grant is, so revoking the grant
/// revokes them all at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Random, 128 bits: the `sid` of its tokens.
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub acr: Option<String>,
    pub created_at: i64,
    /// Absolute end: no refresh extends it.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl Grant {
    /// Whether tokens of this grant are valid at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// The grants.
#[async_trait]
pub trait Grants: Send + Sync {
    /// Inserts `grant`; `Conflict` if its id exists (a conditional put).
    async fn create(&self, grant: &Grant) -> Result<(), StoreError>;
    /// The grant `id` (strongly consistent), revoked or not.
    async fn get(&self, id: &str) -> Result<Option<Grant>, StoreError>;
    /// Marks grant `id` revoked at `now` if it exists and is not revoked yet; revoking a
    /// missing or revoked grant is `Ok` and changes nothing (idempotent). Every check treats
    /// a missing grant as a revoked one, so the mark is for the record (and the store's TTL
    /// on `expires_at` cleans it up); it must never make a revoked grant live again.
    async fn revoke(&self, id: &str, now: i64) -> Result<(), StoreError>;
}

/// Every grant of one person: erasure ends them, so no refresh or access token outlives the
/// account.
#[async_trait]
pub trait UserGrants: Send + Sync {
    /// Ends every grant of `user_id` (repeating it is harmless); returns how many there were.
    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError>;
}

/// A refresh token, stored by the hash of its secret (a `Credential`), one per rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub id: String,
    pub secret_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub created_at: i64,
    /// The grant's end (the token is worth nothing after it).
    pub expires_at: i64,
    /// Set once, by [`RefreshTokens::mark_used`].
    pub used_at: Option<i64>,
}

/// The refresh tokens.
#[async_trait]
pub trait RefreshTokens: Send + Sync {
    /// Inserts `token`; `Conflict` if its id exists (a conditional put).
    async fn put(&self, token: &RefreshToken) -> Result<(), StoreError>;
    /// The token `id` (strongly consistent), used or not.
    async fn get(&self, id: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// Marks token `id` used at `now`, only if it exists and was never used: `Conflict`
    /// otherwise (one conditional update, e.g. `attribute_exists(pk) AND
    /// attribute_not_exists(used_at)`). Of concurrent refreshes with one token exactly one
    /// gets `Ok`.
    async fn mark_used(&self, id: &str, now: i64) -> Result<(), StoreError>;
}

/// The `jti`s of client assertions already used (`private_key_jwt`).
#[async_trait]
pub trait AssertionIds: Send + Sync {
    /// Records that `client_id` used the assertion `jti`, to be kept until at least
    /// `expires_at` (the assertion's own expiry); `Conflict` if it is recorded already (a
    /// conditional put keyed by client and jti), so a replayed assertion is refused.
    async fn remember(&self, client_id: &str, jti: &str, expires_at: i64)
    -> Result<(), StoreError>;
}

/// Why the key service could not sign or list keys. Never carries token contents.
#[derive(Debug, thiserror::Error)]
#[error("signing key unavailable ({0})")]
pub struct SigningUnavailable(pub String);

/// Signs tokens (KMS in production: an ECC_NIST_P256 key, `ECDSA_SHA_256`).
///
/// The `kid` is asked first because it is part of the JWS header, and the header is part of
/// what is signed.
#[async_trait]
pub trait TokenSigner: Send + Sync {
    /// The `kid` of the key [`TokenSigner::sign`] signs with now: one of the published keys.
    async fn key_id(&self) -> Result<String, SigningUnavailable>;
    /// The ES256 signature of `signing_input` (the ASCII `header.claims`) under key `kid`:
    /// ECDSA P-256 over its SHA-256, as the 64 bytes `r || s` of JWS (RFC 7518 §3.4), each
    /// 32 bytes big-endian, left-padded with zeros — not the DER KMS returns.
    async fn sign(&self, kid: &str, signing_input: &[u8]) -> Result<[u8; 64], SigningUnavailable>;
}

/// Checks the provider's own tokens.
#[async_trait]
pub trait SignatureVerifier: Send + Sync {
    /// The keys a token of ours may be signed with: the signing key, and retired keys as long
    /// as tokens they signed may still be presented (ID tokens as logout hints, up to the
    /// grant lifetime). The JWKS publishes exactly these. The adapter caches them.
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningUnavailable>;
    /// Whether `signature` (`r || s`) is a valid ES256 signature of `signing_input` under
    /// `key`. Pure computation (aws-lc-rs with the key's coordinates): no call out.
    fn verify(&self, key: &PublishedKey, signing_input: &[u8], signature: &[u8; 64]) -> bool;
}

/// Checks the signature of a client's assertion (`private_key_jwt`) with the public keys the
/// client registered (its JWK set, opaque to the core).
pub trait ClientAssertionVerifier: Send + Sync {
    /// Whether `signature` is a valid `alg` signature (one of
    /// [`super::client_auth::ASSERTION_ALGS`]) of `signing_input` under a key of `jwks`: the
    /// key named `kid` when given, else any key of the set usable with `alg`. `false` on any
    /// doubt (malformed set, unknown `kid`, key of another type, signature of the wrong size).
    fn verify(
        &self,
        jwks: &Value,
        alg: &str,
        kid: Option<&str>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> bool;
}

/// What the provider may say about a person.
#[derive(Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub user_id: String,
    /// The display name, opened only when asked for (the `profile` scope).
    pub name: Option<String>,
}

impl std::fmt::Debug for UserProfile {
    /// The name is personal data: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserProfile")
            .field("user_id", &self.user_id)
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The people tokens are issued about: whether they still exist, and their display name.
/// [`super::profile::SealedProfiles`] implements it over the user store and the field sealer.
#[async_trait]
pub trait UserProfiles: Send + Sync {
    /// The profile of `user_id`, its display name opened when `with_name`; `None` when the
    /// user no longer exists (erased), so nothing more is issued about them.
    async fn find(&self, user_id: &str, with_name: bool)
    -> Result<Option<UserProfile>, StoreError>;
}
