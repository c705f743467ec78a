//! Random credentials handed out by the sandbox.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

/// A fresh URL-safe token: 48 random bytes, 64 base64url characters.
///
/// iProov's tokens are long opaque strings; 64 characters also exercises a client that would
/// truncate them into a short column.
pub fn random_token() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_url_safe_characters_and_differ() {
        let first = random_token();
        assert_eq!(first.len(), 64);
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(first, random_token());
    }
}
