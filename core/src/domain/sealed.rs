//! A personal field as stored: sealed (envelope-encrypted) by the HTTP-side functions, copied
//! unopened by the others. The domain carries it as an opaque value; only the envelope adapter
//! (aws/src/envelope.rs) can make or open one.

/// A sealed value as stored: `v1.<encrypted data key>.<nonce + ciphertext + tag>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(String);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealed(..)")
    }
}

impl Sealed {
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
