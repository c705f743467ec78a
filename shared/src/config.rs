//! Configuration, read once in `main` from the environment the template sets. A missing or
//! malformed value stops the function at start with a message naming the variable, instead of
//! failing on some later request.

use std::str::FromStr;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, TimeoutConfig};

/// A configuration problem, naming the variable (never its value, which may be sensitive).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {0} is malformed: {1}")]
    Invalid(&'static str, &'static str),
}

/// A required variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional variable; empty counts as unset.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// An optional variable parsed as `T`, with a default.
pub fn parsed<T: FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match optional(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ConfigError::Invalid(name, "not a valid value")),
    }
}

/// True for the local stack (moto, sandbox, plain HTTP on 127.0.0.1).
pub fn is_local() -> bool {
    optional("APP_ENV").as_deref() == Some("local")
}

/// Shared AWS configuration, from Lambda's environment alone: region (`AWS_REGION`), the
/// execution role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) and, on the local stack, `AWS_ENDPOINT_URL` (moto); so the same binary
/// talks to AWS or to moto. The HTTP client is the SDK's with compiled-in TLS roots (`tls`).
///
/// Why not `aws_config`'s default chains: on Lambda they find exactly these variables, after
/// looking for profile files, SSO, web identity, container and instance-metadata credentials
/// that a function never has. That search was the largest remaining part of every cold start
/// (about 1 ms of 2.3 above the floor) and linked an STS client into each bootstrap; see
/// docs/performance.md. Retries (standard, 3 attempts) and the 3.1 s connect timeout are the
/// SDK defaults, set here explicitly.
pub fn aws() -> SdkConfig {
    let region = optional("AWS_REGION")
        .or_else(|| optional("AWS_DEFAULT_REGION"))
        .map(Region::new);
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(EnvironmentCredentials))
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .build(),
        )
        .http_client(crate::tls::aws_http_client());
    if let Some(endpoint) = optional("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

/// The execution role's credentials, which Lambda puts in the environment. Read when the SDK
/// first asks (and cached by it), so a missing variable fails the first AWS call with a
/// credentials error rather than the start.
#[derive(Debug)]
struct EnvironmentCredentials;

impl EnvironmentCredentials {
    fn read() -> provider::Result {
        let (Some(key), Some(secret)) = (
            optional("AWS_ACCESS_KEY_ID"),
            optional("AWS_SECRET_ACCESS_KEY"),
        ) else {
            return Err(provider::error::CredentialsError::not_loaded(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set",
            ));
        };
        Ok(Credentials::new(
            key,
            secret,
            optional("AWS_SESSION_TOKEN"),
            None,
            "Environment",
        ))
    }
}

impl ProvideCredentials for EnvironmentCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::ready(Self::read())
    }
}

/// An S3 client; path-style addressing when an endpoint override (moto) is in use.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk);
    if optional("AWS_ENDPOINT_URL").is_some() {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Limits and lifetimes of the registration and login journeys.
#[derive(Debug, Clone)]
pub struct JourneySettings {
    /// Attempts (tokens) one registration may use.
    pub registration_max_attempts: u32,
    /// How long a registration record and its credential live.
    pub registration_ttl_seconds: i64,
    /// How long an iProov token is treated as usable after issue.
    pub token_ttl_seconds: i64,
    /// A `validating` registration with no recorded outcome after this long may be taken over.
    pub validation_lease_seconds: i64,
    pub session_idle_seconds: i64,
    pub session_absolute_seconds: i64,
    /// Cookies with `Secure` and the `__Host-` prefix (off only on the local HTTP stack).
    pub secure_cookies: bool,
    pub secrets_ttl: Duration,
}

impl JourneySettings {
    /// Cookie attributes for credentials set by this deployment.
    pub fn cookies(&self) -> crate::api::CookiePolicy {
        crate::api::CookiePolicy {
            secure: self.secure_cookies,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            registration_max_attempts: parsed("REGISTRATION_MAX_ATTEMPTS", 5)?,
            registration_ttl_seconds: parsed("REGISTRATION_TTL_SECONDS", 24 * 3600)?,
            token_ttl_seconds: parsed("IPROOV_TOKEN_TTL_SECONDS", 600)?,
            validation_lease_seconds: parsed("VALIDATION_LEASE_SECONDS", 60)?,
            session_idle_seconds: parsed("LOGIN_SESSION_IDLE_SECONDS", 15 * 60)?,
            session_absolute_seconds: parsed("LOGIN_SESSION_MAX_SECONDS", 12 * 3600)?,
            secure_cookies: parsed("COOKIE_SECURE", !is_local())?,
            secrets_ttl: Duration::from_secs(parsed("SECRETS_CACHE_TTL_SECONDS", 300)?),
        })
    }
}
