//! The one error shape every route answers with (docs/api.md): `{error, message, fields?, hint?,
//! request_id}`. Handlers return [`ApiError`] instead of `Err` so the runtime never sees a failure
//! it would turn into an opaque 502.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::request_id;

/// Per-field problems, keyed by field name, in a stable order.
pub type FieldErrors = BTreeMap<String, String>;

/// An error answer: status, stable machine code, human message and optional extras.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Option<Box<FieldErrors>>,
    pub hint: Option<String>,
    pub reason: Option<String>,
    /// Seconds for a `Retry-After` header (429 and some 503s).
    pub retry_after: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a FieldErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    request_id: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: None,
            hint: None,
            reason: None,
            retry_after: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400 with per-field problems; the message summarises, `fields` tells which.
    pub fn invalid_fields(fields: FieldErrors) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Some fields are missing or invalid.",
        );
        e.fields = Some(Box::new(fields));
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid credential is required.",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found."),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, code, message)
    }

    pub fn rate_limited(retry_after: u32) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests. Please wait before trying again.",
        )
        .with_retry_after(retry_after.max(1))
    }

    /// A dependency failed; the caller may retry. No internal detail leaves the process.
    pub fn unavailable(code: &'static str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            "The service is temporarily unavailable. Please try again shortly.",
        )
        .with_retry_after(2)
    }

    /// Something we did not expect; logged by the caller, opaque to the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: &self.message,
            reason: self.reason.as_deref(),
            fields: self.fields.as_deref(),
            hint: self.hint.as_deref(),
            request_id: request_id::current(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
