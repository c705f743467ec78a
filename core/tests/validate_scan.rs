//! The scan validation use case on in-memory adapters: every branch, crashes after each step
//! and their resumption, duplicate deliveries. No stack needed (`cargo test -p onboarding-core`).

use std::ops::Deref;

use onboarding_core::domain::RegistrationStatus;
use onboarding_core::domain::registration::Outcome;
use onboarding_core::memory::{Backends, Scan, submitted_registration};
use onboarding_core::ports::{Clock, RegistrationStore, ScanSubmitted, VerifierError};
use onboarding_core::use_cases::validate_scan::{
    DropReason, RetryReason, ScanValidated, ValidateScan,
};

const NOW: i64 = 1_000_000;
const LEASE: i64 = 60;

/// One world (the in-memory backends) with one submitted registration in it.
struct World(Backends);

impl Deref for World {
    type Target = Backends;

    fn deref(&self) -> &Backends {
        &self.0
    }
}

impl World {
    async fn with_submitted_scan(scan: Option<Scan>) -> Self {
        let world = Self(Backends::at(NOW));
        world
            .registrations
            .create(&submitted_registration(NOW))
            .await
            .unwrap();
        if let Some(scan) = scan {
            world.verifier.scan("token-1", scan);
        }
        world
    }

    fn use_case(&self) -> ValidateScan<'_> {
        self.validate_scan(LEASE)
    }

    async fn deliver(&self) -> ScanValidated {
        self.use_case()
            .run(&message())
            .await
            .expect("store up")
            .result
    }

    fn status(&self) -> RegistrationStatus {
        self.registrations.record("reg-1").unwrap().status
    }
}

fn message() -> ScanSubmitted {
    ScanSubmitted {
        registration_id: "reg-1".into(),
        attempt: 1,
        request_id: None,
    }
}

fn unknown(code: &str) -> VerifierError {
    VerifierError::OutcomeUnknown { code: code.into() }
}

#[tokio::test]
async fn a_passed_scan_stores_the_user_its_claim_and_its_image_then_completes() {
    // given a submitted registration whose scan passed
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    // when the message is delivered
    let outcome = world.use_case().run(&message()).await.unwrap();
    // then the registration is completed, with one user, one image and one validate
    assert_eq!(outcome.result, ScanValidated::Completed);
    assert!(outcome.verifier_answered);
    assert_eq!(world.status(), RegistrationStatus::Completed);
    assert_eq!(world.users.count(), 1);
    let user = world.users.user("user-1").unwrap();
    assert_eq!(user.registration_id.as_deref(), Some("reg-1"));
    assert_eq!(user.image_key.as_deref(), Some("faces/user-1/reg-1-1.png"));
    assert!(world.images.has("faces/user-1/reg-1-1.png"));
    assert_eq!(world.verifier.validations("token-1"), 1);
}

#[tokio::test]
async fn a_failed_scan_fails_the_attempt_with_a_sanitised_reason_and_stores_nothing() {
    // given a scan that failed with a reason, and one with a reason no hint knows
    for (raw, expected) in [
        ("ambiguous_outcome", "ambiguous_outcome"),
        ("<script>", "unknown"),
    ] {
        let world = World::with_submitted_scan(Some(Scan::Failed(raw))).await;
        // when delivered
        let outcome = world.deliver().await;
        // then the attempt failed for that reason code, and nothing was stored
        assert_eq!(
            outcome,
            ScanValidated::Failed {
                reason: expected.into()
            },
            "{raw}"
        );
        let record = world.registrations.record("reg-1").unwrap();
        assert_eq!(record.status, RegistrationStatus::Failed);
        assert_eq!(record.outcome, Some(Outcome::Failed));
        assert_eq!(world.users.count(), 0);
        assert_eq!(world.images.versions_under("faces/"), 0);
    }
}

#[tokio::test]
async fn a_username_taken_meanwhile_fails_the_attempt_and_leaves_no_biometric_data() {
    // given another user who completed with the same username first
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world.users.claim("name-1", "someone-else");
    // when this registration's passed scan is delivered
    let outcome = world.deliver().await;
    // then it fails as username_taken, and neither its image nor its enrolment is left
    assert_eq!(
        outcome,
        ScanValidated::Failed {
            reason: "username_taken".into()
        }
    );
    assert_eq!(world.status(), RegistrationStatus::Failed);
    assert_eq!(world.images.versions_under("faces/user-1/"), 0);
    assert!(!world.verifier.is_enrolled("iproov-user-1"));
    // and the other user is untouched
    assert!(world.users.user("someone-else").is_some());
}

#[tokio::test]
async fn a_failed_cleanup_after_a_taken_username_comes_back_and_finishes() {
    // given a taken username and a verifier that cannot delete the enrolment right now
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world.users.claim("name-1", "someone-else");
    world.verifier.fail_next_deletes(1);
    // when the message is delivered
    let first = world.deliver().await;
    // then it comes back, the registration not yet failed
    assert_eq!(first, ScanValidated::Retry(RetryReason::CleanupPending));
    assert_eq!(world.status(), RegistrationStatus::Validating);
    // and when it is delivered again, both are removed and the attempt fails, with no second
    // validate
    let second = world.deliver().await;
    assert_eq!(
        second,
        ScanValidated::Failed {
            reason: "username_taken".into()
        }
    );
    assert!(!world.verifier.is_enrolled("iproov-user-1"));
    assert_eq!(world.images.versions_under("faces/user-1/"), 0);
    assert_eq!(world.verifier.validations("token-1"), 1);
}

#[tokio::test]
async fn a_refused_token_is_validation_unknown_before_expiry_and_scan_expired_after() {
    // given a token the verifier refuses (never streamed), before and after its expiry
    for (advance, expected) in [(0, "validation_unknown"), (601, "scan_expired")] {
        let world = World::with_submitted_scan(None).await;
        world.clock.advance(advance);
        // when delivered
        let outcome = world.use_case().run(&message()).await.unwrap();
        // then the attempt fails for the matching reason, and the verifier did answer
        assert_eq!(
            outcome.result,
            ScanValidated::Failed {
                reason: expected.into()
            }
        );
        assert!(outcome.verifier_answered);
    }
}

#[tokio::test]
async fn a_verifier_that_did_not_process_gives_the_attempt_back_and_a_later_delivery_completes() {
    // given a passed scan and a verifier that is rate limiting the first call
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world.verifier.fail_next([VerifierError::NotProcessed {
        code: "rate_limited".into(),
    }]);
    // when the message is delivered
    let first = world.use_case().run(&message()).await.unwrap();
    // then it comes back, the registration is submitted again, and no lag was measured
    assert_eq!(
        first.result,
        ScanValidated::Retry(RetryReason::VerifierUnavailable {
            code: "rate_limited".into()
        })
    );
    assert!(!first.verifier_answered);
    assert_eq!(world.status(), RegistrationStatus::Submitted);
    // and the next delivery completes with one validate that counted
    assert_eq!(world.deliver().await, ScanValidated::Completed);
    assert_eq!(world.verifier.validations("token-1"), 1);
}

#[tokio::test]
async fn an_outcome_unknown_that_consumed_the_token_ends_as_a_retryable_failure() {
    // given a verifier whose first answer was lost (a timeout after the request was sent)
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world.verifier.fail_next([unknown("timeout")]);
    // when the message is delivered twice
    let first = world.deliver().await;
    let second = world.deliver().await;
    // then the first retries and the second finds the token used up: the person scans again
    assert!(matches!(
        first,
        ScanValidated::Retry(RetryReason::VerifierUnavailable { .. })
    ));
    assert_eq!(
        second,
        ScanValidated::Failed {
            reason: "validation_unknown".into()
        }
    );
    assert_eq!(world.users.count(), 0);
}

#[tokio::test]
async fn a_rejected_call_fails_the_attempt_as_unknown() {
    // given a verifier that refuses our credentials
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world.verifier.fail_next([VerifierError::Rejected {
        code: "invalid_key".into(),
    }]);
    // when delivered, then the attempt fails as unknown
    assert_eq!(
        world.deliver().await,
        ScanValidated::Failed {
            reason: "unknown".into()
        }
    );
}

#[tokio::test]
async fn a_copy_that_finds_a_live_holder_comes_back_and_takes_over_once_the_lease_ran_out() {
    // given a delivery that began validating and vanished before recording anything
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world
        .registrations
        .begin_validation("reg-1", 1, NOW, LEASE)
        .await
        .unwrap();
    // when a copy arrives while the lease holds
    let early = world.deliver().await;
    // then it comes back without calling the verifier
    assert_eq!(early, ScanValidated::Retry(RetryReason::HeldElsewhere));
    assert_eq!(world.verifier.validations("token-1"), 0);
    // and once the lease ran out, a copy takes over and completes
    world.clock.advance(LEASE + 1);
    assert_eq!(world.deliver().await, ScanValidated::Completed);
}

#[tokio::test]
async fn a_duplicate_after_completion_earlier_attempts_and_gone_registrations_are_dropped() {
    // given a completed registration
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    assert_eq!(world.deliver().await, ScanValidated::Completed);
    // when the same message comes again, then it is dropped without a second validate
    assert_eq!(
        world.deliver().await,
        ScanValidated::Dropped(DropReason::AlreadyDecided)
    );
    assert_eq!(world.verifier.validations("token-1"), 1);
    // and a message for attempt 0, or for a registration that is gone, is dropped too
    let earlier = ScanSubmitted {
        attempt: 0,
        ..message()
    };
    let run = world.use_case().run(&earlier).await.unwrap();
    assert_eq!(
        run.result,
        ScanValidated::Dropped(DropReason::EarlierAttempt)
    );
    world.registrations.delete("reg-1").await.unwrap();
    assert_eq!(
        world.deliver().await,
        ScanValidated::Dropped(DropReason::RegistrationGone)
    );
}

#[tokio::test]
async fn a_crash_after_the_outcome_is_recorded_finishes_without_a_second_validate() {
    // given a delivery that recorded "passed" and then lost the user write (a crash there)
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world.users.outages.fail_next("create", 1);
    assert!(world.use_case().run(&message()).await.is_err());
    assert_eq!(
        world.registrations.record("reg-1").unwrap().outcome,
        Some(Outcome::Passed)
    );
    // when the message comes back
    let again = world.deliver().await;
    // then the registration completes, with no validate beyond the first
    assert_eq!(again, ScanValidated::Completed);
    assert_eq!(world.verifier.validations("token-1"), 1);
    assert_eq!(world.users.count(), 1);
}

#[tokio::test]
async fn a_failed_upload_fails_the_attempt_with_no_user_and_no_biometric_data() {
    // given S3 down during the delivery that validated (a regression: the message used to come
    // back and the retry wrote the user pointing at an image that was never stored)
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    world.images.outages.fail_next("put", 1);
    // when delivered
    let result = world.deliver().await;
    // then the attempt fails as scan_not_stored, since no later delivery could store the image:
    // no user, no image, no enrolment left, one validate, and the person may scan again
    assert_eq!(
        result,
        ScanValidated::Failed {
            reason: "scan_not_stored".into()
        }
    );
    assert_eq!(world.users.count(), 0);
    assert_eq!(world.images.versions_under("faces/user-1/"), 0);
    assert!(!world.verifier.is_enrolled("iproov-user-1"));
    assert_eq!(world.status(), RegistrationStatus::Failed);
    assert_eq!(world.verifier.validations("token-1"), 1);
}

#[tokio::test]
async fn an_image_lost_in_a_crash_fails_the_attempt_once_the_lease_ran_out() {
    // given a delivery that recorded "passed" with its image key and crashed while uploading
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    let now = world.clock.now();
    world.verifier.enrol("iproov-user-1");
    world
        .registrations
        .begin_validation("reg-1", 1, now, LEASE)
        .await
        .unwrap();
    world
        .registrations
        .record_outcome(
            "reg-1",
            1,
            Outcome::Passed,
            None,
            Some("faces/user-1/reg-1-1.png"),
            now,
        )
        .await
        .unwrap();
    // when a copy arrives within the lease (the uploader may still be at work)
    let copy = world.deliver().await;
    // then it decides nothing and comes back later
    assert_eq!(copy, ScanValidated::Retry(RetryReason::HeldElsewhere));
    assert_eq!(world.status(), RegistrationStatus::Validating);
    // and when it comes back after the lease, the image still missing
    world.clock.advance(LEASE + 1);
    let again = world.deliver().await;
    // then the attempt fails as scan_not_stored, with no user and no enrolment left
    assert_eq!(
        again,
        ScanValidated::Failed {
            reason: "scan_not_stored".into()
        }
    );
    assert_eq!(world.users.count(), 0);
    assert!(!world.verifier.is_enrolled("iproov-user-1"));
}

#[tokio::test]
async fn a_crash_at_any_store_step_resumes_to_a_terminal_state() {
    // given each store step of the happy path failing once in turn; a crash between the
    // verifier's answer and its record is the one that costs the person a new scan (the token
    // is used up and the answer lost), and so is a failed upload (the image exists only in that
    // answer); every other one resumes to completion
    let steps: [(&str, &str, ScanValidated); 6] = [
        ("registrations", "get", ScanValidated::Completed),
        (
            "registrations",
            "begin_validation",
            ScanValidated::Completed,
        ),
        (
            "registrations",
            "record_outcome",
            ScanValidated::Failed {
                reason: "validation_unknown".into(),
            },
        ),
        ("registrations", "complete", ScanValidated::Completed),
        ("users", "create", ScanValidated::Completed),
        (
            "images",
            "put",
            ScanValidated::Failed {
                reason: "scan_not_stored".into(),
            },
        ),
    ];
    for (store, step, expected) in steps {
        let world = World::with_submitted_scan(Some(Scan::Passed)).await;
        match store {
            "users" => world.users.outages.fail_next(step, 1),
            "images" => world.images.outages.fail_next(step, 1),
            _ => world.registrations.outages.fail_next(step, 1),
        }
        // when the message is delivered until it stops coming back (bounded, with the lease
        // running out between deliveries, as the queue's backoff would let it)
        let mut last = None;
        for _ in 0..5 {
            match world.use_case().run(&message()).await {
                Ok(v) if !matches!(v.result, ScanValidated::Retry(_)) => {
                    last = Some(v.result);
                    break;
                }
                _ => world.clock.advance(LEASE + 1),
            }
        }
        // then it ended as expected, a user exists only if it completed, and the verifier
        // gave at most one verdict (a second call, if any, was refused as invalid_token)
        let completed = expected == ScanValidated::Completed;
        assert_eq!(last, Some(expected), "crash at {store}.{step}");
        assert_eq!(world.users.count(), usize::from(completed), "{step}");
        assert!(world.verifier.validations("token-1") <= 2, "{step}");
        if completed {
            assert_eq!(world.verifier.validations("token-1"), 1, "{step}");
        }
    }
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_validate_once_and_create_one_user() {
    // given a passed scan and three copies of its message delivered at once
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    let use_case = world.use_case();
    let message = message();
    let copies = futures::future::join_all((0..3).map(|_| use_case.run(&message))).await;
    // then one completed, the others came back or were dropped, and once they are redelivered
    // nothing changes
    let completed = copies
        .iter()
        .filter(|c| matches!(c, Ok(v) if v.result == ScanValidated::Completed))
        .count();
    assert_eq!(completed, 1);
    world.clock.advance(LEASE + 1);
    assert_eq!(
        world.deliver().await,
        ScanValidated::Dropped(DropReason::AlreadyDecided)
    );
    assert_eq!(world.verifier.validations("token-1"), 1);
    assert_eq!(world.users.count(), 1);
}

#[tokio::test]
async fn the_user_is_created_with_the_consent_its_registration_recorded() {
    // given a submitted registration that recorded consent, whose scan passed
    let world = World::with_submitted_scan(Some(Scan::Passed)).await;
    // when the message is delivered
    assert_eq!(world.deliver().await, ScanValidated::Completed);
    // then the user carries the same consent record
    let user = world.users.user("user-1").expect("user created");
    assert!(user.consent.is_some());
    assert_eq!(user.consent, submitted_registration(NOW).consent);
}
