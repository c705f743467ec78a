//! iProov credentials and where they come from.
//!
//! Credentials live in Secrets Manager and rotate. The client never caches them itself: it asks
//! a [`CredentialSource`] for the current ones on every call, and asks it to refresh once when
//! iProov refuses the key, so a rotation is picked up without a restart.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::error::IProovError;

/// The four secrets iProov gives a service provider.
///
/// `Debug` shows only a short prefix of the API key, enough to tell two keys apart in a
/// support conversation; everything else is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct IProovCredentials {
    /// Identifies the service provider; sent in claim bodies, and in the access-token path.
    pub api_key: String,
    /// Authenticates claim calls; sent in claim bodies only.
    pub secret: String,
    /// OAuth client id for the user-management API (HTTP Basic user name).
    pub oauth_client_id: String,
    /// OAuth client secret for the user-management API (HTTP Basic password).
    pub oauth_client_secret: String,
}

/// How many leading characters of the API key `Debug` may show.
const API_KEY_PREFIX: usize = 4;

impl fmt::Debug for IProovCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short keys would be revealed almost entirely by a prefix: show none of them.
        let shown: String = if self.api_key.chars().count() >= 3 * API_KEY_PREFIX {
            let prefix: String = self.api_key.chars().take(API_KEY_PREFIX).collect();
            format!("{prefix}…")
        } else {
            "<redacted>".to_owned()
        };
        f.debug_struct("IProovCredentials")
            .field("api_key", &shown)
            .field("secret", &"<redacted>")
            .field("oauth_client_id", &"<redacted>")
            .field("oauth_client_secret", &"<redacted>")
            .finish()
    }
}

/// Where the client gets credentials: Secrets Manager in production, a constant in tests.
///
/// `current` is called on every iProov call and should be cheap (a cached value with a TTL).
/// `refresh` is called when iProov refuses the key: it must bypass any cache, because the
/// secret has probably been rotated.
#[async_trait]
pub trait CredentialSource: Send + Sync {
    /// The credentials to use now.
    async fn current(&self) -> Result<Arc<IProovCredentials>, IProovError>;
    /// Fresh credentials from the store, replacing any cached ones.
    async fn refresh(&self) -> Result<Arc<IProovCredentials>, IProovError>;
}

/// Fixed credentials, for tests and local runs against the sandbox.
#[derive(Clone)]
pub struct StaticCredentials(Arc<IProovCredentials>);

impl StaticCredentials {
    /// Wraps credentials that never change.
    pub fn new(credentials: IProovCredentials) -> Self {
        Self(Arc::new(credentials))
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StaticCredentials").field(&self.0).finish()
    }
}

#[async_trait]
impl CredentialSource for StaticCredentials {
    async fn current(&self) -> Result<Arc<IProovCredentials>, IProovError> {
        Ok(Arc::clone(&self.0))
    }

    async fn refresh(&self) -> Result<Arc<IProovCredentials>, IProovError> {
        Ok(Arc::clone(&self.0))
    }
}
