//! OAuth 2.0 and OpenID Connect on the HTTP side, shared by the `oidc` and `oidc-token`
//! functions: parameters from the query or a form body, the issuer of the request, and the
//! answers in RFC 6749's shape (`{"error", "error_description"}`, never the v1 API's shape),
//! with `Cache-Control: no-store` on everything that may carry a token or an error about one.

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use lambda_http::request::RequestContext;
use onboarding_core::oidc::{OAuthError, Params};
use serde_json::Value;

/// The largest form body an OAuth endpoint reads: a refresh token, a code, a client assertion
/// and their names fit many times over.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The answer for an OAuth error: its status, JSON body and `WWW-Authenticate` when it has one
/// (401 `invalid_client` and `invalid_token`), never cached.
pub fn error(err: &OAuthError) -> Response {
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(err.to_json())).into_response();
    let headers = response.headers_mut();
    no_store(headers);
    if let Some(challenge) = err
        .www_authenticate()
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// A JSON answer that must not be cached (tokens, introspection, userinfo).
pub fn json_no_store(value: Value) -> Response {
    let mut response = axum::Json(value).into_response();
    no_store(response.headers_mut());
    response
}

/// A redirect (302) to `location`, never cached: it may carry a code.
pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            no_store(response.headers_mut());
            response
        }
        Err(_) => error(&OAuthError::server_error()),
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The parameters of a GET request's query string.
pub fn query(uri: &Uri) -> Result<Params, OAuthError> {
    Params::from_form(uri.query().unwrap_or(""))
}

/// The parameters of a POST form body: `application/x-www-form-urlencoded` (RFC 6749 §3.2),
/// UTF-8, at most [`MAX_FORM_BYTES`].
pub fn form(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(OAuthError::invalid_request("the body is too large"));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
    Params::from_form(text)
}

/// The `Authorization` header as text, if present and readable.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The host API Gateway received the request on (its own `domainName`, which a client cannot
/// set): the issuer's host when no issuer is configured.
pub fn gateway_domain(parts: &Parts) -> Option<String> {
    match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onboarding_core::oidc::ErrorCode;

    #[test]
    fn an_invalid_client_answer_is_401_with_a_basic_challenge_and_never_cached() {
        // WHEN a client fails to authenticate
        let answer = error(&OAuthError::new(ErrorCode::InvalidClient, "bad"));
        // THEN the answer says so the RFC 6749 way
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert!(
            answer.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        assert_eq!(answer.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn a_form_needs_its_media_type_and_a_bounded_body() {
        let mut headers = HeaderMap::new();
        let body = Bytes::from_static(b"grant_type=refresh_token&refresh_token=a.b");
        assert!(form(&headers, &body).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert!(form(&headers, &body).is_ok());
        let huge = Bytes::from(vec![b'a'; MAX_FORM_BYTES + 1]);
        assert!(form(&headers, &huge).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(form(&headers, &body).is_err());
    }
}
