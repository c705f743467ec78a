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
