//! Reading requests strictly, and failing with a JSON error instead of a panic or a plain-text
//! rejection.
//!
//! Bodies are read by hand rather than with axum's `Json`/`Form` extractors because those answer
//! malformed input in plain text with their own status codes, while iProov (and therefore the
//! sandbox) answers `{"error": "invalid_request" | "missing_data", ...}`. Field access goes
//! through [`JsonObject`] so that "absent" (→ `missing_data`) and "present with the wrong type"
//! (→ `invalid_request`) are told apart the same way on every route.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::errors::ApiError;

/// Largest request body the sandbox reads. Real requests are a few hundred bytes; the limit only
/// exists so a garbage test cannot make the server buffer without bound.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Reads a whole body, answering 413 (as JSON) when it is over [`BODY_LIMIT`].
pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::payload_too_large())
}

/// True when the request's media type is `expected` (parameters such as `charset` ignored).
pub fn has_media_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(expected))
}

/// A request body that was a JSON object, with typed, error-mapping accessors.
#[derive(Debug, Clone, Default)]
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    /// Parses a body that must be `application/json` and hold a JSON object.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        if !has_media_type(headers, "application/json") {
            return Err(ApiError::invalid_request(
                "the content type must be application/json",
            ));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid_request("the request body is empty"));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::invalid_request(
                "the request body must be a JSON object",
            )),
            Err(_) => Err(ApiError::invalid_request(
                "the request body is not valid JSON",
            )),
        }
    }

    /// The field's value; `null` counts as absent, as most JSON clients write absent options
    /// that way.
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|value| !value.is_null())
    }

    /// True when the field is present, even as `null` (for settings where `null` means "off").
    pub fn has_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// True when the object has no fields at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Refuses fields outside `allowed`. The control surface uses it so that a typo in a test
    /// (`token_ttl` for `token_ttl_seconds`) fails loudly instead of silently doing nothing.
    pub fn only_fields(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|key| !allowed.contains(&key.as_str())) {
            None => Ok(()),
            Some(key) => Err(ApiError::invalid_request(format!(
                "unknown field `{}`; expected one of: {}",
                key.chars().take(64).collect::<String>(),
                allowed.join(", ")
            ))),
        }
    }

    pub fn required_str(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_str(name)?
            .ok_or_else(|| ApiError::missing_data(name))
    }

    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    pub fn optional_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(wrong_type(name, "a boolean")),
        }
    }

    /// A non-negative integer no larger than `max`.
    pub fn optional_u64(&self, name: &str, max: u64) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => match value.as_u64() {
                Some(number) if number <= max => Ok(Some(number)),
                _ => Err(wrong_type(name, &format!("an integer between 0 and {max}"))),
            },
        }
    }

    /// A non-negative number (integer or fraction) no larger than `max`.
    pub fn optional_f64(&self, name: &str, max: f64) -> Result<Option<f64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => match value.as_f64() {
                Some(number) if number.is_finite() && (0.0..=max).contains(&number) => {
                    Ok(Some(number))
                }
                _ => Err(wrong_type(name, &format!("a number between 0 and {max}"))),
            },
        }
    }
}

fn wrong_type(name: &str, expected: &str) -> ApiError {
    ApiError::invalid_request(format!("the field `{name}` must be {expected}"))
}

/// The control surface takes its JSON bodies through this extractor, so a bad body is
/// rejected with the same JSON error as on the API.
impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(body).await?;
        JsonObject::parse(&parts.headers, &bytes)
    }
}

/// One `{param}` of a route, with axum's plain-text rejection (bad percent-encoding, say)
/// replaced by a JSON 400.
#[derive(Debug, Clone)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParam(value))
            .map_err(|_| ApiError::invalid_request("a path segment is not valid"))
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as forms and query strings
/// write it). `None` when an escape is malformed or the result is not UTF-8.
pub fn percent_decode(input: &str, plus_is_space: bool) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `application/x-www-form-urlencoded` text into name/value pairs.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::invalid_request("the form body is not UTF-8"))?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (percent_decode(name, true), percent_decode(value, true)) {
                (Some(name), Some(value)) => Ok((name, value)),
                _ => Err(ApiError::invalid_request("the form body is malformed")),
            }
        })
        .collect()
}

/// The first value of `name` in a URL query string.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let pairs = parse_form(query?.as_bytes()).ok()?;
    pairs
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// The user and password of an `Authorization: Basic …` header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers
    }

    #[test]
    fn absent_and_null_fields_are_missing_but_wrong_types_are_invalid() {
        let body = JsonObject::parse(&json_headers(), br#"{"a": null, "b": 5}"#)
            .expect("an object parses");
        assert_eq!(
            body.required_str("a").map_err(|e| e.code),
            Err("missing_data".into())
        );
        assert_eq!(
            body.required_str("c").map_err(|e| e.code),
            Err("missing_data".into())
        );
        assert_eq!(
            body.required_str("b").map_err(|e| e.code),
            Err("invalid_request".into())
        );
    }

    #[test]
    fn non_objects_and_other_media_types_are_invalid_requests() {
        for body in [&b"[]"[..], b"\"x\"", b"{", b"", b"  "] {
            let error = JsonObject::parse(&json_headers(), body).expect_err("rejected");
            assert_eq!(error.code, "invalid_request");
        }
        let error = JsonObject::parse(&HeaderMap::new(), b"{}").expect_err("no content type");
        assert_eq!(error.code, "invalid_request");
    }

    #[test]
    fn percent_decoding_rejects_broken_escapes_and_non_utf8() {
        assert_eq!(percent_decode("a%20b+c", true).as_deref(), Some("a b c"));
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%4", false), None);
        assert_eq!(percent_decode("%ff", false), None);
    }

    #[test]
    fn basic_and_bearer_headers_are_read_by_scheme() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwYTpzcw=="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("user".to_owned(), "pa:ss".to_owned()))
        );
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        assert_eq!(basic_credentials(&headers), None);
    }
}
