//! Rate limits that protect the iProov quota and resist brute force: the values (limits,
//! decisions, client networks, windows). Counters live behind the `RateLimiter` port (DynamoDB
//! in production: fixed windows, atomic `ADD`, shared by every function instance), and the
//! checks that hit them are `use_cases::limits`. Keys are keyed hashes: an IP address or
//! username is personal data and is never stored.
//!
//! On the token routes a username's budget must not be something a stranger can spend: if it
//! were one counter per username, ten requests from anywhere would lock the person out. So
//! (`use_cases::limits::check_token_route`):
//! 1. the caller's IP limit is checked first, and a caller over it spends nothing else;
//! 2. the username limit is counted per username *and client network* (IPv4 /24, IPv6 /48): a
//!    client exhausts only its own network's budget for that name, and the person, from their
//!    own network, keeps theirs;
//! 3. a per-username ceiling across all networks is reported (`ceiling_passed`) instead of
//!    blocking: a distributed guess at one name is an operator's matter (an alarm), and
//!    blocking it would hand every attacker a lock-out button.
//!
//! A refusal becomes a `Failure` (use_cases/failure.rs), 429 or 503 in the HTTP layer
//! (api/src/core_errors.rs), and a metric through the rate-limit signals port.

use std::net::IpAddr;
use std::str::FromStr;

/// `limit` hits per `window_seconds`, written `limit/window_seconds` in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub limit: u32,
    pub window_seconds: i64,
}

impl Limit {
    pub const fn per(limit: u32, window_seconds: i64) -> Self {
        Self {
            limit,
            window_seconds,
        }
    }
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

/// The answer for one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: u32 },
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

/// Window start and seconds left in it, for fixed windows aligned on the epoch.
pub fn window(limit: Limit, now: i64) -> (i64, u32) {
    let start = now - now.rem_euclid(limit.window_seconds);
    let left = start + limit.window_seconds - now;
    (start, u32::try_from(left.max(1)).unwrap_or(u32::MAX))
}
