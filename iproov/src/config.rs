//! Configuration of the iProov client: which platform, which service, how long to wait.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::IProovError;
use super::retry::RetryPolicy;

/// What a claim proves. Genuine Presence Assurance is iProov's default and the stronger check;
/// Liveness is cheaper and weaker. The choice is the service provider's, so it is configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssuranceType {
    /// `genuine_presence`
    #[default]
    GenuinePresence,
    /// `liveness`
    Liveness,
}

impl AssuranceType {
    /// The value iProov expects on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GenuinePresence => "genuine_presence",
            Self::Liveness => "liveness",
        }
    }
}

/// How a scan is judged, chosen per journey (registration, login, step-up): the assurance type,
/// and the risk profile agreed with iProov, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanPolicy<'a> {
    pub assurance_type: AssuranceType,
    pub risk_profile: Option<&'a str>,
}

/// Everything the client needs except secrets, which come from a `CredentialSource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IProovConfig {
    /// The platform's API root, e.g. `https://eu.rp.secure.iproov.me/api/v2` or the sandbox's
    /// `http://127.0.0.1:4600/api/v2`. Plain `http` is accepted for loopback hosts only, since
    /// claim bodies carry the secret.
    pub base_url: String,
    /// Names the customer's service in iProov's records (the `resource` of token calls).
    pub resource: String,
    /// Sent with every token request.
    pub assurance_type: AssuranceType,
    /// A risk profile agreed with iProov, sent with token and validate requests when set.
    pub risk_profile: Option<String>,
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Longest wait for one attempt, connection to last body byte.
    pub call_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Where browsers and apps reach the platform, when a reverse proxy differs from
    /// `base_url`. By default it is `base_url` without its trailing `/api/v2`.
    pub sdk_base_url: Option<String>,
}

impl IProovConfig {
    /// A configuration with the defaults this project runs with: Genuine Presence, no risk
    /// profile, 2 s to connect, 10 s per attempt, the default retry policy.
    pub fn new(base_url: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            resource: resource.into(),
            assurance_type: AssuranceType::default(),
            risk_profile: None,
            connect_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            sdk_base_url: None,
        }
    }

    /// Checks the configuration once, at start-up, and returns the parsed API root and the
    /// SDK base URL, so that a typo fails the cold start instead of the first user.
    pub(crate) fn validate(&self) -> Result<(Url, String), IProovError> {
        let base = parse_http_url("base_url", &self.base_url)?;
        if base.cannot_be_a_base() || base.query().is_some() || base.fragment().is_some() {
            return Err(IProovError::Config(
                "base_url must be a plain API root".into(),
            ));
        }
        if self.resource.trim().is_empty() {
            return Err(IProovError::Config("resource must not be empty".into()));
        }
        if self
            .risk_profile
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err(IProovError::Config("risk_profile must not be blank".into()));
        }
        if self.retry.max_attempts == 0 {
            return Err(IProovError::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }
        if self.call_timeout.is_zero()
            || self.connect_timeout.is_zero()
            || self.retry.max_total.is_zero()
        {
            return Err(IProovError::Config("timeouts must be positive".into()));
        }
        let sdk = match &self.sdk_base_url {
            Some(url) => parse_http_url("sdk_base_url", url)?
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            None => default_sdk_base_url(&base),
        };
        Ok((base, sdk))
    }
}

fn parse_http_url(field: &str, raw: &str) -> Result<Url, IProovError> {
    let url = Url::parse(raw).map_err(|_| IProovError::Config(format!("{field} is not a URL")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(IProovError::Config(format!(
            "{field} must not carry credentials"
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(IProovError::Config(format!(
            "{field} must use https unless the host is loopback"
        ))),
        _ => Err(IProovError::Config(format!(
            "{field} must be an http(s) URL"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// The SDK talks to the platform root; the REST API lives under `/api/v2` of that root.
fn default_sdk_base_url(base: &Url) -> String {
    let full = base.as_str().trim_end_matches('/');
    full.strip_suffix("/api/v2").unwrap_or(full).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_base_url_defaults_to_the_platform_root_and_can_be_overridden() {
        let cfg = IProovConfig::new("https://eu.rp.secure.iproov.me/api/v2/", "svc");
        assert_eq!(cfg.validate().unwrap().1, "https://eu.rp.secure.iproov.me");
        let cfg = IProovConfig {
            sdk_base_url: Some("https://proxy.example.com/iproov/".into()),
            ..IProovConfig::new("http://127.0.0.1:4600/api/v2", "svc")
        };
        assert_eq!(
            cfg.validate().unwrap().1,
            "https://proxy.example.com/iproov"
        );
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        assert!(
            IProovConfig::new("http://127.0.0.1:4600/api/v2", "s")
                .validate()
                .is_ok()
        );
        assert!(
            IProovConfig::new("http://localhost:4600/api/v2", "s")
                .validate()
                .is_ok()
        );
        assert!(
            IProovConfig::new("http://[::1]:4600/api/v2", "s")
                .validate()
                .is_ok()
        );
        assert!(
            IProovConfig::new("http://eu.rp.secure.iproov.me/api/v2", "s")
                .validate()
                .is_err()
        );
        assert!(
            IProovConfig::new("https://user:pw@eu.example/api/v2", "s")
                .validate()
                .is_err()
        );
        assert!(
            IProovConfig::new("ftp://eu.example/api/v2", "s")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn blank_resource_and_zero_attempts_fail_at_start() {
        assert!(
            IProovConfig::new("https://x.example/api/v2", " ")
                .validate()
                .is_err()
        );
        let mut cfg = IProovConfig::new("https://x.example/api/v2", "s");
        cfg.retry.max_attempts = 0;
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn assurance_type_serialises_snake_case() {
        assert_eq!(
            serde_json::to_string(&AssuranceType::GenuinePresence).unwrap(),
            "\"genuine_presence\""
        );
        assert_eq!(AssuranceType::Liveness.as_str(), "liveness");
    }
}
