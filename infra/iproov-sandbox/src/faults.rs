//! Fault injection: "the next N calls on this path answer like this".
//!
//! A fault is checked after the call is counted in the statistics and after the global latency,
//! but **before the request body is read**. A faulted call therefore changes no state: a faulted
//! validate does not consume its token, exactly like a request a load balancer or rate limiter
//! rejects before it reaches the service. That is what lets a test prove that a client retries a
//! validate only when the first attempt provably did nothing.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::paths::glob_match;
use crate::request::JsonObject;

/// Longest delay a fault may add; longer than any sane client timeout.
const MAX_DELAY_MS: u64 = 600_000;
/// Most calls one fault may cover.
const MAX_COUNT: u64 = 1_000_000;
/// Longest fault path or error code accepted.
const MAX_TEXT: usize = 512;

/// One registered fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Pattern relative to `/api/v2` (see [`glob_match`]).
    pub path: String,
    /// Only calls with this method; any method when `None`.
    pub method: Option<Method>,
    /// Answer with this status, or (when `None`) only add `delay` and then answer normally.
    pub status: Option<StatusCode>,
    /// The `error` code of the injected answer.
    pub error: String,
    /// Calls still to be faulted.
    pub remaining: u64,
    pub delay: Duration,
    /// Close the connection instead of answering.
    pub drop_connection: bool,
}

/// What to do to the call a fault matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultAction {
    pub delay: Duration,
    pub outcome: FaultOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultOutcome {
    /// Answer normally after the delay.
    Proceed,
    /// Answer with this error instead.
    Respond(ApiError),
    /// Close the connection without answering.
    DropConnection,
}

impl Fault {
    /// Reads the body of `POST /sandbox/faults`.
    pub fn from_json(body: &JsonObject) -> Result<Fault, ApiError> {
        let raw_path = body.required_str("path")?;
        let path = raw_path.strip_prefix("/api/v2").unwrap_or(raw_path);
        if !path.starts_with('/') || path.len() > MAX_TEXT {
            return Err(ApiError::invalid_request(
                "path must start with / and be relative to /api/v2, e.g. /claim/enrol/validate",
            ));
        }
        let method = match body.optional_str("method")? {
            None => None,
            Some(name) => Some(
                Method::from_bytes(name.to_ascii_uppercase().as_bytes())
                    .map_err(|_| ApiError::invalid_request("method is not an HTTP method"))?,
            ),
        };
        let status = match body.optional_u64("status", 599)? {
            None => None,
            Some(code) if code >= 400 => Some(
                u16::try_from(code)
                    .ok()
                    .and_then(|code| StatusCode::from_u16(code).ok())
                    .ok_or_else(|| ApiError::invalid_request("status is not valid"))?,
            ),
            Some(_) => {
                return Err(ApiError::invalid_request(
                    "status must be an error status between 400 and 599",
                ));
            }
        };
        let error = match body.optional_str("error")? {
            Some(code) if code.is_empty() || code.len() > MAX_TEXT => {
                return Err(ApiError::invalid_request("error must be a short code"));
            }
            Some(code) => code.to_owned(),
            None => default_error_code(status).to_owned(),
        };
        let remaining = body.optional_u64("count", MAX_COUNT)?.unwrap_or(1);
        if remaining == 0 {
            return Err(ApiError::invalid_request("count must be at least 1"));
        }
        let delay =
            Duration::from_millis(body.optional_u64("delay_ms", MAX_DELAY_MS)?.unwrap_or(0));
        let drop_connection = body.optional_bool("drop_connection")?.unwrap_or(false);
        if status.is_none() && delay.is_zero() && !drop_connection {
            return Err(ApiError::invalid_request(
                "a fault needs a status, a delay_ms or drop_connection",
            ));
        }
        Ok(Fault {
            path: path.to_owned(),
            method,
            status,
            error,
            remaining,
            delay,
            drop_connection,
        })
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.remaining > 0
            && self.method.as_ref().is_none_or(|wanted| wanted == method)
            && glob_match(&self.path, path).is_some()
    }

    fn action(&self) -> FaultAction {
        let outcome = if self.drop_connection {
            FaultOutcome::DropConnection
        } else if let Some(status) = self.status {
            FaultOutcome::Respond(ApiError::new(
                status,
                self.error.clone(),
                "injected by the iProov sandbox (POST /sandbox/faults)",
            ))
        } else {
            FaultOutcome::Proceed
        };
        FaultAction {
            delay: self.delay,
            outcome,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "path": self.path,
            "method": self.method.as_ref().map(Method::as_str),
            "status": self.status.map(|status| status.as_u16()),
            "error": self.error,
            "remaining": self.remaining,
            "delay_ms": u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX),
            "drop_connection": self.drop_connection,
        })
    }
}

/// The iProov code a status would usually carry.
fn default_error_code(status: Option<StatusCode>) -> &'static str {
    match status.map(|status| status.as_u16()) {
        Some(401) => "invalid_key",
        Some(403) => "access_denied",
        Some(404) => "not_found",
        Some(429) => "too_many_requests",
        Some(500..=599) => "server_error",
        _ => "invalid_request",
    }
}

/// The registered faults, first registered first served.
#[derive(Debug, Default)]
pub struct Faults {
    list: Vec<Fault>,
    /// How many calls a fault has changed since the last reset.
    pub triggered: u64,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        self.list.push(fault);
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Takes one use of the oldest fault matching the call, if any.
    pub fn take(&mut self, method: &Method, path: &str) -> Option<FaultAction> {
        let index = self
            .list
            .iter()
            .position(|fault| fault.matches(method, path))?;
        let fault = &mut self.list[index];
        fault.remaining -= 1;
        let action = fault.action();
        if fault.remaining == 0 {
            self.list.remove(index);
        }
        self.triggered += 1;
        Some(action)
    }

    pub fn to_json(&self) -> Value {
        Value::Array(self.list.iter().map(Fault::to_json).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use axum::http::header::{CONTENT_TYPE, HeaderValue};

    fn fault(body: &str) -> Result<Fault, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Fault::from_json(&JsonObject::parse(&headers, body.as_bytes())?)
    }

    #[test]
    fn a_fault_answers_count_calls_then_disappears() {
        let mut faults = Faults::default();
        faults.add(
            fault(r#"{"path": "/claim/enrol/validate", "status": 429, "count": 2}"#)
                .expect("valid fault"),
        );
        for _ in 0..2 {
            let action = faults
                .take(&Method::POST, "/claim/enrol/validate")
                .expect("faulted");
            let FaultOutcome::Respond(error) = action.outcome else {
                panic!("expected an error answer");
            };
            assert_eq!(error.code, "too_many_requests");
        }
        assert!(
            faults
                .take(&Method::POST, "/claim/enrol/validate")
                .is_none()
        );
        assert_eq!(faults.triggered, 2);
    }

    #[test]
    fn patterns_methods_and_the_api_prefix_are_honoured() {
        let mut faults = Faults::default();
        faults.add(
            fault(
                r#"{"path": "/api/v2/claim/{token}/invalidate", "method": "post", "status": 503}"#,
            )
            .expect("valid fault"),
        );
        assert!(faults.take(&Method::GET, "/claim/abc/invalidate").is_none());
        assert!(faults.take(&Method::POST, "/claim/enrol/token").is_none());
        assert!(
            faults
                .take(&Method::POST, "/claim/abc/invalidate")
                .is_some()
        );
    }

    #[test]
    fn useless_or_malformed_faults_are_refused() {
        for body in [
            r#"{"path": "/x"}"#,
            r#"{"path": "x", "status": 500}"#,
            r#"{"path": "/x", "status": 200}"#,
            r#"{"path": "/x", "status": 500, "count": 0}"#,
            r#"{"path": "/x", "status": "500"}"#,
            r#"{"status": 500}"#,
        ] {
            assert!(fault(body).is_err(), "{body}");
        }
    }
}
