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

/// The host the events say API Gateway received them on (`Host`, `requestContext.domainName`).
pub const API_DOMAIN: &str = "api.onboarding.example";

/// Its origin: the OpenID Connect issuer the functions are given (`run::lambda_env`).
pub const API_ORIGIN: &str = "https://api.onboarding.example";

/// One HTTP request to the API, before API Gateway turns it into an event.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub bearer: Option<&'a str>,
    pub body: Option<Value>,
    /// An `application/x-www-form-urlencoded` body, already encoded (OAuth's token endpoint);
    /// instead of `body`.
    pub form: Option<String>,
    /// The query string parameters, decoded, in order.
    pub query: Vec<(String, String)>,
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
            form: None,
            query: Vec::new(),
            source_ip,
        }
    }

    /// The same request with a JSON body.
    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// The same request with a form body of `fields` (as an OAuth client posts one).
    pub fn with_form(mut self, fields: &[(&str, &str)]) -> Self {
        self.form = Some(form_encode(fields));
        self
    }

    /// The same request with a query string of `params`.
    pub fn with_query(mut self, params: &[(&str, &str)]) -> Self {
        self.query = params
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        self
    }
}

/// `application/x-www-form-urlencoded` (the WHATWG serializer: unreserved bytes as they are,
/// space as `+`, anything else percent-encoded), as browsers and OAuth clients encode queries
/// and forms.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(k, &mut out);
        out.push('=');
        encode_component(v, &mut out);
    }
    out
}

fn encode_component(text: &str, out: &mut String) {
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// The decoded value of `name` in the query of `url` (a redirect the provider answered).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == name).then(|| form_decode(v))
    })
}

fn form_decode(text: &str) -> String {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(hi, lo)| hi * 16 + lo),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// The payload 2.0 event of `req` (route key = method and literal path: the routes driven have
/// no path parameters).
pub fn apigw(req: &HttpRequest<'_>) -> Vec<u8> {
    let (secs, millis) = now();
    let (body, content_type) = match (&req.body, &req.form) {
        (Some(json), _) => (Some(json.to_string()), "application/json"),
        (None, Some(form)) => (Some(form.clone()), "application/x-www-form-urlencoded"),
        (None, None) => (None, ""),
    };
    let mut headers = Map::new();
    let mut h = |k: &str, v: String| {
        headers.insert(k.to_owned(), Value::String(v));
    };
    h("accept", "application/json".into());
    h("accept-encoding", "gzip, deflate, br".into());
    h("host", API_DOMAIN.into());
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
        h("content-type", content_type.into());
        h("content-length", b.len().to_string());
    }
    let route_key = format!("{} {}", req.method, req.path);
    let pairs: Vec<(&str, &str)> = req
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id = request_id();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": form_encode(&pairs),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "bench",
            "domainName": API_DOMAIN,
            "domainPrefix": API_DOMAIN.split('.').next().unwrap_or(API_DOMAIN),
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
    if !req.query.is_empty() {
        // Decoded, repeated names joined with commas, as API Gateway sends them.
        let mut params = Map::new();
        for (k, v) in &req.query {
            let joined = match params.get(k).and_then(Value::as_str) {
                Some(earlier) => format!("{earlier},{v}"),
                None => v.clone(),
            };
            params.insert(k.clone(), Value::String(joined));
        }
        event["queryStringParameters"] = Value::Object(params);
    }
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

/// An API answer: status, `Location` (redirects) and JSON body.
pub struct HttpAnswer {
    pub status: u16,
    pub location: Option<String>,
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
        location: v["headers"]["location"].as_str().map(str::to_owned),
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn forms_and_queries_are_encoded_as_browsers_encode_them_and_read_back() {
        // given OAuth parameters with a space, a URI and a non-ASCII character
        let fields = [
            ("scope", "openid profile"),
            ("redirect_uri", "http://127.0.0.1/callback"),
            ("name", "Zoë"),
        ];

        // when they are encoded, and a redirect carrying them is read
        let encoded = form_encode(&fields);
        let redirect = format!("http://127.0.0.1/callback?{encoded}#frag");

        // then spaces are +, reserved and non-ASCII bytes percent-encoded, and each value
        // decodes back to itself
        assert_eq!(
            encoded,
            "scope=openid+profile&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&name=Zo%C3%AB"
        );
        for (name, value) in fields {
            assert_eq!(query_param(&redirect, name).as_deref(), Some(value));
        }
        assert_eq!(query_param(&redirect, "code"), None);
    }

    #[test]
    fn a_query_travels_raw_and_decoded_and_a_form_with_its_media_type() {
        // given an authorization request (query) and a token request (form body)
        let ip = Ipv4Addr::new(198, 19, 0, 1);
        let authorize = HttpRequest::new("GET", "/oauth2/authorize", None, ip)
            .with_query(&[("scope", "openid profile"), ("scope", "x")]);
        let token = HttpRequest::new("POST", "/oauth2/token", None, ip)
            .with_form(&[("grant_type", "refresh_token")]);

        // when API Gateway would turn them into events
        let a: Value = serde_json::from_slice(&apigw(&authorize)).expect("JSON");
        let t: Value = serde_json::from_slice(&apigw(&token)).expect("JSON");

        // then the query is in rawQueryString as sent and in queryStringParameters decoded
        // (repeats joined by commas), and the form body keeps its media type, with no
        // Authorization header (a public client)
        assert_eq!(a["rawQueryString"], "scope=openid+profile&scope=x");
        assert_eq!(
            a["queryStringParameters"],
            json!({"scope": "openid profile,x"})
        );
        assert!(a.get("body").is_none());
        assert_eq!(t["body"], "grant_type=refresh_token");
        assert_eq!(
            t["headers"]["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert!(t["headers"].get("authorization").is_none());
        assert!(t.get("queryStringParameters").is_none());
        assert_eq!(t["requestContext"]["domainName"], API_DOMAIN);
        assert_eq!(API_ORIGIN, format!("https://{API_DOMAIN}"));
    }

    #[test]
    fn a_redirect_answer_gives_its_location() {
        // given a function's 302 answer (payload 2.0 response, empty body)
        let payload = json!({
            "statusCode": 302,
            "headers": {"location": "https://api.onboarding.example/signin.html?request=r1"},
            "body": "",
            "isBase64Encoded": false,
        });

        // when it is read
        let answer = http_answer(payload.to_string().as_bytes()).expect("an answer");

        // then the status and where it sends the browser are known
        assert_eq!(answer.status, 302);
        assert_eq!(
            answer
                .location
                .as_deref()
                .and_then(|l| query_param(l, "request")),
            Some("r1".to_owned())
        );
    }
}
