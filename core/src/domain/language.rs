//! The language of what a person reads: hints (what they can do after a failure) are answered
//! in the language their browser or app asks for (`Accept-Language`), English by default. Error
//! codes and developer messages stay English: programs and logs read those.
//!
//! The translations live in one table keyed by the English hint, so a hint written anywhere in
//! the code is translated in one place, and a test (api/tests/hints_translated.rs) refuses a
//! hint without its translations.

/// A language the API answers hints in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    English,
    German,
}

impl Language {
    /// Every supported language, the default first.
    pub const ALL: &'static [Language] = &[Language::English, Language::German];

    /// The BCP 47 tag (`Content-Language`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::German => "de",
        }
    }

    /// The supported language an `Accept-Language` value prefers most (RFC 9110 §12.5.4:
    /// ranges with quality values; `de-AT` matches `de`; `q=0` excludes). English when nothing
    /// supported is asked for, or the value is malformed.
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        let Some(value) = accept_language else {
            return Self::English;
        };
        let mut best: Option<(u16, usize, Self)> = None;
        for (position, item) in value.split(',').enumerate().take(32) {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality);
            let (Some(quality), Some(language)) = (quality, Self::for_range(&range)) else {
                continue;
            };
            if quality == 0 {
                continue;
            }
            // Highest quality wins; among equals, the first listed.
            if best.is_none_or(|(q, p, _)| quality > q || (quality == q && position < p)) {
                best = Some((quality, position, language));
            }
        }
        best.map_or(Self::English, |(_, _, language)| language)
    }

    /// The language a tag names exactly (`en`, `de`), as this API writes it; `None` otherwise.
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|l| l.tag() == tag)
    }

    fn for_range(range: &str) -> Option<Self> {
        let primary = range.split('-').next().unwrap_or("");
        match primary {
            "en" => Some(Self::English),
            "de" => Some(Self::German),
            _ => None,
        }
    }
}

/// A quality value (`0` to `1`, up to three decimals) in thousandths.
fn parse_quality(q: &str) -> Option<u16> {
    let value: f32 = q.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

/// Every hint in `language`; `None` for a hint without a translation (English is the hint).
pub fn translate_hint(english: &str, language: Language) -> Option<&'static str> {
    match language {
        Language::English => None,
        Language::German => GERMAN
            .iter()
            .find(|(en, _)| *en == english)
            .map(|(_, de)| *de),
    }
}

/// Every hint the API gives, with its German. Keep both columns in step with the code: the
/// test named in the module documentation fails on a hint missing here.
const GERMAN: &[(&str, &str)] = &[
    (
        "Read the current consent text and accept it to continue.",
        "Lesen Sie den aktuellen Einwilligungstext und stimmen Sie ihm zu, um fortzufahren.",
    ),
    ("Please try again.", "Bitte versuchen Sie es noch einmal."),
    (
        "Remove anything covering your face, such as sunglasses or a mask.",
        "Nehmen Sie alles ab, was Ihr Gesicht verdeckt, etwa Sonnenbrille oder Maske.",
    ),
    (
        "Find softer light; avoid direct light on your face.",
        "Suchen Sie weicheres Licht; vermeiden Sie direktes Licht auf Ihrem Gesicht.",
    ),
    (
        "Find a brighter place.",
        "Suchen Sie einen helleren Ort auf.",
    ),
    (
        "Hold still during the scan.",
        "Halten Sie während des Scans still.",
    ),
    (
        "Keep your eyes open and look at the screen.",
        "Halten Sie die Augen offen und schauen Sie auf den Bildschirm.",
    ),
    (
        "Move closer so your face fills the oval.",
        "Kommen Sie näher, sodass Ihr Gesicht das Oval ausfüllt.",
    ),
    (
        "Move a little further from the camera.",
        "Gehen Sie etwas weiter von der Kamera weg.",
    ),
    (
        "Keep your face inside the oval.",
        "Halten Sie Ihr Gesicht im Oval.",
    ),
    (
        "Make sure only your face is in view.",
        "Achten Sie darauf, dass nur Ihr Gesicht im Bild ist.",
    ),
    (
        "Avoid bright light behind you.",
        "Vermeiden Sie helles Licht hinter Ihnen.",
    ),
    (
        "Keep your mouth still during the scan.",
        "Halten Sie den Mund während des Scans still.",
    ),
    (
        "Check your connection and try again.",
        "Prüfen Sie Ihre Verbindung und versuchen Sie es noch einmal.",
    ),
    (
        "Start the scan again; it timed out.",
        "Starten Sie den Scan neu; die Zeit ist abgelaufen.",
    ),
    (
        "Your scan session expired. Start a new scan.",
        "Ihre Scan-Sitzung ist abgelaufen. Starten Sie einen neuen Scan.",
    ),
    (
        "We could not confirm your scan. Please scan again.",
        "Wir konnten Ihren Scan nicht bestätigen. Bitte scannen Sie noch einmal.",
    ),
    (
        "We could not save your scan. Please scan again.",
        "Wir konnten Ihren Scan nicht speichern. Bitte scannen Sie noch einmal.",
    ),
    (
        "That username was taken meanwhile. Choose another one.",
        "Dieser Benutzername wurde inzwischen vergeben. Wählen Sie einen anderen.",
    ),
    (
        "Check the username, or register first.",
        "Prüfen Sie den Benutzernamen, oder registrieren Sie sich zuerst.",
    ),
    (
        "Choose another username, or log in if this is you.",
        "Wählen Sie einen anderen Benutzernamen, oder melden Sie sich an, wenn Sie das sind.",
    ),
    (
        "Clear this site's cookies and start again.",
        "Löschen Sie die Cookies dieser Seite und beginnen Sie neu.",
    ),
    (
        "Start a new registration.",
        "Beginnen Sie eine neue Registrierung.",
    ),
    (
        "Start the registration again to get a new scan.",
        "Beginnen Sie die Registrierung neu, um einen neuen Scan zu erhalten.",
    ),
    (
        "Use the app's own page, or send the credential as a Bearer token.",
        "Nutzen Sie die eigene Seite der App, oder senden Sie den Nachweis als Bearer-Token.",
    ),
    ("Start the login again.", "Beginnen Sie die Anmeldung neu."),
    (
        "Go back to the app you came from and sign in again.",
        "Kehren Sie zu der App zurück, von der Sie kamen, und melden Sie sich erneut an.",
    ),
    (
        "Scan your face again to sign in.",
        "Scannen Sie Ihr Gesicht erneut, um sich anzumelden.",
    ),
    (
        "Start the step-up again.",
        "Beginnen Sie die erneute Gesichtsprüfung neu.",
    ),
    (
        "Verify your face again, then delete the account within a few minutes.",
        "Bestätigen Sie erneut Ihr Gesicht und löschen Sie das Konto dann innerhalb weniger Minuten.",
    ),
    (
        "Contact support to have the account unlocked.",
        "Wenden Sie sich an den Support, um das Konto entsperren zu lassen.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reasons::Reason;

    #[test]
    fn the_most_preferred_supported_language_wins() {
        // given Accept-Language values as browsers send them
        let cases = [
            (None, Language::English),
            (Some("de-DE,de;q=0.9,en;q=0.8"), Language::German),
            (Some("fr-FR,fr;q=0.9,de;q=0.5,en;q=0.4"), Language::German),
            (Some("en-GB,de;q=0.9"), Language::English),
            (Some("de;q=0,en;q=0.1"), Language::English),
            (Some("fr, es"), Language::English),
            (Some("de;q=banana"), Language::English),
            (Some("DE-at"), Language::German),
        ];
        // then each negotiates to the supported language it prefers most
        for (header, expected) in cases {
            assert_eq!(Language::negotiate(header), expected, "{header:?}");
        }
    }

    #[test]
    fn every_failure_reasons_hint_has_a_german_translation() {
        // given the reason table, then each hint translates
        for reason in Reason::ALL {
            assert!(
                translate_hint(reason.hint(), Language::German).is_some(),
                "no German for {:?}",
                reason.hint()
            );
        }
        assert_eq!(translate_hint("Please try again.", Language::English), None);
    }
}
