//! Credentials and keyed hashes.
//!
//! A credential is `<id>.<secret>`: the id finds the record with one read, the 256-bit secret
//! from the OS CSPRNG proves possession and is stored only as a SHA-256 hash (a fast hash is
//! enough: the secret has full entropy, so there is nothing to brute-force). Keyed hashes
//! (HMAC-SHA256) turn personal values into stable, non-reversible identifiers: the blind index
//! used to find a username, and the pseudonymous user id sent to iProov.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRng;
use rand::rngs::{SysError, SysRng};
use sha2::{Digest, Sha256};

/// Random bytes from the operating system; failure is reported, never papered over.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], SysError> {
    let mut buf = [0u8; N];
    SysRng.try_fill_bytes(&mut buf)?;
    Ok(buf)
}

/// A freshly issued or presented credential, split into its lookup id and its secret.
pub struct Credential {
    pub id: String,
    secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}, <redacted>)", self.id)
    }
}

impl Credential {
    /// A new credential for a record whose id is `id` (itself random, but not secret).
    pub fn issue(id: String) -> Result<Self, SysError> {
        Ok(Self {
            id,
            secret: URL_SAFE_NO_PAD.encode(random_bytes::<32>()?),
        })
    }

    /// A credential whose secret is derived from another one; used when one credential must be
    /// able to recover a second one without its plaintext being stored anywhere.
    pub fn derive(id: String, key: &[u8], purpose: &str, from: &Credential) -> Self {
        Self {
            id,
            secret: URL_SAFE_NO_PAD.encode(hmac(key, purpose, from.secret.as_bytes())),
        }
    }

    /// Splits a presented `<id>.<secret>`; `None` when it cannot be one of ours.
    pub fn parse(presented: &str) -> Option<Self> {
        let (id, secret) = presented.split_once('.')?;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let secret_ok = secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (id_ok && secret_ok).then(|| Self {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// What is given to the client, once.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }

    /// What is stored: hex SHA-256 of the secret.
    pub fn secret_hash(&self) -> String {
        hex(&Sha256::digest(self.secret.as_bytes()))
    }

    /// Constant-time comparison with a stored hash.
    pub fn matches(&self, stored_hash: &str) -> bool {
        constant_time_eq(self.secret_hash().as_bytes(), stored_hash.as_bytes())
    }
}

/// HMAC-SHA256 of `input` under `key`, with a purpose label so one key serves several uses
/// without their outputs ever colliding.
pub fn hmac(key: &[u8], purpose: &str, input: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(input);
    mac.finalize().into_bytes().into()
}

/// Hex keyed hash, for identifiers stored in tables.
pub fn keyed_hash(key: &[u8], purpose: &str, input: &str) -> String {
    hex(&hmac(key, purpose, input.as_bytes()))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// Equality whose time depends only on the lengths, not on where the inputs differ: for
/// comparing a presented secret (or its hash) with a stored one.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_credential_round_trips_and_only_its_secret_matches() {
        // GIVEN a newly issued credential
        let issued = Credential::issue("abc".into()).expect("os rng");
        let stored = issued.secret_hash();
        // WHEN the client presents it back
        let presented = Credential::parse(&issued.expose()).expect("parses");
        // THEN it matches the stored hash, and a different secret does not
        assert!(presented.matches(&stored));
        let other = Credential::issue("abc".into()).expect("os rng");
        assert!(!other.matches(&stored));
    }

    #[test]
    fn secrets_have_256_bits_and_debug_hides_them() {
        let c = Credential::issue("id".into()).expect("os rng");
        let exposed = c.expose();
        let secret = exposed.split_once('.').expect("dot").1;
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).expect("b64").len(), 32);
        assert!(!format!("{c:?}").contains(secret));
    }

    #[test]
    fn malformed_presentations_are_refused() {
        for bad in [
            "",
            "nodot",
            ".x",
            "id.short",
            "id.!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(Credential::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn keyed_hashes_depend_on_key_and_purpose() {
        let a = keyed_hash(b"k1", "username", "alice");
        assert_eq!(a, keyed_hash(b"k1", "username", "alice"));
        assert_ne!(a, keyed_hash(b"k2", "username", "alice"));
        assert_ne!(a, keyed_hash(b"k1", "iproov", "alice"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn sha256_and_hmac_sha256_match_published_known_answers() {
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231, test case 2: HMAC-SHA256 with key "Jefe".
        let mut mac = match Hmac::<Sha256>::new_from_slice(b"Jefe") {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn stored_hashes_keep_their_values() {
        // Values already stored (blind indexes, credential hashes) must still be found: these
        // were computed independently, as HMAC-SHA256(key, purpose || 0x00 || input) and
        // SHA-256 of the secret's text.
        assert_eq!(
            keyed_hash(b"k1", "username", "alice"),
            "8a2206dfd5c60e0b37820a376f1be8d018cee4962c9cce5a5c35edff41166d7f"
        );
        let presented = Credential::parse(&format!("id.{}", "A".repeat(43))).expect("parses");
        assert_eq!(
            presented.secret_hash(),
            "0f007385b6f9d4b7eeb2748605afe1a984a0a3bfa3f014d09e2a784ce9e5cd1a"
        );
    }
}
