//! Library shared by every Lambda function of the onboarding backend: the AWS and iProov
//! adapters of the core's ports, configuration and wiring. The domain rules and ports live in
//! the `onboarding-core` crate and the HTTP layer in `api`; both are re-exported here so that
//! functions reach everything through one dependency.

pub mod adapters;
pub mod config;
pub mod env;
pub mod envelope;
pub mod events;
pub mod metrics;
pub mod rate_limit;
pub mod sqs_batch;
pub mod tls;
pub mod wiring;

/// The iProov client is a crate of its own (it builds and is tested without AWS); functions
/// keep reaching it as `shared::iproov`, and `wiring` builds it with this crate's TLS roots
/// and metrics.
pub use iproov_client as iproov;

pub use api::registration_access;
/// The HTTP layer lives in its own crate (so `health` builds without the AWS SDKs); the other
/// functions keep reaching it, and its logger, through `shared`.
pub use api::{self, telemetry};
pub use onboarding_core::{crypto, domain, latency_mirror, ports, use_cases};
