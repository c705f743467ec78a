//! The discovery document (`/.well-known/openid-configuration`, OpenID Connect Discovery
//! 1.0 §3): what clients configure themselves from. Built from the settings and the rules
//! of this module, so it cannot promise what the provider does not do.

use serde_json::{Value, json};

use super::client_auth::ASSERTION_ALGS;
use super::jwt::ES256;
use super::scope::DEFAULT_SCOPES;
use super::{OidcSettings, paths, pkce};
use crate::domain::AssuranceType;

/// The client authentication methods of the token, revocation and introspection endpoints.
pub const AUTH_METHODS: [&str; 4] = [
    "none",
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// The claims our ID tokens and userinfo answers may carry.
pub const CLAIMS: [&str; 12] = [
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    "sid",
    "name",
];

/// The discovery document of the provider `settings` describe.
pub fn discovery_document(settings: &OidcSettings) -> Value {
    let acr_values: Vec<&str> = [AssuranceType::GenuinePresence, AssuranceType::Liveness]
        .into_iter()
        .map(AssuranceType::acr)
        .collect();
    json!({
        "issuer": settings.issuer(),
        "authorization_endpoint": settings.url(paths::AUTHORIZE),
        "token_endpoint": settings.url(paths::TOKEN),
        "userinfo_endpoint": settings.url(paths::USERINFO),
        "jwks_uri": settings.url(paths::JWKS),
        "revocation_endpoint": settings.url(paths::REVOKE),
        "introspection_endpoint": settings.url(paths::INTROSPECT),
        "end_session_endpoint": settings.url(paths::LOGOUT),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [ES256],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": &AUTH_METHODS[1..],
        "code_challenge_methods_supported": [pkce::S256],
        "scopes_supported": DEFAULT_SCOPES,
        "claims_supported": CLAIMS,
        "acr_values_supported": acr_values,
        "prompt_values_supported": ["login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_discovery_document_names_our_endpoints_and_only_what_we_support() {
        // GIVEN the provider at an issuer
        let settings = OidcSettings::new("https://api.example.com").expect("origin");
        // WHEN its discovery document is built
        let doc = discovery_document(&settings);
        // THEN every endpoint hangs below the issuer and every promise is one we keep
        assert_eq!(doc["issuer"], "https://api.example.com");
        assert_eq!(
            doc["authorization_endpoint"],
            "https://api.example.com/oauth2/authorize"
        );
        assert_eq!(doc["jwks_uri"], "https://api.example.com/oauth2/jwks");
        assert_eq!(
            doc["end_session_endpoint"],
            "https://api.example.com/oauth2/logout"
        );
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(doc["subject_types_supported"], json!(["pairwise"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["ES256"])
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(
            doc["acr_values_supported"],
            json!([
                "urn:iproov:assurance:genuine_presence",
                "urn:iproov:assurance:liveness"
            ])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!([
                "none",
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ])
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["request_parameter_supported"], false);
        assert_eq!(
            doc["introspection_endpoint_auth_methods_supported"],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ])
        );
    }
}
