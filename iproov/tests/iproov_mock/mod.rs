//! A scripted stand-in for iProov, for the client's tests: it records every request and
//! answers each path from a queue of replies, then from a standing reply, then with 418.
//! It knows nothing of iProov's rules on purpose; the contract tests use the sandbox for that.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use iproov_client::{
    CallObserver, CallReport, CredentialSource, IProovClient, IProovConfig, IProovCredentials,
    IProovError, IProovUserId, RetryPolicy, StaticCredentials, Token, ValidateRequest,
};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The API root below the server root, as on the real platform.
pub const API_ROOT: &str = "/api/v2";

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: body.to_string(),
            content_type: "application/json",
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            content_type: "text/html",
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn error(status: u16, code: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"error": code, "error_description": format!("described {code}")}),
        )
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// One request as the server saw it, stamped on arrival (before any scripted delay).
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path below [`API_ROOT`] (percent-encoded as sent).
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_owned())
    }

    /// Everything that travelled outside the body: path, query and headers.
    pub fn outside_body(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        format!("{} {:?} {}", self.path, self.query, headers.join("\n"))
    }
}

#[derive(Default)]
struct Script {
    queued: HashMap<String, VecDeque<Reply>>,
    standing: HashMap<String, Reply>,
    requests: Vec<Recorded>,
}

type Shared = Arc<Mutex<Script>>;

fn key(method: &str, path: &str) -> String {
    format!("{method} {path}")
}

/// A running scripted server.
pub struct Mock {
    pub addr: SocketAddr,
    script: Shared,
    task: JoinHandle<()>,
}

impl Mock {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener)
    }

    /// Serves on a listener the test bound itself (to control when the port starts answering).
    pub fn serve(listener: TcpListener) -> Self {
        let addr = listener.local_addr().expect("addr");
        let script = Shared::default();
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&script));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("mock server");
        });
        Self { addr, script, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}{API_ROOT}", self.addr)
    }

    /// Answers the next request to `path` (below the API root) with `reply`, in order.
    pub fn enqueue(&self, method: &str, path: &str, reply: Reply) {
        let mut script = self.script.lock().unwrap();
        script
            .queued
            .entry(key(method, path))
            .or_default()
            .push_back(reply);
    }

    /// Answers every request to `path` with `reply` once its queue is empty.
    pub fn always(&self, method: &str, path: &str, reply: Reply) {
        let mut script = self.script.lock().unwrap();
        script.standing.insert(key(method, path), reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.script.lock().unwrap().requests.clone()
    }

    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(script): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix(API_ROOT)
        .unwrap_or(uri.path())
        .to_owned();
    let reply = {
        let mut script = script.lock().unwrap();
        script.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_owned),
            headers,
            body: body.to_vec(),
            at: Instant::now(),
        });
        let k = key(method.as_str(), &path);
        script
            .queued
            .get_mut(&k)
            .and_then(VecDeque::pop_front)
            .or_else(|| script.standing.get(&k).cloned())
            .unwrap_or_else(|| Reply::error(418, "unscripted"))
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut out_headers = HeaderMap::new();
    out_headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in &reply.headers {
        out_headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    let status = StatusCode::from_u16(reply.status).expect("status");
    (status, out_headers, reply.body).into_response()
}

// ----- client fixtures -----

pub const API_KEY: &str = "test-api-key-0001";
pub const SECRET: &str = "test-secret-0001";
pub const OAUTH_ID: &str = "test-oauth-client-id";
pub const OAUTH_SECRET: &str = "test-oauth-client-secret";
pub const RESOURCE: &str = "onboarding-tests";
pub const RISK_PROFILE: &str = "rp-standard";

/// Stands for a face image in validate answers: PNG magic, then filler.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-face-pixels";

/// The pseudonymous iProov id the client tests send.
pub fn user() -> IProovUserId {
    IProovUserId::derive(b"pseudonymisation-key", "our-user-42")
}

/// A validate request for `user` and `token` from the client address `ip`.
pub fn validate_request<'a>(
    user: &'a IProovUserId,
    token: &'a Token,
    ip: &str,
) -> ValidateRequest<'a> {
    ValidateRequest {
        user_id: user,
        token,
        client_ip: Some(ip.parse::<IpAddr>().unwrap()),
        client: "Mozilla/5.0 (test)",
    }
}

pub fn credentials() -> IProovCredentials {
    IProovCredentials {
        api_key: API_KEY.into(),
        secret: SECRET.into(),
        oauth_client_id: OAUTH_ID.into(),
        oauth_client_secret: OAUTH_SECRET.into(),
    }
}

/// A configuration with short delays, so retry tests run in well under a second each.
pub fn config(base_url: &str) -> IProovConfig {
    IProovConfig {
        risk_profile: Some(RISK_PROFILE.into()),
        connect_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_total: Duration::from_secs(3),
        },
        ..IProovConfig::new(base_url, RESOURCE)
    }
}

/// The TLS configuration of the tests' clients: no trust anchor at all, because they only
/// speak plain HTTP to servers on loopback.
pub fn tls() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc supports the default protocol versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth()
}

/// One call as the client reported it: endpoint, `ok` or the error code, elapsed time.
pub type Report = (&'static str, String, Duration);

/// Keeps the client's call reports, for the tests of what it reports.
#[derive(Default)]
pub struct Reports(Mutex<Vec<Report>>);

impl Reports {
    pub fn taken(&self) -> Vec<Report> {
        self.0.lock().unwrap().clone()
    }
}

impl CallObserver for Reports {
    fn call_ended(&self, call: &CallReport<'_>) {
        let code = match call.result {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.code().to_owned(),
        };
        self.0
            .lock()
            .unwrap()
            .push((call.endpoint, code, call.elapsed));
    }
}

/// A client with the tests' TLS configuration, whose reports nobody reads.
pub fn new_client(
    config: IProovConfig,
    credentials: Arc<dyn CredentialSource>,
) -> Result<IProovClient, IProovError> {
    IProovClient::new(config, credentials, tls(), Arc::new(Reports::default()))
}

pub fn client_with(config: IProovConfig) -> IProovClient {
    new_client(config, Arc::new(StaticCredentials::new(credentials()))).expect("client")
}

pub fn client(mock: &Mock) -> IProovClient {
    client_with(config(&mock.base_url()))
}

/// A claim token answer, with a few fields the client does not know.
pub fn token_answer(token: &str, user_id: &str) -> Reply {
    Reply::json(
        200,
        serde_json::json!({
            "token": token,
            "primary": "genuine_presence",
            "pod": "edge",
            "user_id": user_id,
            "fallback": [{"type": "otp", "message": "Use a one-time code"}],
            "redirect_domain": "eu.example",
            "brand_new_field": {"nested": true}
        }),
    )
}

pub fn validate_answer(passed: bool, token: &str) -> Reply {
    Reply::json(
        200,
        serde_json::json!({"passed": passed, "token": token, "type": "enrol"}),
    )
}

pub fn access_token_answer(token: &str, expires_in: u64) -> Reply {
    Reply::json(
        200,
        serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": "user"}),
    )
}

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> TcpListenerSlot {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    TcpListenerSlot { addr }
}

/// An address that refuses connections until the test binds it.
pub struct TcpListenerSlot {
    pub addr: SocketAddr,
}

impl TcpListenerSlot {
    pub fn base_url(&self) -> String {
        format!("http://{}{API_ROOT}", self.addr)
    }

    pub async fn bind(&self) -> TcpListener {
        TcpListener::bind(self.addr).await.expect("rebind")
    }
}
