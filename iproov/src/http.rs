//! The HTTP transport of the iProov client: reqwest (pooled HTTP/1.1) on the rustls configuration
//! the caller hands to `IProovClient::new`, and the egress proxy from the environment.
//!
//! Why reqwest, configured rather than defaulted: it brings what a hand-written hyper stack had
//! to re-implement (an HTTPS proxy tunnel over TLS to the proxy itself, proxy credentials,
//! `NO_PROXY`), on the same hyper, hyper-util, hyper-rustls and rustls crates the AWS SDK links
//! into every function. Its own TLS set-up is bypassed: the caller's `rustls::ClientConfig` is
//! used as given (`tls_backend_preconfigured`), so the crypto provider (the backend's is aws-lc)
//! and the trust anchors (compiled in by the backend) stay the caller's, and no system store is
//! read at start. What the client's rules depend on is pinned here rather than left to defaults:
//! * **one connect error class**: every failure before the request could be written (DNS,
//!   refused, proxy refusal, TLS handshake with the proxy or iProov, connect timeout) is a
//!   connect error (`reqwest::Error::is_connect`), which is the one proof the validate rules
//!   accept that nothing reached iProov; anything else may have been sent;
//! * **no redirects, no transparent retries**: the redirect policy is `none` and the retry
//!   policy `never` (hyper-util still re-sends a request whose *pooled* connection closed
//!   before any byte of it was written, which cannot deliver it twice);
//! * **proxies** from `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` (and their lower-case forms), read
//!   here and not by reqwest, so that the rules stay the documented ones: HTTPS to iProov goes
//!   through a `CONNECT` tunnel to an `http://` or `https://` proxy, with the proxy's basic
//!   credentials when its URL carries them; any other scheme (SOCKS) is refused when the client
//!   is built, because failing at start beats an iProov that is unreachable while AWS calls
//!   work. Plain HTTP (a loopback sandbox only, see `config.rs`) always goes direct, whatever
//!   `HTTP_PROXY` says.
//!
//! The price is size: about 0.25 MB of each arm64 bootstrap that links the client (reqwest's
//! own client, its tower layers and `rustls-platform-verifier`, which reqwest's rustls support
//! always links although a preconfigured backend never builds it), against the 8 MiB budget of
//! docs/performance.md. The time to build the client is unchanged (a few microseconds).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Body, Method, NoProxy, Proxy, Request};
use url::Url;

use super::error::IProovError;

/// One request, built per attempt (so a credential refresh shows in the next one). Not `Debug`
/// on purpose: its URL or body may hold the API key, the secret or a claim token.
pub(crate) struct Outgoing {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Body>,
}

impl Outgoing {
    fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
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
        self.body = Some(Body::from(body));
        Ok(self)
    }

    /// A form body, already encoded.
    pub(crate) fn form(mut self, encoded: &'static str) -> Self {
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Some(Body::from(encoded));
        self
    }

    /// `Authorization: Bearer …`, marked sensitive (never printed by debug output).
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

    /// The request as reqwest sends it; the client adds the User-Agent.
    fn into_request(self) -> Request {
        let mut request = Request::new(self.method, self.url);
        *request.headers_mut() = self.headers;
        *request.body_mut() = self.body;
        request
    }
}

/// Where HTTPS calls go: straight to iProov, or through a proxy (and which hosts bypass it).
#[derive(Debug, PartialEq)]
pub(crate) enum Egress {
    Direct,
    Proxy {
        /// The proxy's URL as configured; may carry `user:password@` (never logged).
        url: String,
        /// The `NO_PROXY` list, `None` when unset.
        no_proxy: Option<String>,
    },
}

/// The variables that can name the proxy of HTTPS calls, by precedence: of each pair, the first
/// one set counts (as curl reads them), and `ALL_PROXY` only when no `HTTPS_PROXY` is given.
const PROXY_VARIABLES: [[&str; 2]; 2] =
    [["HTTPS_PROXY", "https_proxy"], ["ALL_PROXY", "all_proxy"]];
const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

impl Egress {
    /// Reads the proxy settings through `var` (the process environment in production). An empty
    /// value is unset. A proxy URL the transport cannot use is an error naming the variable,
    /// never its value (it may hold credentials).
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, IProovError> {
        let first_set = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|name| var(name).map(|value| (*name, value.trim().to_owned())))
        };
        let Some((name, url)) = PROXY_VARIABLES
            .iter()
            .filter_map(|pair| first_set(pair))
            .find(|(_, value)| !value.is_empty())
        else {
            return Ok(Self::Direct);
        };
        if !is_http_or_https(&url) {
            return Err(IProovError::Config(format!(
                "{name} must name an http:// or https:// proxy (SOCKS proxies are not supported)"
            )));
        }
        // Refused here rather than on every call: the URL must be one reqwest can connect to.
        if Proxy::https(url.as_str()).is_err() {
            return Err(IProovError::Config(format!(
                "{name} is not a valid proxy URL"
            )));
        }
        let no_proxy = first_set(&NO_PROXY_VARIABLES).map(|(_, value)| value);
        Ok(Self::Proxy { url, no_proxy })
    }

    /// The reqwest proxy: HTTPS destinations only, so plain HTTP always goes direct. Basic
    /// credentials in the URL become the tunnel's `Proxy-Authorization`.
    fn proxy(&self) -> Result<Option<Proxy>, IProovError> {
        let Self::Proxy { url, no_proxy } = self else {
            return Ok(None);
        };
        let proxy = Proxy::https(url.as_str())
            .map_err(|_| IProovError::Config("proxy URL is not valid".into()))?
            .no_proxy(no_proxy.as_deref().and_then(NoProxy::from_string));
        Ok(Some(proxy))
    }
}

/// `http://` or `https://`, or no scheme at all (which means `http://`).
fn is_http_or_https(value: &str) -> bool {
    match value.split_once("://") {
        Some((scheme, _)) => {
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        }
        None => true,
    }
}

/// A complete answer: status, headers (`Retry-After` is read), body (bounded).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// The pooled client; build once per process.
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    /// `tls` is used as given for every HTTPS connection (to iProov, and to an `https://`
    /// proxy); `connect_timeout` bounds everything before the request is written (TCP, proxy
    /// tunnel, TLS); idle pooled connections are closed after `pool_idle`. The proxy comes from
    /// the process environment (see the module documentation).
    pub(crate) fn new(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        pool_idle: Duration,
        user_agent: &'static str,
    ) -> Result<Self, IProovError> {
        let egress = Egress::from_vars(|name| std::env::var(name).ok())?;
        Self::with_egress(tls, connect_timeout, pool_idle, user_agent, &egress)
    }

    fn with_egress(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        pool_idle: Duration,
        user_agent: &'static str,
        egress: &Egress,
    ) -> Result<Self, IProovError> {
        // `no_proxy` first: without it reqwest would read the environment itself, with its own
        // rules (HTTP_PROXY for plain HTTP among them).
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(pool_idle)
            .user_agent(user_agent);
        if let Some(proxy) = egress.proxy()? {
            builder = builder.proxy(proxy);
        }
        // Fails only when the TLS configuration is not one reqwest's rustls can take (another
        // rustls major version); nothing is read from the system.
        let client = builder
            .build()
            .map_err(|_| IProovError::Config("HTTP client could not be built".into()))?;
        Ok(Self { client })
    }

    /// One exchange within `timeout`, body included. A 2xx body larger than `max_body` is a
    /// decode error; a larger error body is cut (its status still means something).
    pub(crate) async fn send(
        &self,
        outgoing: Outgoing,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Answer, IProovError> {
        match tokio::time::timeout(timeout, self.exchange(outgoing.into_request(), max_body)).await
        {
            Ok(result) => result,
            // Connect errors (including the connect timeout) arrive as `Err` above; reaching
            // the overall deadline means the request may have been written.
            Err(_) => Err(IProovError::Timeout { maybe_sent: true }),
        }
    }

    async fn exchange(&self, request: Request, max_body: usize) -> Result<Answer, IProovError> {
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| IProovError::Transport { maybe_sent: true })?
        {
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
            headers: std::mem::take(response.headers_mut()),
            body,
        })
    }
}

/// Maps a reqwest error to the iProov error, keeping only what is safe to keep: reqwest's
/// errors carry the request URL (the API key travels in one query), so the error is dropped
/// here, never displayed. `is_connect()` (the connector failed: no connection, so nothing
/// written) is the proof that nothing was sent; `is_timeout()` tells a timeout from any other
/// failure on either side of that line. A request reqwest refuses to build never left either.
fn classify(err: &reqwest::Error) -> IProovError {
    if err.is_builder() {
        return IProovError::Config("request could not be built".into());
    }
    let maybe_sent = !err.is_connect();
    if err.is_timeout() {
        IProovError::Timeout { maybe_sent }
    } else {
        IProovError::Transport { maybe_sent }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use reqwest::header::USER_AGENT;
    use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
    use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

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
    fn json_sets_body_and_content_type() {
        // given a JSON request
        let outgoing = Outgoing::post(url("https://iproov.example/api/v2/claim/enrol/token"))
            .json(&serde_json::json!({"resource": "r"}))
            .unwrap();
        // when it becomes an HTTP request
        let request = outgoing.into_request();
        // then method, URL, header and body are as given
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.url().as_str(),
            "https://iproov.example/api/v2/claim/enrol/token"
        );
        assert_eq!(request.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            request.body().and_then(Body::as_bytes),
            Some(br#"{"resource":"r"}"#.as_slice())
        );
    }

    // ----- proxy settings -----

    fn egress(vars: &[(&str, &str)]) -> Result<Egress, IProovError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Egress::from_vars(|name| vars.get(name).cloned())
    }

    fn proxied(url: &str, no_proxy: Option<&str>) -> Egress {
        Egress::Proxy {
            url: url.to_owned(),
            no_proxy: no_proxy.map(str::to_owned),
        }
    }

    #[test]
    fn http_and_https_proxies_are_accepted_socks_is_refused_at_start() {
        // given proxy URLs as operators write them
        for accepted in [
            "http://proxy.internal:3128",
            "HTTP://user:pw@proxy.internal:3128",
            "https://proxy.internal:3129",
            "https://user:pw@proxy.internal:3129",
            "proxy.internal:3128",
        ] {
            // then plain HTTP and TLS proxies (with or without scheme, credentials) are taken
            assert_eq!(
                egress(&[("HTTPS_PROXY", accepted)]).unwrap(),
                proxied(accepted, None),
                "{accepted}"
            );
        }
        for refused in [
            "socks5://proxy.internal:1080",
            "socks5h://p:1080",
            "ftp://p",
        ] {
            // and other schemes stop the client from being built, naming the variable only
            let Err(IProovError::Config(message)) = egress(&[("https_proxy", refused)]) else {
                panic!("{refused} accepted");
            };
            assert!(message.starts_with("https_proxy "), "{message}");
            assert!(!message.contains("proxy.internal"), "{message}");
        }
    }

    #[test]
    fn the_proxy_variables_are_read_in_order_and_empty_means_unset() {
        // given no variable, or only empty ones, or one for plain HTTP only
        assert_eq!(egress(&[]).unwrap(), Egress::Direct);
        assert_eq!(egress(&[("HTTPS_PROXY", " ")]).unwrap(), Egress::Direct);
        assert_eq!(
            egress(&[("HTTP_PROXY", "http://p:1")]).unwrap(),
            Egress::Direct
        );
        // then HTTPS_PROXY wins over its lower-case form and over ALL_PROXY
        assert_eq!(
            egress(&[
                ("HTTPS_PROXY", "http://a:1"),
                ("https_proxy", "http://b:1"),
                ("ALL_PROXY", "http://c:1"),
            ])
            .unwrap(),
            proxied("http://a:1", None)
        );
        // and ALL_PROXY (or all_proxy) applies when no HTTPS proxy is given
        assert_eq!(
            egress(&[("HTTPS_PROXY", ""), ("all_proxy", "http://c:1")]).unwrap(),
            proxied("http://c:1", None)
        );
        // and NO_PROXY (or no_proxy) is kept with it
        assert_eq!(
            egress(&[("ALL_PROXY", "http://c:1"), ("no_proxy", ".internal")]).unwrap(),
            proxied("http://c:1", Some(".internal"))
        );
    }

    // ----- exchanges with local servers -----

    /// What a test server saw of one request: its first line and its header lines.
    #[derive(Debug)]
    struct Seen {
        first: String,
        headers: Vec<String>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then(|| value.trim())
            })
        }
    }

    /// Reads one request head (the body, if any, is left unread).
    async fn read_head(stream: impl AsyncRead + Unpin) -> Option<Seen> {
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).await.ok()?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.ok()? == 0 || line.trim().is_empty() {
                break;
            }
            headers.push(line.trim_end().to_owned());
        }
        Some(Seen {
            first: first.trim_end().to_owned(),
            headers,
        })
    }

    /// A listener that reads each request's head, reports it and writes `answer(first line)`
    /// back (nothing at all for an empty answer, and the connection is then held open).
    async fn server(
        answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> (u16, UnboundedReceiver<Seen>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen, heads) = unbounded_channel();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (seen, answer) = (seen.clone(), answer.clone());
                tokio::spawn(async move {
                    let Some(head) = read_head(&mut stream).await else {
                        return;
                    };
                    let reply = answer(&head.first);
                    let _ = seen.send(head);
                    if reply.is_empty() {
                        std::future::pending::<()>().await;
                    }
                    let _ = stream.write_all(&reply).await;
                });
            }
        });
        (port, heads)
    }

    const REFUSE_TUNNEL: &[u8] = b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

    /// A proxy-and-origin server: `403` to a proxy `CONNECT`, `200 ok` to anything else.
    async fn recording_server() -> (u16, UnboundedReceiver<Seen>) {
        server(|first| {
            if first.starts_with("CONNECT") {
                REFUSE_TUNNEL.to_vec()
            } else {
                OK.to_vec()
            }
        })
        .await
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    /// The client's TLS configuration, trusting `roots` only.
    fn tls_trusting(roots: rustls::RootCertStore) -> rustls::ClientConfig {
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }

    /// No trust anchor at all: these tests speak plain HTTP, or stop before a TLS handshake
    /// with iProov could complete.
    fn tls() -> rustls::ClientConfig {
        tls_trusting(rustls::RootCertStore::empty())
    }

    fn client_via(connect_timeout: Duration, egress: &Egress) -> Http {
        Http::with_egress(
            tls(),
            connect_timeout,
            Duration::from_secs(1),
            "agent/1",
            egress,
        )
        .unwrap()
    }

    fn client(connect_timeout: Duration) -> Http {
        client_via(connect_timeout, &Egress::Direct)
    }

    async fn get(http: &Http, raw: &str, max_body: usize) -> Result<Answer, IProovError> {
        http.send(Outgoing::get(url(raw)), Duration::from_secs(5), max_body)
            .await
    }

    #[tokio::test]
    async fn https_goes_through_the_proxy_with_its_credentials_and_plain_http_goes_direct() {
        // given HTTPS proxied through a server that refuses tunnels, with credentials
        let (port, mut seen) = recording_server().await;
        let http = client_via(
            Duration::from_secs(2),
            &proxied(&format!("http://user:pw@127.0.0.1:{port}"), None),
        );
        // when an HTTPS call is made
        let https = get(&http, "https://iproov.invalid/api/v2/availability", 1024).await;
        // then it asked the proxy for a tunnel, with basic credentials and our agent
        let connect = seen.recv().await.unwrap();
        assert_eq!(connect.first, "CONNECT iproov.invalid:443 HTTP/1.1");
        assert_eq!(
            connect.header("proxy-authorization"),
            Some("Basic dXNlcjpwdw==")
        );
        assert_eq!(connect.header("user-agent"), Some("agent/1"));
        // and the refusal proves nothing reached iProov
        assert_eq!(
            https.err(),
            Some(IProovError::Transport { maybe_sent: false })
        );

        // when a plain HTTP call is made (a loopback sandbox)
        let raw = format!("http://127.0.0.1:{port}/api/v2/availability");
        let plain = get(&http, &raw, 1024).await.unwrap();
        // then it went straight to the server, in origin form, with our agent
        let direct = seen.recv().await.unwrap();
        assert_eq!(direct.first, "GET /api/v2/availability HTTP/1.1");
        assert_eq!(direct.header(USER_AGENT.as_str()), Some("agent/1"));
        assert_eq!(
            (plain.status, plain.body.as_slice()),
            (200, b"ok".as_slice())
        );
    }

    /// A listener that counts connections and closes each one at once.
    async fn closing_server() -> (u16, UnboundedReceiver<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, count) = unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
                let _ = accepted.send(());
            }
        });
        (port, count)
    }

    #[tokio::test]
    async fn a_host_in_no_proxy_goes_direct() {
        // given a proxy that would refuse every tunnel, and NO_PROXY naming the destination
        let (proxy_port, mut proxy_seen) = recording_server().await;
        let (port, mut accepted) = closing_server().await;
        let http = client_via(
            Duration::from_secs(2),
            &proxied(
                &format!("http://127.0.0.1:{proxy_port}"),
                Some("localhost,127.0.0.1"),
            ),
        );
        // when an HTTPS call is made to it (the destination hangs up during the handshake)
        let result = get(&http, &format!("https://127.0.0.1:{port}/"), 1024).await;
        // then it connected directly, the proxy was not asked, and nothing was sent
        assert_eq!(
            result.err(),
            Some(IProovError::Transport { maybe_sent: false })
        );
        assert!(accepted.recv().await.is_some());
        assert!(proxy_seen.try_recv().is_err());
    }

    /// A TLS server for `127.0.0.1` with a fresh self-signed certificate, answering each
    /// request's head with `answer`; returns its port, what it saw and the client's trust in it.
    fn tls_server(answer: &'static [u8]) -> (u16, UnboundedReceiver<Seen>, rustls::RootCertStore) {
        use std::io::{BufRead, Write};

        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = certified.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.clone()], key)
                .unwrap(),
        );
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen, heads) = unbounded_channel();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { return };
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = std::io::BufReader::new(rustls::StreamOwned::new(connection, tcp));
                let mut first = String::new();
                if tls.read_line(&mut first).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                let mut line = String::new();
                while tls.read_line(&mut line).is_ok_and(|n| n > 2) {
                    headers.push(line.trim_end().to_owned());
                    line.clear();
                }
                let _ = seen.send(Seen {
                    first: first.trim_end().to_owned(),
                    headers,
                });
                let _ = tls.get_mut().write_all(answer);
                let _ = tls.get_mut().flush();
            }
        });
        (port, heads, roots)
    }

    #[tokio::test]
    async fn an_https_proxy_is_reached_over_tls_and_asked_for_a_tunnel_with_credentials() {
        // given an https:// proxy the client's roots trust, which refuses tunnels
        let (port, mut seen, roots) = tls_server(REFUSE_TUNNEL);
        let http = Http::with_egress(
            tls_trusting(roots),
            Duration::from_secs(2),
            Duration::from_secs(1),
            "agent/1",
            &proxied(&format!("https://user:pw@127.0.0.1:{port}"), None),
        )
        .unwrap();
        // when an HTTPS call is made
        let result = get(&http, "https://iproov.invalid/api/v2/availability", 1024).await;
        // then the CONNECT travelled inside TLS to the proxy, with the proxy's credentials
        let connect = seen.recv().await.unwrap();
        assert_eq!(connect.first, "CONNECT iproov.invalid:443 HTTP/1.1");
        assert_eq!(
            connect.header("proxy-authorization"),
            Some("Basic dXNlcjpwdw==")
        );
        // and the refusal proves nothing reached iProov
        assert_eq!(
            result.err(),
            Some(IProovError::Transport { maybe_sent: false })
        );
    }

    #[tokio::test]
    async fn https_uses_the_callers_tls_configuration() {
        // given an HTTPS server the caller's roots trust
        let (port, mut seen, roots) = tls_server(OK);
        let trusting = Http::with_egress(
            tls_trusting(roots),
            Duration::from_secs(2),
            Duration::from_secs(1),
            "agent/1",
            &Egress::Direct,
        )
        .unwrap();
        // when it is called with that configuration
        let raw = format!("https://127.0.0.1:{port}/api/v2/availability");
        let answer = get(&trusting, &raw, 1024).await.unwrap();
        // then the exchange completes over TLS
        assert_eq!(
            seen.recv().await.unwrap().first,
            "GET /api/v2/availability HTTP/1.1"
        );
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, b"ok".as_slice())
        );

        // when the same server is called with a configuration that does not trust it
        let result = get(&client(Duration::from_secs(2)), &raw, 1024).await;
        // then the handshake fails, before anything was sent
        assert_eq!(
            result.err(),
            Some(IProovError::Transport { maybe_sent: false })
        );
    }

    #[tokio::test]
    async fn a_refused_connection_sent_nothing() {
        // given a port nothing listens on
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        // when a call is made
        let result = get(
            &client(Duration::from_secs(2)),
            &format!("http://127.0.0.1:{port}/"),
            1024,
        )
        .await;
        // then it is a transport failure that provably sent nothing
        assert_eq!(
            result.err(),
            Some(IProovError::Transport { maybe_sent: false })
        );
    }

    #[tokio::test]
    async fn an_unreachable_address_is_a_connect_timeout_with_nothing_sent() {
        // given a client with a short connect timeout and an address that drops SYNs
        // (TEST-NET-1, RFC 5737: never routed)
        let http = client(Duration::from_millis(200));
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

    #[tokio::test]
    async fn a_tls_handshake_that_never_ends_is_a_connect_timeout_with_nothing_sent() {
        // given a server that accepts connections and never says a word
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        // when an HTTPS call is made with a connect timeout far below the call timeout
        let started = tokio::time::Instant::now();
        let result = get(
            &client(Duration::from_millis(200)),
            &format!("https://127.0.0.1:{port}/"),
            1024,
        )
        .await;
        // then the handshake was cut at the connect timeout, which proves nothing was sent
        assert_eq!(
            result.err(),
            Some(IProovError::Timeout { maybe_sent: false })
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn no_answer_within_the_call_timeout_may_have_been_sent() {
        // given a server that reads the request and never answers
        let (port, mut seen) = server(|_| Vec::new()).await;
        // when a call is made with a short call timeout
        let result = client(Duration::from_secs(2))
            .send(
                Outgoing::get(url(&format!("http://127.0.0.1:{port}/"))),
                Duration::from_millis(300),
                1024,
            )
            .await;
        // then the request arrived, and the timeout says it may have been
        assert!(seen.recv().await.is_some());
        assert_eq!(
            result.err(),
            Some(IProovError::Timeout { maybe_sent: true })
        );
    }

    #[tokio::test]
    async fn a_connection_closed_after_the_request_may_have_been_sent() {
        // given a server that reads the request head and closes without answering
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = read_head(&mut stream).await;
                drop(stream);
            }
        });
        // when a call is made
        let result = get(
            &client(Duration::from_secs(2)),
            &format!("http://127.0.0.1:{port}/"),
            1024,
        )
        .await;
        // then it is a transport failure whose request may have reached the server
        assert_eq!(
            result.err(),
            Some(IProovError::Transport { maybe_sent: true })
        );
    }

    #[tokio::test]
    async fn a_redirect_is_an_answer_not_followed() {
        // given a server that redirects everything
        let (port, mut seen) = server(|_| {
            b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n".to_vec()
        })
        .await;
        // when a call is made
        let answer = get(
            &client(Duration::from_secs(2)),
            &format!("http://127.0.0.1:{port}/api/v2/availability"),
            1024,
        )
        .await
        .unwrap();
        // then the redirect is the answer, and only the one request was made
        assert_eq!(answer.status, 302);
        assert_eq!(
            seen.recv().await.unwrap().first,
            "GET /api/v2/availability HTTP/1.1"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(seen.try_recv().is_err());
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
        get(
            &client(Duration::from_secs(2)),
            &format!("http://127.0.0.1:{port}/"),
            max_body,
        )
        .await
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
