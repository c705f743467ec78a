//! The audit chain in DynamoDB (the audit table; docs/audit.md). Three kinds of item:
//!
//! - `head`: the newest record's `seq`, `hash` and `written_at`;
//! - `record#<seq, 20 digits>`: one link (`seq`, `prev_hash`, `prev_written_at`, `written_at`,
//!   `event` as canonical JSON, `hash`), kept for the retention period (`ttl`);
//! - `event#<event id>`: the idempotency marker of a recorded event (`seq`), kept as long as
//!   SQS could still deliver the event again.
//!
//! An append is one transaction of three puts: the head, conditioned on still being the one
//! the record links to (or on not existing, for record 1); the record and the marker,
//! conditioned on not existing. A cancelled transaction is a duplicate if the marker exists,
//! and otherwise a lost race for the head.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::dynamo::{Item, cancelled_or_error, get_n, get_s, map_err, n, s};
use onboarding_core::audit::chain::{ChainRecord, Head};
use onboarding_core::audit::ports::{Appended, ChainStore};
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
        record: &ChainRecord,
        event_id: &str,
    ) -> Result<Appended, StoreError> {
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
        let mut marker = Item::new();
        marker.insert("pk".into(), s(marker_key(event_id)));
        marker.insert("seq".into(), n(seq_i64(record.seq)?));
        marker.insert("ttl".into(), n(record.written_at + MARKER_SECONDS));
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.head_put(expected, record)?)
            .transact_items(self.put(item, "attribute_not_exists(pk)")?)
            .transact_items(self.put(marker, "attribute_not_exists(pk)")?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Appended::Appended),
            Err(err) => {
                cancelled_or_error(err)?;
                if self.marker_exists(event_id).await? {
                    Ok(Appended::Duplicate)
                } else {
                    Ok(Appended::HeadMoved)
                }
            }
        }
    }
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
