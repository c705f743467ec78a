//! Hints in the language the person asked for. Every JSON answer with a top-level `hint` (error
//! answers, and a failed registration's status) has it translated for the request's
//! `Accept-Language` (core/src/domain/language.rs holds the negotiation and the translations),
//! and says so with `Content-Language`. Done once here, so no handler has to know the request's
//! language, and every route answers alike. Codes, messages and reasons stay as they are:
//! programs read them.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use onboarding_core::domain::Language;
use onboarding_core::domain::language::translate_hint;
use serde_json::Value;

/// Answers this API sends are a few kilobytes at most; a larger body is passed on untouched.
const MAX_LOCALISED_BODY: usize = 64 * 1024;

/// `response` with its hint in `language`. Every answer varies by `Accept-Language`.
pub async fn hint(response: Response, language: Language) -> Response {
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Language"));
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if language == Language::English || !is_json {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = to_bytes(body, MAX_LOCALISED_BODY).await else {
        // Unreadable or too large: nothing of it can be passed on; answer what we can.
        return Response::from_parts(parts, Body::empty());
    };
    let translated = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|mut json| {
            let english = json.get("hint")?.as_str()?;
            let local = translate_hint(english, language)?;
            json["hint"] = Value::from(local);
            serde_json::to_vec(&json).ok()
        });
    match translated {
        Some(body) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_LANGUAGE,
                HeaderValue::from_static(language.tag()),
            );
            Response::from_parts(parts, Body::from(body))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;
    use crate::error::ApiError;

    async fn body_of(response: Response) -> Value {
        serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap()).unwrap()
    }

    fn failed() -> Response {
        ApiError::new(StatusCode::UNAUTHORIZED, "verification_failed", "No.")
            .with_reason("too_dark")
            .with_hint("Find a brighter place.")
            .into_response()
    }

    #[tokio::test]
    async fn a_german_request_gets_the_german_hint_and_everything_else_unchanged() {
        // given an error answer with a hint, for a request preferring German
        let response = hint(failed(), Language::German).await;
        // then the hint is German, the code, message and reason are not, and it says so
        assert_eq!(response.headers()[header::CONTENT_LANGUAGE], "de");
        assert_eq!(response.headers()[header::VARY], "Accept-Language");
        let body = body_of(response).await;
        assert_eq!(body["hint"], "Suchen Sie einen helleren Ort auf.");
        assert_eq!(body["error"], "verification_failed");
        assert_eq!(body["message"], "No.");
        assert_eq!(body["reason"], "too_dark");
    }

    #[tokio::test]
    async fn english_and_hintless_answers_pass_untouched() {
        // given an English request, and a German one without a hint
        let english = hint(failed(), Language::English).await;
        assert!(english.headers().get(header::CONTENT_LANGUAGE).is_none());
        assert_eq!(body_of(english).await["hint"], "Find a brighter place.");
        let plain = ApiError::unauthorized().into_response();
        let german = hint(plain, Language::German).await;
        assert!(german.headers().get(header::CONTENT_LANGUAGE).is_none());
        assert_eq!(body_of(german).await["error"], "unauthorized");
    }
}
