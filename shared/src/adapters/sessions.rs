//! Login sessions in DynamoDB, keyed by session id, holding only the hash of the secret.
//! `ttl` lets DynamoDB clean up; expiry itself is always checked in code.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::dynamo::{Item, get_n, get_s, map_err, n, s};
use crate::ports::{Session, SessionStore, StoreError};

pub struct DynamoSessions {
    client: Client,
    table: String,
}

impl DynamoSessions {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
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
        item.insert("ttl".into(), n(session.absolute_expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_err(e, |_| false))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        Ok(Some(Session {
            id: get_s(&item, "pk")?,
            secret_hash: get_s(&item, "secret_hash")?,
            user_id: get_s(&item, "user_id")?,
            created_at: get_n(&item, "created_at")?,
            last_seen: get_n(&item, "last_seen")?,
            absolute_expires_at: get_n(&item, "absolute_expires_at")?,
        }))
    }
}
