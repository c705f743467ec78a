//! Library shared by every Lambda function of the onboarding backend: the HTTP layer, domain
//! rules, ports (traits) and their AWS and iProov adapters.

pub mod adapters;
pub mod api;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod envelope;
pub mod events;
pub mod iproov;
pub mod metrics;
pub mod ports;
pub mod rate_limit;
pub mod registration_access;
pub mod telemetry;
pub mod tls;
pub mod wiring;
