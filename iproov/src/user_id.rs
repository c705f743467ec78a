//! The pseudonymous user id iProov knows our users by.
//!
//! iProov is a data processor and bills per unique user id, so it must never see an e-mail,
//! a name or our own database id. We send a keyed hash of our user id instead: stable (the same
//! user is the same iProov user), unlinkable without the key, and within iProov's alphabet.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::error::IProovError;

/// A user id as iProov accepts it: `[a-zA-Z0-9'+_@.-]{1,256}`.
///
/// Store the derived value with the user record and read it back with
/// [`IProovUserId::from_stored`]: re-deriving after a key rotation would create a new iProov
/// user and orphan the enrolled face.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IProovUserId(String);

/// SHA-256 block size: HMAC keys are padded (or first hashed) to this length.
const HMAC_BLOCK: usize = 64;

impl IProovUserId {
    /// HMAC-SHA256 of our user id under the pseudonymisation key, as unpadded URL-safe base64
    /// (43 characters from `[A-Za-z0-9_-]`, all allowed by iProov).
    pub fn derive(key: &[u8], our_user_id: &str) -> Self {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&hmac_key_block(key));
        mac.update(our_user_id.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// Accepts an id read back from storage, refusing anything iProov would refuse.
    pub fn from_stored(s: String) -> Result<Self, IProovError> {
        if is_valid(&s) {
            Ok(Self(s))
        } else {
            Err(IProovError::InvalidUserId)
        }
    }

    /// The id as sent to iProov.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id, for storage.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The HMAC key block as RFC 2104 defines it: keys longer than a block are hashed first, then
/// every key is zero-padded to the block size. Building it here lets `derive` stay infallible
/// (the slice constructor returns a `Result` that HMAC never uses) while computing standard
/// HMAC-SHA256, as a test checks.
fn hmac_key_block(key: &[u8]) -> Key<Hmac<Sha256>> {
    let mut block = [0u8; HMAC_BLOCK];
    if key.len() > HMAC_BLOCK {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    Key::<Hmac<Sha256>>::from(block)
}

fn is_valid(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"'+_@.-".contains(&b))
}

impl fmt::Debug for IProovUserId {
    /// Shows a prefix only: the id is pseudonymous, but it is still the key to a face record.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take(6).collect();
        write!(f, "IProovUserId({prefix}…)")
    }
}

impl Serialize for IProovUserId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IProovUserId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::from_stored(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_hmac(key: &[u8], msg: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(msg.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn derive_is_standard_hmac_sha256_for_short_exact_and_long_keys() {
        for key in [&b""[..], b"k", &[7u8; 64], &[9u8; 65], &[1u8; 200]] {
            assert_eq!(
                IProovUserId::derive(key, "user-1").as_str(),
                reference_hmac(key, "user-1")
            );
        }
    }

    #[test]
    fn derive_keeps_the_ids_iproov_already_knows() {
        // Computed independently (HMAC-SHA256, unpadded base64url): a short key and one longer
        // than a block, which HMAC hashes first.
        assert_eq!(
            IProovUserId::derive(b"key", "user-1").as_str(),
            "ijLmgHSUiv0NN9Whtr4yku7qfUCW0o3BCqn1P3pEixM"
        );
        assert_eq!(
            IProovUserId::derive(&[1u8; 200], "user-1").as_str(),
            "RUkjVDr-1whXLqlzobPQM_uiLIDjJaKhhs9OiOHvzRI"
        );
    }

    #[test]
    fn derive_is_stable_keyed_and_within_iproov_alphabet() {
        let a = IProovUserId::derive(b"key", "user-1");
        assert_eq!(a, IProovUserId::derive(b"key", "user-1"));
        assert_ne!(a, IProovUserId::derive(b"other", "user-1"));
        assert_ne!(a, IProovUserId::derive(b"key", "user-2"));
        assert!(is_valid(a.as_str()));
        assert_eq!(a.as_str().len(), 43);
    }

    #[test]
    fn from_stored_refuses_what_iproov_refuses() {
        assert!(IProovUserId::from_stored("a'+_@.-Z9".into()).is_ok());
        assert!(IProovUserId::from_stored(String::new()).is_err());
        assert!(IProovUserId::from_stored("a b".into()).is_err());
        assert!(IProovUserId::from_stored("x".repeat(257)).is_err());
        assert!(IProovUserId::from_stored("é".into()).is_err());
    }

    #[test]
    fn debug_shows_a_prefix_only() {
        let id = IProovUserId::derive(b"key", "user-1");
        let shown = format!("{id:?}");
        assert!(!shown.contains(id.as_str()));
    }
}
