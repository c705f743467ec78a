//! Strict reading of JSON request bodies: the right media type (415), a small size cap (413),
//! well-formed JSON (400), an object whose fields are checked one by one so the answer can say
//! exactly which fields are wrong (400 with `fields`).

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldErrors};

/// Default cap on request bodies: our bodies are a few short strings.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4096;

/// The body cap, read once from `MAX_BODY_BYTES` (so operators can tune it).
pub fn max_body_bytes() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("MAX_BODY_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_BODY_BYTES)
    })
}

/// A JSON object body that passed the media-type, size and syntax checks.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(&req)?;
        let bytes = read_limited(req.into_body()).await?;
        parse_object(&bytes).map(JsonObject)
    }
}

fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let value = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The body must be JSON (Content-Type: application/json).",
        ))
    }
}

async fn read_limited(body: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, max_body_bytes())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body must be at most {} bytes.", max_body_bytes()),
            )
        })
}

/// Parses bytes into a JSON object or explains why not.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "The body must be a JSON object.",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "The body is not valid JSON.",
        )),
    }
}

/// Reads declared fields out of a JSON object, collecting every problem instead of stopping at
/// the first, and refusing fields it was not told about (mass-assignment protection).
pub struct FieldReader {
    map: Map<String, Value>,
    errors: FieldErrors,
}

impl FieldReader {
    /// Starts reading; any key not in `allowed` is reported as unknown.
    pub fn new(map: Map<String, Value>, allowed: &[&str]) -> Self {
        let mut errors = FieldErrors::new();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.insert(truncate_key(key), "unknown field".to_owned());
            }
        }
        Self { map, errors }
    }

    /// A required string field.
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.map.remove(name) {
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
            None => {
                self.error(name, "is required");
                None
            }
        }
    }

    /// An optional string field (`null` counts as absent).
    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        match self.map.remove(name) {
            Some(Value::String(s)) => Some(s),
            Some(Value::Null) | None => None,
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// An optional object field (`null` counts as absent), for the caller to read further.
    pub fn optional_object(&mut self, name: &str) -> Option<Map<String, Value>> {
        match self.map.remove(name) {
            Some(Value::Object(object)) => Some(object),
            Some(Value::Null) | None => None,
            Some(_) => {
                self.error(name, "must be an object");
                None
            }
        }
    }

    /// Records a problem with a field (the first one wins).
    pub fn error(&mut self, name: &str, problem: impl Into<String>) {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| problem.into());
    }

    /// Ends reading: `Err` with every collected problem, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_fields(self.errors))
        }
    }
}

/// Unknown keys are echoed back; keep them short and printable.
fn truncate_key(key: &str) -> String {
    key.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test input must be an object"),
        }
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_all_reported_at_once() {
        // GIVEN a body with one unknown field, one wrong type and one missing field
        let mut reader = FieldReader::new(
            object(json!({"admin": true, "username": 7})),
            &["username", "display_name"],
        );
        // WHEN both declared fields are read
        let _ = reader.string("username");
        let _ = reader.string("display_name");
        // THEN every problem is reported, by field
        let err = reader.finish().expect_err("must fail");
        let fields = err.fields.expect("fields");
        assert_eq!(fields["admin"], "unknown field");
        assert_eq!(fields["username"], "must be a string");
        assert_eq!(fields["display_name"], "is required");
    }

    #[test]
    fn non_object_json_is_rejected() {
        assert_eq!(
            parse_object(b"[1,2]").expect_err("array").code,
            "invalid_json"
        );
        assert_eq!(
            parse_object(b"{oops").expect_err("syntax").code,
            "invalid_json"
        );
        assert!(parse_object(b"{}").is_ok());
    }
}
