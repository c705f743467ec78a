//! The registration-status use case on in-memory adapters: failures explained, and the login
//! session of a completed registration handed out once.

use onboarding_core::crypto::Credential;
use onboarding_core::domain::{Registration, RegistrationStatus};
use onboarding_core::memory::{Backends, submitted_registration};
use onboarding_core::ports::RegistrationStore;
use onboarding_core::use_cases::Failure;

const NOW: i64 = 1_000_000;

async fn stored(
    b: &Backends,
    change: impl FnOnce(&mut Registration),
) -> (Credential, Registration) {
    let credential = Credential::issue("reg-1".into()).unwrap();
    let mut registration = Registration {
        secret_hash: credential.secret_hash(),
        ..submitted_registration(NOW)
    };
    change(&mut registration);
    b.registrations.create(&registration).await.unwrap();
    (credential, registration)
}

#[tokio::test]
async fn a_failed_registration_says_why_with_a_hint_and_attempts_left() {
    // given alice's first attempt failed for a reason the verifier gave
    let b = Backends::at(NOW);
    let (credential, registration) = stored(&b, |r| {
        r.status = RegistrationStatus::Failed;
        r.reason = Some("too_much_movement".into());
    })
    .await;
    // when she reads it
    let view = b
        .registration_status()
        .run(&credential, &registration)
        .await
        .unwrap();
    // then she sees the reason, its hint, and how many attempts remain
    let (reason, hint) = view.failure.unwrap();
    assert_eq!(reason, "too_much_movement");
    assert!(!hint.is_empty());
    assert_eq!(view.attempts_left, 2);
    assert!(view.login.is_none());
}

#[tokio::test]
async fn an_expired_attempt_reads_as_expired() {
    // given alice never scanned and the token ran out
    let b = Backends::at(NOW);
    let (credential, registration) =
        stored(&b, |r| r.status = RegistrationStatus::AwaitingScan).await;
    b.clock.advance(601);
    // when she reads it, then it is expired, with the reason `scan_expired`
    let view = b
        .registration_status()
        .run(&credential, &registration)
        .await
        .unwrap();
    assert_eq!(view.status, RegistrationStatus::Expired);
    assert_eq!(view.failure.unwrap().0, "scan_expired");
}

#[tokio::test]
async fn a_completed_registration_hands_out_its_login_session_once() {
    // given alice's registration completed
    let b = Backends::at(NOW);
    let (credential, registration) = stored(&b, |r| r.status = RegistrationStatus::Completed).await;
    // when she reads it
    let view = b
        .registration_status()
        .run(&credential, &registration)
        .await
        .unwrap();
    // then a session for her user is opened, and its credential matches what is stored
    let (session, login) = view.login.unwrap();
    assert_eq!(session.user_id, registration.user_id);
    let stored = b.sessions.session(&session.id).unwrap();
    assert!(login.matches(&stored.secret_hash));
    // and a later read (with the record as now stored) hands out nothing
    let now_stored = b.registrations.record(&registration.id).unwrap();
    let again = b
        .registration_status()
        .run(&credential, &now_stored)
        .await
        .unwrap();
    assert!(again.login.is_none());
    assert_eq!(again.status, RegistrationStatus::Completed);
}

#[tokio::test]
async fn a_session_write_failure_leaves_the_login_to_hand_out_later() {
    // given the sessions table refuses the write once
    let b = Backends::at(NOW);
    let (credential, registration) = stored(&b, |r| r.status = RegistrationStatus::Completed).await;
    b.sessions.outages.fail_next("create_session", 1);
    // when she reads it, then it fails as unavailable
    let first = b
        .registration_status()
        .run(&credential, &registration)
        .await;
    assert!(matches!(first, Err(Failure::Store(_))));
    // and the next read hands out the same session (its id and secret are derived)
    let view = b
        .registration_status()
        .run(&credential, &registration)
        .await
        .unwrap();
    assert!(view.login.is_some());
}
