//! What a relying party does with tokens it holds: `GET|POST /oauth2/userinfo` (access token
//! as `Bearer`, or the `access_token` form field, RFC 6750 §2), `POST /oauth2/revoke`
//! (RFC 7009) and `POST /oauth2/introspect` (RFC 7662, confidential clients only).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use onboarding_core::oidc::access_token::bearer_token;
use onboarding_core::oidc::introspection::Introspection;
use onboarding_core::oidc::revocation::Revocation;
use onboarding_core::oidc::userinfo::UserInfo;
use onboarding_core::oidc::{OAuthError, OidcSettings, Params};

use crate::Deps;

/// The longest access token read from a form (ours are well under 2 KB).
const MAX_TOKEN: usize = 4096;

/// The form of a POST, or the empty parameters of a GET.
fn params(parts: &Parts, body: &Bytes) -> Result<Params, OAuthError> {
    if parts.method == Method::POST && !body.is_empty() {
        api::oauth::form(&parts.headers, body)
    } else {
        Params::from_form("")
    }
}

/// What a client's form request to revocation or introspection brings: the provider's settings
/// for it, its form, and its `Authorization` header (client authentication is the use case's).
fn client_form<'a>(
    deps: &Deps,
    parts: &'a Parts,
    body: &Bytes,
) -> Result<(OidcSettings, Params, Option<&'a str>), OAuthError> {
    Ok((
        deps.settings(parts)?,
        api::oauth::form(&parts.headers, body)?,
        api::oauth::authorization(&parts.headers),
    ))
}

pub async fn userinfo(State(deps): State<Arc<Deps>>, parts: Parts, body: Bytes) -> Response {
    let headers = &parts.headers;
    let outcome = async {
        let settings = deps.settings(&parts)?;
        let form = params(&parts, &body)?;
        let from_form = form.get("access_token", MAX_TOKEN)?.map(str::to_owned);
        // One way only (RFC 6750 §2): a header and a form field together are refused.
        let token = match (api::oauth::authorization(headers), from_form) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "the access token was sent twice",
                ));
            }
            (Some(header), None) => {
                bearer_token(header)
                    .map(str::to_owned)
                    .ok_or(OAuthError::invalid_token(
                        "a Bearer access token is required",
                    ))?
            }
            (None, Some(token)) => token,
            (None, None) => {
                return Err(OAuthError::invalid_token(
                    "a Bearer access token is required",
                ));
            }
        };
        let profiles = deps.profiles();
        let use_case = UserInfo {
            check: deps.access_check(&settings),
            profiles: &profiles,
        };
        use_case.run(&token).await
    }
    .await;
    match outcome {
        Ok(info) => api::oauth::json_no_store(serde_json::to_value(info).unwrap_or_default()),
        Err(err) => api::oauth::error(&err),
    }
}

pub async fn revoke(State(deps): State<Arc<Deps>>, parts: Parts, body: Bytes) -> Response {
    let outcome = async {
        let (settings, form, authorization) = client_form(&deps, &parts, &body)?;
        let use_case = Revocation {
            client_auth: deps.client_auth(&settings),
            refresh_tokens: deps.refresh_tokens.as_ref(),
            grants: deps.grants.as_ref(),
            check: deps.access_check(&settings),
            audit: deps.audit.as_ref(),
        };
        use_case.run(authorization, &form).await
    }
    .await;
    match outcome {
        // RFC 7009 §2.2: 200 with no body, whether or not the token was known.
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => api::oauth::error(&err),
    }
}

pub async fn introspect(State(deps): State<Arc<Deps>>, parts: Parts, body: Bytes) -> Response {
    let outcome = async {
        let (settings, form, authorization) = client_form(&deps, &parts, &body)?;
        let use_case = Introspection {
            client_auth: deps.client_auth(&settings),
            refresh_tokens: deps.refresh_tokens.as_ref(),
            grants: deps.grants.as_ref(),
            check: deps.access_check(&settings),
            keys: deps.keys.as_ref(),
        };
        use_case.run(authorization, &form).await
    }
    .await;
    match outcome {
        Ok(answer) => api::oauth::json_no_store(answer),
        Err(err) => api::oauth::error(&err),
    }
}
