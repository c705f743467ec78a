//! The audit chain's test double: records, head and idempotency markers under one lock, with
//! the DynamoDB adapter's transaction conditions (head unchanged, marker and record new), and a
//! log of the calls made, so tests can count what an append costs.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Outages, lock};
use crate::audit::chain::{ChainRecord, Head};
use crate::audit::ports::{Appended, ChainEntry, ChainStore, MAX_ENTRIES};
use crate::ports::StoreError;

#[derive(Default)]
struct State {
    records: BTreeMap<u64, ChainRecord>,
    head: Option<Head>,
    markers: HashSet<String>,
}

/// One call of the store, as DynamoDB would bill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainCall {
    /// A strongly consistent read of the head (one `GetItem`).
    Head,
    /// One transaction of this many writes (one `TransactWriteItems`).
    Append { items: usize },
}

#[derive(Default)]
pub struct MemoryChain {
    state: Mutex<State>,
    calls: Mutex<Vec<ChainCall>>,
    /// `"head"`, `"append"`.
    pub outages: Outages,
}

impl MemoryChain {
    /// Every record (in order) and the head.
    pub fn snapshot(&self) -> (Vec<ChainRecord>, Option<Head>) {
        let state = lock(&self.state);
        (
            state.records.values().cloned().collect(),
            state.head.clone(),
        )
    }

    /// Every call made so far, in order (failed ones included).
    pub fn calls(&self) -> Vec<ChainCall> {
        lock(&self.calls).clone()
    }
}

#[async_trait]
impl ChainStore for MemoryChain {
    async fn head(&self) -> Result<Option<Head>, StoreError> {
        lock(&self.calls).push(ChainCall::Head);
        self.outages.enter("head").await?;
        Ok(lock(&self.state).head.clone())
    }

    async fn append(
        &self,
        expected: Option<&Head>,
        entries: &[ChainEntry],
    ) -> Result<Appended, StoreError> {
        let Some(last) = entries.last() else {
            return Ok(Appended::Appended);
        };
        lock(&self.calls).push(ChainCall::Append {
            items: 2 * entries.len() + 1,
        });
        self.outages.enter("append").await?;
        // DynamoDB refuses such a transaction outright (a validation error, not a cancellation).
        let ids: HashSet<&str> = entries.iter().map(|e| e.event_id.as_str()).collect();
        if entries.len() > MAX_ENTRIES || ids.len() != entries.len() {
            return Err(StoreError::Corrupt("transaction"));
        }
        let mut state = lock(&self.state);
        let duplicates: Vec<usize> = (0..entries.len())
            .filter(|&i| state.markers.contains(&entries[i].event_id))
            .collect();
        if !duplicates.is_empty() {
            return Ok(Appended::Duplicates(duplicates));
        }
        if state.head.as_ref() != expected
            || entries
                .iter()
                .any(|e| state.records.contains_key(&e.record.seq))
        {
            return Ok(Appended::HeadMoved);
        }
        for entry in entries {
            state.markers.insert(entry.event_id.clone());
            state.records.insert(entry.record.seq, entry.record.clone());
        }
        state.head = Some(last.record.as_head());
        Ok(Appended::Appended)
    }
}
