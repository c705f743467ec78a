//! `GET /.well-known/openid-configuration` and `GET /oauth2/jwks`: what a relying party reads
//! once and caches. Both are public; the JWKS is the public halves of both signing keys, read
//! from KMS once per process.

use std::sync::Arc;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use onboarding_core::oidc::OAuthError;
use onboarding_core::oidc::discovery::discovery_document;

use crate::Deps;

/// Relying parties may cache both documents this long: shorter than the wait between making a
/// new key active and retiring the old one (docs/oidc.md, rotation).
const CACHE: &str = "public, max-age=300";

fn cached(value: serde_json::Value) -> Response {
    let mut response = axum::Json(value).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    response
}

pub async fn document(State(deps): State<Arc<Deps>>, parts: Parts) -> Response {
    match deps.settings(&parts) {
        Ok(settings) => cached(discovery_document(&settings)),
        Err(err) => api::oauth::error(&err),
    }
}

pub async fn jwks(State(deps): State<Arc<Deps>>) -> Response {
    match deps.verifier.published_keys().await {
        Ok(keys) => cached(onboarding_core::oidc::jwks::jwks(&keys)),
        Err(err) => {
            tracing::warn!(error = %err, "signing keys unavailable");
            api::oauth::error(&OAuthError::unavailable())
        }
    }
}
