//! The step-up use cases on in-memory adapters: an attempt bound to its session, one validate
//! per attempt, elevation only on a pass and never past the session, and the policy each
//! journey's tokens are issued under.

use std::ops::Deref;

use onboarding_core::crypto::Credential;
use onboarding_core::domain::{AssurancePolicy, AssuranceType};
use onboarding_core::memory::account::{SESSION_ABSOLUTE_SECONDS, STEP_UP_WINDOW_SECONDS};
use onboarding_core::memory::{Backends, Scan};
use onboarding_core::ports::{AttemptStatus, ClientContext, VerifierError};
use onboarding_core::use_cases::Failure;
use onboarding_core::use_cases::account::step_up::{StepUpOpened, StepUpOutcome};
use onboarding_core::use_cases::account::{Authenticated, SessionRefused};

const NOW: i64 = 1_000_000;
const CLIENT: ClientContext<'static> = ClientContext {
    ip: None,
    user_agent: "test",
};

/// u1 registered and enrolled, with session `s1` (seen just now) and a second session `s2`.
struct World {
    backends: Backends,
    s1: Credential,
    s2: Credential,
}

impl Deref for World {
    type Target = Backends;

    fn deref(&self) -> &Backends {
        &self.backends
    }
}

impl World {
    async fn new() -> Self {
        Self::s1_last_seen(NOW).await
    }

    /// As [`World::new`], `s1` last seen at `last_seen`.
    async fn s1_last_seen(last_seen: i64) -> Self {
        let mut backends = Backends::at(NOW);
        backends.policies.step_up = AssurancePolicy {
            assurance_type: AssuranceType::Liveness,
            risk_profile: Some("step-up-high".into()),
        };
        backends.registered_user("u1", "alice", "Alice").await;
        let s1 = backends.session_of("s1", "u1", last_seen, NOW + SESSION_ABSOLUTE_SECONDS);
        let s2 = backends.session_of("s2", "u1", NOW, NOW + SESSION_ABSOLUTE_SECONDS);
        Self { backends, s1, s2 }
    }

    /// A step-up attempt opened from `s1`.
    async fn opened(&self) -> StepUpOpened {
        match self.start_step_up().run(&self.s1, None).await {
            Ok(Authenticated::Live(opened)) => opened,
            other => panic!("not opened: {other:?}"),
        }
    }

    async fn complete(
        &self,
        session: &Credential,
        attempt: &Credential,
    ) -> Result<Authenticated<StepUpOutcome>, Failure> {
        self.complete_step_up().run(session, attempt, CLIENT).await
    }

    fn last_seen_of(&self, session: &str) -> Option<i64> {
        self.sessions.session(session).map(|s| s.last_seen)
    }

    fn elevation_of(&self, session: &str) -> Option<i64> {
        self.sessions
            .session(session)
            .and_then(|s| s.elevated_until)
    }
}

fn live(outcome: Result<Authenticated<StepUpOutcome>, Failure>) -> StepUpOutcome {
    match outcome {
        Ok(Authenticated::Live(outcome)) => outcome,
        other => panic!("not live: {other:?}"),
    }
}

#[tokio::test]
async fn a_step_up_token_is_for_the_sessions_own_user_under_the_step_up_policy() {
    // given u1's session s1
    let world = World::new().await;
    // when s1 starts a step-up
    let opened = world.opened().await;
    // then the attempt is u1's, bound to s1, and its token was issued under the step-up policy
    let attempt = world.attempts.attempt(&opened.credential.id).unwrap();
    assert_eq!(attempt.user_id, "u1");
    assert_eq!(attempt.session_id.as_deref(), Some("s1"));
    assert_eq!(attempt.status, AttemptStatus::Pending);
    let policy = world.verifier.policy_of(&opened.token).unwrap();
    assert_eq!(policy.assurance_type, AssuranceType::Liveness);
    assert_eq!(policy.risk_profile.as_deref(), Some("step-up-high"));
}

#[tokio::test]
async fn a_passed_step_up_elevates_the_session_for_the_window_with_its_acr() {
    // given a step-up attempt of s1 whose scan passed
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    // when s1 completes it
    let outcome = live(world.complete(&world.s1, &opened.credential).await);
    // then s1 (and only s1) is elevated for the window, under the step-up's assurance
    let until = NOW + STEP_UP_WINDOW_SECONDS;
    assert!(
        matches!(
            &outcome,
            StepUpOutcome::Elevated { acr: "urn:iproov:assurance:liveness", until: u, .. } if *u == until
        ),
        "{outcome:?}"
    );
    assert_eq!(world.elevation_of("s1"), Some(until));
    assert_eq!(world.elevation_of("s2"), None);
    assert_eq!(world.verifier.validations(&opened.token), 1);
}

#[tokio::test]
async fn a_failed_scan_elevates_nothing_and_ends_the_attempt() {
    // given a step-up attempt whose scan failed
    let world = World::new().await;
    let opened = world.opened().await;
    world
        .verifier
        .scan(&opened.token, Scan::Failed("too_much_movement"));
    // when s1 completes it
    let outcome = live(world.complete(&world.s1, &opened.credential).await);
    // then the verification failed with the verifier's reason, and nothing is elevated
    assert!(matches!(
        outcome,
        StepUpOutcome::VerificationFailed { ref reason, .. } if reason == "too_much_movement"
    ));
    assert_eq!(world.elevation_of("s1"), None);
    // and the attempt cannot be tried again
    let again = live(world.complete(&world.s1, &opened.credential).await);
    assert_eq!(again, StepUpOutcome::Used);
    assert_eq!(world.verifier.validations(&opened.token), 1);
}

#[tokio::test]
async fn a_replayed_attempt_is_refused_without_a_second_validate() {
    // given a step-up s1 completed
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    live(world.complete(&world.s1, &opened.credential).await);
    // when the same attempt is sent again
    let replay = live(world.complete(&world.s1, &opened.credential).await);
    // then it is used, and the verifier was asked once
    assert_eq!(replay, StepUpOutcome::Used);
    assert_eq!(world.verifier.validations(&opened.token), 1);
}

#[tokio::test]
async fn another_sessions_attempt_is_refused_and_left_untouched() {
    // given a step-up attempt opened by s1, scanned
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    // when s2 (the same user's other session) tries to complete it
    let foreign = live(world.complete(&world.s2, &opened.credential).await);
    // then it is refused, nothing is elevated, and the attempt is still s1's to complete
    assert_eq!(foreign, StepUpOutcome::Foreign);
    assert_eq!(world.elevation_of("s2"), None);
    assert_eq!(world.verifier.validations(&opened.token), 0);
    let own = live(world.complete(&world.s1, &opened.credential).await);
    assert!(matches!(own, StepUpOutcome::Elevated { .. }));
}

#[tokio::test]
async fn a_login_attempt_is_not_a_step_up_and_a_step_up_is_not_a_login() {
    // given a step-up attempt of s1, scanned
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    // when it is sent to the login, then it opens no session
    let latency =
        onboarding_core::latency_mirror::LatencyMirror::new(std::time::Duration::from_millis(1));
    let login = world
        .login(&latency)
        .run(&opened.credential, CLIENT)
        .await
        .unwrap();
    assert!(matches!(
        login,
        onboarding_core::use_cases::account::login::LoginOutcome::Unauthorized
    ));
    assert_eq!(world.sessions.of("u1"), 2);
    // and a credential naming no step-up attempt completes nothing
    let unknown = Credential::issue("nope".into()).unwrap();
    assert_eq!(
        live(world.complete(&world.s1, &unknown).await),
        StepUpOutcome::UnknownAttempt
    );
}

#[tokio::test]
async fn an_expired_attempt_cannot_elevate() {
    // given a step-up attempt whose token ran out
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    world.clock.advance(601);
    // when s1 completes it, then it expired, and nothing is elevated
    let outcome = live(world.complete(&world.s1, &opened.credential).await);
    assert_eq!(outcome, StepUpOutcome::Expired);
    assert_eq!(world.elevation_of("s1"), None);
}

#[tokio::test]
async fn the_verifier_down_elevates_nothing_and_the_attempt_can_be_completed_again() {
    // given a scanned step-up attempt, and a verifier that does not process the next validate
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    world.verifier.fail_next([VerifierError::NotProcessed {
        code: "rate_limited".into(),
    }]);
    // when s1 completes it
    let outcome = world.complete(&world.s1, &opened.credential).await;
    // then it fails as unavailable (the same request may be made again), nothing is elevated
    assert!(matches!(
        outcome,
        Err(Failure::Verifier {
            start_again: false,
            ..
        })
    ));
    assert_eq!(world.elevation_of("s1"), None);
    // and completing it again elevates
    let again = live(world.complete(&world.s1, &opened.credential).await);
    assert!(matches!(again, StepUpOutcome::Elevated { .. }));
}

#[tokio::test]
async fn an_unknown_outcome_ends_the_attempt() {
    // given a scanned attempt, and a validate whose outcome is unknown (it may have used the
    // token)
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    world.verifier.fail_next([VerifierError::OutcomeUnknown {
        code: "timeout".into(),
    }]);
    // when s1 completes it, then it fails and the person must start again
    let outcome = world.complete(&world.s1, &opened.credential).await;
    assert!(matches!(
        outcome,
        Err(Failure::Verifier {
            start_again: true,
            ..
        })
    ));
    assert_eq!(
        live(world.complete(&world.s1, &opened.credential).await),
        StepUpOutcome::Used
    );
    assert_eq!(world.elevation_of("s1"), None);
}

#[tokio::test]
async fn the_elevation_never_outlives_the_session() {
    // given a session ending in one minute, and a passed step-up
    let world = World::new().await;
    let short = world.session_of("s3", "u1", NOW, NOW + 60);
    let opened = match world.start_step_up().run(&short, None).await.unwrap() {
        Authenticated::Live(opened) => opened,
        other => panic!("{other:?}"),
    };
    world.verifier.scan(&opened.token, Scan::Passed);
    // when s3 completes it, then the elevation ends with the session
    let outcome = live(world.complete(&short, &opened.credential).await);
    assert!(
        matches!(
            &outcome,
            StepUpOutcome::Elevated { acr: "urn:iproov:assurance:liveness", until, .. } if *until == NOW + 60
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_step_up_completed_after_logout_elevates_nothing() {
    // given a scanned step-up of s1, and s1 logged out meanwhile
    let world = World::new().await;
    let opened = world.opened().await;
    world.verifier.scan(&opened.token, Scan::Passed);
    world.logout().run(&world.s1).await.unwrap();
    // when the attempt is completed with s1's credential, then the session is refused
    let outcome = world.complete(&world.s1, &opened.credential).await;
    assert!(matches!(
        outcome,
        Ok(Authenticated::Refused(SessionRefused::Unauthorized))
    ));
    assert_eq!(world.verifier.validations(&opened.token), 0);
}

#[tokio::test]
async fn step_ups_are_rate_limited_like_verify_login_and_spend_no_token_when_refused() {
    // given the caller's IP has used its step-up budget
    let world = World::new().await;
    for _ in 0..onboarding_core::memory::TEST_LIMIT.limit {
        world.opened().await;
    }
    let spent = world.verifier.tokens_issued("verify");
    // when s1 starts one more
    let outcome = world.start_step_up().run(&world.s1, None).await;
    // then it is limited under the step-up route, and no token is spent
    assert!(matches!(
        outcome,
        Err(Failure::Limited {
            limit: "step_up",
            ..
        })
    ));
    assert_eq!(world.verifier.tokens_issued("verify"), spent);
}

#[tokio::test]
async fn an_expired_session_cannot_step_up() {
    // given s1 unused past its idle timeout
    let world = World::new().await;
    world
        .clock
        .advance(onboarding_core::memory::account::SESSION_IDLE_SECONDS);
    // when it starts a step-up, then it is refused as expired, and no token is spent
    let outcome = world.start_step_up().run(&world.s1, None).await;
    assert!(matches!(
        outcome,
        Ok(Authenticated::Refused(SessionRefused::Expired))
    ));
    assert_eq!(world.verifier.tokens_issued("verify"), 0);
}

#[tokio::test]
async fn starting_a_step_up_records_the_sessions_due_activity() {
    // given s1 last seen two minutes ago (activity is recorded at most once a minute)
    let world = World::s1_last_seen(NOW - 120).await;
    // when s1 starts a step-up
    world.opened().await;
    // then the attempt is open and s1's activity is recorded
    assert_eq!(world.last_seen_of("s1"), Some(NOW));
}

#[tokio::test]
async fn completing_a_step_up_records_due_activity_an_earlier_record_missed() {
    // given a passed step-up attempt of s1, s1 then unused for two minutes
    let world = World::s1_last_seen(NOW - 120).await;
    world.sessions.outages.fail_next("touch", 1);
    let opened = world.opened().await;
    assert_eq!(
        world.last_seen_of("s1"),
        Some(NOW - 120),
        "the start's record failed"
    );
    world.verifier.scan(&opened.token, Scan::Passed);
    // when s1 completes it
    let outcome = live(world.complete(&world.s1, &opened.credential).await);
    // then s1 is elevated and its activity recorded
    assert!(
        matches!(outcome, StepUpOutcome::Elevated { .. }),
        "{outcome:?}"
    );
    assert_eq!(world.last_seen_of("s1"), Some(NOW));
}
