//! Small helpers for reading and writing DynamoDB items by hand: the item shapes are few and
//! explicit conversion keeps every stored attribute visible in one place.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;

use onboarding_core::ports::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn get_s(item: &Item, name: &'static str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(name)),
    }
}

pub fn opt_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

pub fn get_n(item: &Item, name: &'static str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt(name)),
        _ => Err(StoreError::Corrupt(name)),
    }
}

pub fn opt_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

/// Deletes the item whose key `pk` is `id`, unconditionally: deleting what is gone succeeds,
/// which every delete of ours relies on (erasure and logout are repeated safely).
pub async fn delete_by_pk(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
) -> Result<(), StoreError> {
    client
        .delete_item()
        .table_name(table)
        .key("pk", s(id))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| map_err(e, |_| false))
}

/// Deletes `by_user` keeps in flight at once: enough for every item of a normal user in one
/// round trip, few enough not to spike the table's write capacity or the process's sockets.
const MAX_DELETES_IN_FLIGHT: usize = 25;

/// Deletes every item the table's `by_user` index lists for `user_id` (a user's sessions and
/// attempts, or grants), page by page, the deletes of a page all in flight at once: ending
/// everything of a user costs one round trip after each query, not one per item. Returns how
/// many there were; repeating it is harmless.
pub async fn delete_all_of_user(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    user_id: &str,
) -> Result<usize, StoreError> {
    use futures::TryStreamExt;
    let mut deleted = 0;
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .index_name("by_user")
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| map_err(e, |_| false))?;
        let keys: Vec<String> = out.items().iter().filter_map(|i| opt_s(i, "pk")).collect();
        deleted += keys.len();
        futures::stream::iter(keys.into_iter().map(Ok))
            .try_for_each_concurrent(MAX_DELETES_IN_FLIGHT, |pk| async move {
                delete_by_pk(client, table, &pk).await
            })
            .await?;
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    Ok(deleted)
}

/// Inserts `item`, keyed by its `pk`; a taken key is a `Conflict` (ids are random, so only a
/// repeated write meets one).
pub async fn put_new(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
}

/// The item at `id`, read consistently: a state just written (a submit, a validation) must be
/// what the next step sees.
pub async fn get_by_pk(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
) -> Result<Option<Item>, StoreError> {
    client
        .get_item()
        .table_name(table)
        .key("pk", s(id))
        .consistent_read(true)
        .send()
        .await
        .map(|out| out.item)
        .map_err(|e| map_err(e, |_| false))
}

/// Maps an SDK error: a failed condition is a `Conflict` (an expected race), anything else is
/// `Unavailable` with the error's code only (no request detail, which could hold PII).
pub fn map_err<E, R>(err: SdkError<E, R>, is_condition: impl Fn(&E) -> bool) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
{
    if let Some(service) = err.as_service_error() {
        if is_condition(service) {
            return StoreError::Conflict;
        }
        let code = service.code().unwrap_or("service_error").to_owned();
        return StoreError::Unavailable(code);
    }
    StoreError::Unavailable(match &err {
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(_) => "dispatch_failure".to_owned(),
        _ => "sdk_error".to_owned(),
    })
}

/// How a conditional transaction that did not commit ended: cancelled by one of its conditions
/// (the caller then reads what stands, to tell a repeat from a lost race), or failed for another
/// reason (mapped like any error).
pub fn cancelled_or_error<R>(
    err: SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Result<(), StoreError> {
    if err
        .as_service_error()
        .is_some_and(|e| e.is_transaction_canceled_exception())
    {
        Ok(())
    } else {
        Err(map_err(err, |_| false))
    }
}
