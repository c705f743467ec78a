//! Who is calling and from where: the request id and source IP that API Gateway puts in the
//! event's request context. Read once per request by the middleware and stored as an extension.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use crate::error::ApiError;
use onboarding_core::domain::client_address::client_address;

/// How many proxies in front of API Gateway append to `X-Forwarded-For` and are trusted
/// (`TRUSTED_PROXY_COUNT`, the template's `TrustedProxyCount`: 1 behind the CloudFront edge).
/// Read once; anything but a small number is 0, so a typo never makes a forged header count.
fn trusted_proxies() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        std::env::var("TRUSTED_PROXY_COUNT")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| *n <= 5)
            .unwrap_or(0)
    })
}

/// Facts about the request that do not come from the (untrusted) body or headers.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    /// The client's address: the TCP peer API Gateway saw, or, behind `TRUSTED_PROXY_COUNT`
    /// proxies (CloudFront, a reverse proxy), the address the outermost of them appended to
    /// `X-Forwarded-For` (see `onboarding_core::domain::client_address`). Never an entry the
    /// client wrote itself.
    pub source_ip: Option<IpAddr>,
    /// Truncated User-Agent, used as iProov's `client` identifier.
    pub user_agent: String,
    /// Made by a browser (fetch metadata present): credentials go in cookies only, never in a
    /// body a page script could read (see [`crate::credential::from_browser`]).
    pub browser: bool,
}

impl RequestMeta {
    /// Reads the API Gateway context when present; a locally served router (no Lambda) gets a
    /// fresh id and no source IP.
    pub fn from_parts(parts: &Parts) -> Self {
        let mut meta = RequestMeta {
            request_id: String::new(),
            source_ip: None,
            user_agent: String::new(),
            browser: crate::credential::from_browser(&parts.headers),
        };
        if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>() {
            meta.request_id = ctx.request_id.clone().unwrap_or_default();
            let peer = ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok());
            meta.source_ip = client_address(forwarded, peer, trusted_proxies());
            meta.user_agent = ctx.http.user_agent.clone().unwrap_or_default();
        }
        if meta.request_id.is_empty() || meta.request_id.len() > 128 {
            meta.request_id = uuid::Uuid::new_v4().to_string();
        }
        if meta.user_agent.is_empty() {
            meta.user_agent = parts
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unknown")
                .to_owned();
        }
        meta.user_agent = meta
            .user_agent
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        meta
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_else(|| RequestMeta::from_parts(parts)))
    }
}
