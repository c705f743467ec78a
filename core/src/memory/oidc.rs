//! In-memory adapters of the OpenID provider's ports, with the conditions the DynamoDB
//! adapters must have (a conditional put per insert, a conditional update or delete per
//! single-use step), keys that sign with an HMAC behind the signer port, and [`OidcWorld`]:
//! every adapter and the use cases wired to them with the default settings.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{FixedClock, MemoryKeys, Outages, lock};
use crate::crypto::{constant_time_eq, hmac};
use crate::oidc::OidcSettings;
use crate::oidc::access_token::AccessTokenCheck;
use crate::oidc::authorize::Authorize;
use crate::oidc::client::{ClientKind, OidcClient, hash_client_secret};
use crate::oidc::client_auth::ClientAuth;
use crate::oidc::completion::CompleteAuthorization;
use crate::oidc::encoding::{b64url, b64url_decode};
use crate::oidc::introspection::Introspection;
use crate::oidc::jwks::PublishedKey;
use crate::oidc::logout::EndSession;
use crate::oidc::ports::{
    AssertionIds, AuthorizationCode, AuthorizationCodes, AuthorizationRequests,
    ClientAssertionVerifier, ClientRegistry, Grant, Grants, PendingAuthorization, Redemption,
    RefreshToken, RefreshTokens, SignatureVerifier, SigningUnavailable, TokenSigner, UserProfile,
    UserProfiles,
};
use crate::oidc::revocation::Revocation;
use crate::oidc::token::TokenEndpoint;
use crate::oidc::userinfo::UserInfo;
use crate::ports::StoreError;

/// Records of one kind by id, with the conditional writes the ports describe.
struct Table<T>(Mutex<HashMap<String, T>>);

impl<T: Clone> Table<T> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn get(&self, id: &str) -> Option<T> {
        lock(&self.0).get(id).cloned()
    }

    /// Inserts unless the id exists (`attribute_not_exists(pk)`).
    fn insert(&self, id: &str, item: &T) -> Result<(), StoreError> {
        let mut items = lock(&self.0);
        if items.contains_key(id) {
            return Err(StoreError::Conflict);
        }
        items.insert(id.to_owned(), item.clone());
        Ok(())
    }

    /// Changes the item if it exists and `guard` holds; `Conflict` otherwise.
    fn update(
        &self,
        id: &str,
        guard: impl FnOnce(&T) -> bool,
        change: impl FnOnce(&mut T),
    ) -> Result<(), StoreError> {
        match lock(&self.0).get_mut(id) {
            Some(item) if guard(item) => {
                change(item);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    fn len(&self) -> usize {
        lock(&self.0).len()
    }
}

/// Client registrations.
pub struct MemoryClients {
    clients: Table<OidcClient>,
    pub outages: Outages,
}

impl Default for MemoryClients {
    fn default() -> Self {
        Self {
            clients: Table::new(),
            outages: Outages::default(),
        }
    }
}

impl MemoryClients {
    /// Registers (or replaces) `client`.
    pub fn register(&self, client: OidcClient) {
        lock(&self.clients.0).insert(client.client_id.clone(), client);
    }

    /// The registration of `client_id`.
    pub fn client(&self, client_id: &str) -> Option<OidcClient> {
        self.clients.get(client_id)
    }

    /// Removes a registration.
    pub fn remove(&self, client_id: &str) {
        lock(&self.clients.0).remove(client_id);
    }
}

#[async_trait]
impl ClientRegistry for MemoryClients {
    async fn get(&self, client_id: &str) -> Result<Option<OidcClient>, StoreError> {
        self.outages.enter("get_client").await?;
        Ok(self.clients.get(client_id))
    }
}

/// Pending authorization requests.
pub struct MemoryAuthorizationRequests {
    requests: Table<PendingAuthorization>,
    pub outages: Outages,
}

impl Default for MemoryAuthorizationRequests {
    fn default() -> Self {
        Self {
            requests: Table::new(),
            outages: Outages::default(),
        }
    }
}

impl MemoryAuthorizationRequests {
    pub fn request(&self, id: &str) -> Option<PendingAuthorization> {
        self.requests.get(id)
    }

    pub fn count(&self) -> usize {
        self.requests.len()
    }
}

#[async_trait]
impl AuthorizationRequests for MemoryAuthorizationRequests {
    async fn put(&self, request: &PendingAuthorization) -> Result<(), StoreError> {
        self.outages.enter("put_request").await?;
        self.requests.insert(&request.id, request)
    }

    async fn get(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        self.outages.enter("get_request").await?;
        Ok(self.requests.get(id))
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.outages.enter("delete_request").await?;
        match lock(&self.requests.0).remove(id) {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict),
        }
    }
}

/// Authorization codes.
pub struct MemoryAuthorizationCodes {
    codes: Table<AuthorizationCode>,
    pub outages: Outages,
}

impl Default for MemoryAuthorizationCodes {
    fn default() -> Self {
        Self {
            codes: Table::new(),
            outages: Outages::default(),
        }
    }
}

impl MemoryAuthorizationCodes {
    pub fn code(&self, id: &str) -> Option<AuthorizationCode> {
        self.codes.get(id)
    }

    pub fn count(&self) -> usize {
        self.codes.len()
    }
}

#[async_trait]
impl AuthorizationCodes for MemoryAuthorizationCodes {
    async fn put(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.outages.enter("put_code").await?;
        self.codes.insert(&code.id, code)
    }

    async fn get(&self, id: &str) -> Result<Option<AuthorizationCode>, StoreError> {
        self.outages.enter("get_code").await?;
        Ok(self.codes.get(id))
    }

    async fn redeem(&self, id: &str, grant_id: &str, now: i64) -> Result<(), StoreError> {
        self.outages.enter("redeem").await?;
        self.codes.update(
            id,
            |code| code.redeemed.is_none(),
            |code| {
                code.redeemed = Some(Redemption {
                    at: now,
                    grant_id: grant_id.to_owned(),
                });
            },
        )
    }
}

/// Grants.
pub struct MemoryGrants {
    grants: Table<Grant>,
    pub outages: Outages,
}

impl Default for MemoryGrants {
    fn default() -> Self {
        Self {
            grants: Table::new(),
            outages: Outages::default(),
        }
    }
}

impl MemoryGrants {
    pub fn grant(&self, id: &str) -> Option<Grant> {
        self.grants.get(id)
    }

    /// Every grant, revoked or not.
    pub fn all(&self) -> Vec<Grant> {
        lock(&self.grants.0).values().cloned().collect()
    }

    /// Grants not revoked.
    pub fn live(&self) -> usize {
        self.all().iter().filter(|g| g.revoked_at.is_none()).count()
    }
}

#[async_trait]
impl Grants for MemoryGrants {
    async fn create(&self, grant: &Grant) -> Result<(), StoreError> {
        self.outages.enter("create_grant").await?;
        self.grants.insert(&grant.id, grant)
    }

    async fn get(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        self.outages.enter("get_grant").await?;
        Ok(self.grants.get(id))
    }

    async fn revoke(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.outages.enter("revoke_grant").await?;
        if let Some(grant) = lock(&self.grants.0).get_mut(id) {
            grant.revoked_at.get_or_insert(now);
        }
        Ok(())
    }
}

#[async_trait]
impl crate::oidc::ports::UserGrants for MemoryGrants {
    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        self.outages.enter("revoke_user_grants").await?;
        let mut grants = lock(&self.grants.0);
        let before = grants.len();
        grants.retain(|_, g| g.user_id != user_id);
        Ok(before - grants.len())
    }
}

/// Refresh tokens.
pub struct MemoryRefreshTokens {
    tokens: Table<RefreshToken>,
    pub outages: Outages,
}

impl Default for MemoryRefreshTokens {
    fn default() -> Self {
        Self {
            tokens: Table::new(),
            outages: Outages::default(),
        }
    }
}

impl MemoryRefreshTokens {
    pub fn token(&self, id: &str) -> Option<RefreshToken> {
        self.tokens.get(id)
    }

    pub fn count(&self) -> usize {
        self.tokens.len()
    }
}

#[async_trait]
impl RefreshTokens for MemoryRefreshTokens {
    async fn put(&self, token: &RefreshToken) -> Result<(), StoreError> {
        self.outages.enter("put_refresh").await?;
        self.tokens.insert(&token.id, token)
    }

    async fn get(&self, id: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.outages.enter("get_refresh").await?;
        Ok(self.tokens.get(id))
    }

    async fn mark_used(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.outages.enter("mark_used").await?;
        self.tokens.update(
            id,
            |token| token.used_at.is_none(),
            |token| token.used_at = Some(now),
        )
    }
}

/// Client assertion ids seen, per client.
#[derive(Default)]
pub struct MemoryAssertionIds {
    seen: Mutex<HashSet<(String, String)>>,
    pub outages: Outages,
}

#[async_trait]
impl AssertionIds for MemoryAssertionIds {
    async fn remember(
        &self,
        client_id: &str,
        jti: &str,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        self.outages.enter("remember_jti").await?;
        if lock(&self.seen).insert((client_id.to_owned(), jti.to_owned())) {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }
}

/// Profiles by user id: a display name each.
#[derive(Default)]
pub struct MemoryProfiles {
    names: Mutex<HashMap<String, String>>,
    pub outages: Outages,
}

impl MemoryProfiles {
    pub fn add(&self, user_id: &str, name: &str) {
        lock(&self.names).insert(user_id.to_owned(), name.to_owned());
    }

    /// The user is erased.
    pub fn erase(&self, user_id: &str) {
        lock(&self.names).remove(user_id);
    }
}

#[async_trait]
impl UserProfiles for MemoryProfiles {
    async fn find(
        &self,
        user_id: &str,
        with_name: bool,
    ) -> Result<Option<UserProfile>, StoreError> {
        self.outages.enter("find_profile").await?;
        Ok(lock(&self.names).get(user_id).map(|name| UserProfile {
            user_id: user_id.to_owned(),
            name: with_name.then(|| name.clone()),
        }))
    }
}

/// The provider's signing keys, for tests: a "signature" is two HMACs of the signing input
/// under a test secret and the `kid` (64 bytes, like ES256's `r || s`). The port hides the
/// algorithm, so the rules are tested all the same; the `alg` checks are on the header.
pub struct TestKeys {
    current: Mutex<String>,
    published: Mutex<Vec<String>>,
    down: AtomicBool,
}

impl Default for TestKeys {
    fn default() -> Self {
        Self {
            current: Mutex::new("k1".into()),
            published: Mutex::new(vec!["k1".into()]),
            down: AtomicBool::new(false),
        }
    }
}

impl TestKeys {
    /// Signs with a new key `kid` from now on, publishing it beside the others.
    pub fn rotate_to(&self, kid: &str) {
        *lock(&self.current) = kid.to_owned();
        lock(&self.published).push(kid.to_owned());
    }

    /// Stops publishing `kid`: tokens it signed are no longer accepted.
    pub fn retire(&self, kid: &str) {
        lock(&self.published).retain(|k| k != kid);
    }

    /// The key service refuses from now on (or works again).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The test signature of `input` under `kid`.
    pub fn signature(kid: &str, input: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&hmac(b"test signing key r", kid, input));
        out[32..].copy_from_slice(&hmac(b"test signing key s", kid, input));
        out
    }

    /// A token with any header and claims, signed under `kid` the test way: for tests that
    /// forge what an attacker might send.
    pub fn sign_raw(kid: &str, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = Self::signature(kid, input.as_bytes());
        format!("{input}.{}", b64url(&signature))
    }

    fn check(&self) -> Result<(), SigningUnavailable> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SigningUnavailable("key service down (simulated)".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl TokenSigner for TestKeys {
    async fn key_id(&self) -> Result<String, SigningUnavailable> {
        tokio::task::yield_now().await;
        self.check()?;
        Ok(lock(&self.current).clone())
    }

    async fn sign(&self, kid: &str, signing_input: &[u8]) -> Result<[u8; 64], SigningUnavailable> {
        tokio::task::yield_now().await;
        self.check()?;
        Ok(Self::signature(kid, signing_input))
    }
}

#[async_trait]
impl SignatureVerifier for TestKeys {
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningUnavailable> {
        self.check()?;
        Ok(lock(&self.published)
            .iter()
            .map(|kid| PublishedKey {
                kid: kid.clone(),
                x: hmac(b"test x", kid, b""),
                y: hmac(b"test y", kid, b""),
            })
            .collect())
    }

    fn verify(&self, key: &PublishedKey, signing_input: &[u8], signature: &[u8; 64]) -> bool {
        constant_time_eq(&Self::signature(&key.kid, signing_input), signature)
    }
}

/// Checks client assertions the test way: a client's "JWK set" is `{"keys":[{"kid", "k"}]}`
/// with `k` a base64url secret, and a signature is HMAC(k, alg, input).
#[derive(Default)]
pub struct TestAssertionVerifier;

impl TestAssertionVerifier {
    /// The JWK set of a test client whose key `kid` is `secret`.
    pub fn jwks(kid: &str, secret: &[u8]) -> Value {
        json!({ "keys": [{ "kid": kid, "k": b64url(secret) }] })
    }

    /// A client assertion with `claims`, signed with `secret` under `alg` and `kid`.
    pub fn assertion(secret: &[u8], alg: &str, kid: &str, claims: &Value) -> String {
        let header = json!({ "alg": alg, "kid": kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = hmac(secret, alg, input.as_bytes());
        format!("{input}.{}", b64url(&signature))
    }
}

impl ClientAssertionVerifier for TestAssertionVerifier {
    fn verify(
        &self,
        jwks: &Value,
        alg: &str,
        kid: Option<&str>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> bool {
        let Some(keys) = jwks["keys"].as_array() else {
            return false;
        };
        keys.iter()
            .filter(|key| kid.is_none_or(|kid| key["kid"] == kid))
            .filter_map(|key| key["k"].as_str().and_then(b64url_decode))
            .any(|secret| constant_time_eq(&hmac(&secret, alg, signing_input), signature))
    }
}

/// The issuer of the test world.
pub const ISSUER: &str = "https://api.example.com";
/// A public (native) client: PKCE, no secret, a loopback and an app-link redirect URI.
pub const PUBLIC_CLIENT: &str = "native-app";
pub const PUBLIC_REDIRECT: &str = "http://127.0.0.1/callback";
/// A confidential client with a secret.
pub const SECRET_CLIENT: &str = "web-app";
pub const SECRET: &str = "web-app-secret-with-256-bits-of-entropy-000";
pub const SECRET_REDIRECT: &str = "https://web.example/callback";
pub const SECRET_LOGOUT_REDIRECT: &str = "https://web.example/logged-out";
/// A confidential client with a key (`private_key_jwt`).
pub const KEY_CLIENT: &str = "service-app";
pub const KEY_CLIENT_SECRET: &[u8] = b"service app signing key";
pub const KEY_REDIRECT: &str = "https://service.example/cb";

/// Every OIDC adapter, the application keys and a test clock.
pub struct OidcWorld {
    pub clients: MemoryClients,
    pub requests: MemoryAuthorizationRequests,
    pub codes: MemoryAuthorizationCodes,
    pub grants: MemoryGrants,
    pub refresh_tokens: MemoryRefreshTokens,
    pub assertion_ids: MemoryAssertionIds,
    pub keys: TestKeys,
    pub assertion_verifier: TestAssertionVerifier,
    pub profiles: MemoryProfiles,
    pub app_keys: MemoryKeys,
    pub clock: FixedClock,
    pub settings: OidcSettings,
    /// What the token, revocation and logout endpoints recorded.
    pub audit: super::MemoryAuditTrail,
}

impl OidcWorld {
    /// Empty stores but the three test clients, user `user-1` ("Alice"), the clock at `now`.
    pub fn at(now: i64) -> Self {
        let world = Self {
            clients: MemoryClients::default(),
            requests: MemoryAuthorizationRequests::default(),
            codes: MemoryAuthorizationCodes::default(),
            grants: MemoryGrants::default(),
            refresh_tokens: MemoryRefreshTokens::default(),
            assertion_ids: MemoryAssertionIds::default(),
            keys: TestKeys::default(),
            assertion_verifier: TestAssertionVerifier,
            profiles: MemoryProfiles::default(),
            app_keys: MemoryKeys::default(),
            clock: FixedClock::at(now),
            audit: super::MemoryAuditTrail::default(),
            settings: match OidcSettings::new(ISSUER) {
                Ok(settings) => settings,
                Err(why) => unreachable!("the test issuer is valid: {why}"),
            },
        };
        let mut public = OidcClient::new(PUBLIC_CLIENT, "Native App", ClientKind::Public);
        public.redirect_uris = vec![PUBLIC_REDIRECT.into(), "https://app.example/cb".into()];
        world.clients.register(public);
        let mut secret = OidcClient::new(
            SECRET_CLIENT,
            "Web App",
            ClientKind::ConfidentialSecret {
                secret_hash: hash_client_secret(SECRET),
            },
        );
        secret.redirect_uris = vec![SECRET_REDIRECT.into()];
        secret.post_logout_redirect_uris = vec![SECRET_LOGOUT_REDIRECT.into()];
        world.clients.register(secret);
        let mut keyed = OidcClient::new(
            KEY_CLIENT,
            "Service App",
            ClientKind::ConfidentialPrivateKeyJwt {
                jwks: TestAssertionVerifier::jwks("c1", KEY_CLIENT_SECRET),
            },
        );
        keyed.redirect_uris = vec![KEY_REDIRECT.into()];
        world.clients.register(keyed);
        world.profiles.add("user-1", "Alice");
        world
    }

    pub fn authorize(&self) -> Authorize<'_> {
        Authorize {
            clients: &self.clients,
            requests: &self.requests,
            clock: &self.clock,
            settings: &self.settings,
        }
    }

    pub fn complete(&self) -> CompleteAuthorization<'_> {
        CompleteAuthorization {
            requests: &self.requests,
            codes: &self.codes,
            clock: &self.clock,
            settings: &self.settings,
        }
    }

    pub fn client_auth(&self) -> ClientAuth<'_> {
        ClientAuth {
            clients: &self.clients,
            assertion_verifier: &self.assertion_verifier,
            assertion_ids: &self.assertion_ids,
            clock: &self.clock,
            settings: &self.settings,
        }
    }

    pub fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            client_auth: self.client_auth(),
            codes: &self.codes,
            grants: &self.grants,
            refresh_tokens: &self.refresh_tokens,
            signer: &self.keys,
            profiles: &self.profiles,
            keys: &self.app_keys,
            audit: &self.audit,
        }
    }

    pub fn access_check(&self) -> AccessTokenCheck<'_> {
        AccessTokenCheck {
            verifier: &self.keys,
            grants: &self.grants,
            clock: &self.clock,
            settings: &self.settings,
        }
    }

    pub fn userinfo(&self) -> UserInfo<'_> {
        UserInfo {
            check: self.access_check(),
            profiles: &self.profiles,
        }
    }

    pub fn revocation(&self) -> Revocation<'_> {
        Revocation {
            client_auth: self.client_auth(),
            refresh_tokens: &self.refresh_tokens,
            grants: &self.grants,
            check: self.access_check(),
            audit: &self.audit,
        }
    }

    pub fn introspection(&self) -> Introspection<'_> {
        Introspection {
            client_auth: self.client_auth(),
            refresh_tokens: &self.refresh_tokens,
            grants: &self.grants,
            check: self.access_check(),
            keys: &self.app_keys,
        }
    }

    pub fn end_session(&self) -> EndSession<'_> {
        EndSession {
            clients: &self.clients,
            verifier: &self.keys,
            grants: &self.grants,
            clock: &self.clock,
            settings: &self.settings,
            audit: &self.audit,
        }
    }
}
