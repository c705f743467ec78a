//! Client of iProov's REST API v2: the only code in the project that talks to iProov.
//!
//! It exists as one module so that the rules iProov imposes live in one place:
//! * secrets go in request bodies (or where the contract demands otherwise), never in logs;
//! * validate consumes its token and is never re-sent once it may have reached iProov;
//! * token calls back off with full jitter on 429, 5xx and network failures, protecting the
//!   quota that all our users share;
//! * answers are read tolerantly, because iProov adds fields and switches some on per customer;
//! * iProov only ever sees a pseudonymous user id ([`IProovUserId`]) and an IPv4 address.
//!
//! Build one [`IProovClient`] per process from an [`IProovConfig`] and a [`CredentialSource`],
//! and share it.

mod client;
mod config;
mod credentials;
mod error;
mod frame;
mod http;
mod oauth;
mod retry;
mod token;
mod user_id;
mod validate;
mod wire;

pub use client::IProovClient;
pub use config::{AssuranceType, IProovConfig};
pub use credentials::{CredentialSource, IProovCredentials, StaticCredentials};
pub use error::IProovError;
pub use frame::Frame;
pub use retry::RetryPolicy;
pub use token::{ClaimToken, Fallback, Token};
pub use user_id::IProovUserId;
pub use validate::{ValidateOutcome, ValidateRequest, ipv4_for_iproov};
