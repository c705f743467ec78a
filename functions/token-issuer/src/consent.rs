//! Consent to biometric processing: the deployment's consent document, embedded at build time
//! from `config/consent.json` (docs/consent.md says why embedded, and how to edit it), and
//! `GET /v1/consent`, the current text in the reader's language. The rules (which version is
//! current, the language fallback, what an answer must be) are the core's
//! (core/src/domain/consent.rs); this module only reads the document and answers.

use std::sync::Arc;

use api::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use onboarding_core::domain::consent::{CatalogError, ConsentAnswer, ConsentProblem};
use onboarding_core::domain::{ConsentCatalog, Language};
use serde_json::{Map, Value, json};

use crate::Deps;

/// The document as the deployer wrote it; a change rebuilds the function (cargo tracks the
/// file), and `catalog()` refuses a broken one at cold start and in this module's test.
const DOCUMENT: &str = include_str!("../../../config/consent.json");

/// The embedded document, validated.
pub fn catalog() -> Result<ConsentCatalog, CatalogError> {
    ConsentCatalog::parse(DOCUMENT)
}

/// The language the request asks for (`Accept-Language`), as the core negotiates it.
pub fn requested_language(headers: &HeaderMap) -> Language {
    Language::negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// `GET /v1/consent`: `{version, language, text, purposes}`, with `Content-Language` naming the
/// language given (the server adds `Vary: Accept-Language` to every answer).
pub async fn handle(State(deps): State<Arc<Deps>>, headers: HeaderMap) -> Response {
    let shown = deps.consent.current(requested_language(&headers));
    let body = json!({
        "version": shown.version,
        "language": shown.language.tag(),
        "text": shown.text,
        "purposes": shown.purposes,
    });
    (
        [(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(shown.language.tag()),
        )],
        Json(body),
    )
        .into_response()
}

/// Reads the `consent` object of a registration body: `{version, accepted, language?}`. Shape
/// problems are reported as `Err` with the text for `fields.consent`; whether the answer is
/// consent is the core's decision.
pub fn read_answer(object: Map<String, Value>) -> Result<ConsentAnswer, &'static str> {
    if object
        .keys()
        .any(|k| !matches!(k.as_str(), "version" | "accepted" | "language"))
    {
        return Err("has an unknown field (only version, accepted, language)");
    }
    let version = match object.get("version") {
        Some(Value::String(v)) => v.clone(),
        Some(_) => return Err("version must be a string"),
        None => return Err("version is required"),
    };
    let accepted = match object.get("accepted") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("accepted must be true or false"),
        None => return Err("accepted is required"),
    };
    let language = match object.get("language") {
        Some(Value::String(l)) => Some(l.clone()),
        Some(Value::Null) | None => None,
        Some(_) => return Err("language must be a string"),
    };
    Ok(ConsentAnswer {
        version,
        accepted,
        language,
    })
}

/// The answer to a refused consent: 400 `fields.consent` when the answer is missing, declined,
/// for an unknown version or language; 409 `consent_outdated` when the person accepted a text
/// that has since been replaced (the client fetches the current one and asks again).
pub fn refusal(problem: ConsentProblem) -> ApiError {
    let field = |text: &str| {
        let mut fields = api::FieldErrors::new();
        fields.insert("consent".to_owned(), text.to_owned());
        ApiError::invalid_fields(fields)
    };
    match problem {
        ConsentProblem::Missing => field("is required"),
        ConsentProblem::Declined => field("must be accepted"),
        ConsentProblem::UnknownVersion => field("names an unknown version"),
        ConsentProblem::LanguageNotOffered => {
            field("names a language this version was not shown in")
        }
        ConsentProblem::Outdated => ApiError::conflict(
            "consent_outdated",
            "The consent text was replaced; fetch GET /v1/consent and ask again.",
        )
        .with_hint("Read the current consent text and accept it to continue."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_consent_document_is_valid() {
        // given config/consent.json as embedded, then it parses, and its current version has
        // an English and a German text
        let catalog = catalog().expect("config/consent.json");
        assert_eq!(
            catalog.current(Language::English).language,
            Language::English
        );
        assert_eq!(catalog.current(Language::German).language, Language::German);
    }

    #[test]
    fn a_consent_object_is_read_or_its_shape_problem_named() {
        // given consent objects of every shape
        let read = |v: Value| match v {
            Value::Object(m) => read_answer(m),
            _ => unreachable!(),
        };
        // then a well-formed one is read, and each malformed one is named
        assert_eq!(
            read(json!({"version": "v", "accepted": true})),
            Ok(ConsentAnswer {
                version: "v".into(),
                accepted: true,
                language: None
            })
        );
        assert_eq!(read(json!({"accepted": true})), Err("version is required"));
        assert_eq!(
            read(json!({"version": "v", "accepted": "yes"})),
            Err("accepted must be true or false")
        );
        assert!(read(json!({"version": "v", "accepted": true, "admin": 1})).is_err());
    }
}
