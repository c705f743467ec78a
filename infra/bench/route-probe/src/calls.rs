//! One replayed backend call per operation the routes make, shaped after the recorded one: the
//! same service, operation and resource, a request of about the same size (a key, attribute or
//! body padded to it) and, for reads, an item of about the recorded answer's size written once
//! beforehand (`seed`), so the SDK serialises, signs and parses as much as it did for the route.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_sdk_s3::primitives::ByteStream;

use crate::Call;

/// JSON a DynamoDB request spends around its key or padding (names, table, braces): subtracted
/// so that the padded request is about the recorded size.
const DYNAMODB_OVERHEAD: u64 = 60;

/// The clients, built once per process as the functions build theirs.
pub struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
    /// The iProov transport's HTTP client, configured as `iproov_client`'s (iproov/src/http.rs).
    iproov: reqwest::Client,
    iproov_base: String,
}

/// Why a call failed: the service's error code, or the error's text.
fn why<E: ProvideErrorMetadata + std::fmt::Display>(e: &E) -> String {
    e.code().map_or_else(|| e.to_string(), str::to_owned)
}

fn filler(bytes: u64) -> String {
    "x".repeat(usize::try_from(bytes).unwrap_or(0).max(1))
}

/// `bytes` of filler that differ from the previous call's: an update that changes nothing is
/// answered with no attributes (moto), unlike the routes' updates.
fn changed(bytes: u64) -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut value = format!("{n:020}");
    value.push_str(&filler(bytes.saturating_sub(20)));
    value
}

fn s(value: String) -> AttributeValue {
    AttributeValue::S(value)
}

/// The key of a call's item: the slot, padded so a key-only request (read, delete, query) has
/// about the recorded size. A query spends more JSON around its key (the key condition), a
/// delete less (no read consistency).
fn key(call: &Call, slot: &str) -> String {
    let around = match call.name.as_str() {
        "dynamodb.Query" => DYNAMODB_OVERHEAD + 55,
        "dynamodb.DeleteItem" => DYNAMODB_OVERHEAD - 20,
        _ => DYNAMODB_OVERHEAD,
    };
    let target = call
        .request_bytes
        .saturating_sub(around + call.resource.len() as u64)
        .min(1024);
    let mut key = slot.to_owned();
    while (key.len() as u64) < target {
        key.push('k');
    }
    key
}

/// Padding that brings a request carrying `key` to about `bytes`.
fn padding(bytes: u64, call: &Call, key: &str) -> String {
    filler(bytes.saturating_sub(DYNAMODB_OVERHEAD + call.resource.len() as u64 + key.len() as u64))
}

impl Clients {
    pub fn new() -> Result<Clients, lambda_runtime::Error> {
        let sdk = aws_adapters::config::aws();
        let iproov = reqwest::Client::builder()
            .tls_backend_preconfigured(aws_adapters::tls::client_config())
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .build()?;
        Ok(Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            s3: aws_adapters::config::s3_client(&sdk),
            kms: aws_sdk_kms::Client::new(&sdk),
            iproov,
            iproov_base: std::env::var("IPROOV_BASE_URL")?,
        })
    }

    /// Writes what the script's reads will find: per DynamoDB read, and per update answering
    /// with values, an item of about its answer's size; per S3 listing objects under its
    /// prefix. Returns the names of what failed.
    pub async fn seed(&self, prefix: &str, stages: &[Vec<Call>]) -> Vec<String> {
        let mut failed = Vec::new();
        for (si, stage) in stages.iter().enumerate() {
            for (i, call) in stage.iter().enumerate() {
                let slot = format!("{prefix}#{si}#{i}");
                let outcome = match call.name.as_str() {
                    // An answer this small found nothing (a query's empty page): nothing to
                    // find then.
                    "dynamodb.GetItem" | "dynamodb.Query" if call.response_bytes > 80 => {
                        let key = key(call, &slot);
                        // An answer carries the item with no table name around it.
                        let pad = filler(call.response_bytes.saturating_sub(50 + key.len() as u64));
                        self.dynamodb
                            .put_item()
                            .table_name(&call.resource)
                            .item("pk", s(key))
                            .item("pad", s(pad))
                            .send()
                            .await
                            .map(drop)
                            .map_err(|e| why(&e))
                    }
                    "s3.ListObjectVersions" => self.seed_listing(call, &slot).await,
                    // The item an update answers with (all its attributes).
                    "dynamodb.UpdateItem" if call.response_bytes > 2 => self
                        .dynamodb
                        .put_item()
                        .table_name(&call.resource)
                        .item("pk", s(slot.clone()))
                        .item(
                            "keep",
                            s(filler(
                                call.response_bytes.saturating_sub(190 + slot.len() as u64),
                            )),
                        )
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| why(&e)),
                    _ => Ok(()),
                };
                if let Err(e) = outcome {
                    failed.push(format!("seed {}: {e}", call.name));
                }
            }
        }
        failed
    }

    /// About as many objects under the listing's prefix as its answer listed (≈ 350 bytes of
    /// XML per version), at least one.
    async fn seed_listing(&self, call: &Call, slot: &str) -> Result<(), String> {
        let count = (call.response_bytes.saturating_sub(300) / 350).clamp(1, 20);
        for n in 0..count {
            self.s3
                .put_object()
                .bucket(&call.resource)
                .key(format!("probe-list/{slot}/{n}"))
                .body(ByteStream::from_static(b"probe"))
                .send()
                .await
                .map_err(|e| why(&e))?;
        }
        Ok(())
    }

    /// One call of the script, at `slot` (unique per route and call).
    pub async fn call(&self, call: &Call, slot: &str) -> Result<(), String> {
        let (service, _) = call.name.split_once('.').unwrap_or_default();
        match service {
            "dynamodb" => self.dynamodb(call, slot).await,
            "iproov" => self.iproov(call).await,
            _ => self.other_aws(call, slot).await,
        }
    }

    async fn dynamodb(&self, call: &Call, slot: &str) -> Result<(), String> {
        let db = &self.dynamodb;
        let table = call.resource.as_str();
        let key = key(call, slot);
        match call.name.as_str() {
            "dynamodb.GetItem" => db
                .get_item()
                .table_name(table)
                .key("pk", s(key))
                .consistent_read(call.consistent)
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            "dynamodb.PutItem" => {
                let pad = padding(call.request_bytes, call, slot);
                db.put_item()
                    .table_name(table)
                    .item("pk", s(slot.to_owned()))
                    .item("pad", s(pad))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| why(&e))
            }
            "dynamodb.UpdateItem" => {
                // The request's size goes into a condition that always holds (the probe never
                // writes `z`); the answer, when the route asked for values back (`{}`
                // otherwise), is the item the seed wrote at this slot, of about the recorded
                // size. The value set changes each call, as a counter's does. `pad` and `z`
                // are reserved words of DynamoDB's expressions, so named, as the functions
                // name theirs.
                let returns = if call.response_bytes > 2 {
                    ReturnValue::AllNew
                } else {
                    ReturnValue::None
                };
                let condition = padding(call.request_bytes.saturating_sub(225), call, slot);
                db.update_item()
                    .table_name(table)
                    .key("pk", s(slot.to_owned()))
                    .update_expression("SET #p = :p")
                    .condition_expression("attribute_not_exists(#z) OR #z <> :z")
                    .expression_attribute_names("#p", "pad")
                    .expression_attribute_names("#z", "z")
                    .expression_attribute_values(":p", s(changed(20)))
                    .expression_attribute_values(":z", s(condition))
                    .return_values(returns)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| why(&e))
            }
            "dynamodb.DeleteItem" => db
                .delete_item()
                .table_name(table)
                .key("pk", s(key))
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            "dynamodb.Query" => db
                .query()
                .table_name(table)
                .key_condition_expression("pk = :k")
                .expression_attribute_values(":k", s(key))
                .consistent_read(call.consistent)
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            "dynamodb.TransactWriteItems" => self.transaction(call, slot).await,
            other => Err(format!("{other} is not replayed")),
        }
    }

    /// A transaction of as many puts as the route's named items, on its (first) table, each
    /// padded to its share of the request.
    async fn transaction(&self, call: &Call, slot: &str) -> Result<(), String> {
        let items = u64::from(call.items.max(1));
        let mut request = self.dynamodb.transact_write_items();
        for n in 0..items {
            let key = format!("{slot}#{n}");
            let put = Put::builder()
                .table_name(&call.resource)
                .item(
                    "pad",
                    // ≈ 42 bytes of JSON around each put besides the item.
                    s(padding(
                        (call.request_bytes / items).saturating_sub(42),
                        call,
                        &key,
                    )),
                )
                .item("pk", s(key))
                .build()
                .map_err(|e| e.to_string())?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        request.send().await.map(drop).map_err(|e| why(&e))
    }

    async fn other_aws(&self, call: &Call, slot: &str) -> Result<(), String> {
        let resource = call.resource.as_str();
        let overhead = 60 + resource.len() as u64;
        match call.name.as_str() {
            "sqs.SendMessage" => self
                .sqs
                .send_message()
                .queue_url(resource)
                .message_body(filler(call.request_bytes.saturating_sub(overhead)))
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            "s3.PutObject" => self
                .s3
                .put_object()
                .bucket(resource)
                .key(format!("probe-put/{slot}"))
                .body(ByteStream::from(filler(call.request_bytes).into_bytes()))
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            "s3.ListObjectVersions" => self
                .s3
                .list_object_versions()
                .bucket(resource)
                .prefix(format!("probe-list/{slot}/"))
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            // Outside the listed prefix: each delete of a versioned bucket adds a marker, which
            // would otherwise grow the listing invocation after invocation.
            "s3.DeleteObject" => self
                .s3
                .delete_object()
                .bucket(resource)
                .key(format!("probe-deleted/{slot}"))
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            "kms.Sign" => {
                // The message travels base64-encoded: ¾ of the request's payload.
                let bytes = call.request_bytes.saturating_sub(overhead + 60) * 3 / 4;
                self.kms
                    .sign()
                    .key_id(resource)
                    .message(Blob::new(filler(bytes).into_bytes()))
                    .message_type(MessageType::Raw)
                    .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| why(&e))
            }
            "kms.GetPublicKey" => self
                .kms
                .get_public_key()
                .key_id(resource)
                .send()
                .await
                .map(drop)
                .map_err(|e| why(&e)),
            other => Err(format!("{other} is not replayed")),
        }
    }

    /// The iProov call's method and path (ids masked by the proxy become `probe`), a JSON body
    /// of the recorded size; the answer is read and parsed as JSON, as the client does.
    async fn iproov(&self, call: &Call) -> Result<(), String> {
        let (method, path) = call
            .name
            .strip_prefix("iproov.")
            .and_then(|rest| rest.split_once(' '))
            .ok_or_else(|| format!("{} is not an iProov call", call.name))?;
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let url = format!(
            "{}/{}",
            self.iproov_base.trim_end_matches('/'),
            path.replace('*', "probe")
        );
        let mut request = self.iproov.request(method, url);
        if call.request_bytes > 0 {
            let body = format!(
                "{{\"pad\":\"{}\"}}",
                filler(call.request_bytes.saturating_sub(10))
            );
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let answer = request.send().await.map_err(|e| e.to_string())?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(|e| e.to_string())?;
        let _ = serde_json::from_slice::<serde_json::Value>(&body);
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}
