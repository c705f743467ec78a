//! The webhook dispatcher's two adapters: the signing secrets from Secrets Manager, and the
//! customer's endpoints over HTTPS.
//!
//! An endpoint is called the way server-side request forgery cannot use it:
//! * **https only**, no credentials in the URL, **no redirect followed** (a 3xx is a failure);
//! * its name is **resolved once per connection by our own resolver**, which refuses the name
//!   unless every address is public (`onboarding_core::egress`) and hands exactly those
//!   addresses to the connector, so nothing resolves the name a second time (DNS rebinding);
//!   an address written in the URL is checked the same way;
//! * **no proxy** from the environment (a proxy would resolve the name itself);
//! * a **short timeout** (5 s for connect and answer together), so one slow endpoint cannot
//!   hold a batch.
//!
//! `WEBHOOK_ALLOW_PRIVATE_TARGETS=1` lifts the address rules and allows `http`, for the local
//! stack's receiver on 127.0.0.1 only: it is refused at start unless `APP_ENV` is `local`, and
//! no template parameter sets it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use onboarding_core::audit::delivery::{
    EndpointFailure, SignedWebhook, WebhookEndpoints, WebhookKeys,
};
use onboarding_core::audit::signature::{SigningSecret, SigningSecrets};
use onboarding_core::egress::{self, NonPublic};
use onboarding_core::ports::KeysUnavailable;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::secrets::CachedSecret;
use crate::env::ConfigError;

/// Connect and answer together: a receiver should answer at once and process later.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The secret as stored: `{"current": "whsec_…", "previous": "whsec_…"}`, `previous` only
/// during a rotation (docs/webhooks.md). Never printed.
#[derive(serde::Deserialize)]
pub struct WebhookSecretJson {
    current: String,
    #[serde(default)]
    previous: Option<String>,
}

impl WebhookSecretJson {
    fn secrets(&self) -> Option<SigningSecrets> {
        let previous = match self.previous.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(SigningSecret::parse(text)?),
        };
        Some(SigningSecrets {
            current: SigningSecret::parse(&self.current)?,
            previous,
        })
    }
}

#[async_trait]
impl WebhookKeys for CachedSecret<WebhookSecretJson> {
    async fn signing_secrets(&self) -> Result<SigningSecrets, KeysUnavailable> {
        let stored = self.get().await.map_err(|err| {
            tracing::error!(error = %err, "webhook secret unavailable");
            KeysUnavailable(err.to_string())
        })?;
        stored.secrets().ok_or_else(|| {
            tracing::error!("webhook secret malformed: current (or previous) is not a whsec_ key of 16 bytes or more");
            KeysUnavailable("webhook secret malformed".into())
        })
    }
}

/// Whether the address rules apply (always, except in the local stack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    PublicOnly,
    /// The local stack's receiver: loopback and `http` allowed.
    AllowPrivate,
}

/// `WEBHOOK_ENDPOINTS`: comma-separated URLs; empty means webhooks are off. A URL that breaks
/// the rules fails the function at start, naming the variable and the rule (never the URL,
/// which may hold a customer's token).
pub fn parse_endpoints(text: &str, targets: Targets) -> Result<Vec<Url>, ConfigError> {
    const VAR: &str = "WEBHOOK_ENDPOINTS";
    let mut endpoints = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let url = Url::parse(item).map_err(|_| ConfigError::Invalid(VAR, "not a URL"))?;
        let scheme_ok =
            url.scheme() == "https" || (targets == Targets::AllowPrivate && url.scheme() == "http");
        if !scheme_ok {
            return Err(ConfigError::Invalid(VAR, "only https:// endpoints"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::Invalid(
                VAR,
                "no credentials in an endpoint URL",
            ));
        }
        if url.fragment().is_some() {
            return Err(ConfigError::Invalid(VAR, "no fragment in an endpoint URL"));
        }
        match (url.host(), targets) {
            (None, _) => return Err(ConfigError::Invalid(VAR, "an endpoint needs a host")),
            (Some(host), Targets::PublicOnly) => {
                if let Some(ip) = literal_ip(&host) {
                    egress::check(ip).map_err(|_| {
                        ConfigError::Invalid(VAR, "an endpoint's address is not public")
                    })?;
                }
            }
            (Some(_), Targets::AllowPrivate) => {}
        }
        endpoints.push(url);
    }
    Ok(endpoints)
}

fn literal_ip(host: &Host<&str>) -> Option<IpAddr> {
    match host {
        Host::Ipv4(v4) => Some(IpAddr::V4(*v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(*v6)),
        Host::Domain(_) => None,
    }
}

/// A name refused by the address rules; found again in reqwest's error chain.
#[derive(Debug)]
struct RefusedAddress(NonPublic);

impl std::fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "address refused ({})", self.0)
    }
}

impl std::error::Error for RefusedAddress {}

/// The connector's only resolver: one lookup, every address checked, exactly those addresses
/// returned for the connection.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
            if let Err(why) = egress::all_public(&ips) {
                // Boxed as the error itself (not a box of a box), so `failure` finds it again.
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(RefusedAddress(why));
                return Err(refused);
            }
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// The configured endpoints, called with one shared connection pool.
pub struct HttpEndpoints {
    client: reqwest::Client,
    endpoints: Vec<Url>,
    targets: Targets,
}

impl HttpEndpoints {
    pub fn new(
        endpoints: Vec<Url>,
        targets: Targets,
        tls: rustls::ClientConfig,
    ) -> Result<Self, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(DELIVERY_TIMEOUT)
            .user_agent("iproov-onboarding-webhooks/1");
        if targets == Targets::PublicOnly {
            builder = builder
                .https_only(true)
                .dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder.build().map_err(|_| {
            ConfigError::Invalid("WEBHOOK_ENDPOINTS", "the HTTP client could not be built")
        })?;
        Ok(Self {
            client,
            endpoints,
            targets,
        })
    }

    /// The endpoint's host, for logs (never its path or query, which may hold a token).
    pub fn host(&self, endpoint: usize) -> &str {
        self.endpoints
            .get(endpoint)
            .and_then(Url::host_str)
            .unwrap_or("")
    }
}

fn failure(err: &reqwest::Error) -> EndpointFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(RefusedAddress(why)) = current.downcast_ref::<RefusedAddress>() {
            return EndpointFailure::Refused(*why);
        }
        source = current.source();
    }
    if err.is_timeout() {
        EndpointFailure::Timeout
    } else {
        EndpointFailure::Unreachable
    }
}

#[async_trait]
impl WebhookEndpoints for HttpEndpoints {
    fn count(&self) -> usize {
        self.endpoints.len()
    }

    async fn deliver(
        &self,
        endpoint: usize,
        webhook: &SignedWebhook,
    ) -> Result<(), EndpointFailure> {
        let Some(url) = self.endpoints.get(endpoint) else {
            return Err(EndpointFailure::Unreachable);
        };
        // An address written in the URL is not resolved, so the resolver never sees it.
        if self.targets == Targets::PublicOnly
            && let Some(ip) = url.host().as_ref().and_then(literal_ip)
        {
            egress::check(ip).map_err(EndpointFailure::Refused)?;
        }
        let response = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &webhook.id)
            .header("webhook-timestamp", webhook.timestamp.to_string())
            .header("webhook-signature", &webhook.signature)
            .body(webhook.body.clone())
            .send()
            .await
            .map_err(|err| failure(&err))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(EndpointFailure::Status(status.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str, targets: Targets) -> &'static str {
        match parse_endpoints(text, targets) {
            Err(ConfigError::Invalid(_, why)) => why,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn endpoints_are_comma_separated_and_empty_means_off() {
        assert!(parse_endpoints("", Targets::PublicOnly).unwrap().is_empty());
        assert!(
            parse_endpoints(" , ", Targets::PublicOnly)
                .unwrap()
                .is_empty()
        );
        let two = parse_endpoints(
            "https://hooks.example.com/a, https://backup.example.net:8443/b?t=1",
            Targets::PublicOnly,
        )
        .unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].port(), Some(8443));
    }

    #[test]
    fn in_deployment_only_https_to_public_addresses_is_accepted() {
        let public = Targets::PublicOnly;
        assert_eq!(
            refused("http://hooks.example.com/a", public),
            "only https:// endpoints"
        );
        assert_eq!(
            refused("ftp://hooks.example.com/a", public),
            "only https:// endpoints"
        );
        assert_eq!(refused("not a url", public), "not a URL");
        assert_eq!(
            refused("https://user:pw@hooks.example.com/", public),
            "no credentials in an endpoint URL"
        );
        for private in [
            "https://127.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.8/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00:ec2::254]/",
            "https://0.0.0.0/",
            "https://2130706433/",
        ] {
            assert_eq!(
                refused(private, public),
                "an endpoint's address is not public",
                "{private}"
            );
        }
    }

    #[test]
    fn the_local_override_allows_http_to_loopback() {
        let local = parse_endpoints("http://127.0.0.1:4650/hooks/a", Targets::AllowPrivate);
        assert_eq!(local.unwrap().len(), 1);
    }

    #[test]
    fn the_stored_secret_reads_with_or_without_a_previous_one() {
        let only: WebhookSecretJson =
            serde_json::from_str(r#"{"current":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#)
                .unwrap();
        assert!(only.secrets().unwrap().previous.is_none());
        let blank: WebhookSecretJson = serde_json::from_str(
            r#"{"current":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","previous":""}"#,
        )
        .unwrap();
        assert!(blank.secrets().unwrap().previous.is_none());
        let both: WebhookSecretJson = serde_json::from_str(
            r#"{"current":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","previous":"whsec_dGhlIG5ldyBrZXkgb2YgdGhlIHJvdGF0aW9u"}"#,
        )
        .unwrap();
        assert!(both.secrets().unwrap().previous.is_some());
        let broken: WebhookSecretJson =
            serde_json::from_str(r#"{"current":"whsec_c2hvcnQ="}"#).unwrap();
        assert!(broken.secrets().is_none());
    }

    fn webhook() -> SignedWebhook {
        SignedWebhook {
            id: "0123456789abcdef".into(),
            timestamp: 1,
            signature: "v1,x".into(),
            body: "{}".into(),
        }
    }

    fn endpoints(urls: &str) -> HttpEndpoints {
        let parsed = parse_endpoints(urls, Targets::AllowPrivate).unwrap();
        HttpEndpoints::new(parsed, Targets::PublicOnly, crate::tls::client_config()).unwrap()
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_before_connecting() {
        // given an endpoint whose name resolves to 127.0.0.1 (localhost), in deployment mode
        let endpoints = endpoints("https://localhost:1/hook");
        // when a webhook is delivered
        let result = endpoints.deliver(0, &webhook()).await;
        // then the resolver refuses it, naming why
        assert_eq!(result, Err(EndpointFailure::Refused(NonPublic::Loopback)));
    }

    #[tokio::test]
    async fn an_address_written_in_the_url_is_checked_too() {
        let endpoints = endpoints("https://169.254.169.254/latest");
        let result = endpoints.deliver(0, &webhook()).await;
        assert_eq!(result, Err(EndpointFailure::Refused(NonPublic::LinkLocal)));
    }

    #[tokio::test]
    async fn plain_http_is_not_sent_in_deployment() {
        let endpoints = endpoints("http://198.18.0.1/hook");
        let result = endpoints.deliver(0, &webhook()).await;
        assert!(result.is_err(), "{result:?}");
    }
}
