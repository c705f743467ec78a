//! Users in DynamoDB. Two items per user, written in one transaction: `user#<id>` (the account)
//! and `name#<blind index>` (the username claim). The claim's `attribute_not_exists` condition is
//! what makes usernames unique even when two registrations race.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::consent_evidence::{read_consent, write_consent};
use super::dynamo::{Item, cancelled_or_error, get_n, get_s, map_err, opt_s, s};
use crate::envelope::Sealed;
use onboarding_core::domain::AccountLock;
use onboarding_core::ports::{AccountLocks, NameClaim, StoreError, User, UserCreated, UserStore};

pub struct DynamoUsers {
    client: Client,
    table: String,
}

impl DynamoUsers {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn get_item(&self, pk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_err(e, |_| false))?;
        Ok(out.item)
    }
}

fn user_key(user_id: &str) -> String {
    format!("user#{user_id}")
}

fn name_key(name_index: &str) -> String {
    format!("name#{name_index}")
}

fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|_| StoreError::Corrupt("put"))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[async_trait]
impl UserStore for DynamoUsers {
    async fn find_by_name(&self, name_index: &str) -> Result<Option<NameClaim>, StoreError> {
        let Some(item) = self.get_item(name_key(name_index)).await? else {
            return Ok(None);
        };
        Ok(Some(NameClaim {
            user_id: get_s(&item, "user_id")?,
            iproov_user_id: get_s(&item, "iproov_user_id")?,
        }))
    }

    async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let Some(item) = self.get_item(user_key(user_id)).await? else {
            return Ok(None);
        };
        Ok(Some(User {
            user_id: get_s(&item, "user_id")?,
            username: Sealed::from_stored(get_s(&item, "username")?),
            display_name: Sealed::from_stored(get_s(&item, "display_name")?),
            iproov_user_id: get_s(&item, "iproov_user_id")?,
            name_index: get_s(&item, "name_index")?,
            image_key: opt_s(&item, "image_key"),
            registration_id: opt_s(&item, "registration_id"),
            consent: read_consent(&item)?,
            created_at: get_n(&item, "created_at")?,
            lock: AccountLock::from_stored(super::dynamo::opt_n(&item, "locked_at")),
        }))
    }

    async fn create(&self, user: &User) -> Result<UserCreated, StoreError> {
        let mut account = Item::new();
        account.insert("pk".into(), s(user_key(&user.user_id)));
        account.insert("user_id".into(), s(&user.user_id));
        account.insert("username".into(), s(user.username.as_str()));
        account.insert("display_name".into(), s(user.display_name.as_str()));
        account.insert("iproov_user_id".into(), s(&user.iproov_user_id));
        account.insert("name_index".into(), s(&user.name_index));
        account.insert("created_at".into(), super::dynamo::n(user.created_at));
        if let Some(key) = &user.image_key {
            account.insert("image_key".into(), s(key));
        }
        if let Some(id) = &user.registration_id {
            account.insert("registration_id".into(), s(id));
        }
        if let Some(consent) = &user.consent {
            write_consent(&mut account, consent);
        }
        let mut claim = Item::new();
        claim.insert("pk".into(), s(name_key(&user.name_index)));
        claim.insert("user_id".into(), s(&user.user_id));
        claim.insert("iproov_user_id".into(), s(&user.iproov_user_id));

        let result = self
            .client
            .transact_write_items()
            .transact_items(put(&self.table, account)?)
            .transact_items(put(&self.table, claim)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(UserCreated::Created),
            Err(err) => {
                cancelled_or_error(err)?;
                // A cancelled transaction: find out whether it was us before (a repeat) or
                // someone else holding the name.
                match self.find_by_name(&user.name_index).await? {
                    Some(claim) if claim.user_id == user.user_id => Ok(UserCreated::AlreadyExisted),
                    Some(_) => Ok(UserCreated::NameTaken),
                    None => Err(StoreError::Conflict),
                }
            }
        }
    }

    async fn delete(&self, user: &User) -> Result<(), StoreError> {
        let delete = |pk: String| -> Result<TransactWriteItem, StoreError> {
            let d = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(pk))
                .build()
                .map_err(|_| StoreError::Corrupt("delete"))?;
            Ok(TransactWriteItem::builder().delete(d).build())
        };
        self.client
            .transact_write_items()
            .transact_items(delete(user_key(&user.user_id))?)
            .transact_items(delete(name_key(&user.name_index))?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |_| false))
    }
}

/// The lock is one attribute of the user item, `locked_at`: every read of the user (login,
/// step-up, token exchanges) sees it with the consistent read it already makes. Both changes
/// are conditional on the user existing, so a lock never creates a user item.
#[async_trait]
impl AccountLocks for DynamoUsers {
    async fn lock(&self, user_id: &str, at: i64) -> Result<Option<AccountLock>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_key(user_id)))
            .update_expression("SET locked_at = if_not_exists(locked_at, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", super::dynamo::n(at))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()));
        match result {
            Ok(out) => {
                let locked_at = out
                    .attributes
                    .as_ref()
                    .and_then(|item| super::dynamo::opt_n(item, "locked_at"))
                    .unwrap_or(at);
                Ok(Some(AccountLock::Locked { since: locked_at }))
            }
            Err(StoreError::Conflict) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn unlock(&self, user_id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_key(user_id)))
            .update_expression("REMOVE locked_at")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()));
        match result {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(err) => Err(err),
        }
    }
}
