//! Builds the adapters a function needs, once, in `main`. Each constructor reads only the
//! variables it uses, so a function fails at start if and only if its own configuration is wrong.

use std::sync::Arc;

use aws_types::SdkConfig;
use iproov_client::{CredentialSource, IProovClient, IProovConfig, IProovError};

use crate::adapters::images::S3Images;
use crate::adapters::iproov_verifier::IProovVerifier;
use crate::adapters::queue::SqsQueue;
use crate::adapters::registrations::DynamoRegistrations;
use crate::adapters::secrets::{AppKeys, CachedSecret, SecretsManagerCredentials};
use crate::adapters::sessions::DynamoSessions;
use crate::adapters::users::DynamoUsers;
use crate::config::{ConfigError, JourneySettings, optional, required};

/// One DynamoDB client per process, shared by every table adapter: each `Client::new` builds
/// its own configuration and connection pool, which a cold start should pay for once.
fn dynamo(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    static CLIENT: std::sync::OnceLock<aws_sdk_dynamodb::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| aws_sdk_dynamodb::Client::new(sdk))
        .clone()
}

/// One Secrets Manager client per process, shared by the app keys and the iProov credentials
/// (each `Client::new` costs about a millisecond of cold start: see docs/performance.md).
pub(crate) fn secrets_manager(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    static CLIENT: std::sync::OnceLock<aws_sdk_secretsmanager::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| aws_sdk_secretsmanager::Client::new(sdk))
        .clone()
}

/// One KMS client per process, shared by the field cipher and the OpenID Connect keys (the
/// account and oidc functions use both).
fn kms(sdk: &SdkConfig) -> aws_sdk_kms::Client {
    static CLIENT: std::sync::OnceLock<aws_sdk_kms::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| aws_sdk_kms::Client::new(sdk)).clone()
}

/// One SQS client per process, shared by every queue a function sends to and its retry
/// backoff: with the audit queue, most functions now talk to two queues (the scan validator,
/// the account, registration, admin and audit-writer functions), and each `Client::new` is
/// paid at cold start.
fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    static CLIENT: std::sync::OnceLock<aws_sdk_sqs::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| aws_sdk_sqs::Client::new(sdk)).clone()
}

pub fn registrations(sdk: &SdkConfig) -> Result<Arc<DynamoRegistrations>, ConfigError> {
    Ok(Arc::new(DynamoRegistrations::new(
        dynamo(sdk),
        required("REGISTRATIONS_TABLE")?,
    )))
}

pub fn users(sdk: &SdkConfig) -> Result<Arc<DynamoUsers>, ConfigError> {
    Ok(Arc::new(DynamoUsers::new(
        dynamo(sdk),
        required("USERS_TABLE")?,
    )))
}

/// Consent evidence kept after erasure (the erasure function's only writer).
pub fn consent_evidence(
    sdk: &SdkConfig,
) -> Result<Arc<crate::adapters::consent_evidence::DynamoConsentEvidence>, ConfigError> {
    Ok(Arc::new(
        crate::adapters::consent_evidence::DynamoConsentEvidence::new(
            dynamo(sdk),
            required("CONSENT_EVIDENCE_TABLE")?,
        ),
    ))
}

pub fn sessions(sdk: &SdkConfig) -> Result<Arc<DynamoSessions>, ConfigError> {
    Ok(Arc::new(DynamoSessions::new(
        dynamo(sdk),
        required("SESSIONS_TABLE")?,
    )))
}

/// A user's sessions and attempts for the operator API (the sessions table's `by_user_time`
/// index).
pub fn activity(
    sdk: &SdkConfig,
) -> Result<Arc<crate::adapters::activity::DynamoActivity>, ConfigError> {
    Ok(Arc::new(crate::adapters::activity::DynamoActivity::new(
        dynamo(sdk),
        required("SESSIONS_TABLE")?,
    )))
}

pub fn images(sdk: &SdkConfig) -> Result<Arc<S3Images>, ConfigError> {
    Ok(Arc::new(S3Images::new(
        crate::config::s3_client(sdk),
        required("IMAGES_BUCKET")?,
        optional("DATA_KEY_ID"),
    )))
}

pub fn scan_queue(sdk: &SdkConfig) -> Result<Arc<SqsQueue>, ConfigError> {
    Ok(Arc::new(SqsQueue::new(
        sqs(sdk),
        required("REGISTRATION_QUEUE_URL")?,
    )))
}

/// The scan validator's retry backoff on its own queue.
pub fn registration_backoff(sdk: &SdkConfig) -> Result<crate::sqs_batch::Backoff, ConfigError> {
    Ok(crate::sqs_batch::Backoff::new(
        sqs(sdk),
        required("REGISTRATION_QUEUE_URL")?,
    ))
}

pub fn erasure_queue(sdk: &SdkConfig) -> Result<Arc<SqsQueue>, ConfigError> {
    Ok(Arc::new(SqsQueue::new(
        sqs(sdk),
        required("ERASURE_QUEUE_URL")?,
    )))
}

pub fn app_keys(
    sdk: &SdkConfig,
    settings: &JourneySettings,
) -> Result<Arc<CachedSecret<AppKeys>>, ConfigError> {
    Ok(Arc::new(CachedSecret::new(
        secrets_manager(sdk),
        required("APP_KEYS_SECRET_ID")?,
        settings.secrets_ttl,
    )))
}

/// The iProov client, with credentials from Secrets Manager (fetched on first use), as the
/// core's verifier ports (`FaceTokens`, `EnrolmentVerifier`; see `adapters::iproov_verifier`).
pub fn iproov(
    sdk: &SdkConfig,
    settings: &JourneySettings,
) -> Result<Arc<IProovVerifier>, ConfigError> {
    let mut config = IProovConfig::new(
        required("IPROOV_BASE_URL")?,
        optional("IPROOV_RESOURCE").unwrap_or_else(|| "iproov-onboarding".to_owned()),
    );
    config.sdk_base_url = optional("IPROOV_SDK_BASE_URL");
    // The client's own defaults are the registration journey's: every token and verify-validate
    // names its journey's policy (adapters::iproov_verifier), and enrol-validate, which
    // validates a registration's token, sends this risk profile.
    let registration = &settings.policies.registration;
    config.assurance_type =
        crate::adapters::iproov_verifier::assurance_type(registration.assurance_type);
    config.risk_profile = registration.risk_profile.clone();
    let credentials = SecretsManagerCredentials::new(
        secrets_manager(sdk),
        required("IPROOV_SECRET_ID")?,
        settings.secrets_ttl,
    );
    iproov_client(config, Arc::new(credentials))
        .map(|client| Arc::new(IProovVerifier::new(Arc::new(client))))
        .map_err(|err| {
            // The message names the setting at fault (a URL field, a proxy variable), never a
            // value.
            tracing::error!(error = %err, "the iProov client could not be built");
            ConfigError::Invalid(
                "IPROOV_BASE_URL",
                "the iProov client could not be built (see the log line before)",
            )
        })
}

/// The iProov client as every function builds it, whatever its credentials: its connections
/// trust the roots compiled into this crate (`tls.rs`: no certificate file read at start, plus
/// `TLS_EXTRA_ROOTS_FILE`), and each call it makes becomes the `IProovCalls`, `IProovErrors` and
/// `IProovLatencyMs` metrics the alarms read (`metrics.rs`). The client crate knows neither;
/// this is where they are handed to it.
pub fn iproov_client(
    config: IProovConfig,
    credentials: Arc<dyn CredentialSource>,
) -> Result<IProovClient, IProovError> {
    IProovClient::new(
        config,
        credentials,
        crate::tls::client_config(),
        Arc::new(crate::metrics::global().clone()),
    )
}

pub fn rate_limiter(
    sdk: &SdkConfig,
) -> Result<Arc<crate::adapters::rate_limits::DynamoRateLimiter>, ConfigError> {
    Ok(Arc::new(
        crate::adapters::rate_limits::DynamoRateLimiter::new(
            dynamo(sdk),
            required("RATE_LIMITS_TABLE")?,
        ),
    ))
}

/// Envelope encryption of personal fields with a data key from the customer-managed KMS key.
pub fn field_cipher(sdk: &SdkConfig) -> Result<Arc<crate::envelope::FieldCipher>, ConfigError> {
    let kms = crate::envelope::Kms::new(kms(sdk), required("DATA_KEY_ID")?);
    Ok(Arc::new(crate::envelope::FieldCipher::new(Arc::new(kms))))
}

/// The OpenID Connect records (clients, requests, codes, grants, refresh tokens).
pub fn oidc_records(
    sdk: &SdkConfig,
) -> Result<Arc<crate::adapters::oidc_records::DynamoOidc>, ConfigError> {
    Ok(Arc::new(crate::adapters::oidc_records::DynamoOidc::new(
        dynamo(sdk),
        required("OIDC_TABLE")?,
    )))
}

/// The OpenID Connect signing keys in KMS (`OIDC_SIGNING_KEYS`, `OIDC_ACTIVE_SIGNING_KEY`).
pub fn oidc_keys(
    sdk: &SdkConfig,
) -> Result<Arc<crate::adapters::oidc_keys::KmsTokenKeys>, ConfigError> {
    let (keys, signer) = crate::adapters::oidc_keys::signing_keys_from_env()?;
    Ok(Arc::new(crate::adapters::oidc_keys::KmsTokenKeys::new(
        kms(sdk),
        keys,
        signer,
    )))
}

// ----- webhooks (issue 19) -------------------------------------------------------------------

/// The webhook signing secrets (`WEBHOOK_SECRET_ID`), cached like every secret.
pub fn webhook_keys(
    sdk: &SdkConfig,
) -> Result<Arc<CachedSecret<crate::adapters::webhooks::WebhookSecretJson>>, ConfigError> {
    let ttl = crate::env::parsed("SECRETS_CACHE_TTL_SECONDS", 300u64)?;
    Ok(Arc::new(CachedSecret::new(
        secrets_manager(sdk),
        required("WEBHOOK_SECRET_ID")?,
        std::time::Duration::from_secs(ttl),
    )))
}

/// The customer's endpoints (`WEBHOOK_ENDPOINTS`, empty: webhooks off). The address rules
/// apply unless `WEBHOOK_ALLOW_PRIVATE_TARGETS=1`, which only the local stack sets and which is
/// refused anywhere `APP_ENV` is not `local`.
pub fn webhook_endpoints() -> Result<Arc<crate::adapters::webhooks::HttpEndpoints>, ConfigError> {
    use crate::adapters::webhooks::{HttpEndpoints, Targets, parse_endpoints};
    let targets = match optional("WEBHOOK_ALLOW_PRIVATE_TARGETS").as_deref() {
        None | Some("0") => Targets::PublicOnly,
        Some("1") if optional("APP_ENV").as_deref() == Some("local") => Targets::AllowPrivate,
        Some(_) => {
            return Err(ConfigError::Invalid(
                "WEBHOOK_ALLOW_PRIVATE_TARGETS",
                "only the local stack (APP_ENV=local) may allow private webhook targets",
            ));
        }
    };
    let endpoints = parse_endpoints(&optional("WEBHOOK_ENDPOINTS").unwrap_or_default(), targets)?;
    Ok(Arc::new(HttpEndpoints::new(
        endpoints,
        targets,
        crate::tls::client_config(),
    )?))
}

/// The dispatcher's retry backoff on the webhook queue: `WEBHOOK_RETRY_BASE_SECONDS` doubling
/// up to `WEBHOOK_RETRY_CAP_SECONDS` (template parameters).
pub fn webhook_backoff(sdk: &SdkConfig) -> Result<crate::sqs_batch::Backoff, ConfigError> {
    Ok(crate::sqs_batch::Backoff {
        base_seconds: crate::env::parsed("WEBHOOK_RETRY_BASE_SECONDS", 60)?,
        cap_seconds: crate::env::parsed("WEBHOOK_RETRY_CAP_SECONDS", 3600)?,
        ..crate::sqs_batch::Backoff::new(sqs(sdk), required("WEBHOOK_QUEUE_URL")?)
    })
}

/// The audit trail every function hands its audited events to (`AUDIT_QUEUE_URL`), with the
/// hand-over rule and the lost-event metric (`audit.rs`).
pub fn audit_trail(sdk: &SdkConfig) -> Result<Arc<crate::audit::CountedTrail>, ConfigError> {
    Ok(Arc::new(crate::audit::CountedTrail::new(SqsQueue::new(
        sqs(sdk),
        required("AUDIT_QUEUE_URL")?,
    ))))
}

/// The webhooks due, for the dispatcher (`WEBHOOK_QUEUE_URL`).
pub fn webhook_queue(sdk: &SdkConfig) -> Result<Arc<SqsQueue>, ConfigError> {
    Ok(Arc::new(SqsQueue::new(
        sqs(sdk),
        required("WEBHOOK_QUEUE_URL")?,
    )))
}

/// The audit chain (`AUDIT_TABLE`), whose records are kept `AUDIT_RETENTION_DAYS` days.
pub fn audit_chain(
    sdk: &SdkConfig,
) -> Result<Arc<crate::adapters::audit_chain::DynamoChain>, ConfigError> {
    let days: i64 = required("AUDIT_RETENTION_DAYS")?
        .parse()
        .ok()
        .filter(|d| (1..=36_500).contains(d))
        .ok_or(ConfigError::Invalid(
            "AUDIT_RETENTION_DAYS",
            "must be a whole number of days between 1 and 36500",
        ))?;
    Ok(Arc::new(crate::adapters::audit_chain::DynamoChain::new(
        dynamo(sdk),
        required("AUDIT_TABLE")?,
        days * 86_400,
    )))
}
