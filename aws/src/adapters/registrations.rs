//! Registrations in DynamoDB: one item per registration, keyed by its id; every state change is
//! an `UpdateItem` with a condition on the state it starts from. Each condition is the
//! DynamoDB form of a guard of the domain (`Registration::is_at`, `awaits_outcome`,
//! `attempt_over` in core/src/domain/registration.rs), which the in-memory adapter applies
//! directly; the core's unit tests run the use cases on those guards.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::consent_evidence::{read_consent, write_consent};
use super::dynamo::{Item, get_bool, get_n, get_s, map_err, n, opt_n, opt_s, s};
use crate::envelope::Sealed;
use onboarding_core::domain::registration::Outcome;
use onboarding_core::domain::{ConsentRecord, Registration, RegistrationStatus};
use onboarding_core::ports::{RegistrationStore, StoreError};

/// DynamoDB-backed [`RegistrationStore`].
pub struct DynamoRegistrations {
    client: Client,
    table: String,
}

impl DynamoRegistrations {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn update(
        &self,
        id: &str,
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#st", "status");
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
    }
}

fn to_item(r: &Registration) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&r.id));
    item.insert("secret_hash".into(), s(&r.secret_hash));
    item.insert("user_id".into(), s(&r.user_id));
    item.insert("iproov_user_id".into(), s(&r.iproov_user_id));
    item.insert("name_index".into(), s(&r.name_index));
    item.insert("username".into(), s(r.username.as_str()));
    item.insert("display_name".into(), s(r.display_name.as_str()));
    item.insert("status".into(), s(r.status.as_str()));
    item.insert("attempt".into(), n(i64::from(r.attempt)));
    item.insert("iproov_token".into(), s(&r.iproov_token));
    item.insert("token_expires_at".into(), n(r.token_expires_at));
    item.insert("created_at".into(), n(r.created_at));
    item.insert("updated_at".into(), n(r.created_at));
    item.insert("expires_at".into(), n(r.expires_at));
    item.insert("ttl".into(), n(r.expires_at));
    if let Some(consent) = &r.consent {
        write_consent(&mut item, consent);
    }
    item
}

fn from_item(item: &Item) -> Result<Registration, StoreError> {
    Ok(Registration {
        id: get_s(item, "pk")?,
        secret_hash: get_s(item, "secret_hash")?,
        user_id: get_s(item, "user_id")?,
        iproov_user_id: get_s(item, "iproov_user_id")?,
        name_index: get_s(item, "name_index")?,
        username: Sealed::from_stored(get_s(item, "username")?),
        display_name: Sealed::from_stored(get_s(item, "display_name")?),
        status: RegistrationStatus::parse(&get_s(item, "status")?)
            .ok_or(StoreError::Corrupt("status"))?,
        attempt: u32::try_from(get_n(item, "attempt")?)
            .map_err(|_| StoreError::Corrupt("attempt"))?,
        iproov_token: get_s(item, "iproov_token")?,
        token_expires_at: get_n(item, "token_expires_at")?,
        reason: opt_s(item, "reason"),
        outcome: opt_s(item, "outcome").and_then(|o| Outcome::parse(&o)),
        image_key: opt_s(item, "image_key"),
        validating_since: opt_n(item, "validating_since"),
        login_issued: get_bool(item, "login_issued"),
        consent: read_consent(item)?,
        created_at: get_n(item, "created_at")?,
        expires_at: get_n(item, "expires_at")?,
    })
}

fn attempt(a: u32) -> AttributeValue {
    n(i64::from(a))
}

#[async_trait]
impl RegistrationStore for DynamoRegistrations {
    async fn get(&self, id: &str) -> Result<Option<Registration>, StoreError> {
        super::dynamo::get_by_pk(&self.client, &self.table, id)
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        super::dynamo::delete_by_pk(&self.client, &self.table, id).await
    }

    async fn create(&self, registration: &Registration) -> Result<(), StoreError> {
        super::dynamo::put_new(&self.client, &self.table, to_item(registration)).await
    }

    async fn restart(
        &self,
        id: &str,
        attempt_no: u32,
        token: &str,
        token_expires_at: i64,
        consent: &ConsentRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        // The consent given with this attempt replaces the previous one (the same attributes
        // `write_consent` writes).
        self.update(
            id,
            "SET #st = :awaiting, attempt = :next, iproov_token = :token, \
             token_expires_at = :exp, updated_at = :now, consent_version = :cv, \
             consent_text_sha256 = :ch, consent_language = :cl, consent_accepted_at = :ca, \
             consent_channel = :cc \
             REMOVE reason, outcome, validating_since",
            "attempt = :attempt AND (#st = :failed OR (#st = :awaiting AND token_expires_at <= :now))",
            vec![
                (":awaiting", s(RegistrationStatus::AwaitingScan.as_str())),
                (":failed", s(RegistrationStatus::Failed.as_str())),
                (":next", attempt(attempt_no + 1)),
                (":attempt", attempt(attempt_no)),
                (":token", s(token)),
                (":exp", n(token_expires_at)),
                (":now", n(now)),
                (":cv", s(&consent.version)),
                (":ch", s(&consent.text_sha256)),
                (":cl", s(consent.language.tag())),
                (":ca", n(consent.accepted_at)),
                (":cc", s(consent.channel.as_str())),
            ],
        )
        .await
    }

    async fn submit(&self, id: &str, attempt_no: u32, now: i64) -> Result<(), StoreError> {
        self.update(
            id,
            "SET #st = :submitted, submitted_at = :now, updated_at = :now",
            "#st = :awaiting AND attempt = :attempt AND token_expires_at > :now",
            vec![
                (":submitted", s(RegistrationStatus::Submitted.as_str())),
                (":awaiting", s(RegistrationStatus::AwaitingScan.as_str())),
                (":attempt", attempt(attempt_no)),
                (":now", n(now)),
            ],
        )
        .await
    }

    async fn unsubmit(&self, id: &str, attempt_no: u32) -> Result<(), StoreError> {
        self.update(
            id,
            "SET #st = :awaiting REMOVE submitted_at",
            "#st = :submitted AND attempt = :attempt",
            vec![
                (":submitted", s(RegistrationStatus::Submitted.as_str())),
                (":awaiting", s(RegistrationStatus::AwaitingScan.as_str())),
                (":attempt", attempt(attempt_no)),
            ],
        )
        .await
    }

    async fn begin_validation(
        &self,
        id: &str,
        attempt_no: u32,
        now: i64,
        lease_seconds: i64,
    ) -> Result<(), StoreError> {
        self.update(
            id,
            "SET #st = :validating, validating_since = :now, updated_at = :now",
            "attempt = :attempt AND (#st = :submitted OR (#st = :validating \
             AND attribute_not_exists(outcome) AND validating_since < :stale))",
            vec![
                (":validating", s(RegistrationStatus::Validating.as_str())),
                (":submitted", s(RegistrationStatus::Submitted.as_str())),
                (":attempt", attempt(attempt_no)),
                (":now", n(now)),
                (":stale", n(now - lease_seconds)),
            ],
        )
        .await
    }

    async fn record_outcome(
        &self,
        id: &str,
        attempt_no: u32,
        outcome: Outcome,
        reason: Option<&str>,
        image_key: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let image_clause = if image_key.is_some() {
            ", image_key = :image"
        } else {
            ""
        };
        let mut values = vec![
            (":validating", s(RegistrationStatus::Validating.as_str())),
            (":attempt", attempt(attempt_no)),
            (":outcome", s(outcome.as_str())),
            (":now", n(now)),
        ];
        if let Some(key) = image_key {
            values.push((":image", s(key)));
        }
        let update = match outcome {
            Outcome::Passed => format!(
                "SET outcome = :outcome, validated_at = :now, updated_at = :now{image_clause}"
            ),
            Outcome::Failed => {
                values.push((":failed", s(RegistrationStatus::Failed.as_str())));
                values.push((":reason", s(reason.unwrap_or("unknown"))));
                "SET outcome = :outcome, #st = :failed, reason = :reason, validated_at = :now, \
                 updated_at = :now"
                    .to_owned()
            }
        };
        self.update(
            id,
            &update,
            "#st = :validating AND attempt = :attempt AND attribute_not_exists(outcome)",
            values,
        )
        .await
    }

    async fn fail(
        &self,
        id: &str,
        attempt_no: u32,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.update(
            id,
            "SET #st = :failed, reason = :reason, updated_at = :now",
            "#st = :validating AND attempt = :attempt",
            vec![
                (":validating", s(RegistrationStatus::Validating.as_str())),
                (":failed", s(RegistrationStatus::Failed.as_str())),
                (":attempt", attempt(attempt_no)),
                (":reason", s(reason)),
                (":now", n(now)),
            ],
        )
        .await
    }

    async fn release(&self, id: &str, attempt_no: u32, now: i64) -> Result<(), StoreError> {
        self.update(
            id,
            "SET #st = :submitted, updated_at = :now REMOVE validating_since",
            "#st = :validating AND attempt = :attempt AND attribute_not_exists(outcome)",
            vec![
                (":validating", s(RegistrationStatus::Validating.as_str())),
                (":submitted", s(RegistrationStatus::Submitted.as_str())),
                (":attempt", attempt(attempt_no)),
                (":now", n(now)),
            ],
        )
        .await
    }

    async fn complete(&self, id: &str, attempt_no: u32, now: i64) -> Result<(), StoreError> {
        self.update(
            id,
            "SET #st = :completed, completed_at = :now, updated_at = :now",
            "#st = :validating AND attempt = :attempt AND outcome = :passed",
            vec![
                (":completed", s(RegistrationStatus::Completed.as_str())),
                (":validating", s(RegistrationStatus::Validating.as_str())),
                (":passed", s(Outcome::Passed.as_str())),
                (":attempt", attempt(attempt_no)),
                (":now", n(now)),
            ],
        )
        .await
    }

    async fn mark_login_issued(&self, id: &str) -> Result<(), StoreError> {
        self.update(
            id,
            "SET login_issued = :yes",
            "#st = :completed",
            vec![
                (":yes", AttributeValue::Bool(true)),
                (":completed", s(RegistrationStatus::Completed.as_str())),
            ],
        )
        .await
    }
}
