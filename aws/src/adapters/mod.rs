//! Implementations of the core's ports: AWS services, the iProov client as the verifier, and
//! the customer's webhook endpoints.

pub mod activity;
pub mod audit_chain;
pub mod consent_evidence;
pub mod dynamo;
pub mod images;
pub mod iproov_verifier;
pub mod oidc_keys;
pub mod oidc_records;
pub mod queue;
pub mod rate_limits;
pub mod registrations;
pub mod secrets;
pub mod sessions;
pub mod users;
pub mod webhooks;
