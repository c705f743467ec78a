//! Consent in DynamoDB: the attributes a consent record is stored as (on a registration item,
//! a user item and an evidence item alike), and the evidence table that erasure writes to.
//!
//! The evidence table holds one item per erased user, keyed by the pseudonymous user id, with
//! the consent attributes, `erased_at` and `ttl` (DynamoDB removes it when the retention ends).
//! It is written only with a condition that it is new, so a repeated erasure keeps the first
//! copy; the erasure role may put items there and nothing else (template.yaml), so erasure
//! cannot delete evidence.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::dynamo::{Item, get_n, get_s, n, opt_s, put_new, s};
use onboarding_core::domain::consent::ConsentEvidence;
use onboarding_core::domain::{Channel, ConsentRecord, Language};
use onboarding_core::ports::{ConsentEvidenceStore, StoreError};

/// Adds `record`'s attributes to `item`.
pub fn write_consent(item: &mut Item, record: &ConsentRecord) {
    item.insert("consent_version".into(), s(&record.version));
    item.insert("consent_text_sha256".into(), s(&record.text_sha256));
    item.insert("consent_language".into(), s(record.language.tag()));
    item.insert("consent_accepted_at".into(), n(record.accepted_at));
    item.insert("consent_channel".into(), s(record.channel.as_str()));
}

/// The consent record stored on `item`, if it has one (items written before consent was
/// recorded have none); a partial or unreadable record is corrupt.
pub fn read_consent(item: &Item) -> Result<Option<ConsentRecord>, StoreError> {
    if opt_s(item, "consent_version").is_none() {
        return Ok(None);
    }
    Ok(Some(ConsentRecord {
        version: get_s(item, "consent_version")?,
        text_sha256: get_s(item, "consent_text_sha256")?,
        language: Language::from_tag(&get_s(item, "consent_language")?)
            .ok_or(StoreError::Corrupt("consent_language"))?,
        accepted_at: get_n(item, "consent_accepted_at")?,
        channel: Channel::parse(&get_s(item, "consent_channel")?)
            .ok_or(StoreError::Corrupt("consent_channel"))?,
    }))
}

/// DynamoDB-backed [`ConsentEvidenceStore`].
pub struct DynamoConsentEvidence {
    client: Client,
    table: String,
}

impl DynamoConsentEvidence {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

#[async_trait]
impl ConsentEvidenceStore for DynamoConsentEvidence {
    async fn keep(&self, evidence: &ConsentEvidence) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(&evidence.user_id));
        item.insert("user_id".into(), s(&evidence.user_id));
        write_consent(&mut item, &evidence.consent);
        item.insert("erased_at".into(), n(evidence.erased_at));
        item.insert("ttl".into(), n(evidence.keep_until));
        match put_new(&self.client, &self.table, item).await {
            // Kept by an earlier delivery: the first copy stands.
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_its_attributes_and_a_missing_one_is_none() {
        // given a record written onto an item
        let record = ConsentRecord {
            version: "2025-01".into(),
            text_sha256: "ab".repeat(32),
            language: Language::German,
            accepted_at: 1_700_000_000,
            channel: Channel::Web,
        };
        let mut item = Item::new();
        write_consent(&mut item, &record);
        // then it reads back the same, and an item without one has none
        assert_eq!(read_consent(&item).unwrap(), Some(record));
        assert_eq!(read_consent(&Item::new()).unwrap(), None);
        // and a half-written one is corrupt, not silently absent
        item.remove("consent_channel");
        assert!(read_consent(&item).is_err());
    }
}
