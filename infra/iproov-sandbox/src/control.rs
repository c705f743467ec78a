//! The sandbox's own control surface: what tests use to play the person in front of the camera
//! and to make iProov misbehave. Not part of iProov's API, so it lives at the server root, never
//! under `/api/v2`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::claims::{ClaimState, ScanOutcome, ScanRefusal};
use crate::config::FrameMode;
use crate::credentials::{Field, MAX_GRACE_SECONDS};
use crate::errors::ApiError;
use crate::faults::Fault;
use crate::paths::token_fingerprint;
use crate::request::{JsonObject, PathParam};
use crate::state::{Shared, millis};

/// Largest latency a test may configure (ten minutes).
const MAX_LATENCY_MS: u64 = 600_000;
/// Longest token lifetime a test may configure (a day).
const MAX_TTL_SECONDS: f64 = 86_400.0;
/// Longest failure reason accepted by the scan control.
const MAX_REASON_LEN: usize = 64;

type JsonResult = Result<Json<Value>, ApiError>;

/// The control routes, to be merged into the sandbox router.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(health))
        .route("/sandbox/claims/{token}", get(claim))
        .route("/sandbox/claims/{token}/scan", post(scan))
        .route(
            "/sandbox/faults",
            post(add_fault).delete(clear_faults).get(list_faults),
        )
        .route("/sandbox/latency", put(set_latency).get(get_latency))
        .route(
            "/sandbox/rate-limit",
            put(set_rate_limit).get(get_rate_limit),
        )
        .route("/sandbox/config", put(set_config).get(get_config))
        .route(
            "/sandbox/credentials",
            put(set_credentials).get(get_credentials),
        )
        .route("/sandbox/stats", get(stats))
        .route("/sandbox/users/{user_id}", get(user))
        .route("/sandbox/reset", post(reset))
}

/// `GET /health`: the server is up (readiness probe for scripts).
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `POST /sandbox/claims/{token}/scan` `{"outcome": "passed"|"failed", "reason"?: CODE}`.
async fn scan(
    State(shared): State<Arc<Shared>>,
    PathParam(token): PathParam,
    body: JsonObject,
) -> JsonResult {
    body.only_fields(&["outcome", "reason"])?;
    let reason = body.optional_str("reason")?;
    if let Some(reason) = reason {
        let valid = (1..=MAX_REASON_LEN).contains(&reason.len())
            && reason
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(ApiError::invalid_request(
                "reason must be a lower-case code such as too_dark or unknown",
            ));
        }
    }
    let outcome = match body.required_str("outcome")? {
        "passed" => ScanOutcome {
            passed: true,
            reason: None,
        },
        "failed" => ScanOutcome {
            passed: false,
            reason: Some(reason.unwrap_or("unknown").to_owned()),
        },
        _ => {
            return Err(ApiError::invalid_request(
                "outcome must be passed or failed",
            ));
        }
    };
    let answer = json!({
        "token_fingerprint": token_fingerprint(&token),
        "outcome": if outcome.passed { "passed" } else { "failed" },
        "reason": outcome.reason,
    });
    shared
        .lock()
        .claims
        .record_scan(&token, outcome)
        .map_err(|refusal| match refusal {
            ScanRefusal::UnknownToken => ApiError::not_found("no claim has this token"),
            ScanRefusal::AlreadyScanned => {
                ApiError::conflict("already_scanned", "this token has already been scanned")
            }
            ScanRefusal::AlreadyValidated => {
                ApiError::conflict("already_validated", "this token has already been validated")
            }
            ScanRefusal::Invalidated => {
                ApiError::conflict("claim_invalidated", "this claim has been invalidated")
            }
        })?;
    Ok(Json(answer))
}

/// `POST /sandbox/faults`: registers a fault (see [`crate::faults`]).
async fn add_fault(State(shared): State<Arc<Shared>>, body: JsonObject) -> JsonResult {
    body.only_fields(&[
        "path",
        "method",
        "status",
        "error",
        "count",
        "delay_ms",
        "drop_connection",
    ])?;
    let fault = Fault::from_json(&body)?;
    let mut inner = shared.lock();
    inner.faults.add(fault);
    Ok(Json(json!({ "faults": inner.faults.to_json() })))
}

/// `DELETE /sandbox/faults`: removes every registered fault. Any body is ignored.
async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut inner = shared.lock();
    inner.faults.clear();
    Json(json!({ "faults": inner.faults.to_json() }))
}

/// `GET /sandbox/faults`: the faults still pending, with their remaining counts.
async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "faults": shared.lock().faults.to_json() }))
}

/// `PUT /sandbox/latency` `{"ms": N}`.
async fn set_latency(State(shared): State<Arc<Shared>>, body: JsonObject) -> JsonResult {
    body.only_fields(&["ms"])?;
    let ms = body
        .optional_u64("ms", MAX_LATENCY_MS)?
        .ok_or_else(|| ApiError::missing_data("ms"))?;
    shared.lock().settings.latency = Duration::from_millis(ms);
    Ok(Json(json!({ "latency_ms": ms })))
}

async fn get_latency(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "latency_ms": millis(shared.lock().settings.latency) }))
}

/// `PUT /sandbox/rate-limit` `{"per_second": N}`; 0 or `null` switches it off.
async fn set_rate_limit(State(shared): State<Arc<Shared>>, body: JsonObject) -> JsonResult {
    body.only_fields(&["per_second"])?;
    if !body.has_key("per_second") {
        return Err(ApiError::missing_data("per_second"));
    }
    let per_second = body
        .optional_u64("per_second", u64::from(u32::MAX))?
        .and_then(|limit| u32::try_from(limit).ok());
    let mut inner = shared.lock();
    inner.rate_limit.set(per_second);
    Ok(Json(json!({ "per_second": inner.rate_limit.per_second() })))
}

async fn get_rate_limit(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "per_second": shared.lock().rate_limit.per_second() }))
}

/// `PUT /sandbox/config`: any of `frame`, `token_ttl_seconds`, `access_token_ttl_seconds`,
/// `access_token_max_uses`. Answers the whole resulting configuration.
async fn set_config(State(shared): State<Arc<Shared>>, body: JsonObject) -> JsonResult {
    body.only_fields(&[
        "frame",
        "token_ttl_seconds",
        "access_token_ttl_seconds",
        "access_token_max_uses",
    ])?;
    if body.is_empty() {
        return Err(ApiError::invalid_request(
            "give at least one of frame, token_ttl_seconds, access_token_ttl_seconds, \
             access_token_max_uses",
        ));
    }
    let frame = match body.optional_str("frame")? {
        None => None,
        Some(name) => Some(
            name.parse::<FrameMode>()
                .map_err(ApiError::invalid_request)?,
        ),
    };
    let token_ttl = body.optional_f64("token_ttl_seconds", MAX_TTL_SECONDS)?;
    let access_ttl = body.optional_f64("access_token_ttl_seconds", MAX_TTL_SECONDS)?;
    let max_uses = body.optional_u64("access_token_max_uses", u64::from(u32::MAX))?;
    if max_uses == Some(0) {
        return Err(ApiError::invalid_request(
            "access_token_max_uses must be at least 1",
        ));
    }

    let mut inner = shared.lock();
    let settings = &mut inner.settings;
    if let Some(frame) = frame {
        settings.frame = frame;
    }
    if let Some(seconds) = token_ttl {
        settings.token_ttl = Duration::from_secs_f64(seconds);
    }
    if let Some(seconds) = access_ttl {
        settings.access_token_ttl = Duration::from_secs_f64(seconds);
    }
    if let Some(uses) = max_uses.and_then(|uses| u32::try_from(uses).ok()) {
        settings.access_token_max_uses = uses;
    }
    Ok(Json(settings.to_json()))
}

async fn get_config(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(shared.lock().settings.to_json())
}

/// `PUT /sandbox/credentials`: any non-empty subset of `api_key`, `secret`, `oauth_client_id`,
/// `oauth_client_secret`, and optionally `grace_seconds` during which the replaced values are
/// still accepted. Answers the fingerprints, as `GET` does. Nothing changes unless the whole
/// body is valid, and no error quotes a value.
async fn set_credentials(State(shared): State<Arc<Shared>>, body: JsonObject) -> JsonResult {
    let mut allowed: Vec<&str> = Field::ALL.iter().map(|field| field.name()).collect();
    allowed.push("grace_seconds");
    body.only_fields(&allowed)?;
    let mut changes = Vec::new();
    for field in Field::ALL {
        let name = field.name();
        match body.optional_str(name)? {
            Some(value) => {
                if let Some(refusal) = field.refusal(value) {
                    return Err(ApiError::invalid_request(refusal));
                }
                changes.push((field, value.to_owned()));
            }
            None if body.has_key(name) => {
                return Err(ApiError::invalid_request(format!(
                    "the field `{name}` must be a string"
                )));
            }
            None => {}
        }
    }
    if changes.is_empty() {
        return Err(ApiError::invalid_request(
            "give at least one of api_key, secret, oauth_client_id, oauth_client_secret",
        ));
    }
    let grace = body
        .optional_u64("grace_seconds", MAX_GRACE_SECONDS)?
        .unwrap_or(0);

    let now = Instant::now();
    let mut inner = shared.lock();
    inner
        .credentials
        .rotate(changes, Duration::from_secs(grace), now);
    Ok(Json(inner.credentials.to_json(now)))
}

/// `GET /sandbox/credentials`: fingerprints of what is accepted now, never the values.
async fn get_credentials(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(shared.lock().credentials.to_json(Instant::now()))
}

/// `GET /sandbox/stats`: calls per route pattern and validate calls per token fingerprint.
async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let inner = shared.lock();
    Json(inner.stats.to_json(inner.faults.triggered))
}

/// `GET /sandbox/users/{user_id}`: what iProov knows of a user, without OAuth (tests checking
/// erasure need a side door).
/// `GET /sandbox/claims/{token}`: what a token was asked for (kind, assurance type, risk
/// profile) and where it stands, so a test can check which journey's policy reached iProov.
/// Never the user id or the token itself.
async fn claim(State(shared): State<Arc<Shared>>, PathParam(token): PathParam) -> JsonResult {
    let inner = shared.lock();
    let claim = inner
        .claims
        .get(&token)
        .ok_or_else(|| ApiError::not_found("no claim has this token"))?;
    let state = match claim.state {
        ClaimState::AwaitingScan => "awaiting_scan",
        ClaimState::Scanned(_) => "scanned",
        ClaimState::Validated => "validated",
        ClaimState::Invalidated => "invalidated",
    };
    Ok(Json(json!({
        "kind": claim.kind.as_str(),
        "assurance_type": claim.assurance_type.as_str(),
        "risk_profile": claim.risk_profile,
        "state": state,
    })))
}

async fn user(State(shared): State<Arc<Shared>>, PathParam(user_id): PathParam) -> JsonResult {
    shared
        .lock()
        .users
        .get(&user_id)
        .map(|user| Json(user.to_control_json(&user_id)))
        .ok_or_else(|| ApiError::not_found("iProov has no user with this user_id"))
}

/// `POST /sandbox/reset`: forget everything, back to the start-up configuration (credentials
/// included). Any body is ignored.
async fn reset(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.reset();
    Json(json!({ "reset": true }))
}
