//! The audit chain in DynamoDB (the audit table; docs/audit.md). Three kinds of item:
//!
//! - `head`: the newest record's `seq`, `hash` and `written_at`;
//! - `record#<seq, 20 digits>`: one link (`seq`, `prev_hash`, `prev_written_at`, `written_at`,
//!   `event` as canonical JSON, `hash`), kept for the retention period (`ttl`);
//! - `event#<event id>`: the idempotency marker of a recorded event (`seq`), kept as long as
//!   SQS could still deliver the event again.
//!
//! An append of `n` records is one transaction of `2n + 1` puts: the head (first), conditioned
//! on still being the one the first record links to (or on not existing, for record 1); then
//! each record and its event's marker, conditioned on not existing. DynamoDB answers a
//! cancelled transaction with one reason per item, in order: the markers whose condition failed
//! are duplicates; if none did, another writer won the head. Should the reasons be missing,
//! the markers are read instead (one `GetItem` each, as the one-event code always did).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::dynamo::{Item, cancelled_or_error, get_n, get_s, map_err, n, s};
use onboarding_core::audit::chain::{ChainRecord, Head};
use onboarding_core::audit::ports::{Appended, ChainEntry, ChainStore};
use onboarding_core::ports::StoreError;

/// The head item's key.
pub const HEAD_KEY: &str = "head";
/// How long a marker is kept: longer than SQS keeps a message (14 days), so no redelivery can
/// outlive its marker.
const MARKER_SECONDS: i64 = 15 * 86_400;

pub fn record_key(seq: u64) -> String {
    format!("record#{seq:020}")
}

pub fn marker_key(event_id: &str) -> String {
    format!("event#{event_id}")
}

pub struct DynamoChain {
    client: Client,
    table: String,
    /// How long records are kept (the table's TTL removes them afterwards).
    retention_seconds: i64,
}

impl DynamoChain {
    pub fn new(client: Client, table: String, retention_seconds: i64) -> Self {
        Self {
            client,
            table,
            retention_seconds,
        }
    }

    fn put(&self, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(|_| StoreError::Corrupt("put"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn head_put(
        &self,
        expected: Option<&Head>,
        record: &ChainRecord,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(HEAD_KEY));
        item.insert("seq".into(), n(seq_i64(record.seq)?));
        item.insert("hash".into(), s(&record.hash));
        item.insert("written_at".into(), n(record.written_at));
        let Some(expected) = expected else {
            return self.put(item, "attribute_not_exists(pk)");
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#seq = :seq AND #hash = :hash")
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_values(":seq", n(seq_i64(expected.seq)?))
            .expression_attribute_values(":hash", s(&expected.hash))
            .build()
            .map_err(|_| StoreError::Corrupt("put"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn marker_exists(&self, event_id: &str) -> Result<bool, StoreError> {
        super::dynamo::get_by_pk(&self.client, &self.table, &marker_key(event_id))
            .await
            .map(|item| item.is_some())
    }
}

fn seq_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt("seq"))
}

fn seq_of(item: &Item) -> Result<u64, StoreError> {
    u64::try_from(get_n(item, "seq")?).map_err(|_| StoreError::Corrupt("seq"))
}

/// A head item as the core's head.
pub fn head_from(item: &Item) -> Result<Head, StoreError> {
    Ok(Head {
        seq: seq_of(item)?,
        hash: get_s(item, "hash")?,
        written_at: get_n(item, "written_at")?,
    })
}

/// A record item as the core's record.
pub fn record_from(item: &Item) -> Result<ChainRecord, StoreError> {
    Ok(ChainRecord {
        seq: seq_of(item)?,
        prev_hash: get_s(item, "prev_hash")?,
        prev_written_at: get_n(item, "prev_written_at")?,
        written_at: get_n(item, "written_at")?,
        event: get_s(item, "event")?,
        hash: get_s(item, "hash")?,
    })
}

#[async_trait]
impl ChainStore for DynamoChain {
    async fn head(&self) -> Result<Option<Head>, StoreError> {
        super::dynamo::get_by_pk(&self.client, &self.table, HEAD_KEY)
            .await?
            .as_ref()
            .map(head_from)
            .transpose()
    }

    async fn append(
        &self,
        expected: Option<&Head>,
        entries: &[ChainEntry],
    ) -> Result<Appended, StoreError> {
        let Some(last) = entries.last() else {
            return Ok(Appended::Appended);
        };
        let mut items = vec![self.head_put(expected, &last.record)?];
        for entry in entries {
            items.push(self.put(self.record_item(&entry.record)?, "attribute_not_exists(pk)")?);
            items.push(self.put(marker_item(entry)?, "attribute_not_exists(pk)")?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(err) = result else {
            return Ok(Appended::Appended);
        };
        let duplicates = match failed_markers(&err, entries.len()) {
            Some(duplicates) => duplicates,
            None => {
                cancelled_or_error(err)?;
                let mut duplicates = Vec::new();
                for (i, entry) in entries.iter().enumerate() {
                    if self.marker_exists(&entry.event_id).await? {
                        duplicates.push(i);
                    }
                }
                duplicates
            }
        };
        if duplicates.is_empty() {
            Ok(Appended::HeadMoved)
        } else {
            Ok(Appended::Duplicates(duplicates))
        }
    }
}

impl DynamoChain {
    fn record_item(&self, record: &ChainRecord) -> Result<Item, StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(record_key(record.seq)));
        item.insert("seq".into(), n(seq_i64(record.seq)?));
        item.insert("prev_hash".into(), s(&record.prev_hash));
        item.insert("prev_written_at".into(), n(record.prev_written_at));
        item.insert("written_at".into(), n(record.written_at));
        item.insert("event".into(), s(&record.event));
        item.insert("hash".into(), s(&record.hash));
        item.insert(
            "ttl".into(),
            n(record.written_at.saturating_add(self.retention_seconds)),
        );
        Ok(item)
    }
}

fn marker_item(entry: &ChainEntry) -> Result<Item, StoreError> {
    let mut marker = Item::new();
    marker.insert("pk".into(), s(marker_key(&entry.event_id)));
    marker.insert("seq".into(), n(seq_i64(entry.record.seq)?));
    marker.insert(
        "ttl".into(),
        n(entry.record.written_at.saturating_add(MARKER_SECONDS)),
    );
    Ok(marker)
}

/// The condition DynamoDB names for an item whose condition expression failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Which entries' markers failed their condition, from a cancelled transaction's reasons (one
/// per item: the head, then each entry's record and marker). `None` when the error is not a
/// cancellation, or its reasons do not match the items sent.
fn failed_markers<R>(
    err: &SdkError<TransactWriteItemsError, R>,
    entries: usize,
) -> Option<Vec<usize>> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return None;
    };
    marker_failures(
        cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code()),
        entries,
    )
}

/// [`failed_markers`] on the reasons' codes alone.
fn marker_failures<'a>(
    codes: impl ExactSizeIterator<Item = Option<&'a str>>,
    entries: usize,
) -> Option<Vec<usize>> {
    if codes.len() != 2 * entries + 1 {
        return None;
    }
    let codes: Vec<Option<&str>> = codes.collect();
    Some(
        (0..entries)
            .filter(|i| codes[2 + 2 * i] == Some(CONDITION_FAILED))
            .collect(),
    )
}

/// The whole trail as stored: every record and the head (for `audit-verify`; a scan, read
/// consistently, page by page).
pub async fn read_trail(
    client: &Client,
    table: &str,
) -> Result<(Vec<ChainRecord>, Option<Head>), StoreError> {
    let mut records = Vec::new();
    let mut head = None;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| map_err(e, |_| false))?;
        for item in page.items() {
            match item
                .get("pk")
                .and_then(|pk| pk.as_s().ok())
                .map(String::as_str)
            {
                Some(HEAD_KEY) => head = Some(head_from(item)?),
                Some(pk) if pk.starts_with("record#") => records.push(record_from(item)?),
                _ => {}
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    records.sort_by_key(|r| r.seq);
    Ok((records, head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failed_markers_are_read_from_the_cancellation_reasons() {
        // given the reasons of a cancelled append of three entries: the head's condition held,
        // the second entry's marker failed
        let none = Some("None");
        let codes = [none, none, none, none, Some(CONDITION_FAILED), none, none];
        // then the second entry is the duplicate
        assert_eq!(marker_failures(codes.into_iter(), 3), Some(vec![1]));
    }

    #[test]
    fn a_lost_race_names_no_marker() {
        // given the head's condition failed, and nothing else
        let codes = [Some(CONDITION_FAILED), Some("None"), Some("None")];
        assert_eq!(marker_failures(codes.into_iter(), 1), Some(vec![]));
    }

    #[test]
    fn reasons_that_do_not_match_the_items_are_not_trusted() {
        assert_eq!(marker_failures(std::iter::empty(), 2), None);
        let codes = [Some(CONDITION_FAILED), Some("None")];
        assert_eq!(marker_failures(codes.into_iter(), 1), None);
    }
}
