//! The submit-scan use case on in-memory adapters: a scan submitted once, double submits, an
//! expired token, and a queue that refuses (the state change is undone).

use onboarding_core::domain::{Registration, RegistrationStatus};
use onboarding_core::memory::{Backends, MemoryScanQueue, submitted_registration};
use onboarding_core::ports::RegistrationStore;
use onboarding_core::use_cases::submit_scan::SubmitOutcome;

const NOW: i64 = 1_000_000;

async fn awaiting(b: &Backends) -> Registration {
    let registration = Registration {
        status: RegistrationStatus::AwaitingScan,
        ..submitted_registration(NOW)
    };
    b.registrations.create(&registration).await.unwrap();
    registration
}

#[tokio::test]
async fn a_scan_is_submitted_once_and_the_validator_is_asked() {
    // given a registration awaiting its scan
    let b = Backends::at(NOW);
    let queue = MemoryScanQueue::default();
    let registration = awaiting(&b).await;
    // when the app says the scan finished
    let outcome = b
        .submit_scan(&queue)
        .run(&registration, Some("req-1".into()))
        .await
        .unwrap();
    // then the registration is submitted and one message (ids only) is queued
    assert_eq!(outcome, SubmitOutcome::Submitted);
    assert_eq!(
        b.registrations.record(&registration.id).unwrap().status,
        RegistrationStatus::Submitted
    );
    let published = queue.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].registration_id, registration.id);
    assert_eq!(published[0].attempt, 1);
}

#[tokio::test]
async fn a_double_submit_reports_where_the_registration_is() {
    // given a registration awaiting its scan
    let b = Backends::at(NOW);
    let queue = MemoryScanQueue::default();
    let registration = awaiting(&b).await;
    // when two submits race with the same view of it
    let use_case = b.submit_scan(&queue);
    let (one, two) = tokio::join!(
        use_case.run(&registration, None),
        use_case.run(&registration, None)
    );
    // then one is submitted, the other told it is no longer awaiting, and one message left
    let mut outcomes = [one.unwrap(), two.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [
            SubmitOutcome::Submitted,
            SubmitOutcome::WrongState(RegistrationStatus::Submitted)
        ]
    );
    assert_eq!(queue.published().len(), 1);
}

#[tokio::test]
async fn an_expired_token_cannot_be_submitted() {
    // given the attempt's token ran out
    let b = Backends::at(NOW);
    let queue = MemoryScanQueue::default();
    let registration = awaiting(&b).await;
    b.clock.advance(601);
    // when the app submits, then it is told the token expired, and nothing is queued
    let outcome = b
        .submit_scan(&queue)
        .run(&registration, None)
        .await
        .unwrap();
    assert_eq!(outcome, SubmitOutcome::Expired);
    assert!(queue.published().is_empty());
}

#[tokio::test]
async fn a_refused_message_undoes_the_submit() {
    // given the queue refuses the next message
    let b = Backends::at(NOW);
    let queue = MemoryScanQueue::default();
    queue.outages.fail_next("publish", 1);
    let registration = awaiting(&b).await;
    // when the app submits
    let outcome = b
        .submit_scan(&queue)
        .run(&registration, None)
        .await
        .unwrap();
    // then it is told the queue is unavailable, and the registration awaits its scan again
    assert_eq!(outcome, SubmitOutcome::QueueUnavailable);
    assert_eq!(
        b.registrations.record(&registration.id).unwrap().status,
        RegistrationStatus::AwaitingScan
    );
    // and once the queue is back, the same submit goes through
    let outcome = b
        .submit_scan(&queue)
        .run(&registration, None)
        .await
        .unwrap();
    assert_eq!(outcome, SubmitOutcome::Submitted);
}
