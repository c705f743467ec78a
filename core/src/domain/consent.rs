//! Consent to biometric processing (GDPR Art. 9(2)(a)): the texts a person is shown before a
//! face scan, the rule that decides whether their answer is consent we may act on, and the
//! record kept so an auditor can see what was accepted, when and how (Art. 7(1): the controller
//! must be able to demonstrate it).
//!
//! The texts and versions are deployment data, not code: a JSON document
//! (`config/consent.json`, docs/consent.md) that [`ConsentCatalog::parse`] validates as a whole,
//! so a broken document stops a function at cold start (and a unit test at build time), never a
//! person at a request.
//!
//! A version is *current* (the one shown today), *outdated* (listed, shown once, no longer
//! accepted for new scans: the person must read the current text) or *unknown* (not listed).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::crypto::hex;
use crate::domain::Language;

/// Longest consent text accepted in the document: a page of prose, far below the answer limits.
const MAX_TEXT_CHARS: usize = 20_000;

/// Where the consent was given: a browser page (`web`, the request carried `Sec-Fetch-*`) or an
/// app (`app`, everything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    App,
}

impl Channel {
    /// The channel of a request, given whether it came from a browser.
    pub fn of_request(browser: bool) -> Self {
        if browser { Self::Web } else { Self::App }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::App => "app",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(Self::Web),
            "app" => Some(Self::App),
            _ => None,
        }
    }
}

/// What was accepted: kept with the registration, copied to the user, and kept as evidence
/// after erasure. It names the owner only through the record that holds it (our random user
/// id), never a name, and it holds the text's hash rather than the text, so the evidence proves
/// which words were shown without copying them around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub version: String,
    /// SHA-256 (lower-case hex) of the exact text shown, in `language`, as UTF-8.
    pub text_sha256: String,
    pub language: Language,
    pub accepted_at: i64,
    pub channel: Channel,
}

/// A person's answer, as sent with `POST /v1/users/registration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentAnswer {
    pub version: String,
    pub accepted: bool,
    /// The language the text was shown in (`language` of `GET /v1/consent`), if the client says;
    /// otherwise the request's `Accept-Language` decides, as it did for the text.
    pub language: Option<String>,
}

/// Why an answer is not consent we may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentProblem {
    /// No answer at all.
    Missing,
    /// The person did not accept.
    Declined,
    /// A version the document does not list.
    UnknownVersion,
    /// A version the document lists, but no longer the current one: the person must read the
    /// current text first.
    Outdated,
    /// The named language is not one this version was shown in.
    LanguageNotOffered,
}

/// The consent text to show now, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownConsent<'a> {
    pub version: &'a str,
    /// The language of `text`: the one asked for, or English when the version has no text in it.
    pub language: Language,
    pub text: &'a str,
    /// Stable purpose codes (e.g. `biometric_enrolment`); the text explains them to the person.
    pub purposes: &'a [String],
}

/// Why a consent document was refused: names the version and what is wrong, never more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("consent document: {0}")]
pub struct CatalogError(pub String);

/// The document's shape (docs/consent.md).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    current: String,
    versions: Vec<DocumentVersion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentVersion {
    version: String,
    purposes: Vec<String>,
    texts: BTreeMap<String, String>,
}

/// One version, validated.
#[derive(Debug, Clone)]
struct Version {
    id: String,
    purposes: Vec<String>,
    texts: Vec<(Language, String)>,
}

impl Version {
    /// The text in `language`, or the English one (every version has it).
    fn text(&self, language: Language) -> Option<(Language, &str)> {
        let find = |wanted: Language| {
            self.texts
                .iter()
                .find(|(l, _)| *l == wanted)
                .map(|(l, t)| (*l, t.as_str()))
        };
        find(language).or_else(|| find(Language::English))
    }
}

/// Every consent version the deployment knows, and which one is current.
#[derive(Debug, Clone)]
pub struct ConsentCatalog {
    current: usize,
    versions: Vec<Version>,
}

impl ConsentCatalog {
    /// Reads and checks a whole document: known fields only, at least one version, unique and
    /// well-formed version ids and purpose codes, an English text in every version (the
    /// fallback), only languages the API speaks, and a current version that is listed.
    pub fn parse(json: &str) -> Result<Self, CatalogError> {
        let document: Document = serde_json::from_str(json)
            .map_err(|e| CatalogError(format!("not a valid document ({e})")))?;
        if document.versions.is_empty() {
            return Err(CatalogError("no versions".into()));
        }
        let mut seen = BTreeSet::new();
        let mut versions = Vec::with_capacity(document.versions.len());
        for v in document.versions {
            if !is_code(&v.version, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
            }) {
                return Err(CatalogError(format!(
                    "version id {:?} must be 1 to 64 of A-Z a-z 0-9 . _ -",
                    v.version
                )));
            }
            if !seen.insert(v.version.clone()) {
                return Err(CatalogError(format!(
                    "version {} is listed twice",
                    v.version
                )));
            }
            versions.push(Version {
                purposes: check_purposes(&v.version, v.purposes)?,
                texts: check_texts(&v.version, v.texts)?,
                id: v.version,
            });
        }
        let current = versions
            .iter()
            .position(|v| v.id == document.current)
            .ok_or_else(|| {
                CatalogError(format!(
                    "current version {:?} is not listed",
                    document.current
                ))
            })?;
        Ok(Self { current, versions })
    }

    /// The current version's text for a person who reads `language` (English if the version
    /// has no text in it).
    pub fn current(&self, language: Language) -> ShownConsent<'_> {
        let version = &self.versions[self.current];
        // Every version has English (checked by `parse`), so the fallback always finds a text.
        let (language, text) = version.text(language).unwrap_or((Language::English, ""));
        ShownConsent {
            version: &version.id,
            language,
            text,
            purposes: &version.purposes,
        }
    }

    /// Decides whether `answer` is consent to act on now, and if so what to record: accepted,
    /// for the current version, in a language that version was shown in. `requested` is the
    /// request's negotiated language, used when the answer names none (the same choice
    /// `current` made when the text was fetched).
    pub fn judge(
        &self,
        answer: Option<&ConsentAnswer>,
        requested: Language,
        channel: Channel,
        now: i64,
    ) -> Result<ConsentRecord, ConsentProblem> {
        let answer = answer.ok_or(ConsentProblem::Missing)?;
        if !answer.accepted {
            return Err(ConsentProblem::Declined);
        }
        let index = self
            .versions
            .iter()
            .position(|v| v.id == answer.version)
            .ok_or(ConsentProblem::UnknownVersion)?;
        if index != self.current {
            return Err(ConsentProblem::Outdated);
        }
        let version = &self.versions[index];
        let (language, text) = match answer.language.as_deref() {
            Some(tag) => {
                let language = Language::from_tag(tag).ok_or(ConsentProblem::LanguageNotOffered)?;
                let text = version
                    .texts
                    .iter()
                    .find(|(l, _)| *l == language)
                    .map(|(_, t)| t.as_str())
                    .ok_or(ConsentProblem::LanguageNotOffered)?;
                (language, text)
            }
            None => version
                .text(requested)
                .ok_or(ConsentProblem::LanguageNotOffered)?,
        };
        Ok(ConsentRecord {
            version: version.id.clone(),
            text_sha256: text_sha256(text),
            language,
            accepted_at: now,
            channel,
        })
    }
}

/// The hash a record keeps of the text shown: SHA-256 of its UTF-8 bytes, lower-case hex. An
/// auditor recomputes it from the document's text for that version and language.
pub fn text_sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A version's consent, kept after its user was erased: the record and the pseudonymous user
/// id only (no name, no image, no verifier id), until `keep_until` (the retention parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvidence {
    pub user_id: String,
    pub consent: ConsentRecord,
    pub erased_at: i64,
    pub keep_until: i64,
}

impl ConsentEvidence {
    /// The evidence of `user_id`'s consent, erased at `now`, kept for `retention_seconds`.
    pub fn after_erasure(
        user_id: &str,
        consent: &ConsentRecord,
        now: i64,
        retention_seconds: i64,
    ) -> Self {
        Self {
            user_id: user_id.to_owned(),
            consent: consent.clone(),
            erased_at: now,
            keep_until: now.saturating_add(retention_seconds),
        }
    }
}

fn is_code(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(allowed)
}

fn check_purposes(version: &str, purposes: Vec<String>) -> Result<Vec<String>, CatalogError> {
    if purposes.is_empty() {
        return Err(CatalogError(format!("version {version} names no purpose")));
    }
    let mut seen = BTreeSet::new();
    for purpose in &purposes {
        if !is_code(purpose, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        }) {
            return Err(CatalogError(format!(
                "version {version}: purpose {purpose:?} must be 1 to 64 of a-z 0-9 _"
            )));
        }
        if !seen.insert(purpose) {
            return Err(CatalogError(format!(
                "version {version}: purpose {purpose} is listed twice"
            )));
        }
    }
    Ok(purposes)
}

fn check_texts(
    version: &str,
    texts: BTreeMap<String, String>,
) -> Result<Vec<(Language, String)>, CatalogError> {
    let mut checked = Vec::with_capacity(texts.len());
    for (tag, text) in texts {
        let language = Language::from_tag(&tag).ok_or_else(|| {
            CatalogError(format!(
                "version {version}: language {tag:?} is not one the API speaks (en, de)"
            ))
        })?;
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            return Err(CatalogError(format!(
                "version {version}: the {tag} text must be 1 to {MAX_TEXT_CHARS} characters"
            )));
        }
        checked.push((language, text));
    }
    if !checked.iter().any(|(l, _)| *l == Language::English) {
        return Err(CatalogError(format!(
            "version {version} has no English (en) text, the fallback"
        )));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"{
        "current": "v2",
        "versions": [
            {"version": "v2", "purposes": ["biometric_enrolment", "biometric_login"],
             "texts": {"en": "I agree (v2).", "de": "Ich stimme zu (v2)."}},
            {"version": "v1", "purposes": ["biometric_enrolment"],
             "texts": {"en": "I agree (v1)."}}
        ]
    }"#;

    fn catalog() -> ConsentCatalog {
        ConsentCatalog::parse(DOCUMENT).expect("valid document")
    }

    fn answer(version: &str, accepted: bool, language: Option<&str>) -> ConsentAnswer {
        ConsentAnswer {
            version: version.into(),
            accepted,
            language: language.map(str::to_owned),
        }
    }

    #[test]
    fn the_current_text_is_given_in_the_language_asked_for_or_english() {
        // given a current version in English and German
        let catalog = catalog();
        // when German, then English, is asked for
        let de = catalog.current(Language::German);
        let en = catalog.current(Language::English);
        // then each gets its own text, with the version and purposes
        assert_eq!(
            (de.version, de.language, de.text),
            ("v2", Language::German, "Ich stimme zu (v2).")
        );
        assert_eq!((en.language, en.text), (Language::English, "I agree (v2)."));
        assert_eq!(de.purposes, ["biometric_enrolment", "biometric_login"]);
    }

    #[test]
    fn a_version_without_the_language_falls_back_to_english() {
        // given a current version in English only
        let catalog = ConsentCatalog::parse(
            r#"{"current":"v1","versions":[{"version":"v1","purposes":["p"],"texts":{"en":"Yes."}}]}"#,
        )
        .unwrap();
        // when German is asked for, then English is given, and says so
        let shown = catalog.current(Language::German);
        assert_eq!((shown.language, shown.text), (Language::English, "Yes."));
    }

    #[test]
    fn accepting_the_current_version_records_the_hash_of_the_text_shown() {
        // given the catalog, when a German reader accepts v2 from a browser
        let record = catalog()
            .judge(
                Some(&answer("v2", true, None)),
                Language::German,
                Channel::Web,
                1_000,
            )
            .unwrap();
        // then the record names the version, the German text's hash, the time and the channel
        assert_eq!(record.version, "v2");
        assert_eq!(record.language, Language::German);
        assert_eq!(record.text_sha256, text_sha256("Ich stimme zu (v2)."));
        assert_eq!(record.text_sha256.len(), 64);
        assert_eq!((record.accepted_at, record.channel), (1_000, Channel::Web));
    }

    #[test]
    fn the_language_named_in_the_answer_wins_over_accept_language() {
        // given an app that showed the English text but sends German Accept-Language
        let record = catalog()
            .judge(
                Some(&answer("v2", true, Some("en"))),
                Language::German,
                Channel::App,
                1,
            )
            .unwrap();
        // then the English text is what was accepted
        assert_eq!(record.language, Language::English);
        assert_eq!(record.text_sha256, text_sha256("I agree (v2)."));
    }

    #[test]
    fn anything_but_an_accepted_current_version_is_refused_with_its_reason() {
        // given the catalog (v2 current, v1 outdated)
        let catalog = catalog();
        let judge = |a: Option<ConsentAnswer>| {
            catalog.judge(a.as_ref(), Language::English, Channel::App, 1)
        };
        // then each faulty answer is refused for what is wrong with it
        assert_eq!(judge(None), Err(ConsentProblem::Missing));
        assert_eq!(
            judge(Some(answer("v2", false, None))),
            Err(ConsentProblem::Declined)
        );
        assert_eq!(
            judge(Some(answer("v9", true, None))),
            Err(ConsentProblem::UnknownVersion)
        );
        assert_eq!(
            judge(Some(answer("v1", true, None))),
            Err(ConsentProblem::Outdated)
        );
        assert_eq!(
            judge(Some(answer("v2", true, Some("fr")))),
            Err(ConsentProblem::LanguageNotOffered)
        );
    }

    #[test]
    fn a_declined_answer_is_declined_whatever_its_version() {
        // given a refusal of an unknown version, then it is a refusal (no version is looked up)
        assert_eq!(
            catalog().judge(
                Some(&answer("nope", false, None)),
                Language::English,
                Channel::App,
                1
            ),
            Err(ConsentProblem::Declined)
        );
    }

    #[test]
    fn broken_documents_are_refused_as_a_whole() {
        // given documents with one mistake each
        let cases = [
            ("not json", "not a valid document"),
            (r#"{"current":"v1","versions":[]}"#, "no versions"),
            (
                r#"{"current":"v2","versions":[{"version":"v1","purposes":["p"],"texts":{"en":"x"}}]}"#,
                "not listed",
            ),
            (
                r#"{"current":"v1","versions":[{"version":"v1","purposes":["p"],"texts":{"de":"x"}}]}"#,
                "no English",
            ),
            (
                r#"{"current":"v1","versions":[{"version":"v1","purposes":["p"],"texts":{"en":"x","fr":"y"}}]}"#,
                "not one the API speaks",
            ),
            (
                r#"{"current":"v1","versions":[{"version":"v1","purposes":[],"texts":{"en":"x"}}]}"#,
                "no purpose",
            ),
            (
                r#"{"current":"v1","versions":[{"version":"v1","purposes":["Bad Purpose"],"texts":{"en":"x"}}]}"#,
                "purpose",
            ),
            (
                r#"{"current":"v1","versions":[{"version":"v1","purposes":["p"],"texts":{"en":"  "}}]}"#,
                "text must be",
            ),
            (
                r#"{"current":"v1","versions":[{"version":"v1","purposes":["p"],"texts":{"en":"x"}},{"version":"v1","purposes":["p"],"texts":{"en":"y"}}]}"#,
                "listed twice",
            ),
            (
                r#"{"current":"v 1","versions":[{"version":"v 1","purposes":["p"],"texts":{"en":"x"}}]}"#,
                "version id",
            ),
            (
                r#"{"current":"v1","typo":1,"versions":[{"version":"v1","purposes":["p"],"texts":{"en":"x"}}]}"#,
                "unknown field",
            ),
        ];
        // then each is refused, saying what is wrong
        for (json, expected) in cases {
            let err = ConsentCatalog::parse(json).expect_err(json);
            assert!(err.0.contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn evidence_after_erasure_keeps_the_record_until_the_retention_ends() {
        // given a record, when its user is erased at 100 with a retention of 50 seconds
        let record = catalog()
            .judge(
                Some(&answer("v2", true, None)),
                Language::English,
                Channel::App,
                7,
            )
            .unwrap();
        let evidence = ConsentEvidence::after_erasure("user-1", &record, 100, 50);
        // then it is kept until 150, with the record unchanged
        assert_eq!(evidence.keep_until, 150);
        assert_eq!(evidence.erased_at, 100);
        assert_eq!(evidence.consent, record);
        assert_eq!(evidence.user_id, "user-1");
    }
}
