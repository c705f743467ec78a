//! The guard of the two routes that spend the verifier's quota by asking for a token (start
//! registration, verify-login): their rate-limit keys and the order of their limits (the rules
//! are in `domain::rate_limits`).
//!
//! Every key is a keyed hash: an IP address and a username are personal data, and the counters'
//! table must not hold them.

use std::future::Future;
use std::net::IpAddr;

use super::failure::Failure;
use super::limits::{self, TokenRouteHits};
use crate::crypto::keyed_hash;
use crate::domain::rate_limits::{Limit, client_network};
use crate::ports::{RateLimitSignals, RateLimiter};

/// One token route's limits.
#[derive(Debug, Clone, Copy)]
pub struct RouteLimits {
    /// The route's name in keys, metrics and logs (`registration`, `login`).
    pub route: &'static str,
    pub per_ip: Limit,
    /// Per username and client network.
    pub per_username: Limit,
    /// Per username over all networks: an alarm, never a refusal.
    pub username_ceiling: Limit,
}

/// The three counter keys of one request: the caller's IP, the username from the caller's
/// network, and the username overall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteKeys {
    pub ip: String,
    pub username_from_network: String,
    pub username_overall: String,
}

impl RouteKeys {
    pub fn new(key: &[u8], route: &str, ip: Option<IpAddr>, name_index: &str) -> Self {
        let ip_text = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let overall = format!("{route}#name#{name_index}");
        let network = keyed_hash(key, "net", &client_network(ip));
        Self {
            ip: format!("{route}#ip#{}", keyed_hash(key, "ip", &ip_text)),
            username_from_network: format!("{overall}#net#{network}"),
            username_overall: overall,
        }
    }
}

/// The counters a token route hits, and what it tells operators.
#[derive(Clone, Copy)]
pub struct TokenRouteGuard<'a> {
    pub limiter: &'a dyn RateLimiter,
    pub signals: &'a dyn RateLimitSignals,
}

impl TokenRouteGuard<'_> {
    /// Applies the route's limits for `name_index` while `lookup` runs, so a request whose
    /// next step only reads does not wait a round trip for its counters. The limits answer
    /// first: a refusal (or a counter store that cannot be reached: the limits guard a paid
    /// quota, so they fail closed) wins over whatever the lookup found, exactly as if it had
    /// run afterwards. The lookup's only cost when refused is one spent read.
    pub async fn check_alongside<F: Future>(
        &self,
        limits: &RouteLimits,
        keys: &RouteKeys,
        now: i64,
        lookup: F,
    ) -> Result<F::Output, Failure> {
        let hits = TokenRouteHits {
            route: limits.route,
            ip: (&keys.ip, limits.per_ip),
            username_from_network: (&keys.username_from_network, limits.per_username),
            username_overall: (&keys.username_overall, limits.username_ceiling),
        };
        let (check, found) =
            futures::join!(limits::check_token_route(self.limiter, &hits, now), lookup);
        if check.ceiling_passed {
            self.signals.username_ceiling_passed(limits.route);
        }
        check
            .outcome
            .map_err(|refusal| Failure::refused(self.signals, limits.route, refusal))?;
        Ok(found)
    }
}
