//! Library shared by every Lambda function of the onboarding backend: the HTTP layer, domain
//! rules, ports (traits) and their AWS and iProov adapters.

pub mod adapters;
mod api_errors;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod envelope;
pub mod events;
pub mod iproov;
pub mod latency_mirror;
pub mod metrics;
pub mod ports;
pub mod rate_limit;
pub mod registration_access;
pub mod tls;
pub mod wiring;

/// The HTTP layer lives in its own crate (so `health` builds without the AWS SDKs); the other
/// functions keep reaching it, and its logger, through `shared`.
pub use api::{self, telemetry};
