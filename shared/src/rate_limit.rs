//! Rate limits as the API answers them. The rules (limits, the token-route order, networks,
//! windows) are the core's (core/src/domain/rate_limits.rs); here a refusal becomes 429 with
//! `Retry-After` or, when the counters cannot be reached, 503 (the limits guard a paid quota, so
//! they fail closed), and every refusal and every passed username ceiling is logged and counted
//! (`RateLimitHits`, which the alarms read).

use std::future::Future;

use crate::api::ApiError;
use crate::config::ConfigError;
use onboarding_core::domain::rate_limits::{self as rules, Refusal};
pub use onboarding_core::domain::rate_limits::{
    Decision, Limit, Limits, TokenRouteHits, client_network, window,
};
pub use onboarding_core::ports::RateLimiter;

/// The limits from the environment the template sets (`RATE_LIMIT_*`), with the defaults of
/// docs/template.md.
pub fn limits_from_env() -> Result<Limits, ConfigError> {
    fn read(name: &'static str, default: Limit) -> Result<Limit, ConfigError> {
        match crate::config::optional(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|why| ConfigError::Invalid(name, why)),
        }
    }
    Ok(Limits {
        registration_per_ip: read("RATE_LIMIT_REGISTRATION_PER_IP", Limit::per(20, 600))?,
        registration_per_username: read(
            "RATE_LIMIT_REGISTRATION_PER_USERNAME",
            Limit::per(10, 600),
        )?,
        login_per_ip: read("RATE_LIMIT_LOGIN_PER_IP", Limit::per(30, 600))?,
        login_per_username: read("RATE_LIMIT_LOGIN_PER_USERNAME", Limit::per(10, 600))?,
        login_per_attempt: read("RATE_LIMIT_LOGIN_PER_ATTEMPT", Limit::per(5, 600))?,
        username_alarm: read("RATE_LIMIT_USERNAME_ALARM", Limit::per(50, 600))?,
    })
}

/// The core's rate-limit signals as logs and metrics: `RateLimitHits{Limit=…}`, which the
/// alarms read (a passed username ceiling under `Limit=username_ceiling`, for
/// `UsernameCeilingAlarm`).
pub struct MetricSignals;

impl onboarding_core::ports::RateLimitSignals for MetricSignals {
    fn refused(&self, limit: &'static str, retry_after: u32) {
        tracing::warn!(retry_after, limit, "rate limit hit");
        crate::metrics::emit(crate::metrics::Metric::RateLimitHit { limit });
    }

    fn username_ceiling_passed(&self, route: &'static str) {
        tracing::warn!(
            limit = route,
            "one username is being tried from many networks; alarm, not refusal"
        );
        crate::metrics::emit(crate::metrics::Metric::RateLimitHit {
            limit: "username_ceiling",
        });
    }
}

/// A refusal as an answer, logged and counted under `name`.
fn refused(name: &'static str, refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Limited { retry_after } => {
            tracing::warn!(retry_after, limit = name, "rate limit hit");
            crate::metrics::emit(crate::metrics::Metric::RateLimitHit { limit: name });
            ApiError::rate_limited(retry_after)
        }
        Refusal::Unavailable(err) => ApiError::from(err),
    }
}

/// Counts hits on several keys at once and answers 429 if any is over its limit.
pub async fn enforce(
    limiter: &dyn RateLimiter,
    name: &'static str,
    hits: &[(&str, Limit)],
    now: i64,
) -> Result<(), ApiError> {
    rules::check(limiter, hits, now)
        .await
        .map_err(|r| refused(name, r))
}

/// A token route's limits, in the core's order; a passed username ceiling is an alarm.
pub async fn enforce_token_route(
    limiter: &dyn RateLimiter,
    hits: &TokenRouteHits<'_>,
    now: i64,
) -> Result<(), ApiError> {
    let check = rules::check_token_route(limiter, hits, now).await;
    if check.ceiling_passed {
        tracing::warn!(
            limit = hits.route,
            "one username is being tried from many networks; alarm, not refusal"
        );
        crate::metrics::emit(crate::metrics::Metric::RateLimitHit {
            limit: "username_ceiling",
        });
    }
    check.outcome.map_err(|r| refused(hits.route, r))
}

/// [`enforce_token_route`] while `lookup` runs, so a request whose next step only reads does not
/// wait a round trip for its counters. The limits answer first: a limited (429) or unavailable
/// (503) counter store wins over whatever the lookup answered, exactly as if the lookup had run
/// afterwards. The lookup's only cost when limited is one spent read.
pub async fn enforce_token_route_alongside<F: Future>(
    limiter: &dyn RateLimiter,
    hits: &TokenRouteHits<'_>,
    now: i64,
    lookup: F,
) -> Result<F::Output, ApiError> {
    let (limited, found) = futures::join!(enforce_token_route(limiter, hits, now), lookup);
    limited?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use onboarding_core::memory::MemoryRateLimiter;
    use onboarding_core::ports::StoreError;

    use super::*;

    const ONE_PER_MINUTE: Limit = Limit::per(1, 60);

    fn hits(limit: Limit) -> TokenRouteHits<'static> {
        TokenRouteHits {
            route: "test",
            ip: ("ip", limit),
            username_from_network: ("name@net", limit),
            username_overall: ("name", Limit::per(100, 60)),
        }
    }

    #[tokio::test]
    async fn alongside_an_allowed_hit_the_lookup_answer_is_returned() {
        // given counters with room left
        let limiter = MemoryRateLimiter::default();
        // when a lookup runs alongside the hits
        let found = enforce_token_route_alongside(&limiter, &hits(ONE_PER_MINUTE), 0, async {
            Some("claim")
        })
        .await;
        // then its answer comes back, and the hits were counted
        assert_eq!(found.ok(), Some(Some("claim")));
        assert_eq!(limiter.count("ip"), 1);
    }

    #[tokio::test]
    async fn alongside_a_limited_hit_the_answer_is_429_whatever_the_lookup_found() {
        // given an IP counter already at its limit
        let limiter = MemoryRateLimiter::default();
        limiter.preset("ip", 1);
        // when a lookup that fails runs alongside the hit
        let answer = enforce_token_route_alongside(&limiter, &hits(ONE_PER_MINUTE), 0, async {
            Err::<(), _>(StoreError::Unavailable("down".into()))
        })
        .await;
        // then the limit decides: 429 with a Retry-After, as if the lookup had never run
        let err = answer.expect_err("limited");
        assert_eq!(err.status, http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(err.retry_after, Some(60));
    }

    #[tokio::test]
    async fn alongside_an_unavailable_counter_store_fails_closed() {
        // given a counter store that cannot be reached
        let limiter = MemoryRateLimiter::default();
        limiter.outages.fail_next("hit", 1);
        // when a lookup that succeeds runs alongside the hit
        let answer = enforce_token_route_alongside(&limiter, &hits(ONE_PER_MINUTE), 0, async {
            Some("claim")
        })
        .await;
        // then the answer is 503: the limits guard a paid quota
        let err = answer.expect_err("unavailable");
        assert_eq!(err.status, http::StatusCode::SERVICE_UNAVAILABLE);
    }
}
