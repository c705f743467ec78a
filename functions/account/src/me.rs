//! `GET /v1/users` (my account, built from the session: no user id is ever read from the
//! request) and `POST /v1/logout` (the session ends server-side, and the cookie is cleared).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::api::rfc3339;
use shared::api::{ApiError, CredentialKind};
use shared::ports::User;

use crate::{Deps, auth};

/// The account as the API shows it: never the image, never iProov ids or scores. Personal
/// fields are opened here, for this answer only.
pub async fn public_user(deps: &Deps, user: &User) -> Result<Value, ApiError> {
    let (username, display_name) = tokio::try_join!(
        deps.cipher.open("username", &user.user_id, &user.username),
        deps.cipher
            .open("display_name", &user.user_id, &user.display_name),
    )
    .map_err(|err| {
        tracing::error!(error = %err, "could not open personal fields");
        ApiError::unavailable("service_unavailable")
    })?;
    Ok(json!({
        "user_id": user.user_id,
        "username": username,
        "display_name": display_name,
        "created_at": rfc3339(user.created_at),
    }))
}

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let session = auth::session(&deps, &headers).await?;
    let user = deps
        .users
        .get(&session.user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Json(public_user(&deps, &user).await?))
}

pub async fn logout(
    State(deps): State<Arc<Deps>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = auth::session(&deps, &headers).await?;
    deps.control.revoke(&session.id).await?;
    tracing::info!("logged out");
    let cookie = deps.settings.cookies().clear(CredentialKind::Session);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
