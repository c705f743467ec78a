//! Who is calling and from where: the request id and source IP that API Gateway puts in the
//! event's request context. Read once per request by the middleware and stored as an extension.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use crate::error::ApiError;

/// Facts about the request that do not come from the (untrusted) body or headers.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    /// The TCP peer as seen by API Gateway: trustworthy, unlike `X-Forwarded-For`.
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
            meta.source_ip = ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
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
