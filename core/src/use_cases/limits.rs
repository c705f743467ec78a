//! Hitting the rate-limit counters, in the order `domain::rate_limits` explains: the checks
//! the use cases run before they spend anything (a verifier token, a validate). They live with
//! the use cases, not in the domain, because they call a port (the counters).

use crate::domain::rate_limits::{Decision, Limit};
use crate::ports::{RateLimiter, StoreError};

/// Why a request may not go on.
#[derive(Debug)]
pub enum Refusal {
    /// Over a limit: come back after this many seconds.
    Limited { retry_after: u32 },
    /// The counters cannot be reached. The limits guard a paid quota, so they fail closed.
    Unavailable(StoreError),
}

/// Counts hits on several keys at once (concurrently); refused if any is over its limit (with
/// the longest wait), or if any counter cannot be reached.
pub async fn check(
    limiter: &dyn RateLimiter,
    hits: &[(&str, Limit)],
    now: i64,
) -> Result<(), Refusal> {
    let decisions = futures::future::join_all(
        hits.iter()
            .map(|(key, limit)| limiter.hit(key, *limit, now)),
    )
    .await;
    let mut retry_after = 0;
    for decision in decisions {
        if let Decision::Limited { retry_after: r } = decision.map_err(Refusal::Unavailable)? {
            retry_after = retry_after.max(r);
        }
    }
    if retry_after > 0 {
        return Err(Refusal::Limited { retry_after });
    }
    Ok(())
}

/// The counters of one request to a token route (keys already hashed by the caller).
pub struct TokenRouteHits<'a> {
    /// The route's name in metrics and logs (`registration`, `login`).
    pub route: &'static str,
    pub ip: (&'a str, Limit),
    pub username_from_network: (&'a str, Limit),
    pub username_overall: (&'a str, Limit),
}

/// What the token-route check found: whether the request may go on, and whether the username
/// passed its ceiling across networks (reported either way, so the alarm sees every attempt).
#[derive(Debug)]
pub struct TokenRouteCheck {
    pub outcome: Result<(), Refusal>,
    pub ceiling_passed: bool,
}

/// Applies a token route's limits in the order the module explains: the IP limit first (a
/// refusal without touching the username counters), then the username from this network while
/// the username overall is counted.
pub async fn check_token_route(
    limiter: &dyn RateLimiter,
    hits: &TokenRouteHits<'_>,
    now: i64,
) -> TokenRouteCheck {
    if let Err(refused) = check(limiter, &[hits.ip], now).await {
        return TokenRouteCheck {
            outcome: Err(refused),
            ceiling_passed: false,
        };
    }
    let from_network = [hits.username_from_network];
    let (network, overall) = futures::join!(
        check(limiter, &from_network, now),
        limiter.hit(hits.username_overall.0, hits.username_overall.1, now),
    );
    if let Err(err) = &overall {
        tracing::warn!(error = %err, "username ceiling counter unavailable");
    }
    TokenRouteCheck {
        outcome: network,
        ceiling_passed: matches!(overall, Ok(Decision::Limited { .. })),
    }
}
