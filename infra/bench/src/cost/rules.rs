//! The billing rules, in one place: what one backend call, one invocation and one stored image
//! cost in the units AWS prices them in. Everything else in the model only adds these up.

use crate::catalogue::AUDIT_BATCH_SIZE;
use crate::proxy::CallSize;

/// A line of the bill: one priced unit, named as in the prices file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Line {
    LambdaRequests,
    LambdaGbSeconds,
    ApiGatewayRequests,
    DynamoDbWrites,
    DynamoDbReads,
    SqsRequests,
    S3PutListRequests,
    S3GetRequests,
    S3Storage,
    KmsSymmetric,
    KmsAsymmetric,
    SecretsManager,
    LogsIngestion,
    XRayTraces,
}

impl Line {
    pub const ALL: [Line; 14] = [
        Line::LambdaRequests,
        Line::LambdaGbSeconds,
        Line::ApiGatewayRequests,
        Line::DynamoDbWrites,
        Line::DynamoDbReads,
        Line::SqsRequests,
        Line::S3PutListRequests,
        Line::S3GetRequests,
        Line::S3Storage,
        Line::KmsSymmetric,
        Line::KmsAsymmetric,
        Line::SecretsManager,
        Line::LogsIngestion,
        Line::XRayTraces,
    ];

    /// Its key in the prices file.
    pub fn price_key(self) -> &'static str {
        match self {
            Line::LambdaRequests => "lambda_requests",
            Line::LambdaGbSeconds => "lambda_arm64_gb_seconds",
            Line::ApiGatewayRequests => "api_gateway_http_requests",
            Line::DynamoDbWrites => "dynamodb_write_request_units",
            Line::DynamoDbReads => "dynamodb_read_request_units",
            Line::SqsRequests => "sqs_standard_requests",
            Line::S3PutListRequests => "s3_standard_put_copy_post_list",
            Line::S3GetRequests => "s3_standard_get",
            Line::S3Storage => "s3_standard_storage_gb_months",
            Line::KmsSymmetric => "kms_symmetric_requests",
            Line::KmsAsymmetric => "kms_asymmetric_requests",
            Line::SecretsManager => "secrets_manager_api_calls",
            Line::LogsIngestion => "cloudwatch_logs_ingestion_gb",
            Line::XRayTraces => "xray_traces_recorded",
        }
    }

    /// As the cost page names it.
    pub fn label(self) -> &'static str {
        match self {
            Line::LambdaRequests => "Lambda requests",
            Line::LambdaGbSeconds => "Lambda compute (arm64 GB-s)",
            Line::ApiGatewayRequests => "API Gateway HTTP API requests",
            Line::DynamoDbWrites => "DynamoDB write request units",
            Line::DynamoDbReads => "DynamoDB read request units",
            Line::SqsRequests => "SQS requests",
            Line::S3PutListRequests => "S3 PUT/LIST requests",
            Line::S3GetRequests => "S3 GET requests",
            Line::S3Storage => "S3 storage of the image (GB-months)",
            Line::KmsSymmetric => "KMS symmetric requests",
            Line::KmsAsymmetric => "KMS asymmetric (ECC) requests",
            Line::SecretsManager => "Secrets Manager API calls",
            Line::LogsIngestion => "CloudWatch Logs ingestion (GB)",
            Line::XRayTraces => "X-Ray traces recorded",
        }
    }

    /// Where the design could cut this line, for the page's "dominating line" paragraph.
    pub fn levers(self) -> &'static str {
        match self {
            Line::LambdaRequests => {
                "fewer invocations per journey (polls: the registration \
                 status is polled every second or two while validating)"
            }
            Line::LambdaGbSeconds => {
                "shorter billed durations: fewer sequential backend stages \
                 (the time awaiting iProov and DynamoDB is billed), and the memory size"
            }
            Line::ApiGatewayRequests => "fewer API calls per journey (polling)",
            Line::DynamoDbWrites => {
                "fewer writes per request (rate-limit counters, state \
                 transitions), smaller items, fewer transactional writes (they cost double)"
            }
            Line::DynamoDbReads => "eventually consistent reads where a stale read is safe",
            Line::SqsRequests => "fewer messages (audit events) or larger consumer batches",
            Line::S3PutListRequests | Line::S3GetRequests => "fewer object requests per image",
            Line::S3Storage => "smaller images or a shorter ImageRetentionDays",
            Line::KmsSymmetric => "caching data keys in the process for longer",
            Line::KmsAsymmetric => "fewer signatures per sign-in (one token signed instead of two)",
            Line::SecretsManager => "a longer SecretsCacheTtlSeconds",
            Line::LogsIngestion => "fewer or shorter log lines at the deployed LogLevel",
            Line::XRayTraces => {
                "tracing only the functions whose traces are read (the default rule's rate \
                 cannot be set per function)"
            }
        }
    }
}

/// Bytes in a GB as AWS bills storage and log ingestion (2^30).
pub const GB: f64 = 1_073_741_824.0;

/// DynamoDB bills a write per 1 KB of item, a strongly consistent read per 4 KB.
const WRITE_UNIT_BYTES: u64 = 1024;
const READ_UNIT_BYTES: u64 = 4096;
/// An SQS request carries up to 64 KB; a larger payload is billed as several requests.
const SQS_CHUNK_BYTES: u64 = 65_536;

/// What the model assumes where the bench cannot measure: each one is printed on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumptions {
    /// Share of invocations that start a new execution environment (pay init and the first
    /// invocation's lazy loading). AWS's own analyses of production traffic put cold starts
    /// under 1 % of invocations for steady workloads; a bursty or low-traffic deployment has
    /// more, and the page shows what a cold start adds so it can be scaled.
    pub cold_start_share: f64,
    /// Messages per batch the SQS event source mapping hands a consumer. 1 is what the bench
    /// drives and what a queue at the volume of a few journeys a second mostly sees (the
    /// batching window is 1 s); it makes the consumer's ReceiveMessage and DeleteMessage one
    /// request each per message, the upper bound.
    pub messages_per_batch: f64,
    /// Bytes Lambda itself writes to the log group per invocation (the JSON `platform.start`
    /// and `platform.report` records), which the function's stdout does not contain. Not
    /// measured: an estimate of two JSON records.
    pub platform_log_bytes: f64,
    /// Share of invocations X-Ray records a trace for, per extra journey. Lambda's default rule
    /// (which a function cannot change) records the first request each second and 5 % of the
    /// rest: the first part is a fixed monthly cost (at most one trace a second), so what a
    /// million more journeys add is 5 % of their invocations. 1.0 is the upper bound, reached
    /// only below a request a second; the page says what it would cost.
    pub traced_share: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            cold_start_share: 0.01,
            messages_per_batch: 1.0,
            platform_log_bytes: 600.0,
            traced_share: 0.05,
        }
    }
}

fn chunks(bytes: u64, chunk: u64) -> f64 {
    bytes.div_ceil(chunk).max(1) as f64
}

/// What one backend call costs, by line. `months_kept` is how long a stored image is kept
/// (S3 storage is attributed to the call that stored it).
///
/// DynamoDB bills by item size, which the proxy cannot see; the JSON on the wire bounds it:
/// a write's request body (rounded up to 1 KB) and a read's answer body (rounded up to 4 KB)
/// are larger than the items they carry (type tags, quotes, the key repeated), so the units
/// are an upper bound — except for `UpdateItem` and `DeleteItem`, whose bodies do not hold the
/// stored item: they count one unit per KB of request, which is right for the items of this
/// design (well under 1 KB: ids, hashes, timestamps, a sealed name). A transaction costs twice
/// its items' units; a failed conditional write is billed like a successful one (the proxy
/// counts it like any other call).
pub fn call_usage(
    service: &str,
    op: &str,
    size: &CallSize,
    a: &Assumptions,
    months_kept: f64,
) -> Vec<(Line, f64)> {
    let items = f64::from(size.items.max(1));
    match (service, op) {
        ("dynamodb", "GetItem" | "Query" | "Scan" | "BatchGetItem") => {
            let units = chunks(size.response_bytes, READ_UNIT_BYTES).max(items);
            let factor = if size.consistent { 1.0 } else { 0.5 };
            vec![(Line::DynamoDbReads, units * factor)]
        }
        ("dynamodb", "TransactGetItems") => {
            let units = chunks(size.response_bytes, READ_UNIT_BYTES).max(items);
            vec![(Line::DynamoDbReads, 2.0 * units)]
        }
        ("dynamodb", "TransactWriteItems") => {
            let units = chunks(size.request_bytes, WRITE_UNIT_BYTES).max(items);
            vec![(Line::DynamoDbWrites, 2.0 * units)]
        }
        ("dynamodb", "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem") => {
            let units = chunks(size.request_bytes, WRITE_UNIT_BYTES).max(items);
            vec![(Line::DynamoDbWrites, units)]
        }
        // The consumer's ReceiveMessage and DeleteMessage (by the event source mapping, not
        // seen by the proxy) are charged to the message that causes them, in the batches its
        // queue's consumer is assumed to receive: the audit writer's are the batches its appends
        // are priced at (`AUDIT_BATCH_SIZE`, the one figure for both).
        ("sqs", "SendMessage") => {
            let per_batch = if size.audit_events > 0 {
                AUDIT_BATCH_SIZE as f64
            } else {
                a.messages_per_batch
            };
            vec![(
                Line::SqsRequests,
                chunks(size.request_bytes, SQS_CHUNK_BYTES) + 2.0 / per_batch,
            )]
        }
        // A batch is billed per 64 KB of its payload; its consumer receives and deletes each
        // of its messages like a single one's.
        ("sqs", "SendMessageBatch") => vec![(
            Line::SqsRequests,
            chunks(size.request_bytes, SQS_CHUNK_BYTES) + 2.0 * items / a.messages_per_batch,
        )],
        ("sqs", _) => vec![(Line::SqsRequests, 1.0)],
        ("s3", "PutObject") => vec![
            (Line::S3PutListRequests, 1.0),
            (
                Line::S3Storage,
                size.request_bytes as f64 / GB * months_kept,
            ),
        ],
        ("s3", "ListObjects" | "ListObjectVersions" | "CopyObject" | "DeleteObjects") => {
            vec![(Line::S3PutListRequests, 1.0)]
        }
        // DELETE is free.
        ("s3", "DeleteObject") => Vec::new(),
        ("s3", _) => vec![(Line::S3GetRequests, 1.0)],
        ("kms", "Sign" | "Verify" | "GetPublicKey") => vec![(Line::KmsAsymmetric, 1.0)],
        ("kms", _) => vec![(Line::KmsSymmetric, 1.0)],
        ("secretsmanager", _) => vec![(Line::SecretsManager, 1.0)],
        // iProov is billed by iProov, by contract: not an AWS line.
        _ => Vec::new(),
    }
}

/// What one invocation costs apart from its backend calls: the request, its billed duration
/// (`billed_ms`, already rounded up to the millisecond) at the function's memory size, the
/// API Gateway request if an API call triggered it, its logs and its trace.
pub fn invocation_usage(
    billed_ms: f64,
    memory_mb: u32,
    via_api: bool,
    log_bytes: f64,
    a: &Assumptions,
) -> Vec<(Line, f64)> {
    let mut out = vec![
        (Line::LambdaRequests, 1.0),
        (
            Line::LambdaGbSeconds,
            billed_ms / 1000.0 * f64::from(memory_mb) / 1024.0,
        ),
        (Line::LogsIngestion, (log_bytes + a.platform_log_bytes) / GB),
        (Line::XRayTraces, a.traced_share),
    ];
    if via_api {
        out.push((Line::ApiGatewayRequests, 1.0));
    }
    out
}

/// Lambda bills the duration rounded up to the next millisecond.
pub fn billed_ms(duration: std::time::Duration) -> f64 {
    (duration.as_nanos().div_ceil(1_000_000)) as f64
}

/// Months an image is kept, from days (a month is 1/12 of 365 days).
pub fn months(days: f64) -> f64 {
    days * 12.0 / 365.0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn size(request_bytes: u64, response_bytes: u64, items: u32, consistent: bool) -> CallSize {
        CallSize {
            request_bytes,
            response_bytes,
            items,
            consistent,
            audit_events: 0,
        }
    }

    #[test]
    fn dynamodb_units_follow_the_wire_size_consistency_and_transactions() {
        // given reads and writes of several shapes
        let a = Assumptions::default();
        let usage = |op: &str, s: CallSize| call_usage("dynamodb", op, &s, &a, 0.0);

        // when each is priced in units
        // then an eventually consistent read of ≤ 4 KB is half a unit, a strong one a unit,
        // a 5 KB answer two; a 1.5 KB put two write units; a transaction of three small items
        // six; a failed or tiny update one
        assert_eq!(
            usage("GetItem", size(80, 900, 1, false)),
            [(Line::DynamoDbReads, 0.5)]
        );
        assert_eq!(
            usage("GetItem", size(80, 900, 1, true)),
            [(Line::DynamoDbReads, 1.0)]
        );
        assert_eq!(
            usage("Query", size(80, 5000, 1, true)),
            [(Line::DynamoDbReads, 2.0)]
        );
        assert_eq!(
            usage("PutItem", size(1536, 2, 1, false)),
            [(Line::DynamoDbWrites, 2.0)]
        );
        assert_eq!(
            usage("TransactWriteItems", size(900, 2, 3, false)),
            [(Line::DynamoDbWrites, 6.0)]
        );
        assert_eq!(
            usage("UpdateItem", size(300, 0, 1, false)),
            [(Line::DynamoDbWrites, 1.0)]
        );
    }

    #[test]
    fn a_message_pays_its_send_and_its_consumers_receive_and_delete() {
        // given one small message and one of 100 KB, consumed one per batch
        let a = Assumptions::default();

        // when they are priced
        let small = call_usage("sqs", "SendMessage", &size(2_000, 100, 1, false), &a, 0.0);
        let large = call_usage("sqs", "SendMessage", &size(100_000, 100, 1, false), &a, 0.0);

        // then one request to send and two to receive and delete; a 100 KB payload is two sends
        assert_eq!(small, [(Line::SqsRequests, 3.0)]);
        assert_eq!(large, [(Line::SqsRequests, 4.0)]);
    }

    #[test]
    fn an_audit_event_is_received_and_deleted_in_the_batches_its_writer_is_priced_at() {
        // given an audit event handed to the audit queue (the writer's totals assume batches
        // of ten)
        let a = Assumptions::default();
        let event = CallSize {
            audit_events: 1,
            ..size(700, 100, 1, false)
        };
        // when it is priced
        let usage = call_usage("sqs", "SendMessage", &event, &a, 0.0);
        // then one request to send, and a tenth of a receive and of a delete
        assert_eq!(usage, [(Line::SqsRequests, 1.2)]);
    }

    #[test]
    fn a_batch_send_is_one_request_and_each_of_its_messages_is_received_and_deleted() {
        // given a batch of four small messages, consumed one per batch
        let a = Assumptions::default();
        // when it is priced
        let batch = call_usage(
            "sqs",
            "SendMessageBatch",
            &size(3_000, 100, 4, false),
            &a,
            0.0,
        );
        // then one request to send, and two per message to receive and delete
        assert_eq!(batch, [(Line::SqsRequests, 9.0)]);
    }

    #[test]
    fn an_image_pays_a_put_and_its_storage_while_kept_and_deleting_is_free() {
        // given a 1 GiB upload kept 365 days, and a delete
        let a = Assumptions::default();

        // when they are priced
        let put = call_usage(
            "s3",
            "PutObject",
            &size(1 << 30, 0, 1, false),
            &a,
            months(365.0),
        );
        let delete = call_usage(
            "s3",
            "DeleteObject",
            &size(0, 0, 1, false),
            &a,
            months(365.0),
        );

        // then one PUT request and 12 GB-months; nothing for the delete
        assert_eq!(
            put,
            [(Line::S3PutListRequests, 1.0), (Line::S3Storage, 12.0)]
        );
        assert!(delete.is_empty());
    }

    #[test]
    fn signatures_are_asymmetric_requests_and_iproov_is_no_aws_line() {
        // given a KMS signature, a KMS decryption and an iProov call
        let a = Assumptions::default();
        let s = size(100, 100, 1, false);

        // when they are priced
        // then the signature is an asymmetric request, the decryption a symmetric one, and
        // iProov's call is not on the AWS bill
        assert_eq!(
            call_usage("kms", "Sign", &s, &a, 0.0),
            [(Line::KmsAsymmetric, 1.0)]
        );
        assert_eq!(
            call_usage("kms", "Decrypt", &s, &a, 0.0),
            [(Line::KmsSymmetric, 1.0)]
        );
        assert!(call_usage("iproov", "POST claim/enrol/token", &s, &a, 0.0).is_empty());
    }

    #[test]
    fn durations_are_billed_rounded_up_to_the_millisecond() {
        // given 10 ms exactly and 10 ms plus a microsecond
        // when they are billed
        // then 10 and 11 ms
        assert_eq!(billed_ms(Duration::from_millis(10)), 10.0);
        assert_eq!(billed_ms(Duration::from_micros(10_001)), 11.0);
    }
}
