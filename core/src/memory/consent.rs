//! In-memory consent: a test catalog (current `v2` in English and German, outdated `v1`), the
//! answer that accepts it, and a consent-evidence store that keeps the first copy, as the
//! DynamoDB adapter's condition does.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Outages, lock};
use crate::domain::ConsentCatalog;
use crate::domain::consent::{ConsentAnswer, ConsentEvidence};
use crate::ports::{ConsentEvidenceStore, StoreError};

/// The current version of [`test_catalog`].
pub const CURRENT_CONSENT: &str = "v2";

/// The document [`test_catalog`] is read from.
pub const TEST_CONSENT_DOCUMENT: &str = r#"{
    "current": "v2",
    "versions": [
        {"version": "v2", "purposes": ["biometric_enrolment", "biometric_login"],
         "texts": {"en": "I agree to the processing of my face (v2).",
                   "de": "Ich willige in die Verarbeitung meines Gesichts ein (v2)."}},
        {"version": "v1", "purposes": ["biometric_enrolment"],
         "texts": {"en": "I agree (v1)."}}
    ]
}"#;

/// The catalog the in-memory world uses.
pub fn test_catalog() -> ConsentCatalog {
    ConsentCatalog::parse(TEST_CONSENT_DOCUMENT).unwrap_or_else(|e| panic!("{e}"))
}

/// An answer that accepts the current test version.
pub fn accepted() -> ConsentAnswer {
    ConsentAnswer {
        version: CURRENT_CONSENT.into(),
        accepted: true,
        language: None,
    }
}

/// Consent evidence by user id; the first copy kept wins.
#[derive(Default)]
pub struct MemoryConsentEvidence {
    items: Mutex<HashMap<String, ConsentEvidence>>,
    pub outages: Outages,
}

impl MemoryConsentEvidence {
    /// The evidence kept for `user_id`, if any.
    pub fn of(&self, user_id: &str) -> Option<ConsentEvidence> {
        lock(&self.items).get(user_id).cloned()
    }
}

#[async_trait]
impl ConsentEvidenceStore for MemoryConsentEvidence {
    async fn keep(&self, evidence: &ConsentEvidence) -> Result<(), StoreError> {
        self.outages.enter("keep").await?;
        lock(&self.items)
            .entry(evidence.user_id.clone())
            .or_insert_with(|| evidence.clone());
        Ok(())
    }
}
