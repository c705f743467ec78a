//! A counting, timing HTTP proxy between the functions and their backends (moto for every AWS
//! service, the iProov sandbox). The functions' `AWS_ENDPOINT_URL` and `IPROOV_BASE_URL` point
//! here; each call is forwarded and recorded with the service, the operation and the interval
//! during which the function was waiting for it (request head in → response handed back).
//! Overlapping intervals are concurrent calls; the union of the intervals is the time the
//! function spent awaiting backends.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Error;

/// One backend call as the function saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: String,
    pub op: String,
    pub start: Instant,
    pub end: Instant,
    pub status: u16,
    /// What the call carried, for the cost model (src/cost): bytes of the request and answer
    /// bodies as sent on the wire, and for DynamoDB the items and read consistency.
    pub size: CallSize,
    /// What it addressed (DynamoDB table, SQS queue URL, S3 bucket, KMS key), so the route
    /// probe (src/route_script.rs) can replay it against the same resource; empty for iProov.
    pub resource: String,
}

/// The billable shape of one call as seen on the wire. DynamoDB's units follow item sizes,
/// which the proxy cannot see; the JSON bodies bound them (src/cost/rules.rs says how).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallSize {
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// Items a DynamoDB transaction or batch names (1 for every other call).
    pub items: u32,
    /// A DynamoDB read asked for strong consistency (`ConsistentRead`).
    pub consistent: bool,
    /// Messages an SQS send put on the audit queue (`SendMessage`: 1, `SendMessageBatch`: its
    /// entries), once the run named that queue ([`Recorder::watch_audit_queue`]): the audit
    /// events a route handed over, which the cost model prices with the audit writer's rows.
    pub audit_events: u32,
}

/// Where calls are recorded (shared by the proxies).
#[derive(Default, Clone)]
pub struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    /// The audit queue's name, once known.
    audit_queue: Arc<Mutex<Option<String>>>,
}

impl Recorder {
    /// Counts the messages sent to the queue at `url` as audit events from now on.
    pub fn watch_audit_queue(&self, url: &str) {
        *self.audit_queue.lock().unwrap() = Some(queue_name(url).to_owned());
    }

    /// Everything recorded since the last drain.
    pub fn drain(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[derive(Clone, Copy)]
pub enum Kind {
    Aws,
    IProov,
}

struct Proxy {
    upstream: String,
    kind: Kind,
    client: reqwest::Client,
    recorder: Recorder,
}

/// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:4566`) on a free port; returns its
/// base URL.
pub async fn start(upstream: &str, kind: Kind, recorder: Recorder) -> Result<String, Error> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()?;
    let proxy = Arc::new(Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        kind,
        client,
        recorder,
    });
    let app = Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

async fn forward(State(proxy): State<Arc<Proxy>>, req: Request) -> Response {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let (service, op) = match proxy.kind {
        Kind::Aws => aws_operation(
            &parts.method,
            parts.uri.path(),
            parts.uri.query(),
            &parts.headers,
        ),
        Kind::IProov => (
            "iproov".to_owned(),
            iproov_operation(&parts.method, parts.uri.path()),
        ),
    };
    let body = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut request = proxy
        .client
        .request(parts.method.clone(), format!("{}{path}", proxy.upstream));
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            request = request.header(name, value);
        }
    }
    let sent = body.clone();
    let answer = request.body(body).send().await;
    let (status, headers, bytes) = match answer {
        Ok(r) => {
            let status = r.status();
            let headers = r.headers().clone();
            match r.bytes().await {
                Ok(b) => (status, headers, b),
                Err(_) => (
                    StatusCode::BAD_GATEWAY,
                    HeaderMap::new(),
                    Default::default(),
                ),
            }
        }
        Err(_) => (
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            Default::default(),
        ),
    };
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response = response.header(name, value);
        }
    }
    let response_bytes = bytes.len() as u64;
    let response = response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response());
    let end = Instant::now();
    let audit_queue = proxy.recorder.audit_queue.lock().unwrap().clone();
    let request = SentBody::read(&service, &sent);
    let size = call_size(
        &service,
        &op,
        &request,
        response_bytes,
        audit_queue.as_deref(),
    );
    let resource = resource(&service, parts.uri.path(), &request);
    proxy.recorder.calls.lock().unwrap().push(Call {
        service,
        op,
        start,
        end,
        status: status.as_u16(),
        size,
        resource,
    });
    response
}

/// A request's body as sent, and as JSON for the services that speak a JSON protocol (every AWS
/// service here but S3): parsed once, for both [`call_size`] and [`resource`].
struct SentBody<'a> {
    bytes: &'a [u8],
    json: Option<serde_json::Value>,
}

impl<'a> SentBody<'a> {
    fn read(service: &str, bytes: &'a [u8]) -> Self {
        let json = (service != "s3" && service != "iproov")
            .then(|| serde_json::from_slice(bytes).ok())
            .flatten();
        SentBody { bytes, json }
    }
}

/// The billable shape of a call (taken after its end is timed, so it costs the function
/// nothing): body sizes, and for DynamoDB the items a transaction or batch names and whether a
/// read is strongly consistent.
fn call_size(
    service: &str,
    op: &str,
    request: &SentBody,
    response_bytes: u64,
    audit_queue: Option<&str>,
) -> CallSize {
    let mut size = CallSize {
        request_bytes: request.bytes.len() as u64,
        response_bytes,
        items: 1,
        consistent: false,
        audit_events: 0,
    };
    if service != "dynamodb" && service != "sqs" {
        return size;
    }
    let Some(body) = &request.json else {
        return size;
    };
    if service == "sqs" {
        // The JSON protocol: a batch names its messages in `Entries`.
        if let Some(entries) = body["Entries"].as_array() {
            size.items = entries.len().try_into().unwrap_or(u32::MAX);
        }
        let to_audit = audit_queue.is_some_and(|audit| {
            body["QueueUrl"]
                .as_str()
                .is_some_and(|url| queue_name(url) == audit)
        });
        if to_audit && op.starts_with("SendMessage") {
            size.audit_events = size.items;
        }
        return size;
    }
    size.consistent = body["ConsistentRead"].as_bool().unwrap_or(false);
    if let Some(items) = body["TransactItems"].as_array() {
        size.items = items.len().try_into().unwrap_or(u32::MAX);
    } else if op.starts_with("Batch") {
        let named: usize = body["RequestItems"].as_object().map_or(0, |tables| {
            tables
                .values()
                .map(|t| {
                    t.as_array()
                        .map_or_else(|| t["Keys"].as_array().map_or(0, Vec::len), Vec::len)
                })
                .sum()
        });
        size.items = named.try_into().unwrap_or(u32::MAX);
    }
    size
}

/// A queue URL's last path segment, its name (the host differs between the functions' view and
/// the bench's).
fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// The resource a call addressed (taken after its end is timed): the bucket of an S3 path, else
/// the table, queue or key its JSON body names (a transaction's first item's table).
fn resource(service: &str, path: &str, request: &SentBody) -> String {
    if service == "s3" {
        return path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
    }
    let Some(body) = &request.json else {
        return String::new();
    };
    let first_item = body["TransactItems"][0]
        .as_object()
        .and_then(|item| item.values().next())
        .map_or(&serde_json::Value::Null, |action| &action["TableName"]);
    ["TableName", "QueueUrl", "KeyId", "SecretId"]
        .iter()
        .map(|field| &body[*field])
        .chain([first_item])
        .find_map(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn hop_by_hop(name: &header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "content-length"
            | "expect"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-connection"
    )
}

/// Service from the SigV4 credential scope; operation from `X-Amz-Target` (JSON protocols) or
/// from the method and path (S3's REST protocol).
fn aws_operation(
    method: &axum::http::Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> (String, String) {
    let service = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| {
            let scope = auth.split("Credential=").nth(1)?;
            let scope = scope.split([',', ' ']).next()?;
            scope.split('/').nth(3).map(str::to_owned)
        })
        .unwrap_or_else(|| "aws".to_owned());
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        return (service, op);
    }
    if service == "s3" {
        let query = query.unwrap_or("");
        let has_key = path
            .trim_start_matches('/')
            .split_once('/')
            .is_some_and(|(_, k)| !k.is_empty());
        let op = match (method.as_str(), has_key) {
            ("GET", false) if query.contains("versions") => "ListObjectVersions",
            ("GET", false) => "ListObjects",
            ("PUT", true) => "PutObject",
            ("GET", true) => "GetObject",
            ("HEAD", true) => "HeadObject",
            ("DELETE", true) => "DeleteObject",
            ("POST", false) if query.contains("delete") => "DeleteObjects",
            _ => "other",
        };
        return (service, op.to_owned());
    }
    (service, format!("{method} {path}"))
}

/// `POST claim/enrol/token`, `DELETE users/*`, `POST */access_token`, …: ids and keys masked.
fn iproov_operation(method: &axum::http::Method, path: &str) -> String {
    let rest = path.trim_start_matches('/');
    let rest = rest.strip_prefix("api/v2/").unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    let shown: Vec<&str> = match segments.as_slice() {
        ["claim", kind @ ("enrol" | "verify"), what] => vec!["claim", kind, what],
        ["claim", _, "invalidate"] => vec!["claim", "*", "invalidate"],
        ["users", _] => vec!["users", "*"],
        [_, "access_token"] => vec!["*", "access_token"],
        other => other.to_vec(),
    };
    format!("{method} {}", shown.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, Method};

    /// Headers of a request the SDK signed for `service`.
    fn signed_for(service: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=x"
            ))
            .expect("a valid header value"),
        );
        headers
    }

    #[test]
    fn aws_calls_are_named_by_service_and_operation() {
        // given a DynamoDB call (a JSON protocol: the operation is in X-Amz-Target)
        let mut headers = signed_for("dynamodb");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.GetItem"),
        );

        // when it is named
        let named = aws_operation(&Method::POST, "/", None, &headers);

        // then by the service of its signature and the operation
        assert_eq!(named, ("dynamodb".to_owned(), "GetItem".to_owned()));
    }

    #[test]
    fn kms_signatures_are_named_like_any_json_protocol_call() {
        // given the token endpoint's KMS Sign (KMS's JSON protocol: TrentService.<operation>)
        let mut headers = signed_for("kms");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("TrentService.Sign"),
        );

        // when it is named
        let named = aws_operation(&Method::POST, "/", None, &headers);

        // then it is a call like the others, counted and awaited: kms.Sign
        assert_eq!(named, ("kms".to_owned(), "Sign".to_owned()));
    }

    #[test]
    fn s3_calls_are_named_by_method_and_path() {
        // given S3 calls (its REST protocol: no X-Amz-Target)
        let headers = signed_for("s3");

        // when they are named
        let put = aws_operation(
            &Method::PUT,
            "/bucket/faces/u/r-1.png",
            Some("x-id=PutObject"),
            &headers,
        );
        let list = aws_operation(
            &Method::GET,
            "/bucket",
            Some("versions&prefix=faces"),
            &headers,
        );

        // then the operation follows from the method, whether the path names an object, and the
        // query
        assert_eq!(put.1, "PutObject");
        assert_eq!(list.1, "ListObjectVersions");
    }

    #[test]
    fn iproov_paths_hide_ids() {
        // given iProov paths, some with a user id or an API key in them
        let calls = [
            (Method::POST, "/api/v2/claim/enrol/token"),
            (Method::DELETE, "/api/v2/users/abc"),
            (Method::POST, "/api/v2/key/access_token"),
        ];

        // when they are named
        let named: Vec<String> = calls
            .iter()
            .map(|(method, path)| iproov_operation(method, path))
            .collect();

        // then the ids are masked, so calls of one kind share a name
        assert_eq!(
            named,
            [
                "POST claim/enrol/token",
                "DELETE users/*",
                "POST */access_token"
            ]
        );
    }

    #[test]
    fn dynamodb_calls_record_their_items_and_consistency_for_the_cost_model() {
        // given a transaction of three items and a strongly consistent read
        let transaction = br#"{"TransactItems":[{"Put":{}},{"Put":{}},{"Update":{}}]}"#;
        let read = br#"{"TableName":"t","Key":{},"ConsistentRead":true}"#;

        // when their shapes are taken
        let t = call_size(
            "dynamodb",
            "TransactWriteItems",
            &SentBody::read("dynamodb", transaction),
            2,
            None,
        );
        let r = call_size(
            "dynamodb",
            "GetItem",
            &SentBody::read("dynamodb", read),
            900,
            None,
        );

        // then the transaction names three items, the read is consistent, and the sizes are
        // the bodies' as sent and answered
        assert_eq!(
            (t.items, t.consistent, t.request_bytes),
            (3, false, transaction.len() as u64)
        );
        assert_eq!((r.items, r.consistent, r.response_bytes), (1, true, 900));
    }

    #[test]
    fn sends_to_the_audit_queue_count_their_messages_as_audit_events() {
        // given a send and a batch of two to the audit queue, and a send to another queue
        let audit = Some("AuditQueue-1");
        let one =
            br#"{"QueueUrl":"http://127.0.0.1:1/123456789012/AuditQueue-1","MessageBody":"{}"}"#;
        let two = br#"{"QueueUrl":"http://h/123456789012/AuditQueue-1","Entries":[{"Id":"0"},{"Id":"1"}]}"#;
        let other = br#"{"QueueUrl":"http://h/123456789012/WebhookQueue-1","MessageBody":"{}"}"#;

        // when their shapes are taken
        let sizes = [
            call_size("sqs", "SendMessage", &SentBody::read("sqs", one), 0, audit),
            call_size(
                "sqs",
                "SendMessageBatch",
                &SentBody::read("sqs", two),
                0,
                audit,
            ),
            call_size(
                "sqs",
                "SendMessage",
                &SentBody::read("sqs", other),
                0,
                audit,
            ),
            call_size("sqs", "SendMessage", &SentBody::read("sqs", one), 0, None),
        ];

        // then only the audit queue's messages are audit events, and a batch names its entries
        let shapes: Vec<(u32, u32)> = sizes.iter().map(|s| (s.items, s.audit_events)).collect();
        assert_eq!(shapes, [(1, 1), (2, 2), (1, 0), (1, 0)]);
    }

    #[test]
    fn calls_record_the_resource_they_address_for_the_route_probe() {
        // given a read, a transaction, a queue send, a signature and an S3 upload
        let read = br#"{"TableName":"users","Key":{}}"#;
        let transaction =
            br#"{"TransactItems":[{"Put":{"TableName":"users"}},{"Update":{"TableName":"regs"}}]}"#;
        let send = br#"{"QueueUrl":"http://q/1/reg","MessageBody":"x"}"#;
        let sign = br#"{"KeyId":"arn:kms:k","Message":"eA=="}"#;

        // when their resources are taken
        let named = [
            resource("dynamodb", "/", &SentBody::read("dynamodb", read)),
            resource("dynamodb", "/", &SentBody::read("dynamodb", transaction)),
            resource("sqs", "/", &SentBody::read("sqs", send)),
            resource("kms", "/", &SentBody::read("kms", sign)),
            resource(
                "s3",
                "/images/faces/u/1.png",
                &SentBody::read("s3", b"\x89PNG"),
            ),
            resource(
                "iproov",
                "/api/v2/claim/enrol/token",
                &SentBody::read("iproov", b"{}"),
            ),
        ];

        // then each is the table, queue, key or bucket named (a transaction's first table), and
        // nothing for a call that names none
        assert_eq!(
            named,
            [
                "users",
                "users",
                "http://q/1/reg",
                "arn:kms:k",
                "images",
                ""
            ]
        );
    }
}
