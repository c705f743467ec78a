//! The script the route probe (`infra/bench/route-probe`) replays for one route: the backend
//! calls the route made in this run, in its most frequent chain of stages, each with the
//! resource it addressed and its typical sizes. Derived from the route's warm samples, so the
//! probe makes the same SDK calls as the route with nothing of ours around them, and the ratio
//! of the two own times says what our code adds to the SDK's.

use serde::Serialize;

use crate::measure::{CallSpan, Sample, mode};

/// One backend call to replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptCall {
    /// `service.Operation` as the proxy names it (`dynamodb.GetItem`, `iproov.POST claim/*/validate`).
    pub name: String,
    /// Table, queue URL, bucket or key (src/proxy.rs); empty for iProov.
    pub resource: String,
    /// Median bytes of the request and answer bodies over the samples.
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// Items of a DynamoDB transaction (1 otherwise), the most frequent count.
    pub items: u32,
    /// A strongly consistent DynamoDB read, as most samples made it.
    pub consistent: bool,
}

/// A route's calls in stages: the calls of one stage run concurrently, the stages one after the
/// other, as the route ran them (measure.rs groups overlapping calls into a stage).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Script {
    pub stages: Vec<Vec<ScriptCall>>,
}

impl Script {
    /// Points every SQS call at `queue_url`: the SDK's work is the same for any queue, and the
    /// routes' own queues are read by the consumers' phases.
    pub fn send_queues_to(&mut self, queue_url: &str) {
        for call in self.stages.iter_mut().flatten() {
            if call.name.starts_with("sqs.") {
                call.resource = queue_url.to_owned();
            }
        }
    }

    /// The script of a route from its warm samples: the samples of its most frequent chain,
    /// each call slot (stage, name, order within the stage by request size) reduced to the
    /// median sizes and the most frequent resource, item count and consistency. Empty for a
    /// route with no samples or no backend call.
    pub fn derive(samples: &[Sample]) -> Script {
        let Some((chain, _)) = mode(samples.iter().map(Sample::chain)) else {
            return Script::default();
        };
        let aligned: Vec<Vec<Vec<&CallSpan>>> = samples
            .iter()
            .filter(|s| s.chain() == chain)
            .map(slots)
            .collect();
        let Some(first) = aligned.first() else {
            return Script::default();
        };
        let stages = first
            .iter()
            .enumerate()
            .map(|(k, stage)| {
                (0..stage.len())
                    .map(|i| reduce(aligned.iter().map(|s| s[k][i])))
                    .collect()
            })
            .collect();
        Script { stages }
    }
}

/// A sample's calls by stage, each stage ordered by name then request size, so that the slots
/// of samples with the same chain line up.
fn slots(sample: &Sample) -> Vec<Vec<&CallSpan>> {
    let mut calls = sample.calls.iter();
    sample
        .stages
        .iter()
        .map(|stage| {
            let mut members: Vec<&CallSpan> = calls.by_ref().take(stage.len()).collect();
            members.sort_by(|a, b| {
                (a.name.as_str(), a.size.request_bytes)
                    .cmp(&(b.name.as_str(), b.size.request_bytes))
            });
            members
        })
        .collect()
}

/// One slot over the samples: median sizes, most frequent resource, items and consistency.
fn reduce<'a>(slot: impl Iterator<Item = &'a CallSpan>) -> ScriptCall {
    let calls: Vec<&CallSpan> = slot.collect();
    let median = |f: fn(&CallSpan) -> u64| {
        let mut v: Vec<u64> = calls.iter().map(|c| f(c)).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    ScriptCall {
        name: calls.first().map(|c| c.name.clone()).unwrap_or_default(),
        resource: mode(calls.iter().map(|c| c.resource.clone()))
            .map(|(r, _)| r)
            .unwrap_or_default(),
        request_bytes: median(|c| c.size.request_bytes),
        response_bytes: median(|c| c.size.response_bytes),
        items: mode(calls.iter().map(|c| c.size.items)).map_or(1, |(n, _)| n),
        consistent: mode(calls.iter().map(|c| c.size.consistent)).is_some_and(|(c, _)| c),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::proxy::{Call, CallSize};

    /// A call of `op` on `table` from `from` to `to` ms, `request` bytes sent.
    fn call(t0: Instant, op: &str, table: &str, (from, to): (u64, u64), request: u64) -> Call {
        Call {
            service: "dynamodb".into(),
            op: op.into(),
            start: t0 + Duration::from_millis(from),
            end: t0 + Duration::from_millis(to),
            status: 200,
            size: CallSize {
                request_bytes: request,
                response_bytes: request * 2,
                items: 1,
                consistent: op == "GetItem",
                audit_events: 0,
            },
            resource: table.into(),
        }
    }

    /// A 20 ms invocation with `calls`.
    fn sample(calls: &[Call]) -> Sample {
        let t0 = calls
            .first()
            .map_or_else(Instant::now, |c| c.start - Duration::from_millis(1));
        Sample::new(t0, t0 + Duration::from_millis(20), calls)
    }

    #[test]
    fn only_the_sqs_calls_are_pointed_at_the_probe_s_queue() {
        // given a script of a write and a hand-over to the audit queue
        let slot = |name: &str, resource: &str| ScriptCall {
            name: name.into(),
            resource: resource.into(),
            request_bytes: 100,
            response_bytes: 10,
            items: 1,
            consistent: false,
        };
        let mut script = Script {
            stages: vec![
                vec![slot("dynamodb.PutItem", "sessions")],
                vec![slot("sqs.SendMessage", "http://moto/audit")],
            ],
        };
        // when its queues are pointed at the probe's
        script.send_queues_to("http://moto/bench-route-probe");
        // then the hand-over goes there and the table is untouched
        assert_eq!(script.stages[0][0].resource, "sessions");
        assert_eq!(
            script.stages[1][0].resource,
            "http://moto/bench-route-probe"
        );
    }

    #[test]
    fn the_script_replays_the_most_frequent_chain_with_median_sizes_per_slot() {
        // given three samples of a route: a read on `sessions`, then a read on `users` overlapping
        // an update on `limits`; and one odd sample whose update came after the read
        let t0 = Instant::now();
        let usual = |read: u64, update: u64| {
            sample(&[
                call(t0, "GetItem", "sessions", (1, 3), 100),
                call(t0, "UpdateItem", "limits", (4, 7), update),
                call(t0, "GetItem", "users", (5, 8), read),
            ])
        };
        let odd = sample(&[
            call(t0, "GetItem", "sessions", (1, 3), 100),
            call(t0, "GetItem", "users", (4, 5), 900),
            call(t0, "UpdateItem", "limits", (6, 7), 900),
        ]);
        let samples = [usual(120, 300), odd, usual(140, 200), usual(130, 250)];

        // when the route's script is derived from them
        let script = Script::derive(&samples);

        // then it has the usual two stages, the second with both calls (the odd sample left
        // out), each on its table with its median request size and a consistent read where
        // the route read consistently
        let shape: Vec<Vec<(&str, &str, u64, bool)>> = script
            .stages
            .iter()
            .map(|stage| {
                stage
                    .iter()
                    .map(|c| {
                        (
                            c.name.as_str(),
                            c.resource.as_str(),
                            c.request_bytes,
                            c.consistent,
                        )
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            shape,
            [
                vec![("dynamodb.GetItem", "sessions", 100, true)],
                vec![
                    ("dynamodb.GetItem", "users", 130, true),
                    ("dynamodb.UpdateItem", "limits", 250, false),
                ],
            ]
        );
        assert_eq!(script.stages[1][0].response_bytes, 260);
    }

    #[test]
    fn a_route_without_samples_or_calls_has_an_empty_script() {
        // given no samples, and samples of a route that calls no backend
        let none: [Sample; 0] = [];
        let quiet = [sample(&[]), sample(&[])];

        // when their scripts are derived
        // then both are empty: the probe answers at once, as an empty handler
        assert_eq!(Script::derive(&none), Script::default());
        assert_eq!(Script::derive(&quiet), Script::default());
    }
}
