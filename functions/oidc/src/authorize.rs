//! The authorization endpoint and the hosted sign-in page's two calls.
//!
//! - `GET /oauth2/authorize`: a valid request is stored and the browser goes to the sign-in
//!   page; an error about the client or its redirect URI is shown (400, never a redirect:
//!   that would make us an open redirector), any other goes back to the client.
//! - `GET /oauth2/authorize/requests/{request_id}`: who is asking, for the page.
//! - `POST /oauth2/authorize/complete` `{"request", "decision"}` with the login session the
//!   person just opened with their face: the URL the page sends the browser to. These two
//!   answer in the v1 API's JSON shape, since the page (not a relying party) reads them.

use std::sync::Arc;

use api::{ApiError, CredentialKind, FieldReader, JsonObject, rfc3339, session};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use onboarding_core::oidc::authorize::{Authorize, AuthorizeOutcome};
use onboarding_core::oidc::completion::{CompleteAuthorization, CompletionError, Decision};
use onboarding_core::oidc::{OAuthError, OidcSettings};
use serde_json::{Value, json};

use crate::Deps;

fn authorize<'a>(deps: &'a Deps, settings: &'a OidcSettings) -> Authorize<'a> {
    Authorize {
        clients: deps.clients.as_ref(),
        requests: deps.requests.as_ref(),
        clock: deps.clock.as_ref(),
        settings,
    }
}

pub async fn start(State(deps): State<Arc<Deps>>, parts: Parts) -> Response {
    let settings = match deps.settings(&parts) {
        Ok(settings) => settings,
        Err(err) => return api::oauth::error(&err),
    };
    let params = match api::oauth::query(&parts.uri) {
        Ok(params) => params,
        // Nothing is known about the client yet: shown, not redirected.
        Err(err) => return api::oauth::error(&err),
    };
    match authorize(&deps, &settings).start(&params).await {
        AuthorizeOutcome::SignIn { request_id } => {
            api::oauth::redirect(&deps.provider.sign_in_url(&settings, &request_id))
        }
        AuthorizeOutcome::Redirect(url) => api::oauth::redirect(&url),
        AuthorizeOutcome::NotRedirectable(err) => api::oauth::error(&err),
    }
}

fn unknown_request() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "request_unknown",
        "This sign-in request is unknown, finished or expired.",
    )
    .with_hint("Go back to the app you came from and sign in again.")
}

fn unavailable() -> ApiError {
    ApiError::unavailable("temporarily_unavailable")
}

fn settings_or_unavailable(deps: &Deps, parts: &Parts) -> Result<OidcSettings, ApiError> {
    deps.settings(parts)
        .map_err(|_: OAuthError| ApiError::internal())
}

pub async fn describe(
    State(deps): State<Arc<Deps>>,
    Path(request_id): Path<String>,
    parts: Parts,
) -> Result<Json<Value>, ApiError> {
    let settings = settings_or_unavailable(&deps, &parts)?;
    let view = authorize(&deps, &settings)
        .describe(&request_id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(unknown_request)?;
    Ok(Json(json!({
        "request_id": view.request_id,
        "client_id": view.client_id,
        "client_name": view.client_name,
        "scope": view.scopes,
        "expires_at": rfc3339(view.expires_at),
    })))
}

pub async fn complete(
    State(deps): State<Arc<Deps>>,
    parts: Parts,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let mut fields = FieldReader::new(body, &["request", "decision"]);
    let request_id = fields.string("request");
    let decision = match fields.string("decision").as_deref() {
        Some("allow") => Some(Decision::Allow),
        Some("deny") => Some(Decision::Deny),
        Some(_) => {
            fields.error("decision", "must be allow or deny");
            None
        }
        None => None,
    };
    fields.finish()?;
    let (Some(request_id), Some(decision)) = (request_id, decision) else {
        return Err(ApiError::bad_request("request and decision are required."));
    };
    let settings = settings_or_unavailable(&deps, &parts)?;
    let credential = session::presented(
        &parts.headers,
        CredentialKind::Session,
        deps.journeys.cookies(),
    )?;
    let session = session::live(deps.session_auth().check(&credential).await?)?;
    let use_case = CompleteAuthorization {
        requests: deps.requests.as_ref(),
        codes: deps.codes.as_ref(),
        clock: deps.clock.as_ref(),
        settings: &settings,
    };
    match use_case.run(&request_id, &session, decision).await {
        Ok(redirect_to) => Ok(Json(json!({ "redirect_to": redirect_to }))),
        Err(CompletionError::UnknownRequest) => Err(unknown_request()),
        Err(CompletionError::FreshLoginRequired) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "fresh_login_required",
            "This sign-in needs a face scan made for it.",
        )
        .with_hint("Scan your face again to sign in.")),
        Err(CompletionError::Unavailable) => Err(unavailable()),
    }
}
