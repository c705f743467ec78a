//! The `sub` a client sees: pairwise per sector (OpenID Connect Core §8.1), so two clients —
//! unless registered in one sector — hold different identifiers for the same person and
//! cannot join what they know about them. Never the internal user id, which every client
//! would otherwise share.
//!
//! `sub = BASE64URL(HMAC-SHA256(pairwise key, sector || 0x00 || user_id))`. The pairwise key
//! is derived from the application's pseudonym key (read through `KeyRing`), under a label of
//! its own, so a subject is never equal to any other keyed hash made with that key (the
//! username blind index, the rate-limit pseudonyms, the verifier's user ids). Rotating the
//! pseudonym key changes every subject: it must not be rotated while clients hold them.

use super::OidcClient;
use super::encoding::b64url;
use super::errors::OAuthError;
use crate::crypto::hmac;
use crate::ports::KeyRing;

/// The pairwise key, from the application's pseudonym key.
pub fn pairwise_key(app_key: &[u8]) -> [u8; 32] {
    hmac(app_key, "oidc-pairwise-subject-key", b"")
}

/// The subject of `user_id` in `sector`. `sector` is configuration and holds no NUL byte, so
/// the separator keeps (sector, user) pairs apart.
pub fn pairwise_subject(pairwise_key: &[u8], sector: &str, user_id: &str) -> String {
    // `crypto::hmac` MACs `purpose || 0x00 || input`: here `sector || 0x00 || user_id`.
    b64url(&hmac(pairwise_key, sector, user_id.as_bytes()))
}

/// The subject `client` sees for `user_id`, with the key read from `keys`.
pub async fn subject_for(
    keys: &dyn KeyRing,
    client_sector: &str,
    user_id: &str,
) -> Result<String, OAuthError> {
    let app_key = keys.pseudonym_key().await?;
    let key = pairwise_key(app_key.as_ref().as_ref());
    Ok(pairwise_subject(&key, client_sector, user_id))
}

impl OidcClient {
    /// The pairwise sector: the registered one, or the client's own id.
    pub fn sector(&self) -> &str {
        self.sector.as_deref().unwrap_or(&self.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    #[test]
    fn a_subject_is_the_keyed_hash_of_sector_nul_and_user() {
        // GIVEN a key, a sector and a user
        let key = pairwise_key(b"app key");
        // WHEN the subject is computed
        let sub = pairwise_subject(&key, "https://rp.example", "user-1");
        // THEN it is HMAC-SHA256(key, sector || 0x00 || user), base64url without padding
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(b"https://rp.example\0user-1");
        assert_eq!(sub, b64url(&mac.finalize().into_bytes()));
        assert_eq!(sub.len(), 43);
    }

    #[test]
    fn two_sectors_see_different_subjects_for_one_person_and_one_sector_sees_one() {
        let key = pairwise_key(b"app key");
        let a = pairwise_subject(&key, "client-a", "user-1");
        assert_ne!(a, pairwise_subject(&key, "client-b", "user-1"));
        assert_ne!(a, pairwise_subject(&key, "client-a", "user-2"));
        assert_eq!(a, pairwise_subject(&key, "client-a", "user-1"));
        // The pairwise key is not the application key itself.
        assert_ne!(a, pairwise_subject(b"app key", "client-a", "user-1"));
    }
}
