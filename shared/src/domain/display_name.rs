//! Display names are free text shown back to the person, so they are normalised (NFC, trimmed,
//! inner whitespace collapsed) and stripped of anything that could disguise text: control
//! characters and invisible format characters such as bidirectional overrides.

use unicode_normalization::UnicodeNormalization;

pub const MAX_CHARS: usize = 64;

/// A validated display name.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl std::fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DisplayName(<redacted>)")
    }
}

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.len() > 8 * MAX_CHARS {
            return Err("must be at most 64 characters");
        }
        if raw.chars().any(is_forbidden) {
            return Err("must not contain control or invisible formatting characters");
        }
        let normalised: String = raw.nfc().collect();
        let collapsed = normalised.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = collapsed.chars().count();
        if len == 0 {
            return Err("must not be empty");
        }
        if len > MAX_CHARS {
            return Err("must be at most 64 characters");
        }
        Ok(Self(collapsed))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Control characters other than ordinary spaces, and the format characters (Unicode Cf) that
/// are invisible but change how text renders.
fn is_forbidden(c: char) -> bool {
    (c.is_control() && c != ' ')
        || matches!(c as u32,
            0x00AD | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
            | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_collapsed_and_unicode_kept() {
        assert_eq!(
            DisplayName::parse("  Zoë   O'Brien ").expect("ok").as_str(),
            "Zoë O'Brien"
        );
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        assert!(DisplayName::parse("Eve\u{7}").is_err());
        assert!(DisplayName::parse("Eve\nMallory").is_err());
        assert!(DisplayName::parse("abc\u{202E}fdp.exe").is_err());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(65)).is_err());
    }
}
