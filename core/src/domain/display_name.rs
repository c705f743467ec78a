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

/// Control characters other than ordinary spaces, and every character that renders as nothing
/// (or as blank space that is not a space) while still being part of the text: format characters
/// (Unicode Cf: bidi overrides, zero-width joiners, the invisible tag characters of the U+E0000
/// block that can smuggle hidden text), fillers that fonts draw as blank, variation selectors
/// outside the two that choose emoji or text presentation, and private-use and non-characters,
/// whose rendering nobody controls. A display name is shown back to people: what they see must
/// be all there is.
fn is_forbidden(c: char) -> bool {
    (c.is_control() && c != ' ')
        || matches!(c as u32,
            // format characters (Cf) and invisible operators
            0x00AD | 0x034F | 0x061C | 0x070F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
            | 0x2060..=0x206F | 0xFEFF | 0xFFF0..=0xFFFB | 0x1D173..=0x1D17A
            | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
            // the tag block and the variation-selector supplement
            | 0xE0000..=0xE0FFF
            // fillers and blanks drawn as empty space
            | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F | 0x2800 | 0x3164 | 0xFFA0
            // variation selectors, except VS15/VS16 (text or emoji presentation)
            | 0xFE00..=0xFE0D
            // private use and non-characters
            | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFDD0..=0xFDEF)
        || (c as u32 & 0xFFFE) == 0xFFFE
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

    #[test]
    fn invisible_tag_filler_and_private_use_characters_are_refused() {
        // given names that look like "Eve" but carry hidden or blank characters
        let hidden = [
            "Eve\u{E0041}\u{E0064}\u{E006D}", // tag characters spelling "Adm"
            "Eve\u{E0001}",                   // language tag
            "Eve\u{E0100}",                   // variation selector supplement
            "Eve\u{3164}",                    // Hangul filler
            "\u{115F}Eve",                    // Hangul choseong filler
            "Eve\u{2800}",                    // braille blank
            "Eve\u{034F}",                    // combining grapheme joiner
            "Eve\u{1D173}",                   // musical format character
            "Eve\u{E000}",                    // private use
            "Eve\u{10FFFD}",                  // supplementary private use
            "Eve\u{FFFE}",                    // non-character
            "Eve\u{FE00}",                    // variation selector 1
        ];
        for name in hidden {
            // when each is parsed, then it is refused
            assert!(DisplayName::parse(name).is_err(), "{name:?} accepted");
        }
    }

    #[test]
    fn emoji_presentation_selectors_and_ordinary_scripts_stay_allowed() {
        // given names with an emoji presentation selector and non-Latin scripts
        for name in ["Zoë ❤\u{FE0F}", "김민준", "Ἀλέξανδρος", "محمد"] {
            // when parsed, then they are accepted
            assert!(DisplayName::parse(name).is_ok(), "{name:?} refused");
        }
    }
}
