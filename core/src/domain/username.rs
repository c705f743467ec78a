//! Usernames: one canonical form, so "Alice", " alice " and "ａｌｉｃｅ" (full-width) are the same
//! person. NFKC folds compatibility characters, then lower-casing folds case; only ASCII
//! letters, digits and `._-` are kept, which rules out look-alike characters from other scripts.

use unicode_normalization::UnicodeNormalization;

pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 32;

/// A validated, canonical username.
#[derive(Clone, PartialEq, Eq)]
pub struct Username(String);

impl std::fmt::Debug for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Username(<redacted>)")
    }
}

impl Username {
    /// Normalises and checks raw input; the error says what to change.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.len() > 4 * MAX_LEN {
            return Err("must be at most 32 characters");
        }
        let canonical: String = raw.trim().nfkc().collect::<String>().to_lowercase();
        let len = canonical.chars().count();
        if len < MIN_LEN {
            return Err("must be at least 3 characters");
        }
        if len > MAX_LEN {
            return Err("must be at most 32 characters");
        }
        if !canonical
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err("may contain only letters a-z, digits and . _ -");
        }
        let first_ok = canonical
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !first_ok {
            return Err("must start with a letter or digit");
        }
        Ok(Self(canonical))
    }

    /// Restores a username read back from our own store (already canonical).
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_share_one_canonical_form() {
        for raw in ["alice", " Alice ", "ALICE", "ａｌｉｃｅ"] {
            assert_eq!(Username::parse(raw).expect(raw).as_str(), "alice");
        }
    }

    #[test]
    fn bad_usernames_are_refused_with_a_reason() {
        assert!(Username::parse("").is_err());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("al\u{0}ice").is_err());
        assert!(Username::parse("аlice").is_err()); // Cyrillic а
        assert!(Username::parse(".alice").is_err());
        assert!(Username::parse("alice.b-c_9").is_ok());
    }
}
