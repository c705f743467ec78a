//! Serving an axum router as a Lambda function: one middleware that names the request (id,
//! cold start), scopes logs and error bodies to it, answers hints in the request's language,
//! adds security headers, and logs one line per request without any PII; JSON fallbacks for
//! unknown routes and methods.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::ApiError;
use crate::localise;
use crate::meta::RequestMeta;
use crate::origin::OriginPolicy;
use crate::request_id;
use crate::telemetry;
use onboarding_core::domain::Language;

/// Adds the shared middleware and fallbacks to a function's routes: the origin check of
/// cookie-authenticated state changes (see [`OriginPolicy`]) inside the observer, so refusals
/// are logged and carry the request id like any answer.
pub fn finish(routes: Router, origins: OriginPolicy) -> Router {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(origins, check_origin))
        .layer(middleware::from_fn(observe))
}

/// Runs the router on the Lambda runtime until the runtime stops it.
pub async fn run(routes: Router, origins: OriginPolicy) -> Result<(), lambda_http::Error> {
    lambda_http::run(finish(routes, origins)).await
}

async fn check_origin(State(origins): State<OriginPolicy>, req: Request, next: Next) -> Response {
    match origins.check(req.method(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(refused) => {
            tracing::warn!("cookie-authenticated request from a page that is not allowed");
            refused.into_response()
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such route.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This method is not allowed on this route.",
    )
}

async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let meta = RequestMeta::from_parts(&parts);
    let language = Language::negotiate(
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    parts.extensions.insert(meta.clone());
    req = Request::from_parts(parts, body);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %meta.request_id,
        cold_start = telemetry::take_cold_start(),
    );
    let request_id = meta.request_id.clone();
    async move {
        let response = request_id::scope(request_id, next.run(req)).await;
        let mut response = localise::hint(response, language).await;
        secure_headers(&mut response);
        tracing::info!(
            method = %method,
            route = %route,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request served"
        );
        response
    }
    .instrument(span)
    .await
}

/// Headers every API answer carries: nothing is cached, nothing is sniffed or framed.
fn secure_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
}
