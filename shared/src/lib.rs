//! Library shared by every Lambda function of the onboarding backend: the HTTP layer, domain
//! rules, ports (traits) and their AWS and iProov adapters.

pub mod api;
pub mod iproov;
pub mod telemetry;
