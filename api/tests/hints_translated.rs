//! Every hint the code can give has its translations (core/src/domain/language.rs): the hints
//! written at call sites (`with_hint("…")`, and the `START_AGAIN` constants they use) are read
//! from the sources of the crates that answer requests, so a new hint without a German version
//! fails here, not in front of a German-speaking person.

use std::path::{Path, PathBuf};

use onboarding_core::domain::Language;
use onboarding_core::domain::language::translate_hint;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literal right after each `marker` (whitespace and line breaks allowed between,
/// as `cargo fmt` may wrap a call).
fn literals_after(source: &str, marker: &str) -> Vec<String> {
    source
        .match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = source[at + marker.len()..].trim_start().strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

#[test]
fn every_hint_in_the_code_has_a_german_translation() {
    // given the sources of every crate that answers requests
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["api/src", "core/src", "functions"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut hints = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        hints.extend(literals_after(&source, "with_hint("));
        hints.extend(literals_after(&source, "START_AGAIN: &str ="));
    }
    // then there are hints, and each one translates
    assert!(hints.len() >= 10, "found only {hints:?}");
    let missing: Vec<_> = hints
        .iter()
        .filter(|hint| translate_hint(hint, Language::German).is_none())
        .collect();
    assert!(missing.is_empty(), "hints without German: {missing:?}");
}
