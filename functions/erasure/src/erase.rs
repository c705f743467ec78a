//! Erasing one user. Every step is idempotent, and the record that lets us find the rest (the
//! user item) goes last, so a crash midway leaves enough to finish on the next delivery.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::future::join_all;
use serde::Deserialize;
use shared::adapters::images::S3Images;
use shared::iproov::{IProovClient, IProovError, IProovUserId};
use shared::ports::{SessionControl, UserStore};
use tracing::Instrument;

pub struct Deps {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionControl>,
    pub images: Arc<S3Images>,
    pub iproov: Arc<IProovClient>,
}

#[derive(Deserialize)]
struct EraseRequest {
    user_id: String,
    #[serde(default)]
    request_id: Option<String>,
}

pub async fn batch(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let results = join_all(event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let ok = match serde_json::from_str::<EraseRequest>(record.body.as_deref().unwrap_or("")) {
            Ok(req) => {
                let span = tracing::info_span!("erase", message_id = %id, request_id = %req.request_id.clone().unwrap_or_default());
                erase(deps, &req.user_id).instrument(span).await
            }
            Err(_) => {
                tracing::error!(message_id = %id, "malformed erasure message");
                false
            }
        };
        (id, ok)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, ok) in results {
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn erase(deps: &Deps, user_id: &str) -> bool {
    let user = match deps.users.get(user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            tracing::info!("user already erased");
            return true;
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not read user; will retry");
            return false;
        }
    };
    if let Err(err) = deps.sessions.revoke_all(user_id).await {
        tracing::warn!(error = %err, "could not end sessions; will retry");
        return false;
    }
    match deps
        .images
        .delete_all_versions(&format!("faces/{user_id}/"))
        .await
    {
        Ok(n) => tracing::info!(objects = n, "images deleted"),
        Err(err) => {
            tracing::warn!(error = %err, "could not delete images; will retry");
            return false;
        }
    }
    if let Ok(iproov_id) = IProovUserId::from_stored(user.iproov_user_id.clone()) {
        match deps.iproov.delete_user(&iproov_id).await {
            Ok(()) | Err(IProovError::NotFound) => {}
            Err(err) => {
                tracing::warn!(
                    iproov_error = err.code(),
                    "could not delete iProov user; will retry"
                );
                return false;
            }
        }
    }
    if let Err(err) = deps.users.delete(&user).await {
        tracing::warn!(error = %err, "could not delete user record; will retry");
        return false;
    }
    tracing::info!("user erased");
    true
}
