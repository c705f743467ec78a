//! The HTTP layer shared by the API functions: error shape, strict body reading, credentials,
//! request metadata, structured logs, and the runner that serves an axum router on Lambda.
//!
//! It is a crate of its own, free of AWS SDK and iProov dependencies, so that a function which
//! needs only HTTP (`health`) builds without them: `sam build HealthFunction` compiles in a few
//! minutes and CI can afford to run it. The other functions reach it as `aws_adapters::api`. It
//! answers the core's failures (`core_errors.rs`), never an adapter's own error type.

pub mod body;
mod core_errors;
pub mod credential;
pub mod error;
mod localise;
pub mod meta;
pub mod oauth;
pub mod origin;
pub mod registration_access;
pub mod request_id;
pub mod server;
pub mod session;
pub mod telemetry;
pub mod timestamp;

pub use body::{FieldReader, JsonObject};
pub use credential::{CookiePolicy, CredentialKind};
pub use error::{ApiError, FieldErrors};
pub use meta::RequestMeta;
pub use origin::OriginPolicy;
pub use timestamp::rfc3339;
