//! The scan validator's share of the journeys: its first (cold) invocation, then the throughput
//! test (one message against a batch of ten, with the sandbox slowed down), then the warm
//! samples, one message per invocation.

use serde_json::Value;

use crate::Error;
use crate::events;
use crate::measure::Sample;

use super::harness::Bench;
use super::journeys::receipt_handles;

impl Bench<'_> {
    /// Validates the `people` registration messages; the first `spare` after the cold one feed
    /// the throughput test.
    pub(super) async fn validate_scans(
        &mut self,
        reg_queue: &str,
        people: usize,
        n: usize,
        spare: usize,
    ) -> Result<(), Error> {
        let route = "SQS registration queue (1 message)";
        let mut messages = self.stack.receive(reg_queue, people).await?;
        if messages.len() < n + 1 + spare {
            return Err(format!("only {} scan messages arrived", messages.len()).into());
        }
        // The validator's first (cold) invocation, then the throughput test while the users table
        // is still nearly empty: moto deep-copies a whole table on every TransactWriteItems, so
        // its cost grows with the table (see docs/performance.md); then the warm samples.
        let first: Vec<Value> = messages.drain(..1).collect();
        self.sqs(route, reg_queue, &first).await?;
        self.stack
            .delete(reg_queue, &receipt_handles(&first))
            .await?;
        let spares: Vec<Value> = messages.drain(..spare).collect();
        self.throughput(reg_queue, &spares).await?;

        self.say("scan validator: one message per invocation");
        for m in &messages {
            self.sqs(route, reg_queue, std::slice::from_ref(m)).await?;
        }
        self.stack
            .delete(reg_queue, &receipt_handles(&messages))
            .await?;
        Ok(())
    }

    /// Rounds of one message, then a batch of ten, with every iProov call 100 ms slower.
    async fn throughput(&mut self, reg_queue: &str, spares: &[Value]) -> Result<(), Error> {
        let latency = 100;
        self.say(&format!(
            "scan validator throughput: {} rounds of 1 message and a batch of 10, iProov latency {latency} ms",
            self.cfg.rounds
        ));
        self.stack.sandbox_latency(latency).await?;
        self.results.throughput.latency_ms = latency;
        for round in spares.chunks(11) {
            if round.len() < 11 {
                break;
            }
            let (one, ten) = round.split_at(1);
            for (batch, is_single) in [(one, true), (ten, false)] {
                self.recorder.drain();
                let inst = self
                    .instances
                    .get_mut("scan-validator")
                    .ok_or("validator not started")?;
                let done = inst.invoke(events::sqs(reg_queue, batch)).await?;
                let mut sample = Sample::new(done.answered, done.received, &self.recorder.drain());
                sample.cpu = done.cpu;
                sample.runq_wait = done.runq_wait;
                let answer: Value = serde_json::from_slice(&done.body).unwrap_or(Value::Null);
                if answer["batchItemFailures"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                    || done.error
                {
                    return Err(format!("validator batch failed: {answer}").into());
                }
                if is_single {
                    self.results.throughput.single.push(sample);
                } else {
                    self.results.throughput.batch.push(sample);
                }
            }
            self.stack
                .delete(reg_queue, &receipt_handles(round))
                .await?;
        }
        self.stack.sandbox_latency(0).await?;
        Ok(())
    }
}
