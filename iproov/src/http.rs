//! The HTTP transport of the iProov client: hyper's pooled HTTP/1.1 client, rustls configured by
//! the caller (`IProovClient::new`), and the egress proxy from the environment.
//!
//! Why not a higher-level HTTP client: the AWS SDK already links hyper, hyper-util and
//! hyper-rustls into every function, and what the iProov client needs from HTTP is small (a
//! method, a URL, a few headers, a body, one timeout). A second client library added its own
//! TLS set-up and about a third of a megabyte to each bootstrap (docs/performance.md). What it
//! gave that matters is kept here:
//! * **one connect error class**: every failure before the request could be written (DNS,
//!   refused, proxy refusal, TLS handshake, connect timeout) is reported as a connect error,
//!   which is the one proof the validate rules accept that nothing reached iProov;
//! * **no redirects, no transparent retries** (hyper does neither; hyper-util only re-sends a
//!   request whose pooled connection closed before any byte was written);
//! * **proxies** from `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` (and their lower-case forms): HTTPS
//!   to iProov goes through a `CONNECT` tunnel to an `http://` proxy, with the proxy's basic
//!   credentials when its URL carries them. An `https://` or SOCKS proxy is refused when the
//!   client is built (this transport cannot speak to it, and failing at start beats an iProov
//!   that is unreachable while AWS calls work). Plain HTTP (a loopback sandbox only, see
//!   `config.rs`) always goes direct.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use http::{Method, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower::Service;
use url::Url;

use super::error::IProovError;

type BoxError = Box<dyn StdError + Send + Sync>;
type Connecting = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, BoxError>> + Send>>;

/// One request, built per attempt (so a credential refresh shows in the next one). Not `Debug`
/// on purpose: its URL or body may hold the API key, the secret or a claim token.
pub(crate) struct Outgoing {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
}

impl Outgoing {
    fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    pub(crate) fn post(url: Url) -> Self {
        Self::new(Method::POST, url)
    }

    pub(crate) fn delete(url: Url) -> Self {
        Self::new(Method::DELETE, url)
    }

    /// A JSON body. Serialising the client's own request types cannot fail in practice; if it
    /// did, the request is not sent.
    pub(crate) fn json(mut self, value: &impl serde::Serialize) -> Result<Self, IProovError> {
        let body = serde_json::to_vec(value)
            .map_err(|_| IProovError::Config("request could not be built".into()))?;
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.body = Bytes::from(body);
        Ok(self)
    }

    /// A form body, already encoded.
    pub(crate) fn form(mut self, encoded: &'static str) -> Self {
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Bytes::from_static(encoded.as_bytes());
        self
    }

    /// `Authorization: Bearer …`, marked sensitive (never printed by hyper's debug output).
    pub(crate) fn bearer_auth(self, token: &str) -> Result<Self, IProovError> {
        self.authorization(format!("Bearer {token}"))
    }

    /// `Authorization: Basic …` (RFC 7617), marked sensitive.
    pub(crate) fn basic_auth(self, user: &str, password: &str) -> Result<Self, IProovError> {
        let encoded = STANDARD.encode(format!("{user}:{password}"));
        self.authorization(format!("Basic {encoded}"))
    }

    fn authorization(mut self, value: String) -> Result<Self, IProovError> {
        let mut value = HeaderValue::try_from(value)
            .map_err(|_| IProovError::Config("credential not valid in a header".into()))?;
        value.set_sensitive(true);
        self.headers.insert(AUTHORIZATION, value);
        Ok(self)
    }

    fn into_request(
        self,
        user_agent: &HeaderValue,
    ) -> Result<http::Request<Full<Bytes>>, IProovError> {
        let uri: Uri = self
            .url
            .as_str()
            .parse()
            .map_err(|_| IProovError::Config("request URL could not be built".into()))?;
        let mut request = http::Request::new(Full::new(self.body));
        *request.method_mut() = self.method;
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers;
        request.headers_mut().insert(USER_AGENT, user_agent.clone());
        Ok(request)
    }
}

/// The variables that can name a proxy for HTTPS (as `Matcher::from_env` reads them).
const PROXY_VARIABLES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// An `http://` proxy URL, or one without a scheme (which means `http://`). Empty is unset.
fn is_http_proxy(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || value.to_ascii_lowercase().starts_with("http://") || !value.contains("://")
}

/// A complete answer: status, `Retry-After` header, body (bounded).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// The pooled client; build once per process.
pub(crate) struct Http {
    client: Client<Timed<HttpsConnector<TcpOrTunnel>>, Full<Bytes>>,
    user_agent: HeaderValue,
}

impl Http {
    /// `tls` is used as given for every HTTPS connection; `connect_timeout` bounds everything
    /// before the request is written (TCP, proxy tunnel, TLS); idle pooled connections are
    /// closed after `pool_idle`.
    pub(crate) fn new(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        pool_idle: Duration,
        user_agent: &'static str,
    ) -> Result<Self, IProovError> {
        if let Some(name) = PROXY_VARIABLES
            .iter()
            .find(|name| std::env::var(name).is_ok_and(|v| !is_http_proxy(&v)))
        {
            return Err(IProovError::Config(format!(
                "{name} must name an http:// proxy (https:// and SOCKS proxies are not supported)"
            )));
        }
        Ok(Self::with_proxies(
            tls,
            connect_timeout,
            pool_idle,
            user_agent,
            Matcher::from_env(),
        ))
    }

    fn with_proxies(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        pool_idle: Duration,
        user_agent: &'static str,
        proxies: Matcher,
    ) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let direct = TcpOrTunnel {
            tcp,
            proxies: Arc::new(proxies),
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(direct);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(pool_idle)
            .pool_timer(TokioTimer::new())
            .build(Timed {
                inner: https,
                timeout: connect_timeout,
            });
        Self {
            client,
            user_agent: HeaderValue::from_static(user_agent),
        }
    }

    /// One exchange within `timeout`, body included. A 2xx body larger than `max_body` is a
    /// decode error; a larger error body is cut (its status still means something).
    pub(crate) async fn send(
        &self,
        outgoing: Outgoing,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Answer, IProovError> {
        let request = outgoing.into_request(&self.user_agent)?;
        match tokio::time::timeout(timeout, self.exchange(request, max_body)).await {
            Ok(result) => result,
            // Connect errors (including the connect timeout) arrive as `Err` above; reaching
            // the overall deadline means the request may have been written.
            Err(_) => Err(IProovError::Timeout { maybe_sent: true }),
        }
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
        max_body: usize,
    ) -> Result<Answer, IProovError> {
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let (parts, mut incoming) = response.into_parts();
        let mut body = Vec::new();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|_| IProovError::Transport { maybe_sent: true })?;
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            if body.len() + chunk.len() > max_body {
                if (200..300).contains(&status) {
                    return Err(IProovError::Decode);
                }
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers: parts.headers,
            body,
        })
    }
}

/// Maps a client error to the iProov error, keeping only what is safe to keep (no URL, no
/// text). `is_connect()` is the proof that nothing was written.
fn classify(err: &hyper_util::client::legacy::Error) -> IProovError {
    let maybe_sent = !err.is_connect();
    if caused_by_timeout(err) {
        IProovError::Timeout { maybe_sent }
    } else {
        IProovError::Transport { maybe_sent }
    }
}

fn caused_by_timeout(err: &(dyn StdError + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(current) = source {
        source = match current.downcast_ref::<io::Error>() {
            Some(io) if io.kind() == io::ErrorKind::TimedOut => return true,
            // An io::Error's `source()` skips the error it wraps; look at that one first.
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn StdError + 'static))
                .or_else(|| current.source()),
            None => current.source(),
        };
    }
    false
}

/// TCP to the destination, or to the proxy the environment names for it and a `CONNECT` tunnel
/// through it (HTTPS only).
#[derive(Clone)]
struct TcpOrTunnel {
    tcp: HttpConnector,
    proxies: Arc<Matcher>,
}

impl Service<Uri> for TcpOrTunnel {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let proxy = (dst.scheme() == Some(&http::uri::Scheme::HTTPS))
            .then(|| self.proxies.intercept(&dst))
            .flatten();
        let mut tcp = self.tcp.clone();
        match proxy {
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move { tunnel.call(dst).await.map_err(Into::into) })
            }
            None => Box::pin(async move { tcp.call(dst).await.map_err(Into::into) }),
        }
    }
}

/// Bounds the whole connection set-up (TCP, tunnel, TLS handshake) by one timeout, reported as
/// an `io::ErrorKind::TimedOut` connect error.
#[derive(Clone)]
struct Timed<S> {
    inner: S,
    timeout: Duration,
}

impl<S> Service<Uri> for Timed<S>
where
    S: Service<Uri> + Send,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn basic_auth_is_rfc_7617_and_sensitive() {
        // given OAuth client credentials
        let outgoing = Outgoing::post(url("https://iproov.example/api/v2/k/access_token"))
            .basic_auth("client", "s3cret")
            .unwrap();
        // when the header is read back
        let value = outgoing.headers.get(AUTHORIZATION).unwrap();
        // then it is base64 of "client:s3cret", hidden from debug output
        assert_eq!(value.to_str().unwrap(), "Basic Y2xpZW50OnMzY3JldA==");
        assert!(value.is_sensitive());
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_refused_before_sending() {
        // given a bearer token with a line break
        let result =
            Outgoing::delete(url("https://iproov.example/api/v2/users/u")).bearer_auth("a\nb");
        // then the request is not built
        assert!(matches!(result, Err(IProovError::Config(_))));
    }

    #[test]
    fn json_sets_body_and_content_type_and_the_agent_is_added() {
        // given a JSON request
        let outgoing = Outgoing::post(url("https://iproov.example/api/v2/claim/enrol/token"))
            .json(&serde_json::json!({"resource": "r"}))
            .unwrap();
        // when it becomes an HTTP request
        let request = outgoing
            .into_request(&HeaderValue::from_static("agent/1"))
            .unwrap();
        // then method, URI, headers are as given
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().to_string(),
            "https://iproov.example/api/v2/claim/enrol/token"
        );
        assert_eq!(request.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(request.headers()[USER_AGENT], "agent/1");
    }

    #[test]
    fn a_timeout_anywhere_in_the_source_chain_is_a_timeout() {
        // given an error wrapping a timed-out io error
        let inner = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
        let outer = io::Error::other(inner);
        // then it is recognised; a refused connection is not
        assert!(caused_by_timeout(&outer));
        assert!(!caused_by_timeout(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }

    /// A listener that reads each request's head, records its first line and writes
    /// `answer(first line)` back.
    async fn server(
        answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen, lines) = tokio::sync::mpsc::unbounded_channel();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, answer) = (seen.clone(), answer.clone());
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut first = String::new();
                    reader.read_line(&mut first).await.unwrap();
                    let mut line = String::new();
                    while reader.read_line(&mut line).await.is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let _ = reader.get_mut().write_all(&answer(&first)).await;
                    let _ = seen.send(first.trim_end().to_owned());
                });
            }
        });
        (port, lines)
    }

    /// A proxy-and-origin server: `403` to a proxy `CONNECT`, `200 ok` to anything else.
    async fn recording_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
        server(|first| {
            if first.starts_with("CONNECT") {
                b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n".to_vec()
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_vec()
            }
        })
        .await
    }

    /// No trust anchor at all: these tests speak plain HTTP, or stop at the proxy's refusal
    /// before a TLS handshake could start.
    fn tls() -> rustls::ClientConfig {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
    }

    fn client(connect_timeout: Duration, proxies: Matcher) -> Http {
        Http::with_proxies(
            tls(),
            connect_timeout,
            Duration::from_secs(1),
            "agent/1",
            proxies,
        )
    }

    async fn get(http: &Http, raw: &str, max_body: usize) -> Result<Answer, IProovError> {
        http.send(Outgoing::get(url(raw)), Duration::from_secs(5), max_body)
            .await
    }

    #[tokio::test]
    async fn https_goes_through_the_environment_proxy_and_plain_http_goes_direct() {
        // given every destination proxied through a server that refuses tunnels
        let (port, mut seen) = recording_server().await;
        let proxies = Matcher::builder()
            .all(format!("http://127.0.0.1:{port}"))
            .build();
        let http = client(Duration::from_secs(2), proxies);
        // when an HTTPS call is made
        let https = get(&http, "https://iproov.invalid/api/v2/availability", 1024).await;
        // then it asked the proxy for a tunnel, and the refusal proves nothing reached iProov
        assert_eq!(
            seen.recv().await.unwrap(),
            "CONNECT iproov.invalid:443 HTTP/1.1"
        );
        assert_eq!(
            https.err(),
            Some(IProovError::Transport { maybe_sent: false })
        );

        // when a plain HTTP call is made (a loopback sandbox)
        let raw = format!("http://127.0.0.1:{port}/api/v2/availability");
        let plain = get(&http, &raw, 1024).await.unwrap();
        // then it went straight to the server, in origin form
        assert_eq!(
            seen.recv().await.unwrap(),
            "GET /api/v2/availability HTTP/1.1"
        );
        assert_eq!(
            (plain.status, plain.body.as_slice()),
            (200, b"ok".as_slice())
        );
    }

    #[tokio::test]
    async fn an_unreachable_address_is_a_connect_timeout_with_nothing_sent() {
        // given a client with a short connect timeout and an address that drops SYNs
        // (TEST-NET-1, RFC 5737: never routed)
        let http = client(Duration::from_millis(200), Matcher::builder().build());
        // when a call is made
        let result = get(&http, "http://192.0.2.1:9/", 1024).await;
        // then it is a timeout that provably sent nothing (or, where the network answers at
        // once that there is no route, a transport failure that sent nothing)
        assert!(matches!(
            result,
            Err(IProovError::Timeout { maybe_sent: false })
                | Err(IProovError::Transport { maybe_sent: false })
        ));
    }

    #[test]
    fn only_http_proxies_are_accepted() {
        // given proxy URLs as operators write them
        // then plain HTTP (with or without scheme) passes, TLS and SOCKS proxies do not
        assert!(is_http_proxy("http://proxy.internal:3128"));
        assert!(is_http_proxy("HTTP://user:pw@proxy.internal:3128"));
        assert!(is_http_proxy("proxy.internal:3128"));
        assert!(is_http_proxy(""));
        assert!(!is_http_proxy("https://proxy.internal:3129"));
        assert!(!is_http_proxy("socks5://proxy.internal:1080"));
    }

    /// A server that answers every request with `status` and a body of `size` bytes.
    async fn answering(status: u16, size: usize) -> u16 {
        let (port, _) = server(move |_| {
            let mut answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: {size}\r\n\r\n").into_bytes();
            answer.resize(answer.len() + size, b'x');
            answer
        })
        .await;
        port
    }

    async fn get_bounded(port: u16, max_body: usize) -> Result<Answer, IProovError> {
        let http = client(Duration::from_secs(2), Matcher::builder().build());
        get(&http, &format!("http://127.0.0.1:{port}/"), max_body).await
    }

    #[tokio::test]
    async fn an_oversized_success_body_is_undecodable() {
        // given a 2xx answer larger than the limit
        let port = answering(200, 64 * 1024).await;
        // when it is read with a 1 KiB limit
        let result = get_bounded(port, 1024).await;
        // then it is refused rather than held in memory
        assert_eq!(result.err(), Some(IProovError::Decode));
    }

    #[tokio::test]
    async fn an_oversized_error_body_is_cut_and_keeps_its_status() {
        // given a 503 answer larger than the limit
        let port = answering(503, 64 * 1024).await;
        // when it is read with a 1 KiB limit
        let answer = get_bounded(port, 1024).await.unwrap();
        // then the status survives and at most the limit was kept
        assert_eq!(answer.status, 503);
        assert!(answer.body.len() <= 1024);
    }
}
