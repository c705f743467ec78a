//! `POST /v1/verify-login {username}`: find the user by the username's blind index, get a
//! verify token for the user's pseudonymous iProov id, and open a short-lived login attempt that
//! keeps the token server-side.
//!
//! An unknown username is answered, by default, explicitly (404 `not_registered`), which lets
//! apps send the person to registration. With `UNKNOWN_USERNAME_RESPONSE=uniform` it gets the
//! same 200 as a known one instead — a decoy attempt whose token no scan can satisfy — so the
//! route cannot be used to learn who has an account. The decoy still differs in timing (no
//! iProov call), which the rate limits, applied either way, keep slow to exploit.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::api::rfc3339;
use shared::api::{ApiError, CredentialKind, FieldReader, JsonObject, RequestMeta};
use shared::crypto::{Credential, keyed_hash};
use shared::domain::Username;
use shared::iproov::IProovUserId;
use shared::ports::{AttemptStatus, LoginAttempt};
use shared::rate_limit;

use crate::Deps;

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let mut reader = FieldReader::new(body.0, &["username"]);
    let raw = reader.string("username");
    let username = raw.and_then(|u| match Username::parse(&u) {
        Ok(u) => Some(u),
        Err(problem) => {
            reader.error("username", problem);
            None
        }
    });
    reader.finish()?;
    let Some(username) = username else {
        return Err(ApiError::bad_request("username is required."));
    };
    let now = deps.clock.now();
    let keys = deps.keys.get().await?;
    let name_index = keyed_hash(keys.pseudonym_key(), "username", username.as_str());
    let ip_key = deps.ip_key(keys.pseudonym_key(), &meta, "login");
    let name_key = format!("login#name#{name_index}");
    // The claim is read while the counters are hit (it needs neither); the limits still answer
    // first (429), then "not registered", as if the read had come after them.
    let claim = rate_limit::enforce_alongside(
        deps.limiter.as_ref(),
        "login",
        &[
            (&ip_key, deps.limits.login_per_ip),
            (&name_key, deps.limits.login_per_username),
        ],
        now,
        deps.users.find_by_name(&name_index),
    )
    .await?;
    let Some(claim) = claim? else {
        if deps.uniform_unknown_username {
            return decoy(&deps, now, meta.browser);
        }
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_registered",
            "No account uses this username.",
        )
        .with_hint("Check the username, or register first."));
    };
    let iproov_user_id = IProovUserId::from_stored(claim.iproov_user_id.clone())
        .map_err(|_| ApiError::internal())?;
    let token = deps.iproov.verify_token(&iproov_user_id).await?;
    let attempt_id = uuid::Uuid::new_v4().simple().to_string();
    let credential = Credential::issue(attempt_id.clone()).map_err(|_| ApiError::internal())?;
    let attempt = LoginAttempt {
        id: attempt_id,
        secret_hash: credential.secret_hash(),
        user_id: claim.user_id,
        iproov_user_id: claim.iproov_user_id,
        iproov_token: token.token.expose().to_owned(),
        status: AttemptStatus::Pending,
        expires_at: now + deps.settings.token_ttl_seconds,
        created_at: now,
    };
    deps.attempts.create(&attempt).await?;
    tracing::info!(attempt_id = %attempt.id, "login attempt opened");
    Ok(attempt_answer(
        &deps,
        &credential,
        attempt.expires_at,
        token.token.expose(),
        meta.browser,
    ))
}

/// The answer for an unknown username in uniform mode: the shape of a real attempt, with random
/// values that match nothing we store (so `POST /v1/login` with it answers 401, like any
/// unknown credential) and no call to iProov (no quota spent on guesses).
fn decoy(deps: &Deps, now: i64, browser: bool) -> Result<Response, ApiError> {
    let credential = Credential::issue(uuid::Uuid::new_v4().simple().to_string())
        .map_err(|_| ApiError::internal())?;
    let token = shared::crypto::hex(
        &shared::crypto::random_bytes::<32>().map_err(|_| ApiError::internal())?,
    );
    Ok(attempt_answer(
        deps,
        &credential,
        now + deps.settings.token_ttl_seconds,
        &token,
        browser,
    ))
}

/// The 200 of verify-login, one shape for a real attempt and a decoy (so they cannot be told
/// apart by it): the attempt credential as a cookie (and, except for browsers, in the body), and
/// the iProov token.
fn attempt_answer(
    deps: &Deps,
    credential: &Credential,
    expires_at: i64,
    token: &str,
    browser: bool,
) -> Response {
    let exposed = credential.expose();
    let cookie = deps.settings.cookies().set(
        CredentialKind::LoginAttempt,
        &exposed,
        deps.settings.token_ttl_seconds,
    );
    let mut body = json!({
        "expires_at": rfc3339(expires_at),
        "iproov": {"token": token, "base_url": deps.iproov.sdk_base_url()},
    });
    if !browser {
        body["attempt_token"] = serde_json::Value::from(exposed.as_str());
    }
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}
