//! What our tokens say. Both name their grant as `sid`, which is how revoking a grant reaches
//! the access tokens already handed out: every check of one reads its grant.

use serde::{Deserialize, Serialize};

/// The authentication method every sign-in here uses (RFC 8176: biometric face recognition).
pub const AMR_FACE: &str = "face";

/// An ID token's claims (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    /// Pairwise for the client's sector.
    pub sub: String,
    /// The client.
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    /// When the person scanned their face; kept through refreshes.
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The grant.
    pub sid: String,
    /// The display name, with the `profile` scope only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An access token's claims (RFC 9068 §2.2), for our own userinfo endpoint and API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The issuer: the resource is this API.
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The grant.
    pub sid: String,
}
