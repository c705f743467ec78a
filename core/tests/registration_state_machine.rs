//! Property tests of the registration state machine under the scan validator: any interleaving
//! of duplicate deliveries (some at once), store crashes at any step, verifier hiccups and lease
//! expiries ends in a terminal state with at most one user per registration, no user without its
//! image, and the verifier is never asked twice for a token whose answer was recorded.

use std::ops::Deref;

use onboarding_core::domain::{Registration, RegistrationStatus};
use onboarding_core::memory::{Backends, Scan, submitted_registration};
use onboarding_core::ports::{RegistrationStore, ScanSubmitted, VerifierError};
use onboarding_core::use_cases::validate_scan::{ScanValidated, ValidateScan};
use proptest::prelude::*;

const NOW: i64 = 1_000_000;
const LEASE: i64 = 60;

/// One thing that happens to the system between deliveries.
#[derive(Debug, Clone)]
enum Event {
    /// `n` copies of the message delivered at the same time.
    Deliver(usize),
    /// The next call of a registration-store step fails (a crash there).
    RegistrationsDown(&'static str),
    UsersDown,
    ImagesDown,
    /// The verifier does not process the next call (rate limit, refused connection).
    VerifierNotProcessing,
    /// Time passes beyond the validation lease.
    LeaseExpires,
}

/// The store steps a crash may hit. `record_outcome` is kept apart: a crash between the
/// verifier's answer and its record loses the answer (see `crash_after_answer_*`).
const STEPS: [&str; 4] = ["get", "begin_validation", "complete", "release"];

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (1usize..=3).prop_map(Event::Deliver),
        1 => prop::sample::select(STEPS.to_vec()).prop_map(Event::RegistrationsDown),
        1 => Just(Event::UsersDown),
        1 => Just(Event::ImagesDown),
        1 => Just(Event::VerifierNotProcessing),
        1 => Just(Event::LeaseExpires),
    ]
}

/// The in-memory backends, with the events of a run applied to them.
struct World(Backends);

impl Deref for World {
    type Target = Backends;

    fn deref(&self) -> &Backends {
        &self.0
    }
}

impl World {
    fn use_case(&self) -> ValidateScan<'_> {
        self.validate_scan(LEASE)
    }

    async fn apply(&self, event: &Event, message: &ScanSubmitted) {
        match event {
            Event::Deliver(n) => {
                let use_case = self.use_case();
                futures::future::join_all((0..*n).map(|_| use_case.run(message))).await;
            }
            Event::RegistrationsDown(step) => self.registrations.outages.fail_next(step, 1),
            Event::UsersDown => self.users.outages.fail_next("create", 1),
            Event::ImagesDown => self.images.outages.fail_next("put", 1),
            Event::VerifierNotProcessing => {
                self.verifier.fail_next([VerifierError::NotProcessed {
                    code: "rate_limited".into(),
                }])
            }
            Event::LeaseExpires => self.clock.advance(LEASE + 1),
        }
    }

    /// Redelivers, as the queue would, until a delivery ends with a decision (bounded).
    async fn settle(&self, message: &ScanSubmitted) -> RegistrationStatus {
        for _ in 0..20 {
            self.clock.advance(LEASE + 1);
            if let Ok(v) = self.use_case().run(message).await
                && !matches!(v.result, ScanValidated::Retry(_))
            {
                break;
            }
        }
        self.registrations.record("reg-1").unwrap().status
    }
}

async fn world(scan: Scan) -> (World, ScanSubmitted) {
    let world = World(Backends::at(NOW));
    world
        .registrations
        .create(&Registration {
            // Long enough that the leases passing in a run never expire the token.
            token_expires_at: NOW + 1_000_000,
            created_at: NOW,
            expires_at: NOW + 10_000_000,
            ..submitted_registration(NOW)
        })
        .await
        .unwrap();
    world.verifier.scan("token-1", scan);
    let message = ScanSubmitted {
        registration_id: "reg-1".into(),
        attempt: 1,
        request_id: None,
    };
    (world, message)
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_passed_scan_ends_completed_with_its_image_or_failed_without_biometric_data(
        events in prop::collection::vec(event(), 0..24)
    ) {
        run(async {
            // given a passed scan and any history of deliveries, crashes and hiccups
            let (world, message) = world(Scan::Passed).await;
            for event in &events {
                world.apply(event, &message).await;
            }
            // when the queue keeps redelivering until a decision
            let status = world.settle(&message).await;
            // then the verifier was never asked again for a token it had answered, and either
            // the registration completed with one user whose image is stored, or (only if an
            // upload failed: the image cannot be asked for again) it failed as scan_not_stored
            // with no user, no image and no enrolment left
            prop_assert_eq!(world.verifier.refusals("token-1"), 0);
            if status == RegistrationStatus::Completed {
                prop_assert_eq!(world.users.count(), 1);
                let user = world.users.user("user-1").unwrap();
                let key = user.image_key.unwrap();
                prop_assert!(world.images.has(&key), "the user's image is stored");
            } else {
                prop_assert_eq!(status, RegistrationStatus::Failed);
                prop_assert!(events.iter().any(|e| matches!(e, Event::ImagesDown)));
                let record = world.registrations.record("reg-1").unwrap();
                prop_assert_eq!(record.reason.as_deref(), Some("scan_not_stored"));
                prop_assert_eq!(world.users.count(), 0);
                prop_assert_eq!(world.images.versions_under("faces/"), 0);
                prop_assert!(!world.verifier.is_enrolled("iproov-user-1"));
            }
            Ok(())
        })?;
    }

    #[test]
    fn a_failed_scan_ends_failed_without_a_user(
        events in prop::collection::vec(event(), 0..24)
    ) {
        run(async {
            // given a failed scan and any history
            let (world, message) = world(Scan::Failed("sunglasses")).await;
            for event in &events {
                world.apply(event, &message).await;
            }
            let status = world.settle(&message).await;
            // then it failed for the scan's reason, no user or image exists, one verdict
            prop_assert_eq!(status, RegistrationStatus::Failed);
            prop_assert_eq!(world.users.count(), 0);
            prop_assert_eq!(world.images.versions_under("faces/"), 0);
            prop_assert_eq!(world.verifier.refusals("token-1"), 0);
            Ok(())
        })?;
    }

    #[test]
    fn crash_after_answer_is_terminal_and_never_makes_two_users(
        events in prop::collection::vec(event(), 0..16),
        crash_first in any::<bool>(),
    ) {
        run(async {
            // given a passed scan, a possible crash between the verifier's answer and its
            // record, and any history
            let (world, message) = world(Scan::Passed).await;
            if crash_first {
                world.registrations.outages.fail_next("record_outcome", 1);
            }
            for event in &events {
                world.apply(event, &message).await;
            }
            let status = world.settle(&message).await;
            // then it is terminal, and a user exists exactly when it completed
            let completed = status == RegistrationStatus::Completed;
            prop_assert!(completed || status == RegistrationStatus::Failed);
            prop_assert_eq!(world.users.count(), usize::from(completed));
            Ok(())
        })?;
    }
}
