//! Property tests (fuzzing on stable) for everything that reads untrusted input before any
//! backend sees it: usernames, display names, JSON bodies, credentials. Whatever the input, the
//! readers never panic, and what they accept is canonical and stable.
//!
//! `make fuzz` runs them with many more cases (`PROPTEST_CASES`).

use api::body::{FieldReader, parse_object};
use onboarding_core::crypto::Credential;
use onboarding_core::domain::{DisplayName, Username};
use proptest::prelude::*;

/// Strings that mix ASCII, look-alikes, controls, bidi overrides, wide and combining characters.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 ._\\-]{0,40}",
        "[\\x00-\\x20\\u{202E}\\u{200B}\\u{FF21}-\\u{FF3A}a\\u{0301}\\u{0430}]{0,40}",
    ]
}

proptest! {
    #[test]
    fn usernames_are_canonical_and_idempotent(raw in hostile_text()) {
        // GIVEN any input WHEN it parses THEN the result is canonical and parses to itself
        if let Ok(name) = Username::parse(&raw) {
            let s = name.as_str();
            prop_assert!((3..=32).contains(&s.chars().count()));
            prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')));
            prop_assert_eq!(Username::parse(s).map(|n| n.as_str().to_owned()), Ok(s.to_owned()));
        }
    }

    #[test]
    fn display_names_hold_no_controls_and_are_idempotent(raw in hostile_text()) {
        if let Ok(name) = DisplayName::parse(&raw) {
            let s = name.as_str();
            prop_assert!(!s.is_empty() && s.chars().count() <= 64);
            prop_assert!(!s.chars().any(char::is_control));
            let invisible = s.contains('\u{202E}') || s.contains('\u{200B}');
            prop_assert!(!invisible, "invisible formatting kept");
            prop_assert_eq!(s.trim(), s);
            prop_assert_eq!(DisplayName::parse(s).map(|n| n.as_str().to_owned()), Ok(s.to_owned()));
        }
    }

    #[test]
    fn json_bodies_never_panic_and_only_objects_pass(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(map) = parse_object(&bytes) {
            // Fields are read strictly whatever they hold.
            let mut reader = FieldReader::new(map, &["username", "display_name"]);
            let _ = reader.string("username");
            let _ = reader.optional_string("display_name");
            let _ = reader.finish();
        }
    }

    #[test]
    fn json_objects_with_any_values_are_read_without_panicking(
        username in proptest::option::of(hostile_text()),
        extra in proptest::option::of("[a-z]{1,10}"),
        number in any::<i64>(),
    ) {
        let mut body = serde_json::Map::new();
        match username {
            Some(u) => { body.insert("username".into(), serde_json::Value::String(u)); }
            None => { body.insert("username".into(), serde_json::Value::from(number)); }
        }
        if let Some(key) = extra {
            body.insert(key, serde_json::Value::Null);
        }
        let mut reader = FieldReader::new(body, &["username"]);
        let _ = reader.string("username");
        let _ = reader.finish();
    }

    #[test]
    fn credentials_parse_only_to_what_was_presented(raw in "[a-zA-Z0-9._\\-]{0,90}|\\PC{0,90}") {
        if let Some(c) = Credential::parse(&raw) {
            prop_assert_eq!(c.expose(), raw);
        }
    }
}
