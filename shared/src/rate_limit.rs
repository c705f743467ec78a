//! Rate limits that protect the iProov quota and resist brute force. Counters live in DynamoDB
//! (fixed windows, atomic `ADD`, cleaned up by TTL), so every function instance shares them.
//! Keys are keyed hashes: an IP address or username is personal data and is never stored.
//!
//! On the token routes a username's budget must not be something a stranger can spend: if it
//! were one counter per username, ten requests from anywhere would lock the person out. So
//! ([`enforce_token_route`]):
//! 1. the caller's IP limit is checked first, and a caller over it spends nothing else;
//! 2. the username limit is counted per username *and client network* (IPv4 /24, IPv6 /48): a
//!    client exhausts only its own network's budget for that name, and the person, from their
//!    own network, keeps theirs;
//! 3. a per-username ceiling across all networks raises an alarm (a metric and a warning)
//!    instead of blocking: a distributed guess at one name is an operator's matter, and
//!    blocking it would hand every attacker a lock-out button.

use std::net::IpAddr;
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
    /// Per username and client network.
    pub registration_per_username: Limit,
    pub login_per_ip: Limit,
    /// Per username and client network.
    pub login_per_username: Limit,
    pub login_per_attempt: Limit,
    /// Per username over all networks: past it an alarm, never a refusal.
    pub username_alarm: Limit,
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
            username_alarm: read("RATE_LIMIT_USERNAME_ALARM", l(50, 600))?,
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

/// The client network an address belongs to, as the username limit counts it: the /24 of an
/// IPv4 address (an IPv4-mapped IPv6 address counts as IPv4), the /48 of an IPv6 one (a site;
/// one subscriber usually holds a /56 or more, so a /64 would let one client rotate through
/// many budgets). Unknown addresses share one network.
pub fn client_network(ip: Option<IpAddr>) -> String {
    let ip = ip.map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    });
    match ip {
        Some(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        None => "unknown".to_owned(),
    }
}

/// The counters of one request to a token route (keys already hashed by the caller).
pub struct TokenRouteHits<'a> {
    /// The route's name in metrics and logs (`registration`, `login`).
    pub route: &'static str,
    pub ip: (&'a str, Limit),
    pub username_from_network: (&'a str, Limit),
    pub username_overall: (&'a str, Limit),
}

/// Applies a token route's limits in the order the module explains: the IP limit first (429
/// without touching the username counters), then the username from this network (429) while
/// the username overall is counted (an alarm past its ceiling, never a refusal).
pub async fn enforce_token_route(
    limiter: &dyn RateLimiter,
    hits: &TokenRouteHits<'_>,
    now: i64,
) -> Result<(), ApiError> {
    enforce(limiter, hits.route, &[hits.ip], now).await?;
    let from_network = [hits.username_from_network];
    let (network, overall) = futures::join!(
        enforce(limiter, hits.route, &from_network, now),
        limiter.hit(hits.username_overall.0, hits.username_overall.1, now),
    );
    match overall {
        Ok(Decision::Limited { .. }) => {
            tracing::warn!(
                limit = hits.route,
                "one username is being tried from many networks; alarm, not refusal"
            );
            crate::metrics::emit(crate::metrics::Metric::RateLimitHit {
                limit: "username_ceiling",
            });
        }
        Ok(Decision::Allowed) => {}
        Err(err) => tracing::warn!(error = %err, "username ceiling counter unavailable"),
    }
    network
}

/// [`enforce_token_route`] while `lookup` runs; the limits answer first, as in
/// [`enforce_alongside`].
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

    const TWO_PER_MINUTE: Limit = Limit {
        limit: 2,
        window_seconds: 60,
    };

    fn hits<'a>(ip: &'a str, network: &'a str) -> TokenRouteHits<'a> {
        TokenRouteHits {
            route: "login",
            ip: (ip, TWO_PER_MINUTE),
            username_from_network: (network, TWO_PER_MINUTE),
            username_overall: ("name", TWO_PER_MINUTE),
        }
    }

    #[tokio::test]
    async fn a_client_over_its_ip_limit_spends_nothing_of_the_username() {
        // given an attacker whose IP is already over its limit
        let limiter = FakeLimiter::default();
        limiter.hits.lock().unwrap().insert("ip-a".into(), 2);
        // when it keeps asking for the victim's username
        for _ in 0..10 {
            let answer = enforce_token_route(&limiter, &hits("ip-a", "name@net-a"), 0).await;
            assert_eq!(
                answer.unwrap_err().status,
                http::StatusCode::TOO_MANY_REQUESTS
            );
        }
        // then neither username counter moved
        let counts = limiter.hits.lock().unwrap();
        assert!(!counts.contains_key("name@net-a"));
        assert!(!counts.contains_key("name"));
    }

    #[tokio::test]
    async fn exhausting_a_username_from_one_network_leaves_other_networks_their_budget() {
        // given an attacker who spent the username's budget from its network (rotating IPs)
        let limiter = FakeLimiter::default();
        for ip in ["ip-1", "ip-2", "ip-3"] {
            let _ = enforce_token_route(&limiter, &hits(ip, "name@net-a"), 0).await;
        }
        let blocked = enforce_token_route(&limiter, &hits("ip-4", "name@net-a"), 0).await;
        assert_eq!(
            blocked.unwrap_err().status,
            http::StatusCode::TOO_MANY_REQUESTS
        );
        // when the person asks from their own network
        let own = enforce_token_route(&limiter, &hits("ip-home", "name@net-home"), 0).await;
        // then they are served: the overall ceiling (already passed) only raises an alarm
        assert!(own.is_ok());
        assert!(limiter.hits.lock().unwrap()["name"] > 2);
    }

    #[test]
    fn networks_are_ipv4_slash_24_and_ipv6_slash_48() {
        // given addresses in and out of the same networks
        let net = |s: &str| client_network(Some(s.parse().unwrap()));
        // then they group as /24 and /48, and mapped IPv4 counts as IPv4
        assert_eq!(net("203.0.113.7"), net("203.0.113.250"));
        assert_ne!(net("203.0.113.7"), net("203.0.114.7"));
        assert_eq!(net("::ffff:203.0.113.9"), net("203.0.113.7"));
        assert_eq!(net("2001:db8:1:aaaa::1"), net("2001:db8:1:bbbb::2"));
        assert_ne!(net("2001:db8:1::1"), net("2001:db8:2::1"));
        assert_eq!(client_network(None), "unknown");
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
