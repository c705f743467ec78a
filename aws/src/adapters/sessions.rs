//! Login sessions in DynamoDB, keyed by session id, holding only the hash of the secret.
//! `ttl` lets DynamoDB clean up; expiry itself is always checked in code.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::{Item, get_bool, get_n, get_s, map_err, n, s};
use onboarding_core::ports::{Session, SessionStore, StoreError};

pub struct DynamoSessions {
    client: Client,
    table: String,
}

impl DynamoSessions {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

impl DynamoSessions {
    async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        super::dynamo::put_new(&self.client, &self.table, item).await
    }

    /// The item at `id` if it is of `kind` (login sessions and login attempts share the table,
    /// so a credential of one kind never reads as the other).
    async fn get_kind(&self, id: &str, kind: &str) -> Result<Option<Item>, StoreError> {
        Ok(super::dynamo::get_by_pk(&self.client, &self.table, id)
            .await?
            .filter(|item| super::dynamo::opt_s(item, "kind").as_deref() == Some(kind)))
    }
}

#[async_trait]
impl SessionStore for DynamoSessions {
    async fn create(&self, session: &Session, _idle_seconds: i64) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(&session.id));
        item.insert("kind".into(), s("login"));
        item.insert("secret_hash".into(), s(&session.secret_hash));
        item.insert("user_id".into(), s(&session.user_id));
        item.insert("created_at".into(), n(session.created_at));
        item.insert("last_seen".into(), n(session.last_seen));
        item.insert("absolute_expires_at".into(), n(session.absolute_expires_at));
        if let Some(acr) = &session.acr {
            item.insert("acr".into(), s(acr));
        }
        item.insert("ttl".into(), n(session.absolute_expires_at));
        self.put_new(item).await
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let Some(item) = self.get_kind(id, "login").await? else {
            return Ok(None);
        };
        Ok(Some(Session {
            id: get_s(&item, "pk")?,
            secret_hash: get_s(&item, "secret_hash")?,
            user_id: get_s(&item, "user_id")?,
            created_at: get_n(&item, "created_at")?,
            last_seen: get_n(&item, "last_seen")?,
            absolute_expires_at: get_n(&item, "absolute_expires_at")?,
            acr: super::dynamo::opt_s(&item, "acr"),
            elevated_until: super::dynamo::opt_n(&item, "elevated_until"),
        }))
    }
}

#[async_trait]
impl onboarding_core::ports::SessionControl for DynamoSessions {
    async fn touch(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .update_expression("SET last_seen = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
    }

    async fn elevate(&self, id: &str, until: i64) -> Result<(), StoreError> {
        // Only a login session that still exists: a step-up finished after logout elevates
        // nothing, and an attempt's id never becomes an elevated session.
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .update_expression("SET elevated_until = :until")
            .condition_expression("attribute_exists(pk) AND kind = :login")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":login", s("login"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
    }

    async fn revoke(&self, id: &str) -> Result<(), StoreError> {
        super::dynamo::delete_by_pk(&self.client, &self.table, id).await
    }

    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        super::dynamo::delete_all_of_user(&self.client, &self.table, user_id).await
    }
}

#[async_trait]
impl onboarding_core::ports::LoginAttemptStore for DynamoSessions {
    async fn create(
        &self,
        attempt: &onboarding_core::ports::LoginAttempt,
    ) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(&attempt.id));
        item.insert("kind".into(), s("attempt"));
        item.insert("secret_hash".into(), s(&attempt.secret_hash));
        // A decoy has no user: it stays out of the by_user index (whose key cannot be empty).
        if attempt.decoy {
            item.insert("decoy".into(), AttributeValue::Bool(true));
        } else {
            item.insert("user_id".into(), s(&attempt.user_id));
            item.insert("iproov_user_id".into(), s(&attempt.iproov_user_id));
        }
        item.insert("iproov_token".into(), s(&attempt.iproov_token));
        // A step-up attempt names the session it is bound to.
        if let Some(session_id) = &attempt.session_id {
            item.insert("session_id".into(), s(session_id));
        }
        item.insert("status".into(), s(attempt.status.as_str()));
        item.insert("created_at".into(), n(attempt.created_at));
        item.insert("expires_at".into(), n(attempt.expires_at));
        item.insert("ttl".into(), n(attempt.expires_at + 3600));
        self.put_new(item).await
    }

    async fn get(
        &self,
        id: &str,
    ) -> Result<Option<onboarding_core::ports::LoginAttempt>, StoreError> {
        let Some(item) = self.get_kind(id, "attempt").await? else {
            return Ok(None);
        };
        let decoy = get_bool(&item, "decoy");
        let (user_id, iproov_user_id) = if decoy {
            (String::new(), String::new())
        } else {
            (get_s(&item, "user_id")?, get_s(&item, "iproov_user_id")?)
        };
        Ok(Some(onboarding_core::ports::LoginAttempt {
            id: get_s(&item, "pk")?,
            secret_hash: get_s(&item, "secret_hash")?,
            user_id,
            iproov_user_id,
            iproov_token: get_s(&item, "iproov_token")?,
            status: onboarding_core::ports::AttemptStatus::parse(&get_s(&item, "status")?)
                .ok_or(StoreError::Corrupt("status"))?,
            expires_at: get_n(&item, "expires_at")?,
            created_at: get_n(&item, "created_at")?,
            decoy,
            session_id: super::dynamo::opt_s(&item, "session_id"),
        }))
    }

    async fn transition(
        &self,
        id: &str,
        from: onboarding_core::ports::AttemptStatus,
        to: onboarding_core::ports::AttemptStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .condition_expression("#st = :from")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()));
        req = match reason {
            Some(r) => req
                .update_expression("SET #st = :to, reason = :reason")
                .expression_attribute_values(":reason", s(r)),
            None => req.update_expression("SET #st = :to"),
        };
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
    }
}
