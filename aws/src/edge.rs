//! The origin check of the CloudFront edge (docs/template.md, "Edge protection").
//!
//! An HTTP API cannot take a WAF web ACL or a resource policy, so with the edge in front its
//! own `execute-api` address stays public, and a caller who finds it would skip the WAF. The
//! distribution therefore adds a header to every request it forwards, `X-Origin-Verify`, whose
//! value is a random secret CloudFormation generated into Secrets Manager; each public function
//! answers 403 to a request without it, before any route runs. With the edge off
//! (`EDGE_ORIGIN_SECRET_ID` unset, and on the local stack) nothing is checked.
//!
//! Not guarded: the health check (no SDK, answers nothing personal) and the operator API, which
//! IAM authorises and operators call on the `execute-api` address directly (a SigV4 signature
//! names the host it was made for).

use std::sync::Arc;
use std::time::Duration;

use api::ApiError;
use aws_types::SdkConfig;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::adapters::secrets::CachedSecret;
use crate::env::{ConfigError, optional, parsed};

/// The header the distribution adds (template.yaml, `EdgeDistribution`).
pub const HEADER: &str = "x-origin-verify";

/// The secret as CloudFormation generates it: `{"value": "<random>"}`.
#[derive(Deserialize)]
pub struct OriginSecret {
    value: String,
}

type Secret = Arc<CachedSecret<OriginSecret>>;

/// `routes`, answering 403 to any request that did not come through the edge when
/// `EDGE_ORIGIN_SECRET_ID` names the origin secret; unchanged otherwise.
pub fn guarded(routes: Router, sdk: &SdkConfig) -> Result<Router, ConfigError> {
    let Some(secret_id) = optional("EDGE_ORIGIN_SECRET_ID").filter(|id| !id.is_empty()) else {
        return Ok(routes);
    };
    let ttl = parsed("SECRETS_CACHE_TTL_SECONDS", 300u64)?;
    let secret: Secret = Arc::new(CachedSecret::new(
        crate::wiring::secrets_manager(sdk),
        secret_id,
        Duration::from_secs(ttl),
    ));
    Ok(routes.layer(middleware::from_fn_with_state(secret, check)))
}

async fn check(State(secret): State<Secret>, req: Request, next: Next) -> Response {
    match secret.get().await {
        Ok(expected)
            if came_through_edge(
                req.headers().get(HEADER).map(|v| v.as_bytes()),
                &expected.value,
            ) =>
        {
            next.run(req).await
        }
        Ok(_) => {
            tracing::warn!("request without the edge's origin header refused");
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "This API is served through its edge address only.",
            )
            .into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "the edge's origin secret is unavailable");
            ApiError::unavailable("service_unavailable").into_response()
        }
    }
}

/// Whether the presented header is the origin secret (compared in constant time, so the
/// answer's timing tells nothing about how much of a guess was right).
fn came_through_edge(presented: Option<&[u8]>, expected: &str) -> bool {
    !expected.is_empty()
        && presented
            .is_some_and(|p| onboarding_core::crypto::constant_time_eq(p, expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_passes() {
        assert!(came_through_edge(Some(b"s3cret-value"), "s3cret-value"));
        assert!(!came_through_edge(Some(b"s3cret-valuE"), "s3cret-value"));
        assert!(!came_through_edge(Some(b"s3cret"), "s3cret-value"));
        assert!(!came_through_edge(None, "s3cret-value"));
    }

    #[test]
    fn an_empty_secret_never_lets_anything_through() {
        assert!(!came_through_edge(Some(b""), ""));
    }
}
