//! Events as Lambda delivers them: API Gateway HTTP API payload 2.0 (built like
//! `infra/local/apigw_events.py` and API Gateway build them) and SQS batches (built like the
//! SQS event source mapping builds them from `ReceiveMessage` answers).

use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::stack::{ACCOUNT_ID, REGION};

pub const USER_AGENT: &str = "OnboardingApp/2.4 (iOS 18.1; bench)";

/// One HTTP request to the API, before API Gateway turns it into an event.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub bearer: Option<&'a str>,
    pub body: Option<Value>,
    pub source_ip: Ipv4Addr,
}

impl<'a> HttpRequest<'a> {
    /// A request without a body.
    pub fn new(
        method: &'a str,
        path: &'a str,
        bearer: Option<&'a str>,
        source_ip: Ipv4Addr,
    ) -> Self {
        Self {
            method,
            path,
            bearer,
            body: None,
            source_ip,
        }
    }

    /// The same request with a JSON body.
    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

fn request_id() -> String {
    let bytes: [u8; 10] = rand_bytes();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let id = uuid::Uuid::new_v4();
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = id.as_bytes()[i % 16];
    }
    out
}

fn now() -> (u64, u128) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.as_millis())
}

/// The payload 2.0 event of `req` (route key = method and literal path: our routes have no
/// path parameters).
pub fn apigw(req: &HttpRequest<'_>) -> Vec<u8> {
    let (secs, millis) = now();
    let body = req.body.as_ref().map(Value::to_string);
    let mut headers = Map::new();
    let mut h = |k: &str, v: String| {
        headers.insert(k.to_owned(), Value::String(v));
    };
    h("accept", "application/json".into());
    h("accept-encoding", "gzip, deflate, br".into());
    h("host", "api.onboarding.example".into());
    h("user-agent", USER_AGENT.into());
    h(
        "x-amzn-trace-id",
        format!(
            "Root=1-{secs:08x}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..24]
        ),
    );
    h("x-forwarded-for", req.source_ip.to_string());
    h("x-forwarded-port", "443".into());
    h("x-forwarded-proto", "https".into());
    if let Some(token) = req.bearer {
        h("authorization", format!("Bearer {token}"));
    }
    if let Some(b) = &body {
        h("content-type", "application/json".into());
        h("content-length", b.len().to_string());
    }
    let route_key = format!("{} {}", req.method, req.path);
    let id = request_id();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "bench",
            "domainName": "api.onboarding.example",
            "domainPrefix": "api",
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip.to_string(),
                "userAgent": USER_AGENT,
            },
            "requestId": id,
            "routeKey": route_key,
            "stage": "$default",
            "time": time_text(secs),
            "timeEpoch": millis,
        },
        "isBase64Encoded": false,
    });
    if let Some(b) = body {
        event["body"] = Value::String(b);
    }
    event.to_string().into_bytes()
}

fn time_text(secs: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    t.format(&format).unwrap_or_default()
}

/// An API answer: status and JSON body.
pub struct HttpAnswer {
    pub status: u16,
    pub body: Value,
}

/// Reads the function's payload 2.0 response.
pub fn http_answer(payload: &[u8]) -> Result<HttpAnswer, Error> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| format!("function answer is not JSON: {e}"))?;
    let status = v["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("function answer has no statusCode")?;
    let raw = v["body"].as_str().unwrap_or("");
    let text = if v["isBase64Encoded"].as_bool() == Some(true) {
        String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(raw)?)
            .into_owned()
    } else {
        raw.to_owned()
    };
    Ok(HttpAnswer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    })
}

/// An SQS event for `messages` (as `ReceiveMessage` returned them) from the queue at `url`.
pub fn sqs(url: &str, messages: &[Value]) -> Vec<u8> {
    let name = url.rsplit('/').next().unwrap_or("queue");
    let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}");
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut attributes = m["Attributes"].clone();
            if !attributes.is_object() {
                attributes = json!({});
            }
            json!({
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}
