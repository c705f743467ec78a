//! iProov's REST API v2, as the sandbox answers it under `/api/v2`.
//!
//! Every call goes through [`dispatch`]: route from the [`crate::paths`] table, count it, add the
//! configured latency, apply a fault if one matches, and only then read the body and run the
//! endpoint. Endpoint functions lock the state once, do all checks and changes in that one
//! critical section, and build their answer after releasing it.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::claims::{AssuranceType, ClaimKind, Consumed};
use crate::config::FrameMode;
use crate::conn::ConnectionHandle;
use crate::errors::ApiError;
use crate::faults::FaultOutcome;
use crate::jpeg;
use crate::oauth::SCOPE;
use crate::paths::{Endpoint, RouteMiss, route_api};
use crate::png;
use crate::request::{
    JsonObject, basic_credentials, bearer_token, has_media_type, parse_form, percent_decode,
    query_param, read_body,
};
use crate::state::Shared;
use crate::users::validate_user_id;

/// Where the API is mounted.
pub const API_PREFIX: &str = "/api/v2";

/// Size of the generated frames. Small enough to keep responses light, large enough to be an
/// image a person can look at.
const FRAME_SIZE: u16 = 64;

/// Longest `reason` accepted by invalidate. iProov documents no limit; the sandbox sets one
/// so that a client sending unbounded text is caught in tests.
const MAX_INVALIDATE_REASON: usize = 1024;

/// How long a `drop_connection` fault stalls when the router is not served by
/// [`crate::serve`] and so cannot cut the connection: longer than any sane client timeout.
const DROP_FALLBACK_DELAY: Duration = Duration::from_secs(300);

/// The single handler behind `/api/v2/{*rest}`.
pub async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let relative = path.strip_prefix(API_PREFIX).unwrap_or(path);
    let routed = match route_api(&parts.method, relative) {
        Ok(routed) => routed,
        Err(RouteMiss::NotFound) => {
            return ApiError::not_found("no such iProov API route").into_response();
        }
        Err(RouteMiss::MethodNotAllowed) => return ApiError::method_not_allowed().into_response(),
    };

    let (latency, fault) = {
        let mut inner = shared.lock();
        inner.stats.count_call(&parts.method, routed.pattern);
        let fault = inner.faults.take(&parts.method, relative);
        (inner.settings.latency, fault)
    };
    sleep(latency).await;
    if let Some(action) = fault {
        sleep(action.delay).await;
        match action.outcome {
            FaultOutcome::Proceed => {}
            FaultOutcome::Respond(error) => return error.into_response(),
            FaultOutcome::DropConnection => return drop_connection(&parts).await,
        }
    }

    let params: Vec<String> = routed.params.iter().map(|s| (*s).to_owned()).collect();
    let endpoint = routed.endpoint;
    run_endpoint(&shared, endpoint, &params, &parts, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn sleep(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

/// Cuts the connection the request came on (see [`crate::conn`]); the returned response is
/// never delivered, but the access log records it.
async fn drop_connection(parts: &Parts) -> Response {
    match parts.extensions.get::<ConnectInfo<ConnectionHandle>>() {
        Some(ConnectInfo(handle)) => handle.cut(),
        None => tokio::time::sleep(DROP_FALLBACK_DELAY).await,
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "connection_dropped",
        "the sandbox dropped this connection (fault injection)",
    )
    .into_response()
}

/// Reads the body (every endpoint, so an oversized one is refused the same way everywhere) and
/// runs the endpoint.
async fn run_endpoint(
    shared: &Shared,
    endpoint: Endpoint,
    params: &[String],
    parts: &Parts,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(body).await?;
    let param = params.first().map(String::as_str).unwrap_or_default();
    let headers = &parts.headers;
    match endpoint {
        Endpoint::EnrolToken => claim_token(shared, ClaimKind::Enrol, parts, &body),
        Endpoint::VerifyToken => claim_token(shared, ClaimKind::Verify, parts, &body),
        Endpoint::EnrolValidate => claim_validate(shared, ClaimKind::Enrol, headers, &body),
        Endpoint::VerifyValidate => claim_validate(shared, ClaimKind::Verify, headers, &body),
        Endpoint::Invalidate => invalidate(shared, param, headers, &body),
        Endpoint::AccessToken => access_token(shared, param, headers, &body),
        Endpoint::GetUser => user(shared, param, headers, false),
        Endpoint::DeleteUser => user(shared, param, headers, true),
        Endpoint::Availability => availability(shared, parts.uri.query()),
    }
}

/// The host the SDK should be pointed at: the one the caller reached us on, so that a proxy or
/// a port change is reflected. Anything that does not look like `host[:port]` is not echoed.
fn public_host(parts: &Parts) -> String {
    let plausible = |host: &&str| {
        !host.is_empty()
            && host.len() <= 255
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    };
    parts
        .headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()))
        .filter(plausible)
        .unwrap_or("localhost")
        .to_owned()
}

/// `POST /claim/{enrol|verify}/token`.
fn claim_token(
    shared: &Shared,
    kind: ClaimKind,
    parts: &Parts,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let body = JsonObject::parse(&parts.headers, body)?;
    let api_key = body.required_str("api_key")?;
    let secret = body.required_str("secret")?;
    let _resource = body.required_str("resource")?;
    let user_id = body.required_str("user_id")?;
    let assurance = body.optional_str("assurance_type")?;
    let risk_profile = body.optional_str("risk_profile")?;

    let token = {
        let mut inner = shared.lock();
        let now = Instant::now();
        if !inner.rate_limit.allow(api_key, now) {
            return Err(ApiError::too_many_requests());
        }
        if !inner.credentials.claim_matches(api_key, secret, now) {
            return Err(ApiError::invalid_key());
        }
        validate_user_id(user_id)?;
        let assurance = AssuranceType::parse(assurance)?;
        match kind {
            ClaimKind::Enrol => inner.users.ensure_exists(user_id),
            ClaimKind::Verify => inner.users.require_active(user_id)?,
        }
        let ttl = inner.settings.token_ttl;
        inner
            .claims
            .issue(kind, user_id, assurance, risk_profile, ttl, now)
    };

    let host = public_host(parts);
    let mut answer = Map::new();
    answer.insert("token".into(), json!(token));
    answer.insert("primary".into(), json!(host));
    answer.insert("pod".into(), json!("sandbox"));
    answer.insert("user_id".into(), json!(user_id));
    answer.insert(
        "fallback".into(),
        json!([{ "type": "none", "message": "The iProov sandbox offers no fallback." }]),
    );
    answer.insert("redirect_domain".into(), json!(host));
    if let Some(risk_profile) = risk_profile {
        answer.insert("risk_profile".into(), json!(risk_profile));
    }
    // A field the real API does not send, so clients prove they ignore unknown fields.
    answer.insert("sandbox".into(), json!(true));
    Ok(Json(Value::Object(answer)).into_response())
}

/// `POST /claim/{enrol|verify}/validate`: answers once per scanned token.
fn claim_validate(
    shared: &Shared,
    kind: ClaimKind,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let body = JsonObject::parse(headers, body)?;
    let api_key = body.required_str("api_key")?;
    let secret = body.required_str("secret")?;
    let user_id = body.required_str("user_id")?;
    let token = body.required_str("token")?;
    let _client = body.required_str("client")?;
    let ip = body.optional_str("ip")?;
    let risk_profile = body.optional_str("risk_profile")?;
    // `activate` only exists on enrol; elsewhere it is ignored like any unknown field.
    let activate = match kind {
        ClaimKind::Enrol => body.optional_bool("activate")?.unwrap_or(true),
        ClaimKind::Verify => false,
    };

    let (consumed, frame) = {
        let mut inner = shared.lock();
        let now = Instant::now();
        // Refused keys do not count: iProov processes nothing for them and the token stays
        // usable, so a function that refreshes rotated credentials and asks again has still
        // validated once.
        if !inner.credentials.claim_matches(api_key, secret, now) {
            return Err(ApiError::invalid_key());
        }
        inner.stats.count_validation(token);
        if ip.is_some_and(|ip| ip.parse::<Ipv4Addr>().is_err()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_ip",
                "ip must be an IPv4 address",
            ));
        }
        validate_user_id(user_id)?;
        let consumed = inner.claims.consume(token, kind, user_id, now)?;
        if consumed.outcome.passed {
            match kind {
                ClaimKind::Enrol => inner.users.record_enrolment(user_id, activate),
                ClaimKind::Verify => inner.users.record_verification(user_id),
            }
        }
        (consumed, inner.settings.frame)
    };
    Ok(Json(validate_answer(token, risk_profile, &consumed, frame)).into_response())
}

fn validate_answer(
    token: &str,
    risk_profile: Option<&str>,
    consumed: &Consumed,
    frame: FrameMode,
) -> Value {
    let outcome = &consumed.outcome;
    let mut answer = Map::new();
    answer.insert("passed".into(), json!(outcome.passed));
    answer.insert("token".into(), json!(token));
    answer.insert("type".into(), json!(consumed.kind.as_str()));
    answer.insert(
        "assurance_type".into(),
        json!(consumed.assurance_type.as_str()),
    );
    if let Some(risk_profile) = risk_profile.or(consumed.risk_profile.as_deref()) {
        answer.insert("risk_profile".into(), json!(risk_profile));
    }
    if !outcome.passed {
        answer.insert(
            "reason".into(),
            json!(outcome.reason.as_deref().unwrap_or("unknown")),
        );
    }
    let mut signals = Map::new();
    signals.insert("anti_spoofing".into(), json!({ "passed": outcome.passed }));
    if consumed.kind == ClaimKind::Verify {
        signals.insert("matching".into(), json!({ "passed": outcome.passed }));
    }
    signals.insert(
        "multiple_faces_found".into(),
        json!(outcome.reason.as_deref() == Some("multiple_faces")),
    );
    answer.insert("signals".into(), Value::Object(signals));

    let with_frame = outcome.passed && frame != FrameMode::None;
    answer.insert("frame_available".into(), json!(with_frame));
    if with_frame {
        let digest = Sha256::digest(token.as_bytes());
        let seed = [digest[0], digest[1], digest[2]];
        let image = png::gradient(FRAME_SIZE, FRAME_SIZE, seed);
        answer.insert("frame".into(), json!(STANDARD.encode(image)));
        if frame == FrameMode::Jpeg {
            let image = jpeg::uniform_gray(FRAME_SIZE, FRAME_SIZE);
            answer.insert("frame_jpeg".into(), json!(STANDARD.encode(image)));
        }
    }
    Value::Object(answer)
}

/// `POST /claim/{token}/invalidate`.
fn invalidate(
    shared: &Shared,
    raw_token: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let body = JsonObject::parse(headers, body)?;
    let reason = body.required_str("reason")?;
    if reason.chars().count() > MAX_INVALIDATE_REASON {
        return Err(ApiError::invalid_request(format!(
            "reason must be at most {MAX_INVALIDATE_REASON} characters"
        )));
    }
    let token = percent_decode(raw_token, false).ok_or_else(ApiError::invalid_token)?;
    let aborted = shared.lock().claims.invalidate(&token)?;
    Ok(Json(json!({ "claim_aborted": aborted, "user_informed": false })).into_response())
}

/// `POST /{api_key}/access_token`: OAuth2 client-credentials grant.
fn access_token(
    shared: &Shared,
    raw_api_key: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let api_key = percent_decode(raw_api_key, false).unwrap_or_default();
    let client = basic_credentials(headers);
    {
        let inner = shared.lock();
        let now = Instant::now();
        if !inner.credentials.api_key_matches(&api_key, now) {
            return Err(ApiError::invalid_key());
        }
        let client_ok = client
            .is_some_and(|(id, secret)| inner.credentials.oauth_client_matches(&id, &secret, now));
        if !client_ok {
            return Err(ApiError::invalid_client());
        }
    }
    if !has_media_type(headers, "application/x-www-form-urlencoded") {
        return Err(ApiError::invalid_request(
            "the content type must be application/x-www-form-urlencoded",
        ));
    }
    let form = parse_form(body)?;
    let grant_type = form
        .iter()
        .find(|(name, _)| name == "grant_type")
        .map(|(_, value)| value.as_str())
        .ok_or_else(|| ApiError::invalid_request("grant_type is required"))?;
    if grant_type != "client_credentials" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=client_credentials is supported",
        ));
    }
    let (token, ttl) = {
        let mut inner = shared.lock();
        let ttl = inner.settings.access_token_ttl;
        (inner.access_tokens.issue(ttl, Instant::now()), ttl)
    };
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "scope": SCOPE,
    }))
    .into_response())
}

/// `GET` or `DELETE /users/{user_id}`, behind an OAuth bearer token.
fn user(
    shared: &Shared,
    raw_user_id: &str,
    headers: &HeaderMap,
    delete: bool,
) -> Result<Response, ApiError> {
    let mut inner = shared.lock();
    let max_uses = inner.settings.access_token_max_uses;
    inner
        .access_tokens
        .authorise(bearer_token(headers), max_uses, Instant::now())?;
    let user_id = percent_decode(raw_user_id, false).ok_or_else(ApiError::invalid_user_id)?;
    validate_user_id(&user_id)?;
    let answer = if delete {
        let removed = inner.users.remove(&user_id);
        if removed.is_some() {
            inner.claims.forget_user(&user_id);
        }
        removed.map(|user| user.to_api_json(&user_id, "Deleted"))
    } else {
        inner
            .users
            .get(&user_id)
            .map(|user| user.to_api_json(&user_id, user.status.as_str()))
    };
    drop(inner);
    answer
        .map(|answer| Json(answer).into_response())
        .ok_or_else(|| ApiError::not_found("no user with this user_id"))
}

/// `GET /availability?api_key=…`.
fn availability(shared: &Shared, query: Option<&str>) -> Result<Response, ApiError> {
    let api_key = query_param(query, "api_key").ok_or_else(|| ApiError::missing_data("api_key"))?;
    if !shared
        .lock()
        .credentials
        .api_key_matches(&api_key, Instant::now())
    {
        return Err(ApiError::invalid_key());
    }
    Ok(Json(json!({ "up": true })).into_response())
}
