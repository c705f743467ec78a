//! Finding the registration a request's credential belongs to, shared by the routes that take a
//! registration credential. HTTP-side (it reads headers and answers 401/404), so it lives in
//! the HTTP layer; the store it reads is a core port.

use axum::http::HeaderMap;

use onboarding_core::crypto::Credential;
use onboarding_core::domain::Registration;
use onboarding_core::ports::RegistrationStore;

use crate::credential::{self, CookiePolicy, CredentialKind};
use crate::error::ApiError;

/// How a presented registration credential resolved.
pub enum Access {
    /// No credential, or one that cannot be ours.
    Missing,
    /// Well-formed, but no live registration has this id and secret.
    Unknown,
    Found(Credential, Box<Registration>),
}

/// Resolves the registration credential in `headers`.
pub async fn resolve(
    headers: &HeaderMap,
    cookies: CookiePolicy,
    store: &dyn RegistrationStore,
    now: i64,
) -> Result<Access, ApiError> {
    let Some(credential) = credential::presented(headers, CredentialKind::Registration, cookies)?
        .and_then(|c| Credential::parse(&c))
    else {
        return Ok(Access::Missing);
    };
    match store.get(&credential.id).await? {
        Some(reg) if credential.matches(&reg.secret_hash) && reg.expires_at > now => {
            Ok(Access::Found(credential, Box::new(reg)))
        }
        _ => Ok(Access::Unknown),
    }
}

/// Like [`resolve`], for routes where a registration is required: 401 without a usable
/// credential, 404 when it names no live registration.
pub async fn require(
    headers: &HeaderMap,
    cookies: CookiePolicy,
    store: &dyn RegistrationStore,
    now: i64,
) -> Result<(Credential, Registration), ApiError> {
    match resolve(headers, cookies, store, now).await? {
        Access::Found(c, r) => Ok((c, *r)),
        Access::Missing => Err(ApiError::unauthorized()),
        Access::Unknown => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "registration_not_found",
            "No registration matches this credential. Start a new registration.",
        )),
    }
}
