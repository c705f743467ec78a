//! Client registrations: who may ask for tokens, how each proves it is itself, and where its
//! answers may go. They come from the `ClientRegistry` store, never from code, so adding or
//! removing a client is an operation, not a deployment.

use sha2::{Digest, Sha256};

use super::scope::DEFAULT_SCOPES;
use crate::crypto::{constant_time_eq, hex};

/// How a client authenticates at the token, revocation and introspection endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKind {
    /// A native or browser app, which can keep no secret: it names itself (`client_id`) and
    /// must prove possession of each code with PKCE.
    Public,
    /// `client_secret_basic` or `client_secret_post`. Only the lowercase hex SHA-256 of the
    /// secret is stored ([`hash_client_secret`]); the secret must have full entropy (at least
    /// 256 random bits), which is what makes a fast hash enough.
    ConfidentialSecret { secret_hash: String },
    /// `private_key_jwt` (RFC 7523): the client signs an assertion with a private key whose
    /// public half is registered here, as a JWK set the core passes to the assertion verifier
    /// without reading it.
    ConfidentialPrivateKeyJwt { jwks: serde_json::Value },
}

/// One registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    pub client_id: String,
    /// Shown on the sign-in page.
    pub client_name: String,
    pub kind: ClientKind,
    /// Where codes may be sent (exact match, loopback ports aside).
    pub redirect_uris: Vec<String>,
    /// Where the browser may go after logout (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// The pairwise sector; `None` makes it the `client_id` (see [`OidcClient::sector`]).
    pub sector: Option<String>,
    /// The scopes the client may ask for. An adapter reading a registration without the
    /// attribute fills it with [`default_scopes`].
    pub allowed_scopes: Vec<String>,
}

/// `openid`, `profile`, `offline_access`.
pub fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

/// What a client registration stores for `secret`: lowercase hex SHA-256 of its UTF-8 bytes.
pub fn hash_client_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

impl OidcClient {
    /// A client with no redirect URIs yet, its own sector and the default scopes.
    pub fn new(client_id: &str, client_name: &str, kind: ClientKind) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_name: client_name.to_owned(),
            kind,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            sector: None,
            allowed_scopes: default_scopes(),
        }
    }

    /// Whether the client can keep a secret (it authenticates with one or with a key).
    pub fn is_confidential(&self) -> bool {
        !matches!(self.kind, ClientKind::Public)
    }

    /// Whether `secret` is this client's secret, compared in constant time; always false for
    /// a client without one.
    pub fn secret_matches(&self, secret: &str) -> bool {
        match &self.kind {
            ClientKind::ConfidentialSecret { secret_hash } => constant_time_eq(
                hash_client_secret(secret).as_bytes(),
                secret_hash.as_bytes(),
            ),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_registered_secret_matches_and_public_clients_have_none() {
        // GIVEN a confidential client registered with the hash of its secret
        let client = OidcClient::new(
            "app",
            "App",
            ClientKind::ConfidentialSecret {
                secret_hash: hash_client_secret("s3cret-with-entropy"),
            },
        );
        // THEN its secret matches, another does not, and a public client matches nothing
        assert!(client.secret_matches("s3cret-with-entropy"));
        assert!(!client.secret_matches("s3cret-with-entropz"));
        assert!(!client.secret_matches(""));
        let public = OidcClient::new("native", "Native", ClientKind::Public);
        assert!(!public.secret_matches(""));
        assert!(!public.is_confidential() && client.is_confidential());
        assert_eq!(public.sector(), "native");
        assert_eq!(
            public.allowed_scopes,
            ["openid", "profile", "offline_access"]
        );
    }
}
