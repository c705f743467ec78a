//! The token-route guard on in-memory counters: a lookup runs alongside the limits, and the
//! limits still answer first.

use onboarding_core::domain::rate_limits::Limit;
use onboarding_core::memory::Backends;
use onboarding_core::ports::StoreError;
use onboarding_core::use_cases::Failure;
use onboarding_core::use_cases::token_route::{RouteKeys, RouteLimits};

const ONE_PER_MINUTE: Limit = Limit::per(1, 60);

fn limits() -> RouteLimits {
    RouteLimits {
        route: "test",
        per_ip: ONE_PER_MINUTE,
        per_username: ONE_PER_MINUTE,
        username_ceiling: Limit::per(100, 60),
    }
}

fn keys() -> RouteKeys {
    RouteKeys::new(b"key", "test", Some("192.0.2.1".parse().unwrap()), "name")
}

#[tokio::test]
async fn alongside_an_allowed_hit_the_lookup_answer_is_returned() {
    // given counters with room left
    let b = Backends::at(0);
    // when a lookup runs alongside the hits
    let found = b
        .token_route_guard()
        .check_alongside(&limits(), &keys(), 0, async { Some("claim") })
        .await;
    // then its answer comes back, and every counter was hit once
    assert_eq!(found.ok(), Some(Some("claim")));
    let keys = keys();
    for key in [
        &keys.ip,
        &keys.username_from_network,
        &keys.username_overall,
    ] {
        assert_eq!(b.limiter.count(key), 1);
    }
}

#[tokio::test]
async fn alongside_a_limited_hit_the_limit_answers_whatever_the_lookup_found() {
    // given the IP counter already at its limit
    let b = Backends::at(0);
    b.limiter.preset(&keys().ip, 1);
    // when a lookup that fails runs alongside the hit
    let answer = b
        .token_route_guard()
        .check_alongside(&limits(), &keys(), 0, async {
            Err::<(), _>(StoreError::Unavailable("down".into()))
        })
        .await;
    // then the limit decides, as if the lookup had never run, and operators hear of it
    assert!(matches!(
        answer,
        Err(Failure::Limited {
            limit: "test",
            retry_after: 60
        })
    ));
    assert_eq!(b.signals.refusals(), vec!["test"]);
}

#[tokio::test]
async fn alongside_an_unavailable_counter_store_fails_closed() {
    // given a counter store that cannot be reached
    let b = Backends::at(0);
    b.limiter.outages.fail_next("hit", 1);
    // when a lookup that succeeds runs alongside the hit
    let answer = b
        .token_route_guard()
        .check_alongside(&limits(), &keys(), 0, async { Some("claim") })
        .await;
    // then the request fails as unavailable: the limits guard a paid quota
    assert!(matches!(answer, Err(Failure::Store(_))));
}

#[test]
fn keys_are_keyed_hashes_never_the_address_or_the_name() {
    // given a caller's address and a username index
    let keys = keys();
    // then no key holds the address, and networks of one /24 share the network key
    assert!(!keys.ip.contains("192.0.2.1"));
    let neighbour = RouteKeys::new(b"key", "test", Some("192.0.2.200".parse().unwrap()), "name");
    assert_eq!(keys.username_from_network, neighbour.username_from_network);
    assert_ne!(keys.ip, neighbour.ip);
}
