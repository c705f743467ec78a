//! A user's sessions and attempts for the operator API, read from the sessions table's
//! `by_user_time` index (`user_id`, then `created_at`). The index projects times and states
//! only — never a secret hash or an iProov token — and the operator function may query only
//! it, so its role cannot read a credential's hash or a token even by mistake.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::dynamo::{Item, get_n, get_s, map_err, opt_s, s};
use onboarding_core::ports::{
    AttemptKind, AttemptStatus, AttemptSummary, SessionSummary, StoreError, UserActivity,
};

/// The index's name in template.yaml.
pub const INDEX: &str = "by_user_time";

/// Deletes in flight at once when ending a user's sessions.
const MAX_DELETES_IN_FLIGHT: usize = 25;

pub struct DynamoActivity {
    client: Client,
    table: String,
}

impl DynamoActivity {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// Items of `kind` for `user_id`, newest first, until `limit` are found (or all).
    async fn of_kind(
        &self,
        user_id: &str,
        kind: &str,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(INDEX)
                .key_condition_expression("user_id = :u")
                .filter_expression("kind = :k")
                .expression_attribute_values(":u", s(user_id))
                .expression_attribute_values(":k", s(kind))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| map_err(e, |_| false))?;
            found.extend(out.items().iter().cloned());
            if let Some(limit) = limit
                && found.len() >= limit
            {
                found.truncate(limit);
                return Ok(found);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}

#[async_trait]
impl UserActivity for DynamoActivity {
    async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionSummary>, StoreError> {
        self.of_kind(user_id, "login", None)
            .await?
            .iter()
            .map(|item| {
                Ok(SessionSummary {
                    created_at: get_n(item, "created_at")?,
                    last_seen: get_n(item, "last_seen")?,
                    absolute_expires_at: get_n(item, "absolute_expires_at")?,
                })
            })
            .collect()
    }

    async fn attempts_of(
        &self,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<AttemptSummary>, StoreError> {
        self.of_kind(user_id, "attempt", Some(limit))
            .await?
            .iter()
            .map(|item| {
                Ok(AttemptSummary {
                    created_at: get_n(item, "created_at")?,
                    // A step-up attempt names the session it is bound to; a login's names none.
                    kind: if opt_s(item, "session_id").is_some() {
                        AttemptKind::StepUp
                    } else {
                        AttemptKind::Login
                    },
                    status: AttemptStatus::parse(&get_s(item, "status")?)
                        .ok_or(StoreError::Corrupt("status"))?,
                    reason: opt_s(item, "reason"),
                })
            })
            .collect()
    }

    async fn end_sessions(&self, user_id: &str) -> Result<usize, StoreError> {
        use futures::TryStreamExt;
        let keys: Vec<String> = self
            .of_kind(user_id, "login", None)
            .await?
            .iter()
            .filter_map(|item| opt_s(item, "pk"))
            .collect();
        let ended = keys.len();
        futures::stream::iter(keys.into_iter().map(Ok))
            .try_for_each_concurrent(MAX_DELETES_IN_FLIGHT, |pk| async move {
                super::dynamo::delete_by_pk(&self.client, &self.table, &pk).await
            })
            .await?;
        Ok(ended)
    }
}
