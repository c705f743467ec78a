//! `GET /oauth2/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). The
//! grant named by the `id_token_hint` ends; the browser goes back to a registered
//! `post_logout_redirect_uri` or, without one, is told it is logged out. A bad parameter is
//! shown, never redirected.

use std::sync::Arc;

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use onboarding_core::oidc::logout::{EndSession, LogoutOutcome};

use crate::Deps;

pub async fn end_session(State(deps): State<Arc<Deps>>, parts: Parts) -> Response {
    let outcome = async {
        let settings = deps.settings(&parts)?;
        let params = api::oauth::query(&parts.uri)?;
        let use_case = EndSession {
            clients: deps.clients.as_ref(),
            verifier: deps.verifier.as_ref(),
            grants: deps.grants.as_ref(),
            clock: deps.clock.as_ref(),
            settings: &settings,
            audit: deps.audit.as_ref(),
        };
        use_case.run(&params).await
    }
    .await;
    match outcome {
        Ok(LogoutOutcome::Redirect(url)) => api::oauth::redirect(&url),
        Ok(LogoutOutcome::LoggedOut) => {
            api::oauth::json_no_store(serde_json::json!({ "logged_out": true }))
        }
        Err(err) => api::oauth::error(&err),
    }
}
