//! Delivering one due webhook to the customer's endpoints: the body a receiver gets, the
//! signature headers, and what happens when an endpoint fails.
//!
//! One queue message is delivered to every endpoint, concurrently; it is done only when every
//! endpoint answered 2xx. When one fails, the whole message comes back (with backoff) and is
//! delivered again to all of them. Endpoints that already had it get it twice, with the same
//! `webhook-id`: at-least-once delivery means receivers deduplicate on that id anyway (SQS
//! itself may deliver a message twice), endpoints are few (a customer's own backends), and it
//! keeps one message, one dead-letter entry and one redrive per event, with no permission to
//! send to the queue (a fan-out would need one). docs/webhooks.md says the same to receivers.

use async_trait::async_trait;
use futures::future::join_all;
use serde::Serialize;

use super::signature::{SigningSecrets, signature_header};
use super::webhooks::{WebhookDue, WebhookType};
use crate::egress::NonPublic;
use crate::ports::KeysUnavailable;

/// The signing secrets (Secrets Manager in AWS: the current one and, during a rotation, the
/// previous one).
#[async_trait]
pub trait WebhookKeys: Send + Sync {
    async fn signing_secrets(&self) -> Result<SigningSecrets, KeysUnavailable>;
}

/// One request as it goes to every endpoint: the headers' values and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    /// `webhook-id`: the audited event's id, the receiver's idempotency key.
    pub id: String,
    /// `webhook-timestamp`: Unix seconds of this attempt.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
    pub body: String,
}

/// Why one endpoint did not take a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndpointFailure {
    /// Its name resolved to an address webhooks may not go to (crate::egress).
    #[error("address refused ({0})")]
    Refused(NonPublic),
    /// No connection (DNS, refused, TLS).
    #[error("unreachable")]
    Unreachable,
    /// No answer within the delivery timeout.
    #[error("timed out")]
    Timeout,
    /// An answer other than 2xx (redirects are not followed).
    #[error("answered {0}")]
    Status(u16),
}

/// The configured endpoints, by position (their URLs stay in the adapter: a URL may hold a
/// token of the customer's, so the core and the logs name an endpoint by its index).
#[async_trait]
pub trait WebhookEndpoints: Send + Sync {
    fn count(&self) -> usize;
    async fn deliver(
        &self,
        endpoint: usize,
        webhook: &SignedWebhook,
    ) -> Result<(), EndpointFailure>;
}

/// What became of one due webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// No endpoint is configured: webhooks are off, the message is dropped.
    Off,
    /// Every endpoint answered 2xx.
    Delivered { endpoints: usize },
    /// Some endpoints failed (by index); the message must come back.
    Failed {
        delivered: usize,
        failed: Vec<(usize, EndpointFailure)>,
    },
    /// The signing secrets could not be read; the message must come back.
    KeysUnavailable,
    /// The message cannot become a webhook (an id unfit for a header, a time out of range):
    /// it is left for the dead-letter queue and a person.
    Malformed(&'static str),
}

impl Dispatch {
    /// Whether the message should come back for another attempt.
    pub fn retry(&self) -> bool {
        !matches!(self, Self::Off | Self::Delivered { .. })
    }
}

/// The body receivers get. Ids and a reason code only: the pseudonymous user id, never a name.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: WebhookType,
    /// When the event happened (RFC 3339, UTC): the same on every attempt, so the body and the
    /// receiver's idempotency record agree.
    timestamp: String,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// An id fit for a header and a log line: what the audit trail generates (hex), with room for
/// other generators' `_` and `-`.
fn well_formed_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The JSON body of `due`, `Err` with a reason when it cannot be one.
pub fn body(due: &WebhookDue) -> Result<String, &'static str> {
    let at = time::OffsetDateTime::from_unix_timestamp(due.occurred_at)
        .map_err(|_| "occurred_at out of range")?;
    let timestamp = at
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| "occurred_at out of range")?;
    let ids_ok = [&due.user_id, &due.registration_id]
        .into_iter()
        .flatten()
        .all(|id| well_formed_id(id));
    if !ids_ok {
        return Err("malformed id in data");
    }
    let body = Body {
        kind: due.kind,
        timestamp,
        data: Data {
            user_id: due.user_id.as_deref(),
            registration_id: due.registration_id.as_deref(),
            // Only codes of the core's reason table reach a receiver; anything else is `other`.
            reason: due
                .reason
                .as_deref()
                .map(|code| crate::domain::reasons::Reason::from_code(code).as_str()),
        },
    };
    serde_json::to_string(&body).map_err(|_| "body could not be serialised")
}

/// The delivery of one due webhook at `now` (Unix seconds, this attempt's timestamp).
pub struct DeliverWebhook<'a> {
    pub keys: &'a dyn WebhookKeys,
    pub endpoints: &'a dyn WebhookEndpoints,
}

impl DeliverWebhook<'_> {
    pub async fn run(&self, due: &WebhookDue, now: i64) -> Dispatch {
        let count = self.endpoints.count();
        if count == 0 {
            return Dispatch::Off;
        }
        if !well_formed_id(&due.id) {
            return Dispatch::Malformed("malformed webhook id");
        }
        let body = match body(due) {
            Ok(body) => body,
            Err(why) => return Dispatch::Malformed(why),
        };
        let Ok(secrets) = self.keys.signing_secrets().await else {
            return Dispatch::KeysUnavailable;
        };
        let webhook = SignedWebhook {
            id: due.id.clone(),
            timestamp: now,
            signature: signature_header(&secrets, &due.id, now, &body),
            body,
        };
        let webhook = &webhook;
        let results = join_all((0..count).map(|endpoint| async move {
            (endpoint, self.endpoints.deliver(endpoint, webhook).await)
        }))
        .await;
        let failed: Vec<_> = results
            .into_iter()
            .filter_map(|(endpoint, result)| result.err().map(|why| (endpoint, why)))
            .collect();
        if failed.is_empty() {
            Dispatch::Delivered { endpoints: count }
        } else {
            Dispatch::Failed {
                delivered: count - failed.len(),
                failed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::audit::signature::{SigningSecret, verify};

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OLD_SECRET: &str = "whsec_dGhlIG5ldyBrZXkgb2YgdGhlIHJvdGF0aW9u";
    const NOW: i64 = 1_700_000_100;

    struct Keys(Option<SigningSecrets>);

    #[async_trait]
    impl WebhookKeys for Keys {
        async fn signing_secrets(&self) -> Result<SigningSecrets, KeysUnavailable> {
            self.0.clone().ok_or_else(|| KeysUnavailable("test".into()))
        }
    }

    fn keys(previous: Option<&str>) -> Keys {
        Keys(Some(SigningSecrets {
            current: SigningSecret::parse(SECRET).unwrap(),
            previous: previous.map(|p| SigningSecret::parse(p).unwrap()),
        }))
    }

    /// Endpoints that answer as scripted and record what they got.
    struct Endpoints {
        answers: Vec<Result<(), EndpointFailure>>,
        got: Mutex<Vec<(usize, SignedWebhook)>>,
    }

    impl Endpoints {
        fn answering(answers: Vec<Result<(), EndpointFailure>>) -> Self {
            Self {
                answers,
                got: Mutex::new(Vec::new()),
            }
        }
        fn got(&self) -> Vec<(usize, SignedWebhook)> {
            self.got.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl WebhookEndpoints for Endpoints {
        fn count(&self) -> usize {
            self.answers.len()
        }
        async fn deliver(
            &self,
            endpoint: usize,
            webhook: &SignedWebhook,
        ) -> Result<(), EndpointFailure> {
            self.got.lock().unwrap().push((endpoint, webhook.clone()));
            self.answers[endpoint]
        }
    }

    /// What a receiver holding `secret` concludes of `webhook`, signed and checked at `NOW`.
    fn verified_with(
        secret: &str,
        webhook: &SignedWebhook,
    ) -> Result<(), crate::audit::signature::Refusal> {
        let key = SigningSecret::parse(secret).unwrap();
        let at = NOW.to_string();
        verify(
            &key,
            &webhook.id,
            &at,
            &webhook.signature,
            &webhook.body,
            NOW,
        )
    }

    fn due() -> WebhookDue {
        WebhookDue {
            id: "0123456789abcdef0123456789abcdef".into(),
            kind: WebhookType::RegistrationFailed,
            occurred_at: 1_700_000_000,
            user_id: None,
            registration_id: Some("reg-42".into()),
            reason: Some("too_dark".into()),
        }
    }

    #[tokio::test]
    async fn every_endpoint_gets_the_same_signed_request() {
        // given two endpoints that answer 2xx
        let endpoints = Endpoints::answering(vec![Ok(()), Ok(())]);
        let keys = keys(None);
        let use_case = DeliverWebhook {
            keys: &keys,
            endpoints: &endpoints,
        };
        // when a due webhook is delivered
        let outcome = use_case.run(&due(), NOW).await;
        // then both got one identical request whose signature verifies, and it is done
        assert_eq!(outcome, Dispatch::Delivered { endpoints: 2 });
        assert!(!outcome.retry());
        let got = endpoints.got();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, got[1].1);
        let webhook = &got[0].1;
        assert_eq!(webhook.id, due().id);
        assert_eq!(webhook.timestamp, NOW);
        assert_eq!(verified_with(SECRET, webhook), Ok(()));
    }

    #[test]
    fn the_body_carries_type_time_and_ids_only() {
        let body: serde_json::Value = serde_json::from_str(&body(&due()).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "registration.failed",
                "timestamp": "2023-11-14T22:13:20Z",
                "data": {"registration_id": "reg-42", "reason": "too_dark"}
            })
        );
    }

    #[test]
    fn a_reason_outside_the_table_reaches_receivers_as_other() {
        let mut free_text = due();
        free_text.reason = Some("Alice Smith".into());
        let body: serde_json::Value = serde_json::from_str(&body(&free_text).unwrap()).unwrap();
        assert_eq!(body["data"]["reason"], "other");
    }

    #[tokio::test]
    async fn one_failing_endpoint_makes_the_message_come_back_for_all() {
        // given one endpoint that answers 2xx and one that answers 500
        let endpoints = Endpoints::answering(vec![Ok(()), Err(EndpointFailure::Status(500))]);
        let keys = keys(None);
        let use_case = DeliverWebhook {
            keys: &keys,
            endpoints: &endpoints,
        };
        // when a due webhook is delivered
        let outcome = use_case.run(&due(), NOW).await;
        // then the failure is named by index and the message must come back
        assert_eq!(
            outcome,
            Dispatch::Failed {
                delivered: 1,
                failed: vec![(1, EndpointFailure::Status(500))]
            }
        );
        assert!(outcome.retry());
    }

    #[tokio::test]
    async fn during_a_rotation_the_request_verifies_with_either_secret() {
        let endpoints = Endpoints::answering(vec![Ok(())]);
        let keys = keys(Some(OLD_SECRET));
        DeliverWebhook {
            keys: &keys,
            endpoints: &endpoints,
        }
        .run(&due(), NOW)
        .await;
        let webhook = endpoints.got()[0].1.clone();
        for secret in [SECRET, OLD_SECRET] {
            assert_eq!(verified_with(secret, &webhook), Ok(()), "{secret}");
        }
    }

    #[tokio::test]
    async fn without_endpoints_webhooks_are_off_and_nothing_is_read() {
        let endpoints = Endpoints::answering(vec![]);
        let keys = Keys(None);
        let outcome = DeliverWebhook {
            keys: &keys,
            endpoints: &endpoints,
        }
        .run(&due(), NOW)
        .await;
        assert_eq!(outcome, Dispatch::Off);
        assert!(!outcome.retry());
    }

    #[tokio::test]
    async fn unreadable_secrets_make_the_message_come_back_unsent() {
        let endpoints = Endpoints::answering(vec![Ok(())]);
        let keys = Keys(None);
        let outcome = DeliverWebhook {
            keys: &keys,
            endpoints: &endpoints,
        }
        .run(&due(), NOW)
        .await;
        assert_eq!(outcome, Dispatch::KeysUnavailable);
        assert!(outcome.retry());
        assert!(endpoints.got().is_empty());
    }

    #[tokio::test]
    async fn a_message_that_cannot_become_a_webhook_is_left_for_a_person() {
        let endpoints = Endpoints::answering(vec![Ok(())]);
        let keys = keys(None);
        let use_case = DeliverWebhook {
            keys: &keys,
            endpoints: &endpoints,
        };
        let mut header_breaking = due();
        header_breaking.id = "id\r\nx-injected: 1".into();
        let mut out_of_range = due();
        out_of_range.occurred_at = i64::MAX;
        for bad in [header_breaking, out_of_range] {
            let outcome = use_case.run(&bad, NOW).await;
            assert!(matches!(outcome, Dispatch::Malformed(_)), "{outcome:?}");
            assert!(outcome.retry());
        }
        assert!(endpoints.got().is_empty());
    }
}
