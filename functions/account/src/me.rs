//! `GET /v1/users` (my account, built from the session: no user id is ever read from the
//! request) and `POST /v1/logout` (the session ends server-side, and the cookie is cleared).

use std::sync::Arc;

use api::rfc3339;
use api::{ApiError, CredentialKind};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onboarding_core::use_cases::account::Account;
use serde_json::{Value, json};

use crate::{Deps, auth};

/// The account as the API shows it: never the image, never iProov ids or scores.
pub fn public_user(account: &Account) -> Value {
    json!({
        "user_id": account.user_id,
        "username": account.username,
        "display_name": account.display_name,
        "created_at": rfc3339(account.created_at),
    })
}

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let credential = auth::presented(&headers, CredentialKind::Session, deps.settings.cookies())?;
    let account = auth::live(deps.read_account().run(&credential).await?)?;
    Ok(Json(public_user(&account)))
}

pub async fn logout(
    State(deps): State<Arc<Deps>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let credential = auth::presented(&headers, CredentialKind::Session, deps.settings.cookies())?;
    auth::live(deps.logout().run(&credential).await?)?;
    let cookie = deps.settings.cookies().clear(CredentialKind::Session);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
