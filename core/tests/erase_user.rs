//! The erasure use case on in-memory adapters: everything goes, the user record last, and any
//! failed step keeps that record so the next delivery finds the rest; the consent given stays,
//! as evidence without anything else of the user.

use std::ops::Deref;

use onboarding_core::domain::account_lock::AccountLock;
use onboarding_core::domain::{Registration, RegistrationStatus, Sealed};
use onboarding_core::memory::{Backends, EVIDENCE_RETENTION, submitted_registration};
use onboarding_core::oidc::ports::{Grant, Grants};
use onboarding_core::ports::{ImageStore, RegistrationStore, Session, User, UserStore};
use onboarding_core::use_cases::erase_user::Erased;

/// The in-memory backends, holding one user to erase.
struct World(Backends);

impl Deref for World {
    type Target = Backends;

    fn deref(&self) -> &Backends {
        &self.0
    }
}

impl World {
    /// A completed user with two sessions, two OpenID Connect grants, an image in two
    /// versions, an enrolment and the registration that created them; and someone else's grant.
    async fn with_user() -> Self {
        let world = Self(Backends::at(0));
        let user = User {
            user_id: "u1".into(),
            username: Sealed::from_stored("v2.k.a".into()),
            display_name: Sealed::from_stored("v2.k.b".into()),
            iproov_user_id: "iproov-u1".into(),
            name_index: "n1".into(),
            image_key: Some("faces/u1/r1-1.png".into()),
            registration_id: Some("r1".into()),
            consent: registration().consent,
            created_at: 0,
            lock: onboarding_core::domain::AccountLock::Open,
        };
        world.users.create(&user).await.unwrap();
        world.registrations.create(&registration()).await.unwrap();
        for id in ["s1", "s2"] {
            world.sessions.open(Session {
                id: id.into(),
                secret_hash: "h".into(),
                user_id: "u1".into(),
                created_at: 0,
                last_seen: 0,
                absolute_expires_at: 1_000,
                acr: None,
                elevated_until: None,
            });
        }
        for _ in 0..2 {
            world
                .images
                .put("faces/u1/r1-1.png", b"png".to_vec(), "image/png")
                .await
                .unwrap();
        }
        for (id, user_id) in [("g1", "u1"), ("g2", "u1"), ("g3", "someone-else")] {
            world.grants.create(&grant(id, user_id)).await.unwrap();
        }
        world.verifier.enrol("iproov-u1");
        world
    }

    async fn erase(&self) -> Erased {
        self.erase_user().run("u1").await
    }

    fn nothing_left(&self) -> bool {
        self.users.count() == 0
            && self.registrations.record("r1").is_none()
            && self.sessions.of("u1") == 0
            && self.images.versions_under("faces/u1/") == 0
            && !self.verifier.is_enrolled("iproov-u1")
            && self.grants.all().iter().all(|g| g.user_id != "u1")
            && self.grants.grant("g3").is_some()
    }
}

fn grant(id: &str, user_id: &str) -> Grant {
    Grant {
        id: id.into(),
        client_id: "app".into(),
        user_id: user_id.into(),
        scope: "openid".into(),
        auth_time: 0,
        acr: None,
        created_at: 0,
        expires_at: 10_000,
        revoked_at: None,
    }
}

fn registration() -> Registration {
    Registration {
        id: "r1".into(),
        user_id: "u1".into(),
        iproov_user_id: "iproov-u1".into(),
        name_index: "n1".into(),
        status: RegistrationStatus::Completed,
        login_issued: true,
        ..submitted_registration(0)
    }
}

#[tokio::test]
async fn a_user_is_erased_everywhere() {
    // given a user with sessions, image versions, an enrolment and a registration record
    let world = World::with_user().await;
    // when the erasure runs
    let erased = world.erase().await;
    // then nothing of the user is left: record, claim, registration, sessions, OpenID Connect
    // grants, every image version, the enrolment (and another person's grant stays)
    assert_eq!(erased, Erased::Done);
    assert!(world.nothing_left());
}

#[tokio::test]
async fn a_failed_step_keeps_the_user_record_for_the_retry_which_finishes() {
    // given each step failing once in turn
    type Breaker = fn(&World);
    let breakers: [(&str, Breaker); 7] = [
        ("consent evidence", |w| {
            w.evidence.outages.fail_next("keep", 1)
        }),
        ("grants", |w| {
            w.grants.outages.fail_next("revoke_user_grants", 1)
        }),
        ("images", |w| {
            w.images.outages.fail_next("delete_all_versions", 1)
        }),
        ("sessions", |w| {
            w.sessions.outages.fail_next("revoke_all", 1)
        }),
        ("registration", |w| {
            w.registrations.outages.fail_next("delete", 1)
        }),
        ("enrolment", |w| w.verifier.fail_next_deletes(1)),
        ("user read", |w| w.users.outages.fail_next("get", 1)),
    ];
    for (step, breaker) in breakers {
        let world = World::with_user().await;
        breaker(&world);
        // when the erasure runs, then it must come back, with the user record still there
        assert_eq!(world.erase().await, Erased::Retry, "{step}");
        assert!(world.users.user("u1").is_some(), "{step}");
        // and when it runs again, everything is gone
        assert_eq!(world.erase().await, Erased::Done, "{step}");
        assert!(world.nothing_left(), "{step}");
    }
}

#[tokio::test]
async fn a_failed_record_delete_comes_back_and_the_repeat_finds_everything_else_gone() {
    // given the user record's own delete failing once
    let world = World::with_user().await;
    world.users.outages.fail_next("delete", 1);
    // when the erasure runs twice
    let first = world.erase().await;
    let second = world.erase().await;
    // then the first comes back and the second finishes
    assert_eq!((first, second), (Erased::Retry, Erased::Done));
    assert!(world.nothing_left());
}

#[tokio::test]
async fn a_repeated_message_for_an_erased_user_succeeds_without_touching_anything_else() {
    // given a user already erased
    let world = World::with_user().await;
    assert_eq!(world.erase().await, Erased::Done);
    // when the same request comes again, then it is done (no enrolment to delete is fine)
    assert_eq!(world.erase().await, Erased::AlreadyErased);
    assert!(world.nothing_left());
}

#[tokio::test]
async fn the_consent_outlives_the_user_as_evidence_until_the_retention_ends() {
    // given a user registered under consent v2, erased a day after the epoch
    let world = World::with_user().await;
    world.clock.advance(86_400);
    // when the erasure runs
    assert_eq!(world.erase().await, Erased::Done);
    // then the user is gone, and the evidence holds the record as registered, until the
    // retention ends; it has no field that could hold a name, an image or a verifier id
    assert!(world.nothing_left());
    let evidence = world.evidence.of("u1").expect("evidence kept");
    assert_eq!(Some(evidence.consent.clone()), registration().consent);
    assert_eq!(evidence.erased_at, 86_400);
    assert_eq!(evidence.keep_until, 86_400 + EVIDENCE_RETENTION);
}

#[tokio::test]
async fn a_repeated_erasure_keeps_the_first_evidence() {
    // given a user whose erasure failed at the record delete after the evidence was kept
    let world = World::with_user().await;
    world.users.outages.fail_next("delete", 1);
    assert_eq!(world.erase().await, Erased::Retry);
    // when it runs again later
    world.clock.advance(600);
    assert_eq!(world.erase().await, Erased::Done);
    // then the evidence is the first one (its retention counts from the first erasure)
    assert_eq!(world.evidence.of("u1").unwrap().erased_at, 0);
}

#[tokio::test]
async fn a_user_without_a_consent_record_is_erased_without_evidence() {
    // given a user created before consent was recorded
    let world = World(Backends::at(0));
    let user = User {
        user_id: "u1".into(),
        username: Sealed::from_stored("v2.k.a".into()),
        display_name: Sealed::from_stored("v2.k.b".into()),
        iproov_user_id: "iproov-u1".into(),
        name_index: "n1".into(),
        image_key: None,
        registration_id: None,
        consent: None,
        created_at: 0,
        lock: AccountLock::Open,
    };
    world.users.create(&user).await.unwrap();
    // when it is erased, then it is gone and no evidence was invented
    assert_eq!(world.erase().await, Erased::Done);
    assert!(world.evidence.of("u1").is_none());
}
