//! One due webhook: the core's delivery use case signs it and calls every endpoint
//! (core/src/audit/delivery.rs); this handler names the webhook in the logs, counts the
//! outcome and turns it into the message's disposition.

use std::sync::Arc;

use aws_adapters::adapters::secrets::CachedSecret;
use aws_adapters::adapters::webhooks::{HttpEndpoints, WebhookSecretJson};
use aws_adapters::sqs_batch::{Delivery, Disposition};
use onboarding_core::audit::WebhookDue;
use onboarding_core::audit::delivery::{DeliverWebhook, Dispatch};
use onboarding_core::ports::{Clock, SystemClock};
use tracing::Instrument;

pub struct Deps {
    pub keys: Arc<CachedSecret<WebhookSecretJson>>,
    pub endpoints: Arc<HttpEndpoints>,
}

pub async fn process(deps: &Deps, due: WebhookDue, _: Delivery) -> Disposition {
    // The webhook id is the audited event's random id: no personal data, and it joins these
    // lines with the receiver's records.
    let span = tracing::info_span!("webhook", webhook_id = %due.id);
    let use_case = DeliverWebhook {
        keys: deps.keys.as_ref(),
        endpoints: deps.endpoints.as_ref(),
    };
    let outcome = use_case
        .run(&due, SystemClock.now())
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    let metrics = aws_adapters::metrics::global();
    match &outcome {
        Dispatch::Off => tracing::debug!("no webhook endpoint configured; dropped"),
        Dispatch::Delivered { endpoints } => {
            metrics.count("WebhooksDelivered", &[]);
            tracing::info!(endpoints, "webhook delivered");
        }
        Dispatch::Failed { delivered, failed } => {
            metrics.count("WebhookDeliveryFailures", &[]);
            for (endpoint, why) in failed {
                // The host only: an endpoint's path or query may hold the customer's token.
                tracing::warn!(
                    endpoint,
                    host = deps.endpoints.host(*endpoint),
                    error = %why,
                    delivered,
                    "webhook endpoint failed; the message comes back"
                );
            }
        }
        Dispatch::KeysUnavailable => {
            metrics.count("WebhookDeliveryFailures", &[]);
            tracing::error!("webhook signing secret unavailable; the message comes back");
        }
        Dispatch::Malformed(why) => {
            tracing::error!(
                reason = why,
                "webhook message malformed; leaving it for the dead-letter queue"
            );
        }
    }
    if outcome.retry() {
        Disposition::Retry
    } else {
        Disposition::Done
    }
}
