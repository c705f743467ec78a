//! How a webhook is signed, and how a receiver checks it: the Standard Webhooks scheme, so a
//! customer can verify with any of its libraries (docs/webhooks.md).
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the MAC is HMAC-SHA256
//! under the secret's key, and the header carries `v1,<base64 of the MAC>`. A secret is written
//! `whsec_<base64 of the key>`. While a secret is being replaced, every request carries one
//! signature per secret, space-separated, so receivers that know either one accept it.
//!
//! The dispatcher signs with [`signature_header`]; [`verify`] is the receiver's side, used by
//! the tests and shown in the docs, with the replay window receivers should apply.

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The prefix a secret is written with (optional when a secret is read).
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a receiver lets a timestamp be from its own clock, either way (replays older than
/// this are refused).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Keys shorter than this are refused: a short key is guessable offline from one request.
const MIN_KEY_BYTES: usize = 16;

/// Base64 as receivers' libraries read it: padding optional, unused trailing bits ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// One signing key. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl SigningSecret {
    /// A secret as written (`whsec_<base64>`, or the base64 alone); `None` when it is not
    /// base64 or its key is shorter than 16 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let encoded = text.trim();
        let encoded = encoded.strip_prefix(SECRET_PREFIX).unwrap_or(encoded);
        let key = LENIENT.decode(encoded).ok()?;
        (key.len() >= MIN_KEY_BYTES).then_some(Self(key))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &str) -> [u8; 32] {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The secrets a request is signed with: the current one, and during a rotation the one it
/// replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSecrets {
    pub current: SigningSecret,
    pub previous: Option<SigningSecret>,
}

/// One signature: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn signature(secret: &SigningSecret, id: &str, timestamp: i64, body: &str) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(secret.mac(id, &timestamp.to_string(), body))
    )
}

/// The `webhook-signature` header: the current secret's signature, then the previous one's.
pub fn signature_header(secrets: &SigningSecrets, id: &str, timestamp: i64, body: &str) -> String {
    let mut header = signature(&secrets.current, id, timestamp, body);
    if let Some(previous) = &secrets.previous {
        header.push(' ');
        header.push_str(&signature(previous, id, timestamp, body));
    }
    header
}

/// Why a receiver refuses a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a webhook header is missing or empty")]
    MissingHeader,
    #[error("webhook-timestamp is not Unix seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is outside the tolerance")]
    OutsideTolerance,
    #[error("no signature matches")]
    NoMatchingSignature,
}

/// The receiver's check, given the three headers as received, the raw body and its clock:
/// the timestamp within [`TOLERANCE_SECONDS`], and one `v1` signature that matches `secret`.
/// Signatures of other versions, and ones that are not base64, are skipped.
pub fn verify(
    secret: &SigningSecret,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &str,
    now: i64,
) -> Result<(), Refusal> {
    if id.is_empty() || timestamp.is_empty() || signatures.trim().is_empty() {
        return Err(Refusal::MissingHeader);
    }
    let at: i64 = timestamp.parse().map_err(|_| Refusal::BadTimestamp)?;
    if (now - at).abs() > TOLERANCE_SECONDS {
        return Err(Refusal::OutsideTolerance);
    }
    let expected = secret.mac(id, timestamp, body);
    let matched = signatures
        .split(' ')
        .filter_map(|one| one.strip_prefix("v1,"))
        .filter_map(|encoded| LENIENT.decode(encoded).ok())
        .any(|presented| crate::crypto::constant_time_eq(&presented, &expected));
    if matched {
        Ok(())
    } else {
        Err(Refusal::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's example, whose signature the reference Python
    // library (`standardwebhooks` 1.1.0) computes too.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret(text: &str) -> SigningSecret {
        SigningSecret::parse(text).expect("a valid secret")
    }

    #[test]
    fn the_specification_example_signs_to_its_known_answer() {
        // given the specification's secret, id, timestamp and body
        // when it is signed
        let signed = signature(&secret(SPEC_SECRET), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
        // then the signature is the published one
        assert_eq!(signed, SPEC_SIGNATURE);
    }

    #[test]
    fn the_prefix_is_optional_when_a_secret_is_read() {
        let bare = SPEC_SECRET.strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(secret(bare), secret(SPEC_SECRET));
    }

    #[test]
    fn a_generated_hex_secret_is_a_key_of_its_base64_decoding() {
        // given a 44-character secret as Secrets Manager (or the local stack) generates it
        let generated = "0123456789abcdef0123456789abcdef0123456789ab";
        // then it reads as the 33-byte key its base64 decodes to
        let key = secret(generated);
        assert_eq!(key.0.len(), 33);
    }

    #[test]
    fn short_or_malformed_secrets_are_refused() {
        assert!(SigningSecret::parse("").is_none());
        assert!(SigningSecret::parse("whsec_").is_none());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_none());
        assert!(SigningSecret::parse("whsec_not base64 at all!!").is_none());
    }

    #[test]
    fn secrets_are_never_printed() {
        assert_eq!(
            format!("{:?}", secret(SPEC_SECRET)),
            "SigningSecret(<redacted>)"
        );
    }

    #[test]
    fn a_signed_request_verifies_within_the_tolerance_and_not_outside_it() {
        // given the specification's request
        let key = secret(SPEC_SECRET);
        let at = SPEC_TIMESTAMP.to_string();
        // when it is checked at, just inside and just outside the tolerance
        let check = |now| verify(&key, SPEC_ID, &at, SPEC_SIGNATURE, SPEC_BODY, now);
        // then only the first two pass
        assert_eq!(check(SPEC_TIMESTAMP), Ok(()));
        assert_eq!(check(SPEC_TIMESTAMP + TOLERANCE_SECONDS), Ok(()));
        assert_eq!(
            check(SPEC_TIMESTAMP + TOLERANCE_SECONDS + 1),
            Err(Refusal::OutsideTolerance)
        );
        assert_eq!(
            check(SPEC_TIMESTAMP - TOLERANCE_SECONDS - 1),
            Err(Refusal::OutsideTolerance)
        );
    }

    #[test]
    fn any_change_to_id_timestamp_body_or_signature_is_refused() {
        let key = secret(SPEC_SECRET);
        let at = SPEC_TIMESTAMP.to_string();
        let now = SPEC_TIMESTAMP;
        let refused = Err(Refusal::NoMatchingSignature);
        let tampered = SPEC_SIGNATURE.replace("g0hM", "g0hN");
        assert_eq!(
            verify(&key, "msg_other", &at, SPEC_SIGNATURE, SPEC_BODY, now),
            refused
        );
        let later = (SPEC_TIMESTAMP + 1).to_string();
        assert_eq!(
            verify(&key, SPEC_ID, &later, SPEC_SIGNATURE, SPEC_BODY, now),
            refused
        );
        assert_eq!(
            verify(&key, SPEC_ID, &at, SPEC_SIGNATURE, r#"{"test": 1}"#, now),
            refused
        );
        assert_eq!(
            verify(&key, SPEC_ID, &at, &tampered, SPEC_BODY, now),
            refused
        );
        let other = secret("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(
            verify(&other, SPEC_ID, &at, SPEC_SIGNATURE, SPEC_BODY, now),
            refused
        );
    }

    #[test]
    fn missing_headers_and_bad_timestamps_are_refused() {
        let key = secret(SPEC_SECRET);
        assert_eq!(
            verify(&key, "", "1", SPEC_SIGNATURE, SPEC_BODY, 1),
            Err(Refusal::MissingHeader)
        );
        assert_eq!(
            verify(&key, SPEC_ID, "", SPEC_SIGNATURE, SPEC_BODY, 1),
            Err(Refusal::MissingHeader)
        );
        assert_eq!(
            verify(&key, SPEC_ID, "yesterday", SPEC_SIGNATURE, SPEC_BODY, 1),
            Err(Refusal::BadTimestamp)
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_verify_the_same_request() {
        // given a rotation: a new current secret and the previous one
        let previous = secret(SPEC_SECRET);
        let current = secret("whsec_dGhlIG5ldyBrZXkgb2YgdGhlIHJvdGF0aW9u");
        let both = SigningSecrets {
            current: current.clone(),
            previous: Some(previous.clone()),
        };
        // when a request is signed
        let header = signature_header(&both, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
        // then it carries two signatures, the current one first, and either secret verifies it
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], SPEC_SIGNATURE);
        let at = SPEC_TIMESTAMP.to_string();
        for key in [&current, &previous] {
            assert_eq!(
                verify(key, SPEC_ID, &at, &header, SPEC_BODY, SPEC_TIMESTAMP),
                Ok(())
            );
        }
    }

    #[test]
    fn outside_a_rotation_one_signature_is_sent() {
        let only = SigningSecrets {
            current: secret(SPEC_SECRET),
            previous: None,
        };
        assert_eq!(
            signature_header(&only, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn unknown_versions_and_garbage_signatures_are_skipped_not_fatal() {
        let key = secret(SPEC_SECRET);
        let header = format!("v2,abc v1,!!! {SPEC_SIGNATURE}");
        let at = SPEC_TIMESTAMP.to_string();
        assert_eq!(
            verify(&key, SPEC_ID, &at, &header, SPEC_BODY, SPEC_TIMESTAMP),
            Ok(())
        );
    }
}
