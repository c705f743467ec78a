//! The HTTP layer shared by the API functions: error shape, strict body reading, credentials,
//! request metadata, and the runner that serves an axum router on Lambda.

pub mod body;
pub mod credential;
pub mod error;
pub mod meta;
pub mod request_id;
pub mod server;
pub mod timestamp;

pub use body::{FieldReader, JsonObject};
pub use credential::{CookiePolicy, CredentialKind};
pub use error::{ApiError, FieldErrors};
pub use meta::RequestMeta;
pub use timestamp::rfc3339;
