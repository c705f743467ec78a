//! The one error type every route answers with.
//!
//! iProov's error bodies are `{"error": CODE, "error_description": TEXT}`; the sandbox uses the
//! same shape on its control surface so that a test reading any sandbox answer needs one parser.
//! Every rejection axum would otherwise answer in plain text (bad path encoding, oversized body,
//! unknown route, wrong method) is turned into one of these, so a client never sees a non-JSON
//! error from the sandbox.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{HeaderValue, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error code of a response, attached as a response extension so the access log can report
/// it without parsing the body.
#[derive(Clone, Debug)]
pub struct ErrorCode(pub String);

/// An error answer: status, machine-readable code, human-readable description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub description: Cow<'static, str>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            description: description.into(),
        }
    }

    /// A required field is absent (or `null`).
    pub fn missing_data(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "missing_data",
            format!("the field `{field}` is required"),
        )
    }

    /// The request cannot be read: not JSON, wrong content type, wrong field type.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_key",
            "the api_key or secret is not valid",
        )
    }

    /// One code for every reason a token cannot be used, as iProov does: a client cannot
    /// (and must not) tell an expired token from an unknown or used one.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "the token is unknown, expired, already used, not scanned yet or not for this call",
        )
    }

    pub fn invalid_user_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_user_id",
            "user_id must match [a-zA-Z0-9'+_@.-]{1,256}",
        )
    }

    pub fn invalid_oauth() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_oauth",
            "a valid OAuth bearer access token is required",
        )
    }

    pub fn token_quota_exceeded() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token_quota_exceeded",
            "this access token has been used for its maximum number of requests",
        )
    }

    pub fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the OAuth client credentials (HTTP Basic) are not valid",
        )
    }

    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "rate limit exceeded for this api_key",
        )
    }

    pub fn not_found(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not accept this method",
        )
    }

    pub fn conflict(
        code: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::CONFLICT, code, description)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is unreadable or larger than the sandbox accepts",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        if self.code == "invalid_client" {
            // RFC 6749 §5.2: a 401 for client authentication names the scheme to use.
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"iproov-sandbox\""),
            );
        }
        response
            .extensions_mut()
            .insert(ErrorCode(self.code.into_owned()));
        response
    }
}
