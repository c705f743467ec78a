//! The OpenID Connect signing keys in KMS, and signature checks with aws-lc-rs.
//!
//! Two ECC_NIST_P256 keys (A and B, template.yaml) exist at all times; one signs, both are
//! published, so switching the signer never invalidates a token in flight (docs/oidc.md). The
//! private halves never leave KMS: signing is `kms:Sign` (only the oidc-token role may), and
//! checking needs only the public halves, read once per process with `kms:GetPublicKey` and
//! then verified locally, so a token check costs no KMS call.
//!
//! A key's `kid` is its KMS key id (the UUID at the end of its ARN): stable for the key's life,
//! known without a call, and a replaced key gets a new one.

use async_trait::async_trait;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokio::sync::OnceCell;

use onboarding_core::oidc::jwks::PublishedKey;
use onboarding_core::oidc::ports::{
    ClientAssertionVerifier, SignatureVerifier, SigningUnavailable, TokenSigner,
};

use crate::config::{ConfigError, required};

/// One signing key: its `kid` and the ARN KMS knows it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub arn: String,
}

/// The keys from `OIDC_SIGNING_KEYS` (`A=arn,B=arn`) and which one signs
/// (`OIDC_ACTIVE_SIGNING_KEY`): `(all keys, the signer)`.
pub fn signing_keys_from_env() -> Result<(Vec<SigningKey>, SigningKey), ConfigError> {
    parse_signing_keys(
        &required("OIDC_SIGNING_KEYS")?,
        &required("OIDC_ACTIVE_SIGNING_KEY")?,
    )
    .map_err(|why| ConfigError::Invalid("OIDC_SIGNING_KEYS", why))
}

fn parse_signing_keys(
    keys: &str,
    active: &str,
) -> Result<(Vec<SigningKey>, SigningKey), &'static str> {
    let mut all = Vec::new();
    let mut signer = None;
    for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (label, arn) = entry.split_once('=').ok_or("expected LABEL=arn,…")?;
        let kid = arn
            .rsplit_once("key/")
            .map(|(_, id)| id)
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .ok_or("a key ARN must end in key/<key id>")?;
        let key = SigningKey {
            kid: kid.to_owned(),
            arn: arn.to_owned(),
        };
        if label.trim() == active.trim() {
            signer = Some(key.clone());
        }
        all.push(key);
    }
    let signer = signer.ok_or("OIDC_ACTIVE_SIGNING_KEY names no key of OIDC_SIGNING_KEYS")?;
    Ok((all, signer))
}

/// Signs with the active KMS key and publishes the public halves of all of them.
pub struct KmsTokenKeys {
    client: aws_sdk_kms::Client,
    keys: Vec<SigningKey>,
    signer: SigningKey,
    /// Public keys never change for a given key id (a replaced key has a new id, and so a new
    /// configuration and process), so one successful read lasts the process; a failed read is
    /// not kept and the next request tries again.
    published: OnceCell<Vec<PublishedKey>>,
}

impl KmsTokenKeys {
    pub fn new(client: aws_sdk_kms::Client, keys: Vec<SigningKey>, signer: SigningKey) -> Self {
        Self {
            client,
            keys,
            signer,
            published: OnceCell::new(),
        }
    }

    async fn public_key(&self, key: &SigningKey) -> Result<PublishedKey, SigningUnavailable> {
        let out = self
            .client
            .get_public_key()
            .key_id(&key.arn)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        let der = out
            .public_key
            .ok_or_else(|| SigningUnavailable("no public key in the answer".into()))?;
        PublishedKey::from_spki_der(&key.kid, der.as_ref())
            .map_err(|e| SigningUnavailable(format!("public key not ECC P-256 ({e})")))
    }
}

fn unavailable<E: aws_sdk_kms::error::ProvideErrorMetadata>(e: &E) -> SigningUnavailable {
    SigningUnavailable(e.code().unwrap_or("kms_error").to_owned())
}

#[async_trait]
impl TokenSigner for KmsTokenKeys {
    async fn key_id(&self) -> Result<String, SigningUnavailable> {
        Ok(self.signer.kid.clone())
    }

    async fn sign(&self, kid: &str, signing_input: &[u8]) -> Result<[u8; 64], SigningUnavailable> {
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| SigningUnavailable("unknown signing key".into()))?;
        // RAW: KMS hashes with SHA-256 itself, so the input travels, never a digest we made.
        let out = self
            .client
            .sign()
            .key_id(&key.arn)
            .message(Blob::new(signing_input.to_vec()))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        let der = out
            .signature
            .ok_or_else(|| SigningUnavailable("no signature in the answer".into()))?;
        der_to_jws(der.as_ref())
            .ok_or_else(|| SigningUnavailable("signature not an ECDSA DER sequence".into()))
    }
}

#[async_trait]
impl SignatureVerifier for KmsTokenKeys {
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningUnavailable> {
        self.published
            .get_or_try_init(|| async {
                let reads = self.keys.iter().map(|key| self.public_key(key));
                futures::future::try_join_all(reads).await
            })
            .await
            .cloned()
    }

    fn verify(&self, key: &PublishedKey, signing_input: &[u8], signature: &[u8; 64]) -> bool {
        verify_es256(&key.x, &key.y, signing_input, signature)
    }
}

/// ES256 over the point (x, y): the JWS form `r || s`.
fn verify_es256(x: &[u8; 32], y: &[u8; 32], input: &[u8], signature: &[u8]) -> bool {
    let mut point = [0u8; 65];
    point[0] = 0x04;
    point[1..33].copy_from_slice(x);
    point[33..].copy_from_slice(y);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point[..])
        .verify(input, signature)
        .is_ok()
}

/// KMS answers ECDSA signatures as DER `SEQUENCE { INTEGER r, INTEGER s }`; JWS wants the two
/// 32-byte big-endian numbers side by side (RFC 7518 §3.4). `None` for anything else.
fn der_to_jws(der: &[u8]) -> Option<[u8; 64]> {
    let (tag, body, rest) = der_element(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (r_tag, r, after_r) = der_element(body)?;
    let (s_tag, s, after_s) = der_element(after_r)?;
    if r_tag != 0x02 || s_tag != 0x02 || !after_s.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    put_unsigned(r, &mut out[..32])?;
    put_unsigned(s, &mut out[32..])?;
    Some(out)
}

/// One DER element: (tag, contents, what follows). Short and one-byte long lengths only,
/// which is all an ECDSA P-256 signature uses.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = match len {
        0..=0x7f => (usize::from(len), rest),
        0x81 => {
            let (&long, rest) = rest.split_first()?;
            (usize::from(long), rest)
        }
        _ => return None,
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A DER INTEGER's bytes (a leading zero keeps it positive) right-aligned into `out`.
fn put_unsigned(int: &[u8], out: &mut [u8]) -> Option<()> {
    let trimmed = match int {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => int,
    };
    if trimmed.len() > out.len() {
        return None;
    }
    let start = out.len() - trimmed.len();
    out[start..].copy_from_slice(trimmed);
    Some(())
}

/// Checks a `private_key_jwt` client's assertion with the public keys it registered.
pub struct JwkAssertionVerifier;

impl ClientAssertionVerifier for JwkAssertionVerifier {
    fn verify(
        &self,
        jwks: &Value,
        alg: &str,
        kid: Option<&str>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> bool {
        let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
            return false;
        };
        let wanted_kty = match alg {
            "ES256" => "EC",
            "RS256" => "RSA",
            _ => return false,
        };
        keys.iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) == Some(wanted_kty))
            .filter(|k| kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)))
            .any(|k| verify_with_jwk(k, alg, signing_input, signature))
    }
}

fn verify_with_jwk(jwk: &Value, alg: &str, input: &[u8], signature: &[u8]) -> bool {
    let field = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    match alg {
        "ES256" => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return false;
            }
            let (Some(x), Some(y)) = (field("x"), field("y")) else {
                return false;
            };
            let (Ok(x), Ok(y)) = (<[u8; 32]>::try_from(x), <[u8; 32]>::try_from(y)) else {
                return false;
            };
            signature.len() == 64 && verify_es256(&x, &y, input, signature)
        }
        "RS256" => {
            let (Some(n), Some(e)) = (field("n"), field("e")) else {
                return false;
            };
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, input, signature)
                .is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    };

    fn key_pair(alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm) -> EcdsaKeyPair {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("key");
        EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("key")
    }

    fn coordinates(pair: &EcdsaKeyPair) -> ([u8; 32], [u8; 32]) {
        let point = pair.public_key().as_ref();
        (
            point[1..33].try_into().expect("x"),
            point[33..65].try_into().expect("y"),
        )
    }

    #[test]
    fn a_kms_der_signature_becomes_a_jws_signature_that_verifies() {
        // GIVEN a DER signature, as KMS answers, of a signing input
        let pair = key_pair(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let input = b"header.claims";
        for _ in 0..32 {
            // (r and s are sometimes shorter than 32 bytes or need a leading zero in DER)
            let der = pair.sign(&SystemRandom::new(), input).expect("sign");
            // WHEN it is converted
            let jws = der_to_jws(der.as_ref()).expect("converted");
            // THEN the JWS form verifies with the public point
            let (x, y) = coordinates(&pair);
            assert!(verify_es256(&x, &y, input, &jws));
            assert!(!verify_es256(&x, &y, b"header.other", &jws));
        }
    }

    #[test]
    fn malformed_der_is_refused() {
        for der in [
            &[][..],
            &[0x30, 0x02, 0x02, 0x00][..],
            &[0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01][..],
            &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00][..],
            &[0x30, 0x24, 0x02, 0x22, 1, 2, 3][..],
        ] {
            assert_eq!(der_to_jws(der), None, "{der:?}");
        }
    }

    #[test]
    fn keys_come_from_labels_and_arns_and_the_active_one_signs() {
        let (all, signer) = parse_signing_keys(
            "A=arn:aws:kms:eu-west-1:1:key/aaaa-1,B=arn:aws:kms:eu-west-1:1:key/bbbb-2",
            "B",
        )
        .expect("parsed");
        assert_eq!(
            all.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["aaaa-1", "bbbb-2"]
        );
        assert_eq!(signer.kid, "bbbb-2");
        assert!(parse_signing_keys("A=arn:aws:kms:eu-west-1:1:key/a", "C").is_err());
        assert!(parse_signing_keys("A=alias/x", "A").is_err());
    }

    #[test]
    fn an_es256_client_assertion_verifies_only_under_its_own_key() {
        // GIVEN a client that registered one EC key
        let pair = key_pair(&ECDSA_P256_SHA256_FIXED_SIGNING);
        let (x, y) = coordinates(&pair);
        let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)}]});
        let sig = pair.sign(&SystemRandom::new(), b"a.b").expect("sign");
        let verifier = JwkAssertionVerifier;
        // THEN its signature verifies, by kid or without one
        assert!(verifier.verify(&jwks, "ES256", Some("k1"), b"a.b", sig.as_ref()));
        assert!(verifier.verify(&jwks, "ES256", None, b"a.b", sig.as_ref()));
        // AND not under another kid, another alg, or for another input
        assert!(!verifier.verify(&jwks, "ES256", Some("k2"), b"a.b", sig.as_ref()));
        assert!(!verifier.verify(&jwks, "RS256", None, b"a.b", sig.as_ref()));
        assert!(!verifier.verify(&jwks, "HS256", None, b"a.b", sig.as_ref()));
        assert!(!verifier.verify(&jwks, "ES256", None, b"a.c", sig.as_ref()));
        assert!(!verifier.verify(&serde_json::json!({}), "ES256", None, b"a.b", sig.as_ref()));
    }
}
