//! `POST /v1/verify-login {username}`: find the user by the username's blind index, get a
//! verify token for the user's pseudonymous iProov id, and open a short-lived login attempt that
//! keeps the token server-side.
//!
//! An unknown username is answered, by default, explicitly (404 `not_registered`), which lets
//! apps send the person to registration. With `UNKNOWN_USERNAME_RESPONSE=uniform` it gets the
//! same 200 as a known one instead — a decoy attempt, stored like a real one, whose token no scan
//! can satisfy — so the route cannot be used to learn who has an account. The decoy makes no
//! iProov call (no quota spent on guesses) but takes as long as a recent real one
//! (`latency_mirror`), and `POST /v1/login` ends it exactly as a real attempt whose scan never
//! reached iProov. What the mode does not hide is listed in docs/operations.md.

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
    let (ip_key, network_key, name_key) =
        deps.username_keys(keys.pseudonym_key(), &meta, "login", &name_index);
    let hits = rate_limit::TokenRouteHits {
        route: "login",
        ip: (&ip_key, deps.limits.login_per_ip),
        username_from_network: (&network_key, deps.limits.login_per_username),
        username_overall: (&name_key, deps.limits.username_alarm),
    };
    // The claim is read while the counters are hit (it needs neither); the limits still answer
    // first (429), then "not registered", as if the read had come after them.
    let claim = rate_limit::enforce_token_route_alongside(
        deps.limiter.as_ref(),
        &hits,
        now,
        deps.users.find_by_name(&name_index),
    )
    .await?;
    let Some(claim) = claim? else {
        if deps.uniform_unknown_username {
            return decoy(&deps, now, meta.browser).await;
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
    let started = std::time::Instant::now();
    let token = deps.iproov.verify_token(&iproov_user_id).await;
    deps.verify_token_latency.record(started.elapsed());
    let token = token?;
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
        decoy: false,
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

/// The answer for an unknown username in uniform mode: a stored decoy attempt with a random
/// token (no call to iProov, no quota spent on guesses), answered in the shape and the time of
/// a real one. `POST /v1/login` fails it as a scan that never reached iProov.
async fn decoy(deps: &Deps, now: i64, browser: bool) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let attempt_id = uuid::Uuid::new_v4().simple().to_string();
    let credential = Credential::issue(attempt_id.clone()).map_err(|_| ApiError::internal())?;
    let token = shared::crypto::hex(
        &shared::crypto::random_bytes::<32>().map_err(|_| ApiError::internal())?,
    );
    let attempt = LoginAttempt {
        id: attempt_id,
        secret_hash: credential.secret_hash(),
        user_id: String::new(),
        iproov_user_id: String::new(),
        iproov_token: token.clone(),
        status: AttemptStatus::Pending,
        expires_at: now + deps.settings.token_ttl_seconds,
        created_at: now,
        decoy: true,
    };
    deps.verify_token_latency.imitate(started.elapsed()).await;
    deps.attempts.create(&attempt).await?;
    Ok(attempt_answer(
        deps,
        &credential,
        attempt.expires_at,
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
    let mut body = json!({
        "expires_at": rfc3339(expires_at),
        "iproov": {"token": token, "base_url": deps.iproov.sdk_base_url()},
    });
    let cookie = deps.settings.cookies().hand_out(
        CredentialKind::LoginAttempt,
        &credential.expose(),
        deps.settings.token_ttl_seconds,
        browser,
        &mut body,
        "attempt_token",
    );
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}
