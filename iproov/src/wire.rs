//! iProov's JSON, as sent and as read.
//!
//! Requests are exact. Responses are read tolerantly, because the API grows and features are
//! switched on per service provider: unknown fields are ignored, and every field beyond
//! `passed`, `token` and `type` is optional *and* may have an unexpected type without failing
//! the whole answer (it is then treated as absent). None of these types implements `Debug`:
//! they hold secrets, tokens or images.

use std::time::Duration;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::IProovError;
use super::frame::Frame;
use super::token::Fallback;
use super::validate::ValidateOutcome;

/// Body of `POST /claim/{enrol,verify}/token`.
#[derive(Serialize)]
pub(crate) struct TokenRequest<'a> {
    pub api_key: &'a str,
    pub secret: &'a str,
    pub resource: &'a str,
    pub user_id: &'a str,
    pub assurance_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_profile: Option<&'a str>,
}

/// Body of `POST /claim/{enrol,verify}/validate`.
#[derive(Serialize)]
pub(crate) struct ValidateBody<'a> {
    pub api_key: &'a str,
    pub secret: &'a str,
    pub user_id: &'a str,
    pub token: &'a str,
    /// Omitted, never sent as IPv6 (see `validate::ipv4_for_iproov`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub client: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_profile: Option<&'a str>,
    /// Sent explicitly on enrol (an enrolment that is not activated does not count); absent on
    /// verify, where it does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activate: Option<bool>,
}

/// Body of `POST /claim/{token}/invalidate`.
#[derive(Serialize)]
pub(crate) struct InvalidateBody<'a> {
    pub reason: &'a str,
}

/// Answer of the token endpoints.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub token: String,
    #[serde(default, deserialize_with = "lenient")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub primary: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    fallback: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct FallbackWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, deserialize_with = "lenient")]
    message: Option<String>,
}

impl TokenResponse {
    /// The fallbacks that have at least a `type`; malformed entries are dropped.
    pub(crate) fn fallbacks(&self) -> Vec<Fallback> {
        self.fallback
            .iter()
            .flatten()
            .filter_map(|v| serde_json::from_value::<FallbackWire>(v.clone()).ok())
            .map(|f| Fallback {
                kind: f.kind,
                message: f.message,
            })
            .collect()
    }
}

/// Answer of the validate endpoints. `F` says how its two image fields are read: as text to
/// decode ([`FrameText`], an enrolment, whose image we keep) or not at all ([`Unread`], a
/// verification: a login keeps no image, so none is copied, decoded or held).
#[derive(Deserialize)]
#[serde(bound(deserialize = "F: FrameField"))]
pub(crate) struct ValidateResponse<F = FrameText> {
    pub passed: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub token: Option<String>,
    #[serde(default)]
    frame: F,
    #[serde(default)]
    frame_jpeg: F,
    #[serde(default, deserialize_with = "lenient")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    assurance_type: Option<String>,
}

/// How a validate answer's image field is read.
pub(crate) trait FrameField: DeserializeOwned + Default {
    /// The field's base64 text, if it was read and is a string.
    fn text(&self) -> Option<&str>;
}

/// An image field read as text; absent when null or not a string.
#[derive(Default)]
pub(crate) struct FrameText(Option<String>);

impl<'de> Deserialize<'de> for FrameText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient(deserializer).map(FrameText)
    }
}

impl FrameField for FrameText {
    fn text(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// An image field stepped over unread: the parser checks its syntax but copies nothing.
#[derive(Default)]
pub(crate) struct Unread;

impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Unread)
    }
}

impl FrameField for Unread {
    fn text(&self) -> Option<&str> {
        None
    }
}

/// Which image fields were present but could not be decoded, for a warning by the caller.
pub(crate) struct UndecodableFrames(pub Vec<&'static str>);

impl<F: FrameField> ValidateResponse<F> {
    /// The outcome, taking `frame` first and `frame_jpeg` if `frame` is absent or unusable.
    pub(crate) fn into_outcome(self) -> (ValidateOutcome, UndecodableFrames) {
        let mut undecodable = Vec::new();
        let mut decode = |field: &'static str, text: Option<&str>| {
            let text = text.filter(|t| !t.trim().is_empty())?;
            let frame = Frame::from_base64(text);
            if frame.is_none() {
                undecodable.push(field);
            }
            frame
        };
        let frame = decode("frame", self.frame.text())
            .or_else(|| decode("frame_jpeg", self.frame_jpeg.text()));
        let outcome = ValidateOutcome {
            passed: self.passed,
            reason: self.reason.filter(|r| !r.is_empty()),
            frame,
            assurance_type: self.assurance_type,
        };
        (outcome, UndecodableFrames(undecodable))
    }
}

/// Answer of `POST /{api_key}/access_token`.
#[derive(Deserialize)]
pub(crate) struct AccessTokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "lenient")]
    expires_in: Option<serde_json::Value>,
}

impl AccessTokenResponse {
    /// The announced lifetime; numbers and numeric strings are accepted.
    pub(crate) fn expires_in(&self) -> Option<Duration> {
        let secs = match self.expires_in.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        Some(Duration::from_secs(secs))
    }
}

/// Answer of `GET /availability`.
#[derive(Deserialize)]
pub(crate) struct AvailabilityResponse {
    pub up: bool,
}

/// Parses a success body, mapping any failure to [`IProovError::Decode`].
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, IProovError> {
    serde_json::from_slice(body).map_err(|_| IProovError::Decode)
}

/// An optional field that becomes `None` when it is `null` or has an unexpected type, instead
/// of failing the whole answer.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_of_the_wrong_type_are_treated_as_absent() {
        let body = br#"{"passed":true,"token":"t","type":"verify","reason":{"x":1},"frame":17,
                        "assurance_type":null,"signals":{"anti_spoofing":{"passed":true}},"new":[1]}"#;
        let (outcome, undecodable) = parse::<ValidateResponse>(body).unwrap().into_outcome();
        assert!(outcome.passed);
        assert_eq!(outcome.reason, None);
        assert_eq!(outcome.frame, None);
        assert!(undecodable.0.is_empty());
    }

    #[test]
    fn unread_image_fields_of_any_type_are_skipped_but_must_be_json() {
        // given verify answers whose image fields are a string, a number and an object
        let body = br#"{"passed":false,"token":"t","reason":"r","frame":"iVBORw0KGgo=",
                        "frame_jpeg":{"x":[1,2]}}"#;
        // when they are read without their images
        let (outcome, undecodable) = parse::<ValidateResponse<Unread>>(body)
            .unwrap()
            .into_outcome();
        // then the verdict is kept, no image is, and nothing is reported undecodable
        assert!(!outcome.passed);
        assert_eq!(outcome.reason.as_deref(), Some("r"));
        assert_eq!(outcome.frame, None);
        assert!(undecodable.0.is_empty());
        // and a body that is not JSON inside a skipped field is still refused
        assert!(parse::<ValidateResponse<Unread>>(br#"{"passed":true,"frame":"x}"#).is_err());
    }

    #[test]
    fn passed_is_required_and_must_be_a_boolean() {
        assert!(parse::<ValidateResponse>(br#"{"token":"t","type":"enrol"}"#).is_err());
        assert!(parse::<ValidateResponse>(br#"{"passed":"true"}"#).is_err());
    }

    #[test]
    fn malformed_fallback_entries_are_dropped() {
        let body = br#"{"token":"t","fallback":[{"type":"otp","message":"use a code"},{"message":"no type"},3]}"#;
        let fallbacks = parse::<TokenResponse>(body).unwrap().fallbacks();
        assert_eq!(
            fallbacks,
            vec![Fallback {
                kind: "otp".into(),
                message: Some("use a code".into())
            }]
        );
    }

    #[test]
    fn expires_in_accepts_numbers_and_numeric_strings() {
        let n = parse::<AccessTokenResponse>(br#"{"access_token":"a","expires_in":3600}"#).unwrap();
        assert_eq!(n.expires_in(), Some(Duration::from_secs(3600)));
        let s = parse::<AccessTokenResponse>(br#"{"access_token":"a","expires_in":"60"}"#).unwrap();
        assert_eq!(s.expires_in(), Some(Duration::from_secs(60)));
        let none =
            parse::<AccessTokenResponse>(br#"{"access_token":"a","expires_in":true}"#).unwrap();
        assert_eq!(none.expires_in(), None);
    }
}
