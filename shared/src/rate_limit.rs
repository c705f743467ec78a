//! Rate limits that protect the iProov quota and resist brute force. Counters live in DynamoDB
//! (fixed windows, atomic `ADD`, cleaned up by TTL), so every function instance shares them.
//! Keys are keyed hashes: an IP address or username is personal data and is never stored.

use std::str::FromStr;

use async_trait::async_trait;

use crate::api::ApiError;
use crate::config::ConfigError;
use crate::ports::StoreError;

/// `limit` hits per `window_seconds`, written `limit/window_seconds` in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub limit: u32,
    pub window_seconds: i64,
}

impl FromStr for Limit {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (limit, window) = s.split_once('/').ok_or("expected limit/window_seconds")?;
        let limit: u32 = limit.trim().parse().map_err(|_| "bad limit")?;
        let window_seconds: i64 = window.trim().parse().map_err(|_| "bad window")?;
        if limit == 0 || window_seconds <= 0 {
            return Err("limit and window must be positive");
        }
        Ok(Self {
            limit,
            window_seconds,
        })
    }
}

/// The configured limits, per route and key kind.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub registration_per_ip: Limit,
    pub registration_per_username: Limit,
    pub login_per_ip: Limit,
    pub login_per_username: Limit,
    pub login_per_attempt: Limit,
}

impl Limits {
    pub fn from_env() -> Result<Self, ConfigError> {
        fn read(name: &'static str, default: Limit) -> Result<Limit, ConfigError> {
            match crate::config::optional(name) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|why| ConfigError::Invalid(name, why)),
            }
        }
        let l = |limit, window_seconds| Limit {
            limit,
            window_seconds,
        };
        Ok(Self {
            registration_per_ip: read("RATE_LIMIT_REGISTRATION_PER_IP", l(20, 600))?,
            registration_per_username: read("RATE_LIMIT_REGISTRATION_PER_USERNAME", l(10, 600))?,
            login_per_ip: read("RATE_LIMIT_LOGIN_PER_IP", l(30, 600))?,
            login_per_username: read("RATE_LIMIT_LOGIN_PER_USERNAME", l(10, 600))?,
            login_per_attempt: read("RATE_LIMIT_LOGIN_PER_ATTEMPT", l(5, 600))?,
        })
    }
}

/// The answer for one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: u32 },
}

/// A shared counter store.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit on `key` in the current window of `limit` and decides.
    async fn hit(&self, key: &str, limit: Limit, now: i64) -> Result<Decision, StoreError>;
}

/// Counts hits on several keys at once (concurrently) and answers 429 if any is over its
/// limit. A counter store failure is a 503: the limits guard a paid quota, so they fail closed.
pub async fn enforce(
    limiter: &dyn RateLimiter,
    name: &'static str,
    hits: &[(&str, Limit)],
    now: i64,
) -> Result<(), ApiError> {
    let decisions = futures::future::join_all(
        hits.iter()
            .map(|(key, limit)| limiter.hit(key, *limit, now)),
    )
    .await;
    let mut retry_after = 0;
    for decision in decisions {
        if let Decision::Limited { retry_after: r } = decision? {
            retry_after = retry_after.max(r);
        }
    }
    if retry_after > 0 {
        tracing::warn!(retry_after, limit = name, "rate limit hit");
        crate::metrics::emit(crate::metrics::Metric::RateLimitHit { limit: name });
        return Err(ApiError::rate_limited(retry_after));
    }
    Ok(())
}

/// Counts the hits (as [`enforce`]) while `lookup` runs, so a request whose next step only
/// reads does not wait a round trip for its counters. The limit is decided first: a limited
/// (429) or unavailable (503) counter store wins over whatever the lookup answered, exactly as
/// if the lookup had run afterwards. The lookup's only cost when limited is one spent read.
pub async fn enforce_alongside<F: Future>(
    limiter: &dyn RateLimiter,
    name: &'static str,
    hits: &[(&str, Limit)],
    now: i64,
    lookup: F,
) -> Result<F::Output, ApiError> {
    let (limited, found) = futures::join!(enforce(limiter, name, hits, now), lookup);
    limited?;
    Ok(found)
}

/// Window start and seconds left in it, for fixed windows aligned on the epoch.
pub fn window(limit: Limit, now: i64) -> (i64, u32) {
    let start = now - now.rem_euclid(limit.window_seconds);
    let left = start + limit.window_seconds - now;
    (start, u32::try_from(left.max(1)).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_from_configuration_strings() {
        assert_eq!(
            "5/60".parse::<Limit>(),
            Ok(Limit {
                limit: 5,
                window_seconds: 60
            })
        );
        assert!("5".parse::<Limit>().is_err());
        assert!("0/60".parse::<Limit>().is_err());
        assert!("5/-1".parse::<Limit>().is_err());
    }

    /// An in-memory counter store: counts hits per key, in one window.
    #[derive(Default)]
    struct FakeLimiter {
        hits: std::sync::Mutex<std::collections::HashMap<String, u32>>,
        unavailable: bool,
    }

    #[async_trait]
    impl RateLimiter for FakeLimiter {
        async fn hit(&self, key: &str, limit: Limit, _now: i64) -> Result<Decision, StoreError> {
            if self.unavailable {
                return Err(StoreError::Unavailable("fake".into()));
            }
            let mut hits = self.hits.lock().unwrap();
            let count = hits.entry(key.to_owned()).or_default();
            *count += 1;
            Ok(if *count > limit.limit {
                Decision::Limited { retry_after: 60 }
            } else {
                Decision::Allowed
            })
        }
    }

    const ONE_PER_MINUTE: Limit = Limit {
        limit: 1,
        window_seconds: 60,
    };

    #[tokio::test]
    async fn alongside_an_allowed_hit_the_lookup_answer_is_returned() {
        // given a counter with room left
        let limiter = FakeLimiter::default();
        // when a lookup runs alongside the hit
        let found = enforce_alongside(&limiter, "test", &[("k", ONE_PER_MINUTE)], 0, async {
            Some("claim")
        })
        .await;
        // then its answer comes back, and the hit was counted
        assert_eq!(found.ok(), Some(Some("claim")));
        assert_eq!(limiter.hits.lock().unwrap()["k"], 1);
    }

    #[tokio::test]
    async fn alongside_a_limited_hit_the_answer_is_429_whatever_the_lookup_found() {
        // given a counter already at its limit
        let limiter = FakeLimiter::default();
        limiter.hits.lock().unwrap().insert("k".into(), 1);
        // when a lookup that fails runs alongside the hit
        let lookup_ran = std::sync::atomic::AtomicBool::new(false);
        let answer = enforce_alongside(&limiter, "test", &[("k", ONE_PER_MINUTE)], 0, async {
            lookup_ran.store(true, std::sync::atomic::Ordering::SeqCst);
            Err::<(), _>(StoreError::Unavailable("down".into()))
        })
        .await;
        // then the limit decides: 429, as if the lookup had never run
        let err = answer.expect_err("limited");
        assert_eq!(err.status, http::StatusCode::TOO_MANY_REQUESTS);
        assert!(lookup_ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn alongside_an_unavailable_counter_store_fails_closed() {
        // given a counter store that cannot be reached
        let limiter = FakeLimiter {
            unavailable: true,
            ..FakeLimiter::default()
        };
        // when a lookup that succeeds runs alongside the hit
        let answer = enforce_alongside(&limiter, "test", &[("k", ONE_PER_MINUTE)], 0, async {
            Some("claim")
        })
        .await;
        // then the answer is 503: the limits guard a paid quota
        let err = answer.expect_err("unavailable");
        assert_eq!(err.status, http::StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn windows_are_aligned_and_retry_after_counts_down() {
        let limit = Limit {
            limit: 1,
            window_seconds: 60,
        };
        assert_eq!(window(limit, 120), (120, 60));
        assert_eq!(window(limit, 179), (120, 1));
    }
}
