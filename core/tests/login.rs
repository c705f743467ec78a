//! The login use case on in-memory adapters: every verdict and verifier error class, decoys,
//! expired, used and concurrently used attempts, a user erased meanwhile, the per-attempt limit,
//! and stores failing at each step. No stack needed (`cargo test -p onboarding-core`).

use std::ops::Deref;
use std::time::{Duration, Instant};

use onboarding_core::crypto::Credential;
use onboarding_core::latency_mirror::LatencyMirror;
use onboarding_core::memory::account::{LOGIN_PER_ATTEMPT, SESSION_ABSOLUTE_SECONDS};
use onboarding_core::memory::{Backends, Scan};
use onboarding_core::ports::{
    AttemptStatus, ClientContext, LoginAttempt, LoginAttemptStore, VerifierError,
};
use onboarding_core::use_cases::Failure;
use onboarding_core::use_cases::account::login::LoginOutcome;

const NOW: i64 = 1_000_000;
/// The verify token of the attempt every test logs in with.
const TOKEN: &str = "verify-1";

/// One world (the in-memory backends) with one registered user, `u1`, and the latency mirror
/// decoys imitate.
struct World {
    backends: Backends,
    validate_latency: LatencyMirror,
}

impl Deref for World {
    type Target = Backends;

    fn deref(&self) -> &Backends {
        &self.backends
    }
}

impl World {
    async fn new() -> Self {
        let world = Self {
            backends: Backends::at(NOW),
            validate_latency: LatencyMirror::new(Duration::ZERO),
        };
        world.registered_user("u1", "alice", "Alice").await;
        world
    }

    /// A stored attempt `a1` of `user_id` in `status`, its token valid for ten more minutes;
    /// returns its credential.
    async fn attempt_of(&self, user_id: &str, status: AttemptStatus) -> Credential {
        self.store_attempt(LoginAttempt {
            user_id: user_id.into(),
            iproov_user_id: format!("iproov-{user_id}"),
            status,
            ..attempt()
        })
        .await
    }

    /// A pending attempt of `u1` whose scan went `scan` (`None`: never scanned).
    async fn scanned(scan: Option<Scan>) -> (Self, Credential) {
        let world = Self::new().await;
        let credential = world.attempt_of("u1", AttemptStatus::Pending).await;
        if let Some(scan) = scan {
            world.verifier.scan(TOKEN, scan);
        }
        (world, credential)
    }

    async fn store_attempt(&self, attempt: LoginAttempt) -> Credential {
        let credential = Credential::issue(attempt.id.clone()).unwrap();
        let attempt = LoginAttempt {
            secret_hash: credential.secret_hash(),
            ..attempt
        };
        self.attempts.create(&attempt).await.unwrap();
        credential
    }

    async fn login(&self, credential: &Credential) -> Result<LoginOutcome, Failure> {
        self.backends
            .login(&self.validate_latency)
            .run(credential, client())
            .await
    }

    fn status(&self) -> AttemptStatus {
        self.attempts.attempt("a1").unwrap().status
    }

    /// Runs `journey` while `when` is watched: once it holds, `then` is done (a store that
    /// breaks mid-journey). The in-memory adapters yield inside every call, so the watch sees
    /// each step's effect before the next step starts.
    async fn meanwhile<T>(
        &self,
        journey: impl Future<Output = T>,
        when: impl Fn(&Self) -> bool,
        then: impl FnOnce(&Self),
    ) -> T {
        let watch = async {
            for _ in 0..1_000 {
                if when(self) {
                    return then(self);
                }
                tokio::task::yield_now().await;
            }
            panic!("the watched condition never held");
        };
        futures::join!(journey, watch).0
    }
}

/// A pending attempt `a1` of `u1` for [`TOKEN`], valid ten more minutes (its secret hash is
/// set when stored).
fn attempt() -> LoginAttempt {
    LoginAttempt {
        id: "a1".into(),
        secret_hash: String::new(),
        user_id: "u1".into(),
        iproov_user_id: "iproov-u1".into(),
        iproov_token: TOKEN.into(),
        status: AttemptStatus::Pending,
        expires_at: NOW + 600,
        created_at: NOW - 60,
        decoy: false,
        session_id: None,
    }
}

fn client() -> ClientContext<'static> {
    ClientContext {
        ip: None,
        user_agent: "test-app/1.0",
    }
}

fn not_processed() -> VerifierError {
    VerifierError::NotProcessed {
        code: "rate_limited".into(),
    }
}

#[tokio::test]
async fn a_passed_scan_opens_a_session_and_ends_the_attempt() {
    // given a pending attempt whose scan passed
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    // when the person logs in
    let outcome = world.login(&credential).await.unwrap();
    // then a session of u1 is open, stored as a hash, with the configured lifetimes
    let LoginOutcome::LoggedIn(logged_in) = outcome else {
        panic!("not logged in: {outcome:?}");
    };
    assert_eq!(logged_in.user.user_id, "u1");
    let stored = world.sessions.session(&logged_in.session.id).unwrap();
    assert!(logged_in.credential.matches(&stored.secret_hash));
    assert_eq!(stored.user_id, "u1");
    assert_eq!((stored.created_at, stored.last_seen), (NOW, NOW));
    assert_eq!(stored.absolute_expires_at, NOW + SESSION_ABSOLUTE_SECONDS);
    // and the attempt passed, after one validate, with one hit on its counter
    assert_eq!(world.status(), AttemptStatus::Passed);
    assert_eq!(world.verifier.validations(TOKEN), 1);
    assert_eq!(world.limiter.count("login#attempt#a1"), 1);
}

#[tokio::test]
async fn a_session_is_written_though_the_attempt_cannot_be_ended() {
    // given a passed scan, and an attempt store that fails every write after the attempt
    // moved to validating
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    // when the person logs in
    let outcome = world
        .meanwhile(
            world.login(&credential),
            |w| w.status() == AttemptStatus::Validating,
            |w| w.attempts.outages.fail_next("transition", 1),
        )
        .await
        .unwrap();
    // then the session is open: the attempt's end is best effort
    assert!(matches!(outcome, LoginOutcome::LoggedIn(_)));
    assert_eq!(world.sessions.of("u1"), 1);
    // and the attempt left validating is just as used up
    assert_eq!(world.status(), AttemptStatus::Validating);
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::AttemptUsed)
    ));
}

#[tokio::test]
async fn a_session_that_cannot_be_written_is_a_store_failure_and_the_attempt_still_ends() {
    // given a passed scan and a session store that cannot write
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world.sessions.outages.fail_next("create_session", 1);
    // when the person logs in
    let outcome = world.login(&credential).await;
    // then the store failure is the answer, and the attempt is used up all the same: a retry
    // never validates the token a second time
    assert!(matches!(outcome, Err(Failure::Store(_))));
    assert_eq!(world.status(), AttemptStatus::Passed);
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::AttemptUsed)
    ));
    assert_eq!(world.verifier.validations(TOKEN), 1);
}

#[tokio::test]
async fn a_failed_scan_ends_the_attempt_with_its_reason() {
    // given a pending attempt whose scan failed (sunglasses)
    let (world, credential) = World::scanned(Some(Scan::Failed("sunglasses"))).await;
    // when the person logs in
    let outcome = world.login(&credential).await.unwrap();
    // then the verification failed for that reason, for u1, with no session
    assert!(matches!(
        outcome,
        LoginOutcome::VerificationFailed { ref reason, ref user_id }
            if reason == "sunglasses" && user_id == "u1"
    ));
    assert_eq!(world.status(), AttemptStatus::Failed);
    assert_eq!(world.sessions.of("u1"), 0);
}

#[tokio::test]
async fn a_reason_outside_the_safe_alphabet_becomes_unknown() {
    // given a scan that failed with a reason no client should see verbatim
    let (world, credential) = World::scanned(Some(Scan::Failed("<b>nope</b>"))).await;
    // when the person logs in
    let outcome = world.login(&credential).await.unwrap();
    // then the reason is sanitised
    assert!(matches!(
        outcome,
        LoginOutcome::VerificationFailed { ref reason, .. } if reason == "unknown"
    ));
}

#[tokio::test]
async fn a_token_the_verifier_refuses_is_a_failed_verification() {
    // given a pending attempt whose scan never reached the verifier
    let (world, credential) = World::scanned(None).await;
    // when the person logs in
    let outcome = world.login(&credential).await.unwrap();
    // then the verifier refused the token, and the attempt failed as validation_unknown
    assert!(matches!(
        outcome,
        LoginOutcome::VerificationFailed { ref reason, ref user_id }
            if reason == "validation_unknown" && user_id == "u1"
    ));
    assert_eq!(world.verifier.refusals(TOKEN), 1);
    assert_eq!(world.status(), AttemptStatus::Failed);
}

#[tokio::test]
async fn a_validate_the_verifier_did_not_process_gives_the_attempt_back_for_a_retry() {
    // given a passed scan, and a verifier that refuses the next call unprocessed (429)
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world.verifier.fail_next([not_processed()]);
    // when the person logs in
    let first = world.login(&credential).await;
    // then the verifier failure is the answer, without asking to start again, and the
    // attempt is pending again
    assert!(matches!(
        first,
        Err(Failure::Verifier {
            start_again: false,
            ..
        })
    ));
    assert_eq!(world.status(), AttemptStatus::Pending);
    // when the same login is tried again, then it logs in after one real validate
    let second = world.login(&credential).await.unwrap();
    assert!(matches!(second, LoginOutcome::LoggedIn(_)));
    assert_eq!(world.verifier.validations(TOKEN), 1);
}

#[tokio::test]
async fn an_attempt_that_cannot_be_given_back_stays_used_up() {
    // given a verifier that refuses unprocessed, and an attempt store that fails every write
    // after the attempt moved to validating
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world.verifier.fail_next([not_processed()]);
    // when the person logs in
    let first = world
        .meanwhile(
            world.login(&credential),
            |w| w.status() == AttemptStatus::Validating,
            |w| w.attempts.outages.fail_next("transition", 1),
        )
        .await;
    // then the answer is still the verifier's failure (the give-back is only logged), and the
    // attempt, left validating, cannot be validated again
    assert!(matches!(
        first,
        Err(Failure::Verifier {
            start_again: false,
            ..
        })
    ));
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::AttemptUsed)
    ));
    assert_eq!(world.verifier.validations(TOKEN), 0);
}

#[tokio::test]
async fn any_other_verifier_error_ends_the_attempt_and_asks_to_start_again() {
    for error in [
        VerifierError::OutcomeUnknown {
            code: "timeout".into(),
        },
        VerifierError::Rejected {
            code: "invalid_key".into(),
        },
        VerifierError::NotFound,
    ] {
        // given a passed scan, and a verifier that fails the validate this way
        let (world, credential) = World::scanned(Some(Scan::Passed)).await;
        world.verifier.fail_next([error.clone()]);
        // when the person logs in
        let first = world.login(&credential).await;
        // then the answer is the verifier's failure, asking to start the login again
        assert!(
            matches!(
                &first,
                Err(Failure::Verifier { error: got, start_again: true }) if *got == error
            ),
            "{error:?}: {first:?}"
        );
        // and the attempt is over: a retry is refused rather than validating a maybe-used token
        assert_eq!(world.status(), AttemptStatus::Failed, "{error:?}");
        assert!(
            matches!(
                world.login(&credential).await,
                Ok(LoginOutcome::AttemptUsed)
            ),
            "{error:?}"
        );
        assert_eq!(world.sessions.of("u1"), 0, "{error:?}");
    }
}

#[tokio::test]
async fn a_decoy_fails_like_a_real_attempt_never_scanned_in_the_time_of_a_real_validate() {
    // given a decoy attempt (no user, no iProov ids), and real validates that took 40 ms
    let world = World::new().await;
    world.validate_latency.record(Duration::from_millis(40));
    let credential = world
        .store_attempt(LoginAttempt {
            user_id: String::new(),
            iproov_user_id: String::new(),
            iproov_token: "random-decoy-token".into(),
            decoy: true,
            ..attempt()
        })
        .await;
    // when someone logs in with it
    let started = Instant::now();
    let outcome = world.login(&credential).await.unwrap();
    // then it failed exactly as a never-scanned real attempt, for no user, without asking the
    // verifier, and no sooner than a real validate would have answered
    assert!(matches!(
        outcome,
        LoginOutcome::VerificationFailed { ref reason, ref user_id }
            if reason == "validation_unknown" && user_id.is_empty()
    ));
    assert_eq!(world.verifier.validations("random-decoy-token"), 0);
    assert!(started.elapsed() >= Duration::from_millis(40));
    // and the decoy is used up like a real one
    assert_eq!(world.status(), AttemptStatus::Failed);
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::AttemptUsed)
    ));
}

#[tokio::test]
async fn every_real_validate_is_timed_for_the_decoys_answered_or_not() {
    // given a mirror whose fallback is an hour, and a verifier that refuses the next validate
    // unprocessed
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    let world = World {
        validate_latency: LatencyMirror::new(Duration::from_secs(3_600)),
        ..world
    };
    world.verifier.fail_next([not_processed()]);
    // when a real validate fails
    let _ = world.login(&credential).await;
    // then what it took is what a decoy now takes, not the fallback
    assert!(world.validate_latency.sample() < Duration::from_secs(3_600));
}

#[tokio::test]
async fn an_expired_attempt_is_refused_without_asking_the_verifier() {
    // given a pending attempt whose token ran out
    let world = World::new().await;
    let credential = world
        .store_attempt(LoginAttempt {
            expires_at: NOW,
            ..attempt()
        })
        .await;
    world.verifier.scan(TOKEN, Scan::Passed);
    // when the person logs in
    let outcome = world.login(&credential).await.unwrap();
    // then it expired, the attempt is untouched and the verifier was not asked
    assert!(matches!(outcome, LoginOutcome::AttemptExpired));
    assert_eq!(world.status(), AttemptStatus::Pending);
    assert_eq!(world.verifier.validations(TOKEN), 0);
}

#[tokio::test]
async fn a_replayed_attempt_is_used_and_never_validates_again() {
    // given an attempt that already logged in
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::LoggedIn(_))
    ));
    // when its credential is presented again
    let again = world.login(&credential).await.unwrap();
    // then the attempt is used: one validate, one session
    assert!(matches!(again, LoginOutcome::AttemptUsed));
    assert_eq!(world.verifier.validations(TOKEN), 1);
    assert_eq!(world.sessions.of("u1"), 1);
}

#[tokio::test]
async fn an_attempt_being_validated_is_used() {
    // given an attempt another request is validating (or that was left validating)
    let world = World::new().await;
    let credential = world.attempt_of("u1", AttemptStatus::Validating).await;
    // when the person logs in, then it is used, even once its token would have expired
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::AttemptUsed)
    ));
    world.clock.advance(3_600);
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::AttemptUsed)
    ));
}

#[tokio::test]
async fn two_concurrent_logins_with_one_attempt_validate_once() {
    // given a passed scan, and the attempt's credential sent twice at once (a double click)
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    let copy = Credential::parse(&credential.expose()).unwrap();
    // when both logins run concurrently
    let (first, second) = futures::join!(world.login(&credential), world.login(&copy));
    // then one logs in and the other finds the attempt taken meanwhile: one validate reached
    // the verifier, one session is open
    let outcomes = [first.unwrap(), second.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, LoginOutcome::LoggedIn(_)))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, LoginOutcome::TakenMeanwhile)),
        "{outcomes:?}"
    );
    assert_eq!(world.verifier.validations(TOKEN), 1);
    assert_eq!(world.sessions.of("u1"), 1);
}

#[tokio::test]
async fn a_user_erased_meanwhile_gets_no_session_and_the_attempt_is_used_up() {
    // given an attempt of u2, whose scan passed, but u2 was erased since verify-login
    let world = World::new().await;
    let credential = world.attempt_of("u2", AttemptStatus::Pending).await;
    world.verifier.scan(TOKEN, Scan::Passed);
    // when the person logs in
    let outcome = world.login(&credential).await.unwrap();
    // then there is no user to log in, no session, and the attempt cannot be used again
    assert!(matches!(outcome, LoginOutcome::UserGone));
    assert_eq!(world.sessions.of("u2"), 0);
    assert_eq!(world.status(), AttemptStatus::Passed);
}

#[tokio::test]
async fn a_user_that_cannot_be_read_is_a_store_failure_and_the_attempt_is_used_up() {
    // given a passed scan and a user store that fails its next read
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world.users.outages.fail_next("get", 1);
    // when the person logs in
    let outcome = world.login(&credential).await;
    // then the store failure is the answer, and the token is not validated a second time
    assert!(matches!(outcome, Err(Failure::Store(_))));
    assert_eq!(world.status(), AttemptStatus::Passed);
    assert_eq!(world.verifier.validations(TOKEN), 1);
}

#[tokio::test]
async fn an_attempt_over_its_limit_is_refused_and_signalled() {
    // given a pending attempt whose counter is full
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world
        .limiter
        .preset("login#attempt#a1", LOGIN_PER_ATTEMPT.limit);
    // when the person logs in
    let outcome = world.login(&credential).await;
    // then the limit refuses (signalled to operators), and nothing else happened
    assert!(matches!(
        outcome,
        Err(Failure::Limited {
            limit: "login_attempt",
            retry_after: 60
        })
    ));
    assert_eq!(world.signals.refusals(), ["login_attempt"]);
    assert_eq!(world.status(), AttemptStatus::Pending);
    assert_eq!(world.verifier.validations(TOKEN), 0);
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_even_over_the_limit() {
    // given an attempt whose counter is full, and a credential with its id but another secret
    let (world, _) = World::scanned(Some(Scan::Passed)).await;
    world
        .limiter
        .preset("login#attempt#a1", LOGIN_PER_ATTEMPT.limit);
    let forged = Credential::issue("a1".into()).unwrap();
    // when it is presented
    let outcome = world.login(&forged).await.unwrap();
    // then it is unauthorized (the limit never tells which ids exist), though the hit counted
    // and its refusal was signalled like any other
    assert!(matches!(outcome, LoginOutcome::Unauthorized));
    assert_eq!(world.signals.refusals(), ["login_attempt"]);
    assert_eq!(world.status(), AttemptStatus::Pending);
}

#[tokio::test]
async fn a_credential_naming_no_attempt_is_unauthorized_and_counted() {
    // given no attempt at all
    let world = World::new().await;
    let unknown = Credential::issue("nope".into()).unwrap();
    // when its credential is presented
    let outcome = world.login(&unknown).await.unwrap();
    // then it is unauthorized, and the hit counted against the id it named
    assert!(matches!(outcome, LoginOutcome::Unauthorized));
    assert_eq!(world.limiter.count("login#attempt#nope"), 1);
}

#[tokio::test]
async fn an_unreadable_attempt_store_is_a_store_failure() {
    // given an attempt store that cannot be read
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world.attempts.outages.fail_next("get_attempt", 1);
    // when the person logs in, then the store failure is the answer
    assert!(matches!(
        world.login(&credential).await,
        Err(Failure::Store(_))
    ));
    assert_eq!(world.verifier.validations(TOKEN), 0);
}

#[tokio::test]
async fn unreachable_counters_refuse_the_login() {
    // given a counter store that cannot be reached
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world.limiter.outages.fail_next("hit", 1);
    // when the person logs in
    let outcome = world.login(&credential).await;
    // then the limit fails closed, unsignalled (no limit was passed), and the attempt waits
    assert!(matches!(outcome, Err(Failure::Store(_))));
    assert!(world.signals.refusals().is_empty());
    assert_eq!(world.status(), AttemptStatus::Pending);
}

#[tokio::test]
async fn an_attempt_that_cannot_be_taken_is_a_store_failure_and_stays_pending() {
    // given an attempt store that fails its next write
    let (world, credential) = World::scanned(Some(Scan::Passed)).await;
    world.attempts.outages.fail_next("transition", 1);
    // when the person logs in
    let outcome = world.login(&credential).await;
    // then the store failure is the answer, the verifier was not asked, and the same login
    // works once the store is back
    assert!(matches!(outcome, Err(Failure::Store(_))));
    assert_eq!(world.status(), AttemptStatus::Pending);
    assert_eq!(world.verifier.validations(TOKEN), 0);
    assert!(matches!(
        world.login(&credential).await,
        Ok(LoginOutcome::LoggedIn(_))
    ));
}
