//! The operator API's journeys on in-memory adapters: lookup through the blind index, the lock
//! and what it refuses (login, step-up, OpenID Connect tokens), ending sessions, an erasure
//! without step-up, the attempts list, and the audit record each one leaves with the caller's
//! principal. No stack needed (`cargo test -p onboarding-core`).

use std::ops::Deref;
use std::time::Duration;

use onboarding_core::audit::{Actor, AuditKind};
use onboarding_core::crypto::{Credential, keyed_hash};
use onboarding_core::domain::{AccountLock, Sealed, Username};
use onboarding_core::latency_mirror::LatencyMirror;
use onboarding_core::memory::account::{MemoryErasureQueue, SESSION_ABSOLUTE_SECONDS};
use onboarding_core::memory::operator::MemoryActivity;
use onboarding_core::memory::{Backends, MemoryAuditTrail, Scan};
use onboarding_core::oidc::ports::{Grant, Grants, UserProfiles};
use onboarding_core::oidc::profile::SealedProfiles;
use onboarding_core::ports::{
    AttemptKind, AttemptStatus, ClientContext, KeyRing, LoginAttempt, LoginAttemptStore, User,
    UserStore,
};
use onboarding_core::use_cases::account::login::LoginOutcome;
use onboarding_core::use_cases::account::{Authenticated, SessionRefused};
use onboarding_core::use_cases::operator::Caller;
use onboarding_core::use_cases::operator::attempts::ListAttempts;
use onboarding_core::use_cases::operator::erasure::OperatorErasure;
use onboarding_core::use_cases::operator::lock::LockAccount;
use onboarding_core::use_cases::operator::lock::Locked;
use onboarding_core::use_cases::operator::lookup::LookUp;
use onboarding_core::use_cases::operator::lookup::UserSummary;
use onboarding_core::use_cases::operator::sessions::EndSessions;

const NOW: i64 = 1_000_000;
const USER: &str = "00112233445566778899aabbccddeeff";
const PRINCIPAL: &str = "arn:aws:iam::123456789012:user/operator";
const CALLER: Caller<'static> = Caller {
    principal: PRINCIPAL,
    request_id: "req-1",
};
const CLIENT: ClientContext<'static> = ClientContext {
    ip: None,
    user_agent: "test-app/1.0",
};

/// One user, `alice` (id [`USER`]), with two live sessions and an OpenID Connect grant; an
/// audit trail and an erasure queue.
struct World {
    backends: Backends,
    trail: MemoryAuditTrail,
    erasures: MemoryErasureQueue,
    s1: Credential,
}

impl Deref for World {
    type Target = Backends;

    fn deref(&self) -> &Backends {
        &self.backends
    }
}

impl World {
    async fn new() -> Self {
        let backends = Backends::at(NOW);
        let key = backends.keys.pseudonym_key().await.unwrap();
        backends
            .users
            .create(&User {
                user_id: USER.into(),
                username: Sealed::from_stored("sealed".into()),
                display_name: Sealed::from_stored("sealed".into()),
                iproov_user_id: format!("iproov-{USER}"),
                name_index: keyed_hash(key.as_ref().as_ref(), "username", "alice"),
                image_key: None,
                registration_id: None,
                created_at: 42,
                consent: None,
                lock: AccountLock::Open,
            })
            .await
            .unwrap();
        backends.verifier.enrol(&format!("iproov-{USER}"));
        let s1 = backends.session_of("s1", USER, NOW, NOW + SESSION_ABSOLUTE_SECONDS);
        backends.session_of("s2", USER, NOW, NOW + SESSION_ABSOLUTE_SECONDS);
        backends.grants.create(&grant("g1")).await.unwrap();
        Self {
            backends,
            trail: MemoryAuditTrail::default(),
            erasures: MemoryErasureQueue::default(),
            s1,
        }
    }

    async fn look_up(&self, username: &str) -> Option<UserSummary> {
        let activity = self.activity();
        let use_case = LookUp {
            users: &self.users,
            activity: &activity,
            keys: &self.keys,
            trail: &self.trail,
            clock: &self.clock,
            session_idle_seconds: 900,
        };
        let username = Username::parse(username).unwrap();
        use_case.by_username(CALLER, &username).await.unwrap()
    }

    async fn lock(&self) -> Option<Locked> {
        let activity = self.activity();
        self.locker(&activity).lock(CALLER, USER).await.unwrap()
    }

    async fn unlock(&self) -> Option<()> {
        let activity = self.activity();
        self.locker(&activity).unlock(CALLER, USER).await.unwrap()
    }

    fn locker<'a>(&'a self, activity: &'a MemoryActivity<'a>) -> LockAccount<'a> {
        LockAccount {
            locks: &self.users,
            activity,
            grants: &self.grants,
            trail: &self.trail,
            clock: &self.clock,
        }
    }

    /// The kinds of the events recorded, each checked to name the operator and the user.
    fn recorded(&self) -> Vec<AuditKind> {
        self.trail
            .published()
            .into_iter()
            .map(|event| {
                assert_eq!(
                    event.actor,
                    Actor::Operator {
                        principal: PRINCIPAL.into()
                    }
                );
                assert_eq!(event.user_id.as_deref(), Some(USER));
                assert_eq!(event.request_id.as_deref(), Some("req-1"));
                event.kind
            })
            .collect()
    }

    /// A pending login attempt `id` of the user whose scan passed; returns its credential.
    async fn passed_login_attempt(&self, id: &str, created_at: i64) -> Credential {
        let credential = Credential::issue(id.into()).unwrap();
        let token = format!("token-{id}");
        self.attempts
            .create(&LoginAttempt {
                id: id.into(),
                secret_hash: credential.secret_hash(),
                user_id: USER.into(),
                iproov_user_id: format!("iproov-{USER}"),
                iproov_token: token.clone(),
                status: AttemptStatus::Pending,
                expires_at: NOW + 600,
                created_at,
                decoy: false,
                session_id: None,
            })
            .await
            .unwrap();
        self.verifier.scan(&token, Scan::Passed);
        credential
    }

    async fn log_in(&self, attempt: &Credential) -> LoginOutcome {
        let latency = LatencyMirror::new(Duration::ZERO);
        self.login(&latency).run(attempt, CLIENT).await.unwrap()
    }
}

fn grant(id: &str) -> Grant {
    Grant {
        id: id.into(),
        client_id: "app".into(),
        user_id: USER.into(),
        scope: "openid".into(),
        auth_time: 0,
        acr: None,
        created_at: 0,
        expires_at: NOW + 10_000,
        revoked_at: None,
    }
}

#[tokio::test]
async fn a_username_is_looked_up_through_the_blind_index_and_the_lookup_is_recorded() {
    // given alice with two live sessions
    let world = World::new().await;
    // when an operator looks her up by username
    let found = world.look_up("alice").await.unwrap();
    // then her id, creation time, lock and live sessions are answered, and the trail has it
    assert_eq!(
        found,
        UserSummary {
            user_id: USER.into(),
            created_at: 42,
            lock: AccountLock::Open,
            live_sessions: 2,
            consent: None,
        }
    );
    assert_eq!(world.recorded(), [AuditKind::OperatorUserLookedUp]);
}

#[tokio::test]
async fn an_unknown_username_is_none_and_records_nothing() {
    let world = World::new().await;
    assert!(world.look_up("bob").await.is_none());
    assert!(world.recorded().is_empty());
}

#[tokio::test]
async fn a_lookup_the_trail_cannot_record_discloses_nothing() {
    // given a trail that is down
    let world = World::new().await;
    world.trail.outages.fail_next("publish", 1);
    let activity = world.activity();
    let use_case = LookUp {
        users: &world.users,
        activity: &activity,
        keys: &world.keys,
        trail: &world.trail,
        clock: &world.clock,
        session_idle_seconds: 900,
    };
    // when the operator looks the user up, then the lookup fails instead of answering
    assert!(use_case.by_id(CALLER, USER).await.is_err());
}

#[tokio::test]
async fn locking_ends_every_session_and_grant_and_is_recorded() {
    let world = World::new().await;
    // when the account is locked
    let locked = world.lock().await.unwrap();
    // then both sessions and the grant are gone, and the lock has its time
    assert_eq!(
        locked,
        Locked {
            since: NOW,
            sessions_ended: 2,
            grants_ended: 1,
        }
    );
    assert_eq!(world.sessions.of(USER), 0);
    assert!(world.grants.grant("g1").is_none());
    assert_eq!(
        world.users.user(USER).unwrap().lock,
        AccountLock::Locked { since: NOW }
    );
    assert_eq!(world.recorded(), [AuditKind::OperatorAccountLocked]);
}

#[tokio::test]
async fn locking_twice_keeps_the_first_time() {
    let world = World::new().await;
    world.lock().await.unwrap();
    world.clock.advance(60);
    assert_eq!(world.lock().await.unwrap().since, NOW);
}

#[tokio::test]
async fn a_locked_account_cannot_log_in_even_with_a_passed_scan() {
    // given a locked account and a login attempt whose scan passed
    let world = World::new().await;
    world.lock().await.unwrap();
    let attempt = world.passed_login_attempt("a1", NOW).await;
    // when the person logs in
    let outcome = world.log_in(&attempt).await;
    // then no session is opened, and the attempt is used up, marked with the refusal
    assert!(
        matches!(outcome, LoginOutcome::Locked { .. }),
        "{outcome:?}"
    );
    assert_eq!(world.sessions.of(USER), 0);
    let (attempt, reason) = world
        .attempts
        .all()
        .into_iter()
        .find(|(a, _)| a.id == "a1")
        .unwrap();
    assert_eq!(attempt.status, AttemptStatus::Passed);
    assert_eq!(reason.as_deref(), Some(AccountLock::REFUSAL));
}

#[tokio::test]
async fn unlocking_lets_the_person_log_in_again() {
    let world = World::new().await;
    world.lock().await.unwrap();
    // when the lock is lifted
    world.unlock().await.unwrap();
    // then a passed scan opens a session again
    let attempt = world.passed_login_attempt("a1", NOW).await;
    assert!(matches!(
        world.log_in(&attempt).await,
        LoginOutcome::LoggedIn(_)
    ));
    assert_eq!(
        world.recorded(),
        [
            AuditKind::OperatorAccountLocked,
            AuditKind::OperatorAccountUnlocked
        ]
    );
}

#[tokio::test]
async fn a_session_of_a_locked_account_cannot_step_up() {
    // given a session that survived the lock (it raced it)
    let world = World::new().await;
    world.users.lock_for_test(USER, NOW);
    // when it asks for a step-up, then it is refused like an unknown session
    let outcome = world.start_step_up().run(&world.s1, None).await.unwrap();
    assert!(matches!(
        outcome,
        Authenticated::Refused(SessionRefused::Unauthorized)
    ));
}

#[tokio::test]
async fn a_step_up_whose_account_is_locked_during_the_scan_elevates_nothing() {
    // given a step-up attempt opened and scanned
    let world = World::new().await;
    let opened = match world.start_step_up().run(&world.s1, None).await.unwrap() {
        Authenticated::Live(opened) => opened,
        other => panic!("not opened: {other:?}"),
    };
    world.verifier.scan(&opened.token, Scan::Passed);
    // when the account is locked before the completion (its session surviving the race)
    world.users.lock_for_test(USER, NOW);
    let outcome = world
        .complete_step_up()
        .run(&world.s1, &opened.credential, CLIENT)
        .await
        .unwrap();
    // then nothing is elevated
    assert!(matches!(
        outcome,
        Authenticated::Refused(SessionRefused::Unauthorized)
    ));
    assert!(
        world
            .sessions
            .session("s1")
            .unwrap()
            .elevated_until
            .is_none()
    );
}

#[tokio::test]
async fn a_locked_account_gets_no_openid_connect_tokens() {
    // given a locked account
    let world = World::new().await;
    world.lock().await.unwrap();
    // when the provider looks for the person tokens are about
    let profiles = SealedProfiles {
        users: &world.users,
        sealer: &world.sealer,
    };
    // then there is none: no code or refresh exchange, no userinfo
    assert!(profiles.find(USER, false).await.unwrap().is_none());
}

#[tokio::test]
async fn locking_an_unknown_user_changes_and_records_nothing() {
    let world = World::new().await;
    let activity = world.activity();
    let outcome = world
        .locker(&activity)
        .lock(CALLER, "ffffffffffffffffffffffffffffffff")
        .await
        .unwrap();
    assert!(outcome.is_none());
    assert_eq!(world.sessions.of(USER), 2);
    assert!(world.trail.published().is_empty());
}

#[tokio::test]
async fn ending_sessions_ends_sessions_and_grants_but_keeps_the_attempts() {
    // given sessions, a grant and one attempt
    let world = World::new().await;
    world.passed_login_attempt("a1", NOW).await;
    let activity = world.activity();
    let use_case = EndSessions {
        users: &world.users,
        activity: &activity,
        grants: &world.grants,
        trail: &world.trail,
        clock: &world.clock,
    };
    // when an operator ends the sessions
    let ended = use_case.run(CALLER, USER).await.unwrap().unwrap();
    // then they are gone, the attempt stays for the record, and the account is not locked
    assert_eq!((ended.sessions_ended, ended.grants_ended), (2, 1));
    assert_eq!(world.sessions.of(USER), 0);
    assert_eq!(world.attempts.count(), 1);
    assert!(world.users.user(USER).unwrap().lock.permits_sign_in());
    assert_eq!(world.recorded(), [AuditKind::OperatorSessionsEnded]);
}

#[tokio::test]
async fn an_operator_erasure_is_queued_without_a_step_up() {
    let world = World::new().await;
    let use_case = OperatorErasure {
        users: &world.users,
        queue: &world.erasures,
        trail: &world.trail,
        clock: &world.clock,
    };
    // when an operator asks for the erasure (no session is elevated)
    use_case.run(CALLER, USER).await.unwrap().unwrap();
    // then it is queued, tagged with the request, and recorded
    let queued = world.erasures.published();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].user_id, USER);
    assert_eq!(queued[0].request_id.as_deref(), Some("req-1"));
    assert_eq!(world.recorded(), [AuditKind::OperatorErasureRequested]);
}

#[tokio::test]
async fn an_erasure_the_queue_refuses_is_not_recorded() {
    let world = World::new().await;
    world.erasures.outages.fail_next("publish", 1);
    let use_case = OperatorErasure {
        users: &world.users,
        queue: &world.erasures,
        trail: &world.trail,
        clock: &world.clock,
    };
    assert!(use_case.run(CALLER, USER).await.is_err());
    assert!(world.trail.published().is_empty());
}

#[tokio::test]
async fn attempts_are_listed_newest_first_with_their_kind_and_outcome() {
    // given an older login attempt that failed and a newer step-up attempt still pending
    let world = World::new().await;
    world.passed_login_attempt("a1", NOW - 100).await;
    world
        .attempts
        .transition(
            "a1",
            AttemptStatus::Pending,
            AttemptStatus::Failed,
            Some("spoof_detected"),
        )
        .await
        .unwrap();
    let opened = world.start_step_up().run(&world.s1, None).await.unwrap();
    assert!(matches!(opened, Authenticated::Live(_)));
    let activity = world.activity();
    let use_case = ListAttempts {
        users: &world.users,
        activity: &activity,
        trail: &world.trail,
        clock: &world.clock,
    };
    // when an operator lists them
    let listed = use_case.run(CALLER, USER).await.unwrap().unwrap();
    // then the step-up comes first, then the failed login with its reason
    let shown: Vec<_> = listed
        .iter()
        .map(|a| (a.kind, a.status, a.reason.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            (AttemptKind::StepUp, AttemptStatus::Pending, None),
            (
                AttemptKind::Login,
                AttemptStatus::Failed,
                Some("spoof_detected")
            ),
        ]
    );
    assert_eq!(world.recorded(), [AuditKind::OperatorAttemptsListed]);
}
