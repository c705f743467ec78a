//! The audit chain's test double: records, head and idempotency markers under one lock, with
//! the DynamoDB adapter's transaction conditions (head unchanged, marker and record new).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Outages, lock};
use crate::audit::chain::{ChainRecord, Head};
use crate::audit::ports::{Appended, ChainStore};
use crate::ports::StoreError;

#[derive(Default)]
struct State {
    records: BTreeMap<u64, ChainRecord>,
    head: Option<Head>,
    markers: HashSet<String>,
}

#[derive(Default)]
pub struct MemoryChain {
    state: Mutex<State>,
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
}

#[async_trait]
impl ChainStore for MemoryChain {
    async fn head(&self) -> Result<Option<Head>, StoreError> {
        self.outages.enter("head").await?;
        Ok(lock(&self.state).head.clone())
    }

    async fn append(
        &self,
        expected: Option<&Head>,
        record: &ChainRecord,
        event_id: &str,
    ) -> Result<Appended, StoreError> {
        self.outages.enter("append").await?;
        let mut state = lock(&self.state);
        if state.markers.contains(event_id) {
            return Ok(Appended::Duplicate);
        }
        if state.head.as_ref() != expected || state.records.contains_key(&record.seq) {
            return Ok(Appended::HeadMoved);
        }
        state.markers.insert(event_id.to_owned());
        state.records.insert(record.seq, record.clone());
        state.head = Some(record.as_head());
        Ok(Appended::Appended)
    }
}
