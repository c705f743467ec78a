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
//!
//! The trail itself (a hash chain, appended by one writer) is docs/audit.md's subject.

pub mod delivery;
pub mod event;
pub mod ports;
pub mod signature;
pub mod webhooks;

pub use event::{Actor, AuditEvent, AuditKind};
pub use ports::{AuditTrail, WebhookQueue};
pub use webhooks::{WebhookDue, WebhookType};
