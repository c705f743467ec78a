//! The audit writer's share: the audit events the journeys' routes handed over, as the audit
//! queue holds them, appended by the writer one message per invocation (what every event cost
//! before batches were appended together) and in batches of ten (the event source mapping's
//! `BatchSize`), alternating, so both rows meet the same chain and the same moto tables. The
//! writer's first (cold) invocation is one message.

use serde_json::Value;

use crate::Error;
use crate::catalogue::{AUDIT_BATCH, AUDIT_BATCH_SIZE, AUDIT_ONE};

use super::harness::Bench;
use super::journeys::receipt_handles;

/// At most this many rounds, whatever `-n` says. moto copies every table for each transaction,
/// so each appended event makes every later transaction of the run slower: 192 rounds (2 113
/// events) slowed moto until the route probes' replayed transactions timed out (run of
/// 2026-12-02 05:04). 50 rounds give each audit row 50 samples or more.
const MAX_ROUNDS: usize = 50;

impl Bench<'_> {
    /// Up to `n` (at most [`MAX_ROUNDS`]) rounds of one message and one batch, from the events on
    /// `audit_queue`.
    pub(super) async fn append_audit_events(&mut self, audit_queue: &str) -> Result<(), Error> {
        let round = 1 + AUDIT_BATCH_SIZE;
        let mut messages = self
            .stack
            .receive(audit_queue, 1 + self.cfg.n.min(MAX_ROUNDS) * round)
            .await?;
        let rounds = messages.len().saturating_sub(1) / round;
        if rounds == 0 {
            return Err(format!("only {} audit events arrived", messages.len()).into());
        }
        messages.truncate(1 + rounds * round);
        self.say(&format!(
            "audit writer: {rounds} rounds of 1 message and a batch of {AUDIT_BATCH_SIZE}"
        ));
        let first: Vec<Value> = messages.drain(..1).collect();
        self.sqs(AUDIT_ONE, audit_queue, &first).await?;
        for chunk in messages.chunks(round) {
            let (one, batch) = chunk.split_at(1);
            self.sqs(AUDIT_ONE, audit_queue, one).await?;
            self.sqs(AUDIT_BATCH, audit_queue, batch).await?;
        }
        self.stack
            .delete(audit_queue, &receipt_handles(&first))
            .await?;
        self.stack
            .delete(audit_queue, &receipt_handles(&messages))
            .await
    }
}
