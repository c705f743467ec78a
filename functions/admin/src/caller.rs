//! Who is calling: the IAM principal API Gateway authenticated (SigV4) and put in the request
//! context, `requestContext.authorizer.iam.userArn`. Never a header: the caller sets those.
//! A request without it did not come through an IAM-authorised route, and is refused.

use api::{ApiError, RequestMeta};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

/// The authenticated operator and the request id, for the audit trail.
#[derive(Debug, Clone)]
pub struct Operator {
    pub principal: String,
    pub request_id: String,
}

impl Operator {
    pub fn caller(&self) -> onboarding_core::use_cases::operator::Caller<'_> {
        onboarding_core::use_cases::operator::Caller {
            principal: &self.principal,
            request_id: &self.request_id,
        }
    }
}

/// The principal API Gateway put in the context, if any (an ARN: never personal data of a
/// user, so it may be logged).
fn principal(parts: &Parts) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>() else {
        return None;
    };
    let arn = ctx.authorizer.as_ref()?.iam.as_ref()?.user_arn.as_deref()?;
    (arn.starts_with("arn:") && arn.len() <= 2048).then(|| arn.to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let meta = RequestMeta::from_request_parts(parts, state).await?;
        let Some(principal) = principal(parts) else {
            tracing::warn!("operator route reached without an IAM principal");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "This route needs a request signed with IAM credentials.",
            ));
        };
        Ok(Self {
            principal,
            request_id: meta.request_id,
        })
    }
}
