//! The AWS side of the onboarding backend: the adapters of the core's ports (DynamoDB, S3, SQS,
//! Secrets Manager, KMS envelope encryption, and the iProov client as the verifier), the SDK
//! configuration built from Lambda's environment, the compiled-in TLS roots, the wiring each
//! function's `main.rs` calls once at start, metrics and analytics events (EMF log lines), and
//! the SQS batch runner of the two queue consumers.
//!
//! Rules live in the core (`onboarding-core`), answers in the HTTP layer (`api`); the functions
//! depend on all three, so each import says which layer it comes from.

pub mod adapters;
pub mod audit;
pub mod config;
pub mod edge;
pub mod env;
pub mod envelope;
pub mod events;
pub mod metrics;
pub mod oidc_config;
pub mod rate_limit;
pub mod sqs_batch;
pub mod tls;
pub mod wiring;
