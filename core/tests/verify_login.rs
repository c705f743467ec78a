//! The verify-login use case on in-memory adapters: an attempt for a known username, an unknown
//! one in both modes, and the limits.

use std::time::Duration;

use onboarding_core::crypto::keyed_hash;
use onboarding_core::domain::Username;
use onboarding_core::latency_mirror::LatencyMirror;
use onboarding_core::memory::{Backends, TOKEN_TTL};
use onboarding_core::ports::{AttemptStatus, VerifierError};
use onboarding_core::use_cases::Failure;
use onboarding_core::use_cases::token_route::RouteKeys;
use onboarding_core::use_cases::verify_login::{OpenedAttempt, VerifyLoginOutcome};

const NOW: i64 = 1_000_000;

fn alice() -> Username {
    Username::parse("alice").unwrap()
}

fn name_index() -> String {
    keyed_hash(b"test pseudonym key", "username", "alice")
}

/// A world where alice is registered and enrolled at the verifier.
fn with_alice() -> Backends {
    let b = Backends::at(NOW);
    b.users.claim(&name_index(), "alice-id");
    b.verifier.enrol("iproov-alice-id");
    b
}

fn opened(outcome: VerifyLoginOutcome) -> OpenedAttempt {
    match outcome {
        VerifyLoginOutcome::Opened(attempt) => attempt,
        VerifyLoginOutcome::NotRegistered => panic!("expected an attempt"),
    }
}

fn mirror() -> LatencyMirror {
    LatencyMirror::new(Duration::from_millis(1))
}

#[tokio::test]
async fn a_known_username_gets_a_pending_attempt_holding_the_verify_token() {
    // given alice is registered
    let b = with_alice();
    let mirror = mirror();
    // when she asks to log in
    let attempt = opened(b.verify_login(&mirror).run(&alice(), None).await.unwrap());
    // then a pending attempt for her keeps the token server-side, its secret hashed
    let stored = b.attempts.attempt(&attempt.credential.id).unwrap();
    assert_eq!(stored.status, AttemptStatus::Pending);
    assert_eq!(stored.user_id, "alice-id");
    assert_eq!(stored.iproov_token, attempt.token);
    assert_eq!(stored.expires_at, NOW + TOKEN_TTL);
    assert!(attempt.credential.matches(&stored.secret_hash));
    assert!(!attempt.decoy && !stored.decoy);
    assert_eq!(b.verifier.tokens_issued("verify"), 1);
}

#[tokio::test]
async fn an_unknown_username_is_said_to_be_unknown_by_default() {
    // given nobody is registered
    let b = Backends::at(NOW);
    let mirror = mirror();
    // when someone asks to log in as alice
    let outcome = b.verify_login(&mirror).run(&alice(), None).await.unwrap();
    // then they are told so, and nothing is stored or spent
    assert!(matches!(outcome, VerifyLoginOutcome::NotRegistered));
    assert_eq!(b.attempts.count(), 0);
    assert_eq!(b.verifier.tokens_issued("verify"), 0);
}

#[tokio::test]
async fn in_uniform_mode_an_unknown_username_gets_a_stored_decoy_without_a_verifier_call() {
    // given nobody is registered and the uniform mode is on
    let b = Backends::at(NOW);
    let mirror = mirror();
    let mut use_case = b.verify_login(&mirror);
    use_case.uniform_unknown_username = true;
    // when someone asks to log in as alice
    let attempt = opened(use_case.run(&alice(), None).await.unwrap());
    // then a decoy attempt is stored like a real one, with a random token and no user
    let stored = b.attempts.attempt(&attempt.credential.id).unwrap();
    assert!(stored.decoy && attempt.decoy);
    assert_eq!(stored.status, AttemptStatus::Pending);
    assert!(stored.user_id.is_empty());
    assert_eq!(attempt.token.len(), 64);
    // and no verifier quota was spent on the guess
    assert_eq!(b.verifier.tokens_issued("verify"), 0);
}

#[tokio::test]
async fn the_limit_answers_before_unknown() {
    // given the username's budget from this network is used up
    let b = Backends::at(NOW);
    let keys = RouteKeys::new(b"test pseudonym key", "login", None, &name_index());
    b.limiter.preset(&keys.username_from_network, 100);
    let mirror = mirror();
    // when an unknown username is tried
    let outcome = b.verify_login(&mirror).run(&alice(), None).await;
    // then the limit answers, not "not registered"
    assert!(matches!(
        outcome,
        Err(Failure::Limited { limit: "login", .. })
    ));
    assert_eq!(b.signals.refusals(), vec!["login"]);
}

#[tokio::test]
async fn a_verifier_failure_opens_no_attempt() {
    // given alice is registered but the verifier refuses tokens for now
    let b = with_alice();
    b.verifier.fail_next_tokens([VerifierError::NotProcessed {
        code: "rate_limited".into(),
    }]);
    let mirror = mirror();
    // when she asks to log in
    let outcome = b.verify_login(&mirror).run(&alice(), None).await;
    // then it fails as the verifier's, and no attempt is stored
    assert!(matches!(outcome, Err(Failure::Verifier { .. })));
    assert_eq!(b.attempts.count(), 0);
}

#[tokio::test]
async fn a_store_outage_leaves_no_attempt_behind() {
    // given the attempts table refuses writes
    let b = with_alice();
    b.attempts.outages.fail_next("create_attempt", 1);
    let mirror = mirror();
    // when alice asks to log in, then it fails as unavailable and nothing is stored
    let outcome = b.verify_login(&mirror).run(&alice(), None).await;
    assert!(matches!(outcome, Err(Failure::Store(_))));
    assert_eq!(b.attempts.count(), 0);
}

#[tokio::test]
async fn the_login_token_is_issued_under_the_login_policy() {
    // given alice registered, and login scans judged for liveness
    let mut b = with_alice();
    b.policies.login.assurance_type = onboarding_core::domain::AssuranceType::Liveness;
    let mirror = mirror();
    // when she asks to log in, then her token was asked for under the login policy
    let attempt = opened(b.verify_login(&mirror).run(&alice(), None).await.unwrap());
    let policy = b.verifier.policy_of(&attempt.token).unwrap();
    assert_eq!(
        policy.assurance_type,
        onboarding_core::domain::AssuranceType::Liveness
    );
}
