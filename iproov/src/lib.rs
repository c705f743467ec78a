//! Client of iProov's REST API v2: the only code in the project that talks to iProov.
//!
//! It exists as one crate so that the rules iProov imposes live in one place:
//! * secrets go in request bodies (or where the contract demands otherwise), never in logs;
//! * validate consumes its token and is never re-sent once it may have reached iProov;
//! * token calls back off with full jitter on 429, 5xx and network failures, protecting the
//!   quota that all our users share;
//! * answers are read tolerantly, because iProov adds fields and switches some on per customer;
//! * iProov only ever sees a pseudonymous user id ([`IProovUserId`]) and an IPv4 address.
//!
//! Build one [`IProovClient`] per process from an [`IProovConfig`], a [`CredentialSource`], the
//! rustls configuration its connections use and a [`CallObserver`], and share it.
//!
//! It is a crate of its own, knowing neither AWS nor the backend it serves, so that it builds
//! and is tested against the iProov sandbox alone. What it needs from its owner is injected
//! rather than reached for: the TLS trust anchors (in a ready `rustls::ClientConfig`; the backend
//! compiles Mozilla's roots in), the credentials (the backend reads them from Secrets Manager)
//! and somewhere to report each call (the backend turns reports into CloudWatch metrics).

mod client;
mod config;
mod credentials;
mod error;
mod frame;
mod http;
mod oauth;
mod observer;
mod retry;
mod token;
mod user_id;
mod validate;
mod wire;

pub use client::IProovClient;
pub use config::{AssuranceType, IProovConfig, ScanPolicy};
pub use credentials::{CredentialSource, IProovCredentials, StaticCredentials};
pub use error::IProovError;
pub use frame::Frame;
pub use observer::{CallObserver, CallReport};
pub use retry::RetryPolicy;
pub use token::{ClaimToken, Fallback, Token};
pub use user_id::IProovUserId;
pub use validate::{ValidateOutcome, ValidateRequest, ipv4_for_iproov};
