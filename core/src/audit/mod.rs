//! The audit trail: what happened to whom, by whom, for an auditor (ISO/IEC 27001 A.8.15
//! "logging"). Security events only, pseudonymous only: a user appears as our random user id,
//! never a username, display name, token or image; an operator appears as the IAM principal
//! API Gateway authenticated.
//!
//! - `event`: the closed vocabulary of audited events and the record every function emits;
//! - `ports`: where the functions hand an event over ([`AuditTrail`]) and where webhooks go
//!   ([`WebhookQueue`]);
//! - `webhooks`: which audited events the customer's backend is told about, and the message
//!   that carries one;
//! - `signature`: how a webhook is signed and verified (Standard Webhooks);
//! - `delivery`: one due webhook, signed and delivered to every endpoint.
//! - `hand_over`: what a function does when the trail cannot take an event;
//! - `chain`: the trail as a hash chain (encoding, link, verify), and `append`: how the writer
//!   extends it linearly under concurrency and duplicate deliveries.
//!
//! Which outcome of a use case is audited as what sits next to that outcome (`audit_event`
//! methods in `use_cases` and `oidc`). docs/audit.md has the threat model.

pub mod append;
pub mod chain;
pub mod delivery;
pub mod event;
pub mod hand_over;
pub mod ports;
pub mod signature;
pub mod webhooks;

pub use event::{Actor, AuditEvent, AuditKind, RevocationCause};
pub use ports::{Appended, AuditTrail, ChainEntry, ChainStore, WebhookQueue};
pub use webhooks::{WebhookDue, WebhookType};
