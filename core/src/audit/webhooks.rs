//! Which audited events the customer's backend hears about, and the message that carries one
//! to the webhook dispatcher. Ids only: the pseudonymous user id, the event's own id (the
//! receiver's idempotency key) and a reason code; never a name, token or image.

use serde::{Deserialize, Serialize};

use super::event::{AuditEvent, AuditKind};

/// The event types a webhook can carry, as the receiver sees them (docs/webhooks.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookType {
    #[serde(rename = "registration.completed")]
    RegistrationCompleted,
    #[serde(rename = "registration.failed")]
    RegistrationFailed,
    #[serde(rename = "login.succeeded")]
    LoginSucceeded,
    #[serde(rename = "user.erased")]
    UserErased,
}

impl WebhookType {
    /// The webhook an audited event of `kind` triggers, if any.
    pub fn for_kind(kind: AuditKind) -> Option<Self> {
        match kind {
            AuditKind::RegistrationCompleted => Some(Self::RegistrationCompleted),
            AuditKind::RegistrationFailed => Some(Self::RegistrationFailed),
            AuditKind::LoginSucceeded => Some(Self::LoginSucceeded),
            AuditKind::ErasureCompleted => Some(Self::UserErased),
            _ => None,
        }
    }
}

/// One webhook to deliver: the message on the webhook queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDue {
    /// The audited event's id: the same on every delivery attempt (`webhook-id`).
    pub id: String,
    #[serde(rename = "type")]
    pub kind: WebhookType,
    /// When the event happened, Unix seconds.
    pub occurred_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl WebhookDue {
    /// The webhook `event` triggers, if its kind is one customers hear about.
    pub fn for_event(event: &AuditEvent) -> Option<Self> {
        Some(Self {
            id: event.id.clone(),
            kind: WebhookType::for_kind(event.kind)?,
            occurred_at: event.at,
            user_id: event.user_id.clone(),
            registration_id: event.registration_id.clone(),
            reason: event.reason.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Actor;

    #[test]
    fn only_the_four_customer_events_become_webhooks() {
        let with = |kind| AuditEvent::new(kind, Actor::System, 1).unwrap();
        assert!(WebhookDue::for_event(&with(AuditKind::RegistrationCompleted)).is_some());
        assert!(WebhookDue::for_event(&with(AuditKind::ErasureCompleted)).is_some());
        assert!(WebhookDue::for_event(&with(AuditKind::LoginFailed)).is_none());
        assert!(WebhookDue::for_event(&with(AuditKind::OperatorAccountLocked)).is_none());
    }

    #[test]
    fn an_erasure_is_announced_as_user_erased() {
        let event = AuditEvent::new(AuditKind::ErasureCompleted, Actor::System, 7)
            .unwrap()
            .user("00112233445566778899aabbccddeeff");
        let due = WebhookDue::for_event(&event).unwrap();
        let json = serde_json::to_value(&due).unwrap();
        assert_eq!(json["type"], "user.erased");
        assert_eq!(json["id"], event.id);
    }
}
