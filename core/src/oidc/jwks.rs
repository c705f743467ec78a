//! The published signing keys (`/oauth2/jwks`, RFC 7517) and how they are read from the key
//! service.
//!
//! KMS's GetPublicKey answers a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1, RFC 5480); a JWK
//! needs the point's coordinates. The parser below accepts exactly one shape — an
//! `id-ecPublicKey` on `prime256v1` with an uncompressed point — and refuses anything else,
//! so a key of another curve can never be published as P-256.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::encoding::b64url;

/// A P-256 public key tokens may be signed with, and the `kid` that names it in headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    pub kid: String,
    pub x: [u8; 32],
    pub y: [u8; 32],
}

/// Why a DER public key is not one we publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SpkiError {
    #[error("not a well-formed SubjectPublicKeyInfo")]
    Malformed,
    #[error("not an EC key on P-256")]
    NotP256,
    #[error("not an uncompressed point")]
    NotUncompressed,
}

/// `id-ecPublicKey` (1.2.840.10045.2.1), content octets.
const ID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` / `secp256r1` (1.2.840.10045.3.1.7), content octets.
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

const SEQUENCE: u8 = 0x30;
const OBJECT_IDENTIFIER: u8 = 0x06;
const BIT_STRING: u8 = 0x03;

impl PublishedKey {
    /// The key in a DER `SubjectPublicKeyInfo`, named `kid`.
    pub fn from_spki_der(kid: impl Into<String>, der: &[u8]) -> Result<Self, SpkiError> {
        let (spki, rest) = read(der, SEQUENCE)?;
        let (algorithm, rest_of_spki) = read(spki, SEQUENCE)?;
        let (bits, after_bits) = read(rest_of_spki, BIT_STRING)?;
        if !rest.is_empty() || !after_bits.is_empty() {
            return Err(SpkiError::Malformed);
        }
        let (key_type, after_type) = read(algorithm, OBJECT_IDENTIFIER)?;
        let (curve, after_curve) = read(after_type, OBJECT_IDENTIFIER)?;
        if key_type != ID_EC_PUBLIC_KEY || curve != PRIME256V1 || !after_curve.is_empty() {
            return Err(SpkiError::NotP256);
        }
        // A BIT STRING's first octet counts the unused bits of the last one: none here.
        let point = match bits.split_first() {
            Some((0, point)) => point,
            _ => return Err(SpkiError::Malformed),
        };
        match point.split_first() {
            Some((0x04, coordinates)) if coordinates.len() == 64 => {
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                x.copy_from_slice(&coordinates[..32]);
                y.copy_from_slice(&coordinates[32..]);
                Ok(Self {
                    kid: kid.into(),
                    x,
                    y,
                })
            }
            Some((0x02 | 0x03, _)) => Err(SpkiError::NotUncompressed),
            _ => Err(SpkiError::Malformed),
        }
    }

    /// The key as a JWK, for the JWKS.
    pub fn to_jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(&self.x),
            "y": b64url(&self.y),
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
        })
    }

    /// The key's RFC 7638 thumbprint: a stable `kid` the adapter may use, derived from the
    /// key itself so a new key always gets a new name.
    pub fn thumbprint(x: &[u8; 32], y: &[u8; 32]) -> String {
        // The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
        let canonical = format!(
            "{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{}\",\"y\":\"{}\"}}",
            b64url(x),
            b64url(y)
        );
        b64url(&Sha256::digest(canonical.as_bytes()))
    }
}

/// The JWKS document: `{"keys": [...]}`.
pub fn jwks(keys: &[PublishedKey]) -> Value {
    json!({ "keys": keys.iter().map(PublishedKey::to_jwk).collect::<Vec<_>>() })
}

/// One DER element of type `tag` at the start of `input`: its content and what follows.
/// Definite lengths only, in their shortest form (DER), at most two length octets.
fn read(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), SpkiError> {
    let (&found, rest) = input.split_first().ok_or(SpkiError::Malformed)?;
    let (&first, rest) = rest.split_first().ok_or(SpkiError::Malformed)?;
    if found != tag {
        return Err(SpkiError::Malformed);
    }
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => match rest.split_first() {
            Some((&len, rest)) if len >= 0x80 => (usize::from(len), rest),
            _ => return Err(SpkiError::Malformed),
        },
        0x82 => match rest {
            [hi, lo, rest @ ..] if *hi != 0 => (usize::from(*hi) << 8 | usize::from(*lo), rest),
            _ => return Err(SpkiError::Malformed),
        },
        _ => return Err(SpkiError::Malformed),
    };
    if rest.len() < len {
        return Err(SpkiError::Malformed);
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 public key as `openssl ec -pubout -outform DER` writes it.
    const P256_SPKI: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200046af1a571f4181f3b778928ed1633724d7ad026c6267df71f70177cc15f2403a1e3bc4485e0487f631a7fb60c26595295d2d08654b18191534664fd4f4a991f89";
    /// The same key's coordinates and RFC 7638 thumbprint, computed independently.
    const X: &str = "avGlcfQYHzt3iSjtFjNyTXrQJsYmffcfcBd8wV8kA6E";
    const Y: &str = "47xEheBIf2Maf7YMJllSldLQhlSxgZFTRmT9T0qZH4k";
    const THUMBPRINT: &str = "fEel93LctyOo_lB1Xe5iMLDiMYo7p53sPMwyhg68jhQ";
    /// A P-384 key and a compressed P-256 key, both refused.
    const P384_SPKI: &str = "3076301006072a8648ce3d020106052b8104002203620004a815511d47e9c879deb71dd155eb1ffc2e61d7551967ef37f680935fc61d6840ba10d454002142c05ce2520ccd16658671498ea9b58fc912dee7428fe1902af4ecb1987f02ab5ffab5906095d84d483f435b6f0b602359cedb0406c640b74843";
    const COMPRESSED_SPKI: &str = "3039301306072a8648ce3d020106082a8648ce3d03010703220002243cd64479bb62f4cf431215013e3a9385cfbc6c4b2082d43b2276461a620e09";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn a_p256_spki_gives_its_coordinates_and_the_jwks_publishes_them() {
        // GIVEN the DER public key the key service returns
        let der = unhex(P256_SPKI);
        // WHEN it is parsed and published
        let key = PublishedKey::from_spki_der("k1", &der).expect("P-256");
        let doc = jwks(std::slice::from_ref(&key));
        // THEN the JWK carries the point's coordinates and says what it is for
        let jwk = &doc["keys"][0];
        assert_eq!(jwk["x"], X);
        assert_eq!(jwk["y"], Y);
        assert_eq!(
            (
                &jwk["kty"],
                &jwk["crv"],
                &jwk["alg"],
                &jwk["use"],
                &jwk["kid"]
            ),
            (
                &json!("EC"),
                &json!("P-256"),
                &json!("ES256"),
                &json!("sig"),
                &json!("k1")
            )
        );
        assert_eq!(PublishedKey::thumbprint(&key.x, &key.y), THUMBPRINT);
    }

    #[test]
    fn other_curves_compressed_points_and_broken_der_are_refused() {
        assert_eq!(
            PublishedKey::from_spki_der("k", &unhex(P384_SPKI)),
            Err(SpkiError::NotP256)
        );
        assert_eq!(
            PublishedKey::from_spki_der("k", &unhex(COMPRESSED_SPKI)),
            Err(SpkiError::NotUncompressed)
        );
        let good = unhex(P256_SPKI);
        // Truncated, trailing bytes, a wrong outer tag, a non-minimal length.
        let mut trailing = good.clone();
        trailing.push(0);
        let mut wrong_tag = good.clone();
        wrong_tag[0] = 0x31;
        let mut long_form = vec![0x30, 0x81, 0x59];
        long_form.extend_from_slice(&good[2..]);
        for bad in [
            &good[..90],
            &trailing[..],
            &wrong_tag[..],
            &long_form[..],
            &[],
        ] {
            assert!(PublishedKey::from_spki_der("k", bad).is_err());
        }
    }
}
