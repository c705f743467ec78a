//! Configuration, read once in `main` from the environment the template sets. A missing or
//! malformed value stops the function at start with a message naming the variable, instead of
//! failing on some later request.

use onboarding_core::domain::{AssurancePolicies, AssurancePolicy, AssuranceType};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, TimeoutConfig};

pub use crate::env::{ConfigError, optional, parsed, required};

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
///
/// What the default chains would also have read, and this does not: container credentials
/// (`AWS_CONTAINER_CREDENTIALS_*`, used by Lambda SnapStart and ECS — run there, this needs a
/// container provider), profiles, per-service endpoints (`AWS_ENDPOINT_URL_<SERVICE>`,
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`,
/// `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE`. The template sets none of them.
pub fn aws() -> SdkConfig {
    aws_from(&optional)
}

/// [`aws`] with the environment passed in, so tests need not change the process's.
fn aws_from(env: &dyn Fn(&'static str) -> Option<String>) -> SdkConfig {
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
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
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

/// The execution role's credentials, which Lambda puts in the environment. Read when the SDK
/// asks (its identity cache keeps them for a while), so a missing variable fails the first AWS
/// call with a credentials error rather than the start.
#[derive(Debug)]
struct EnvironmentCredentials;

impl EnvironmentCredentials {
    fn read(env: &dyn Fn(&'static str) -> Option<String>) -> provider::Result {
        let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(provider::error::CredentialsError::not_loaded(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set",
            ));
        };
        Ok(Credentials::new(
            key,
            secret,
            env("AWS_SESSION_TOKEN"),
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
        provider::future::ProvideCredentials::ready(Self::read(&optional))
    }
}

/// An S3 client; path-style addressing when the configuration carries an endpoint override
/// (moto), as read once by [`aws`].
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk);
    if sdk.endpoint_url().is_some() {
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
    /// `ALLOWED_ORIGINS`: the web front ends that may make cookie-authenticated changes.
    pub allowed_origins: String,
    /// How each journey's scans are judged (`IPROOV_ASSURANCE_TYPE_*`, `IPROOV_RISK_PROFILE_*`).
    pub policies: AssurancePolicies,
    /// How long a passed step-up elevates a session (`STEP_UP_WINDOW_MINUTES`).
    pub step_up_window_seconds: i64,
}

impl JourneySettings {
    /// Cookie attributes for credentials set by this deployment.
    pub fn cookies(&self) -> api::CookiePolicy {
        api::CookiePolicy {
            secure: self.secure_cookies,
        }
    }

    /// The origin check of cookie-authenticated state-changing requests.
    pub fn origins(&self) -> api::OriginPolicy {
        api::OriginPolicy::from_list(&self.allowed_origins)
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
            allowed_origins: optional("ALLOWED_ORIGINS").unwrap_or_default(),
            policies: policies_from(&|name| optional(name))?,
            step_up_window_seconds: step_up_window_from(optional("STEP_UP_WINDOW_MINUTES"))?,
        })
    }
}

/// Each journey's assurance policy from the environment the template sets: per journey
/// (`IPROOV_ASSURANCE_TYPE_REGISTRATION`, `_LOGIN`, `_STEP_UP`, and the same for
/// `IPROOV_RISK_PROFILE_`), falling back to the single `IPROOV_ASSURANCE_TYPE` and
/// `IPROOV_RISK_PROFILE` of earlier versions, then to Genuine Presence without a profile. A
/// wrong value stops the function at start with the variable's name.
fn policies_from(
    env: &dyn Fn(&'static str) -> Option<String>,
) -> Result<AssurancePolicies, ConfigError> {
    let policy =
        |assurance: &'static str, profile: &'static str| -> Result<AssurancePolicy, ConfigError> {
            let (name, value) = match env(assurance) {
                Some(v) => (assurance, Some(v)),
                None => ("IPROOV_ASSURANCE_TYPE", env("IPROOV_ASSURANCE_TYPE")),
            };
            let assurance_type = match value {
                None => AssuranceType::default(),
                Some(v) => v.parse().map_err(|why| ConfigError::Invalid(name, why))?,
            };
            let (name, value) = match env(profile) {
                Some(v) => (profile, Some(v)),
                None => ("IPROOV_RISK_PROFILE", env("IPROOV_RISK_PROFILE")),
            };
            let risk_profile = AssurancePolicy::risk_profile(value.as_deref())
                .map_err(|why| ConfigError::Invalid(name, why))?;
            Ok(AssurancePolicy {
                assurance_type,
                risk_profile,
            })
        };
    Ok(AssurancePolicies {
        registration: policy(
            "IPROOV_ASSURANCE_TYPE_REGISTRATION",
            "IPROOV_RISK_PROFILE_REGISTRATION",
        )?,
        login: policy("IPROOV_ASSURANCE_TYPE_LOGIN", "IPROOV_RISK_PROFILE_LOGIN")?,
        step_up: policy(
            "IPROOV_ASSURANCE_TYPE_STEP_UP",
            "IPROOV_RISK_PROFILE_STEP_UP",
        )?,
    })
}

/// `STEP_UP_WINDOW_MINUTES` (1 to 60, default 5) in seconds: long enough to confirm an action
/// after the scan, short enough that an unattended elevated session is soon ordinary again.
fn step_up_window_from(value: Option<String>) -> Result<i64, ConfigError> {
    const NAME: &str = "STEP_UP_WINDOW_MINUTES";
    let minutes = match value {
        None => 5,
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| ConfigError::Invalid(NAME, "not a number of minutes"))?,
    };
    if !(1..=60).contains(&minutes) {
        return Err(ConfigError::Invalid(NAME, "must be 1 to 60 minutes"));
    }
    Ok(minutes * 60)
}

#[cfg(test)]
mod journey_tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> impl Fn(&'static str) -> Option<String> {
        let map: HashMap<&'static str, &'static str> = pairs.iter().copied().collect();
        move |name| map.get(name).map(|v| (*v).to_owned())
    }

    #[test]
    fn each_journey_has_its_own_policy_with_the_single_setting_as_fallback() {
        // given a per-journey login type, and the older single settings
        let vars = env(&[
            ("IPROOV_ASSURANCE_TYPE_LOGIN", "liveness"),
            ("IPROOV_ASSURANCE_TYPE", "genuine_presence"),
            ("IPROOV_RISK_PROFILE", "bank"),
            ("IPROOV_RISK_PROFILE_STEP_UP", "bank-high"),
        ]);
        // when the policies are read
        let policies = policies_from(&vars).unwrap();
        // then the per-journey values win, the single ones fill the rest
        assert_eq!(policies.login.assurance_type, AssuranceType::Liveness);
        assert_eq!(
            policies.registration.assurance_type,
            AssuranceType::GenuinePresence
        );
        assert_eq!(policies.registration.risk_profile.as_deref(), Some("bank"));
        assert_eq!(policies.step_up.risk_profile.as_deref(), Some("bank-high"));
    }

    #[test]
    fn a_wrong_value_names_its_variable() {
        // given a typo in one journey's type, then start-up fails naming that variable
        let err = policies_from(&env(&[("IPROOV_ASSURANCE_TYPE_STEP_UP", "gpa")])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid("IPROOV_ASSURANCE_TYPE_STEP_UP", _)
        ));
        let err = policies_from(&env(&[("IPROOV_RISK_PROFILE_LOGIN", "a b")])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid("IPROOV_RISK_PROFILE_LOGIN", _)
        ));
    }

    #[test]
    fn the_step_up_window_is_minutes_within_bounds() {
        // given no value, a valid one, and out-of-range ones
        assert_eq!(step_up_window_from(None).unwrap(), 300);
        assert_eq!(step_up_window_from(Some("10".into())).unwrap(), 600);
        assert!(step_up_window_from(Some("0".into())).is_err());
        assert!(step_up_window_from(Some("61".into())).is_err());
        assert!(step_up_window_from(Some("five".into())).is_err());
    }
}

#[cfg(test)]
mod aws_tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&'static str, &str)]) -> impl Fn(&'static str) -> Option<String> {
        let map: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn region_and_endpoint_come_from_the_environment() {
        // given Lambda's region and the local stack's endpoint override
        let vars = env(&[
            ("AWS_REGION", "eu-west-2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4567"),
        ]);
        // when the configuration is built
        let sdk = aws_from(&vars);
        // then both are used
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-2"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:4567"));
    }

    #[test]
    fn aws_default_region_is_the_fallback_and_no_override_means_aws_endpoints() {
        // given only the older region variable
        let sdk = aws_from(&env(&[("AWS_DEFAULT_REGION", "us-east-1")]));
        // then it is the region, and the SDK resolves AWS's own endpoints
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(sdk.endpoint_url(), None);
    }

    #[test]
    fn the_role_credentials_include_the_session_token() {
        // given the variables Lambda sets for the execution role
        let vars = env(&[
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        // when they are read
        let credentials = EnvironmentCredentials::read(&vars).unwrap();
        // then all three are carried
        assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
    }

    #[test]
    fn missing_credentials_are_a_credentials_error_not_a_panic() {
        // given no secret key
        let vars = env(&[("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")]);
        // then reading fails with "not loaded"
        assert!(matches!(
            EnvironmentCredentials::read(&vars),
            Err(provider::error::CredentialsError::CredentialsNotLoaded(_))
        ));
    }
}
