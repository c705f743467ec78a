//! `GET /v1/users` (my account, built from the session: no user id is ever read from the
//! request) and `POST /v1/logout` (the session ends server-side, and the cookie is cleared).
//! Both also take an OpenID Connect access token as `Bearer`
//! (core/src/use_cases/account/access_token.rs): the account as that client may see it, and
//! logout ends the token's grant.

use std::sync::Arc;

use api::rfc3339;
use api::{ApiError, CredentialKind, RequestMeta};
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onboarding_core::audit::hand_over;
use onboarding_core::oidc::access_token::bearer_token;
use onboarding_core::use_cases::account::Account;
use onboarding_core::use_cases::account::access_token::{ClientView, is_access_token};
use serde_json::{Value, json};

use crate::{Deps, auth};

/// The account as the API shows it: never the image, never iProov ids or scores.
pub fn public_user(account: &Account) -> Value {
    json!({
        "user_id": account.user_id,
        "username": account.username,
        "display_name": account.display_name,
        "created_at": rfc3339(account.created_at),
        // What the person accepted, so they (and support) can see it; null for accounts
        // registered before consent was recorded.
        "consent": account.consent.as_ref().map(|c| json!({
            "version": c.version,
            "accepted_at": rfc3339(c.accepted_at),
        })),
    })
}

/// The account as an access token's client sees it: its pairwise subject as `user_id`, the
/// names only with the `profile` scope (null otherwise).
fn client_view(view: &ClientView) -> Value {
    let (username, display_name) = match &view.profile {
        Some((username, display_name)) => (json!(username), json!(display_name)),
        None => (Value::Null, Value::Null),
    };
    json!({
        "user_id": view.subject,
        "username": username,
        "display_name": display_name,
        "created_at": rfc3339(view.created_at),
    })
}

/// The access token in `Authorization: Bearer`, when the bearer value is one (a JWT, never
/// one of our `<id>.<secret>` credentials).
fn access_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .filter(|token| is_access_token(token))
}

fn oidc_settings(
    deps: &Deps,
    parts: &Parts,
) -> Result<onboarding_core::oidc::OidcSettings, ApiError> {
    deps.provider
        .settings(api::oauth::gateway_domain(parts).as_deref())
        .map_err(|_| ApiError::internal())
}

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    parts: Parts,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    if let Some(token) = access_token(&headers) {
        let settings = oidc_settings(&deps, &parts)?;
        let view = auth::live(deps.token_account(&settings).read(token).await?)?;
        return Ok(Json(client_view(&view)));
    }
    let credential = auth::presented(&headers, CredentialKind::Session, deps.settings.cookies())?;
    let account = auth::live(deps.read_account().run(&credential).await?)?;
    Ok(Json(public_user(&account)))
}

pub async fn logout(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    parts: Parts,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = access_token(&headers) {
        let settings = oidc_settings(&deps, &parts)?;
        auth::live(deps.token_account(&settings).logout(token).await?)?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let credential = auth::presented(&headers, CredentialKind::Session, deps.settings.cookies())?;
    let logged_out = auth::live(deps.logout().run(&credential).await?)?;
    let event = logged_out.audit_event(&meta.request_id, deps.clock.now());
    hand_over::record(deps.audit.as_ref(), event).await;
    let cookie = deps.settings.cookies().clear(CredentialKind::Session);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
