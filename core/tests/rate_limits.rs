//! The rate-limit rules on an in-memory counter store: configuration strings, the token-route
//! order (nobody can lock a person out from their own network), networks and windows.

use std::net::IpAddr;

use onboarding_core::domain::rate_limits::{Limit, client_network, window};
use onboarding_core::memory::MemoryRateLimiter;
use onboarding_core::use_cases::limits::{Refusal, TokenRouteHits, check, check_token_route};

const TWO_PER_MINUTE: Limit = Limit::per(2, 60);

fn hits<'a>(ip: &'a str, network: &'a str) -> TokenRouteHits<'a> {
    TokenRouteHits {
        route: "login",
        ip: (ip, TWO_PER_MINUTE),
        username_from_network: (network, TWO_PER_MINUTE),
        username_overall: ("name", TWO_PER_MINUTE),
    }
}

#[test]
fn limits_parse_from_configuration_strings() {
    assert_eq!("5/60".parse::<Limit>(), Ok(Limit::per(5, 60)));
    assert!("5".parse::<Limit>().is_err());
    assert!("0/60".parse::<Limit>().is_err());
    assert!("5/-1".parse::<Limit>().is_err());
}

#[tokio::test]
async fn the_longest_wait_wins_and_an_unreachable_counter_refuses() {
    // given one key over its limit and one not
    let limiter = MemoryRateLimiter::default();
    limiter.preset("full", 2);
    // when both are hit, then the request is refused
    let refused = check(
        &limiter,
        &[("full", TWO_PER_MINUTE), ("free", TWO_PER_MINUTE)],
        0,
    )
    .await;
    assert!(matches!(refused, Err(Refusal::Limited { retry_after: 60 })));
    // and when the counters cannot be reached, it is refused too (fail closed)
    limiter.outages.fail_next("hit", 1);
    let down = check(&limiter, &[("free", TWO_PER_MINUTE)], 0).await;
    assert!(matches!(down, Err(Refusal::Unavailable(_))));
}

#[tokio::test]
async fn a_client_over_its_ip_limit_spends_nothing_of_the_username() {
    // given an attacker whose IP is already over its limit
    let limiter = MemoryRateLimiter::default();
    limiter.preset("ip-a", 2);
    // when it keeps asking for the victim's username
    for _ in 0..10 {
        let check = check_token_route(&limiter, &hits("ip-a", "name@net-a"), 0).await;
        assert!(matches!(check.outcome, Err(Refusal::Limited { .. })));
    }
    // then neither username counter moved
    assert_eq!(limiter.count("name@net-a"), 0);
    assert_eq!(limiter.count("name"), 0);
}

#[tokio::test]
async fn exhausting_a_username_from_one_network_leaves_other_networks_their_budget() {
    // given an attacker who spent the username's budget from its network, rotating addresses
    let limiter = MemoryRateLimiter::default();
    for ip in ["ip-1", "ip-2", "ip-3"] {
        check_token_route(&limiter, &hits(ip, "name@net-a"), 0).await;
    }
    let blocked = check_token_route(&limiter, &hits("ip-4", "name@net-a"), 0).await;
    assert!(matches!(blocked.outcome, Err(Refusal::Limited { .. })));
    // when the person asks from their own network
    let own = check_token_route(&limiter, &hits("ip-home", "name@net-home"), 0).await;
    // then they are served, and the ceiling across networks (passed) is reported, not enforced
    assert!(own.outcome.is_ok());
    assert!(own.ceiling_passed);
}

#[test]
fn networks_are_ipv4_slash_24_and_ipv6_slash_48() {
    // given addresses in and out of the same networks
    let net = |s: &str| client_network(Some(s.parse::<IpAddr>().unwrap()));
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
    let limit = Limit::per(1, 60);
    assert_eq!(window(limit, 120), (120, 60));
    assert_eq!(window(limit, 179), (120, 1));
}
