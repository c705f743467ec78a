//! The session routes' use cases on in-memory adapters: the session check (unknown, idle and
//! absolute expiry, activity recorded at most once a minute), reading my account, logging out,
//! and requesting my erasure with the queue up and down.

use std::ops::Deref;

use onboarding_core::crypto::Credential;
use onboarding_core::memory::Backends;
use onboarding_core::memory::account::{MemoryErasureQueue, SESSION_IDLE_SECONDS};
use onboarding_core::ports::SessionControl;
use onboarding_core::ports::{ErasureRequested, Session};
use onboarding_core::use_cases::Failure;
use onboarding_core::use_cases::account::request_erasure::ErasureRequest;
use onboarding_core::use_cases::account::{Account, Authenticated, SessionRefused};

const NOW: i64 = 1_000_000;
/// When the sessions of these tests end at the latest, unless a test says otherwise.
const LATER: i64 = NOW + 3_600;

/// One world (the in-memory backends) with a registered user `u1` holding session `s1`, last
/// seen ten seconds ago, and the erasure queue.
struct World {
    backends: Backends,
    queue: MemoryErasureQueue,
    /// The credential of `s1`.
    session: Credential,
}

impl Deref for World {
    type Target = Backends;

    fn deref(&self) -> &Backends {
        &self.backends
    }
}

impl World {
    async fn new() -> Self {
        Self::last_seen(NOW - 10, LATER).await
    }

    /// As [`World::new`], `s1` last seen at `last_seen` and ending at `absolute_expires_at`.
    async fn last_seen(last_seen: i64, absolute_expires_at: i64) -> Self {
        let backends = Backends::at(NOW);
        backends.registered_user("u1", "alice", "Alice").await;
        let session = backends.session_of("s1", "u1", last_seen, absolute_expires_at);
        Self {
            backends,
            queue: MemoryErasureQueue::default(),
            session,
        }
    }

    /// As [`World::new`], `s1` last seen two minutes ago: its activity is due to be recorded.
    async fn activity_due() -> Self {
        Self::last_seen(NOW - 120, LATER).await
    }

    async fn check(&self) -> Result<Authenticated<Session>, Failure> {
        self.session_auth().check(&self.session).await
    }

    /// `s1` reads its account.
    async fn read_my_account(&self) -> Result<Authenticated<Account>, Failure> {
        self.read_account().run(&self.session).await
    }

    /// `s1` passed a face step-up that elevates it for five more minutes.
    async fn stepped_up(self) -> Self {
        self.sessions
            .elevate("s1", NOW + 300)
            .await
            .expect("s1 open");
        self
    }

    fn s1(&self) -> Session {
        self.sessions.session("s1").expect("s1 open")
    }
}

fn refused<T: std::fmt::Debug>(outcome: Result<Authenticated<T>, Failure>) -> SessionRefused {
    match outcome {
        Ok(Authenticated::Refused(why)) => why,
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_live_session_is_found() {
    // given a session last seen ten seconds ago
    let world = World::new().await;
    // when it is checked, then it is live, and u1's
    match world.check().await {
        Ok(Authenticated::Live(session)) => assert_eq!(session.user_id, "u1"),
        other => panic!("not live: {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_session_or_a_wrong_secret_is_unauthorized() {
    // given a session, a credential naming no session, and one with s1's id but another secret
    let world = World::new().await;
    let unknown = Credential::issue("nope".into()).unwrap();
    let forged = Credential::issue("s1".into()).unwrap();
    // when each is checked, then each is unauthorized
    for credential in [unknown, forged] {
        let outcome = world.session_auth().check(&credential).await;
        assert_eq!(refused(outcome), SessionRefused::Unauthorized);
    }
}

#[tokio::test]
async fn a_session_unused_for_its_idle_timeout_is_expired_though_it_is_stored() {
    // given a session last seen exactly the idle timeout ago
    let world = World::last_seen(NOW - SESSION_IDLE_SECONDS, LATER).await;
    // when it is checked, then it expired (decided in code: the item is still there), and
    // expiring did not record activity
    assert_eq!(refused(world.check().await), SessionRefused::Expired);
    assert_eq!(world.s1().last_seen, NOW - SESSION_IDLE_SECONDS);
    // and one second younger it would still have been live
    let younger = World::last_seen(NOW - SESSION_IDLE_SECONDS + 1, LATER).await;
    assert!(matches!(younger.check().await, Ok(Authenticated::Live(_))));
}

#[tokio::test]
async fn a_session_past_its_absolute_expiry_is_expired_however_active() {
    // given a session used a second ago, whose absolute lifetime ends now
    let world = World::last_seen(NOW - 1, NOW).await;
    // when it is checked, then it expired
    assert_eq!(refused(world.check().await), SessionRefused::Expired);
}

#[tokio::test]
async fn activity_is_recorded_at_most_once_a_minute() {
    // given a session last seen 59 seconds ago
    let world = World::last_seen(NOW - 59, LATER).await;
    // when it is checked, then nothing is written
    assert!(matches!(world.check().await, Ok(Authenticated::Live(_))));
    assert_eq!(world.s1().last_seen, NOW - 59);
    // when a second later it is checked again, then its activity is recorded
    world.clock.advance(1);
    assert!(matches!(world.check().await, Ok(Authenticated::Live(_))));
    assert_eq!(world.s1().last_seen, NOW + 1);
}

#[tokio::test]
async fn a_failure_to_record_activity_does_not_fail_the_request() {
    // given a session last seen two minutes ago, and a store that cannot record activity
    let world = World::activity_due().await;
    world.sessions.outages.fail_next("touch", 1);
    // when it is checked, then it is live all the same; the session just slid less
    assert!(matches!(world.check().await, Ok(Authenticated::Live(_))));
    assert_eq!(world.s1().last_seen, NOW - 120);
}

#[tokio::test]
async fn an_unreadable_session_store_is_a_store_failure() {
    // given a session store that cannot be read
    let world = World::new().await;
    world.sessions.outages.fail_next("get_session", 1);
    // when the session is checked, then the store failure is the answer
    assert!(matches!(world.check().await, Err(Failure::Store(_))));
}

#[tokio::test]
async fn my_account_is_read_with_its_personal_fields_opened() {
    // given u1's live session
    let world = World::new().await;
    // when the account is read
    let outcome = world.read_my_account().await.unwrap();
    // then it is u1's, with the names opened, and its Debug shows no name
    let Authenticated::Live(account) = outcome else {
        panic!("refused: {outcome:?}");
    };
    assert_eq!(
        account,
        Account {
            user_id: "u1".into(),
            username: "alice".into(),
            display_name: "Alice".into(),
            created_at: 0,
            consent: None,
        }
    );
    let shown = format!("{account:?}");
    assert!(
        !shown.contains("alice") && !shown.contains("Alice"),
        "{shown}"
    );
}

#[tokio::test]
async fn reading_my_account_records_due_activity_beside_the_user_read() {
    // given a session last seen two minutes ago
    let world = World::activity_due().await;
    // when the account is read
    let outcome = world.read_my_account().await.unwrap();
    // then it is read, and the session's activity is recorded
    assert!(matches!(outcome, Authenticated::Live(_)));
    assert_eq!(world.s1().last_seen, NOW);
}

#[tokio::test]
async fn an_activity_record_that_fails_does_not_fail_reading_my_account() {
    // given a session last seen two minutes ago, and a store that cannot record activity
    let world = World::activity_due().await;
    world.sessions.outages.fail_next("touch", 1);
    // when the account is read, then it is, and the session just slid less
    let outcome = world.read_my_account().await.unwrap();
    assert!(matches!(outcome, Authenticated::Live(_)));
    assert_eq!(world.s1().last_seen, NOW - 120);
}

#[tokio::test]
async fn logging_out_records_no_activity_for_the_ending_session() {
    // given a session last seen two minutes ago, and one activity record that would fail
    let world = World::activity_due().await;
    world.sessions.outages.fail_next("touch", 1);
    // when it logs out
    let outcome = world.logout().run(&world.session).await.unwrap();
    assert!(matches!(outcome, Authenticated::Live(_)));
    // then no activity was recorded: the failure is still waiting for the next record
    world.session_of("s2", "u1", NOW - 120, LATER);
    assert!(world.sessions.touch("s2", NOW).await.is_err());
}

#[tokio::test]
async fn an_expired_session_reads_no_account() {
    // given a session past its idle timeout
    let world = World::last_seen(NOW - SESSION_IDLE_SECONDS, LATER).await;
    // when the account is read, then the session is refused as expired
    let outcome = world.read_my_account().await;
    assert_eq!(refused(outcome), SessionRefused::Expired);
}

#[tokio::test]
async fn a_session_whose_user_is_gone_reads_nothing() {
    // given a live session of u2, who no longer exists
    let world = World::new().await;
    let orphan = world.session_of("s2", "u2", NOW, LATER);
    // when the account is read, then it is unauthorized, as for an unknown session
    let outcome = world.read_account().run(&orphan).await;
    assert_eq!(refused(outcome), SessionRefused::Unauthorized);
}

#[tokio::test]
async fn personal_fields_that_cannot_be_opened_are_a_sealing_failure() {
    // given the key service down
    let world = World::new().await;
    world.sealer.set_down(true);
    // when the account is read, then the sealing failure is the answer
    let outcome = world.read_my_account().await;
    assert!(matches!(outcome, Err(Failure::Sealing(_))));
}

#[tokio::test]
async fn logging_out_ends_this_session_only() {
    // given two sessions of u1
    let world = World::new().await;
    let other = world.session_of("s2", "u1", NOW, LATER);
    // when s1 logs out
    let outcome = world.logout().run(&world.session).await.unwrap();
    // then s1 is gone, server-side: its credential opens nothing, and s2 still works
    assert!(matches!(outcome, Authenticated::Live(ref out) if out.user_id == "u1"));
    assert!(world.sessions.session("s1").is_none());
    assert_eq!(refused(world.check().await), SessionRefused::Unauthorized);
    assert!(matches!(
        world.session_auth().check(&other).await,
        Ok(Authenticated::Live(_))
    ));
}

#[tokio::test]
async fn an_expired_session_cannot_log_out_and_stays_for_the_ttl_to_clean_up() {
    // given a session past its absolute expiry
    let world = World::last_seen(NOW - 1, NOW).await;
    // when it logs out, then it is refused as expired, and nothing was revoked
    assert_eq!(
        refused(world.logout().run(&world.session).await),
        SessionRefused::Expired
    );
    assert!(world.sessions.session("s1").is_some());
}

#[tokio::test]
async fn a_logout_the_store_cannot_record_is_a_store_failure() {
    // given a stepped-up session, and a session store that cannot revoke
    let world = World::new().await.stepped_up().await;
    world.sessions.outages.fail_next("revoke", 1);
    // when s1 logs out, then the store failure is the answer, and the session still works
    assert!(matches!(
        world.logout().run(&world.session).await,
        Err(Failure::Store(_))
    ));
    assert!(matches!(world.check().await, Ok(Authenticated::Live(_))));
}

#[tokio::test]
async fn an_erasure_request_is_queued_then_ends_every_session_of_the_user() {
    // given two sessions of u1 (s1 stepped up) and one of someone else
    let world = World::new().await.stepped_up().await;
    world.session_of("s2", "u1", NOW, LATER);
    world.session_of("s3", "u3", NOW, LATER);
    // when u1 asks to be erased
    let outcome = world
        .request_erasure(&world.queue)
        .run(&world.session, "req-1")
        .await
        .unwrap();
    // then the erasure of u1 is queued, tagged with the request, and u1's sessions are over
    assert!(matches!(
        outcome,
        Authenticated::Live(ErasureRequest::Scheduled { ref user_id, revoked: 2 }) if user_id == "u1"
    ));
    assert_eq!(
        world.queue.published(),
        [ErasureRequested {
            user_id: "u1".into(),
            request_id: Some("req-1".into()),
        }]
    );
    assert_eq!(world.sessions.of("u1"), 0);
    assert_eq!(refused(world.check().await), SessionRefused::Unauthorized);
    // and nobody else's
    assert_eq!(world.sessions.of("u3"), 1);
}

#[tokio::test]
async fn with_the_queue_down_nothing_changes_and_the_person_can_ask_again() {
    // given two sessions of u1 (s1 stepped up), and a queue that refuses the next message
    let world = World::new().await.stepped_up().await;
    world.session_of("s2", "u1", NOW, LATER);
    world.queue.outages.fail_next("publish", 1);
    // when u1 asks to be erased
    let outcome = world
        .request_erasure(&world.queue)
        .run(&world.session, "req-1")
        .await
        .unwrap();
    // then the queue was unavailable, nothing is queued, and no session ended
    assert!(matches!(
        outcome,
        Authenticated::Live(ErasureRequest::QueueUnavailable)
    ));
    assert!(world.queue.published().is_empty());
    assert_eq!(world.sessions.of("u1"), 2);
    // and asking again, with the same session, works
    let again = world
        .request_erasure(&world.queue)
        .run(&world.session, "req-2")
        .await
        .unwrap();
    assert!(matches!(
        again,
        Authenticated::Live(ErasureRequest::Scheduled { revoked: 2, .. })
    ));
}

#[tokio::test]
async fn sessions_that_cannot_be_ended_are_a_store_failure_after_the_request_was_queued() {
    // given a stepped-up session, and a session store that cannot revoke
    let world = World::new().await.stepped_up().await;
    world.sessions.outages.fail_next("revoke_all", 1);
    // when u1 asks to be erased
    let outcome = world
        .request_erasure(&world.queue)
        .run(&world.session, "req-1")
        .await;
    // then the store failure is the answer, but the erasure is queued: the erasure function
    // ends the sessions too
    assert!(matches!(outcome, Err(Failure::Store(_))));
    assert_eq!(world.queue.published().len(), 1);
}

#[tokio::test]
async fn a_refused_session_queues_no_erasure() {
    // given a session past its idle timeout, and a credential naming no session
    let world = World::last_seen(NOW - SESSION_IDLE_SECONDS, LATER).await;
    let unknown = Credential::issue("nope".into()).unwrap();
    // when each asks for an erasure, then each is refused, and nothing is queued or ended
    let expired = world
        .request_erasure(&world.queue)
        .run(&world.session, "req-1")
        .await;
    assert_eq!(refused(expired), SessionRefused::Expired);
    let unknown = world
        .request_erasure(&world.queue)
        .run(&unknown, "req-2")
        .await;
    assert_eq!(refused(unknown), SessionRefused::Unauthorized);
    assert!(world.queue.published().is_empty());
    assert_eq!(world.sessions.of("u1"), 1);
}

#[tokio::test]
async fn an_erasure_needs_a_step_up_on_this_session() {
    // given a live session that never stepped up
    let world = World::new().await;
    // when u1 asks to be erased
    let outcome = world
        .request_erasure(&world.queue)
        .run(&world.session, "req-1")
        .await
        .unwrap();
    // then a step-up is required, and nothing is queued or ended
    assert!(matches!(
        outcome,
        Authenticated::Live(ErasureRequest::StepUpRequired)
    ));
    assert!(world.queue.published().is_empty());
    assert_eq!(world.sessions.of("u1"), 1);
}

#[tokio::test]
async fn a_step_up_elevates_only_until_its_window_ends() {
    // given s1 stepped up, then the window passed
    let world = World::new().await.stepped_up().await;
    world.clock.advance(300);
    // when u1 asks to be erased, then a new step-up is required
    let outcome = world
        .request_erasure(&world.queue)
        .run(&world.session, "req-1")
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        Authenticated::Live(ErasureRequest::StepUpRequired)
    ));
    assert!(world.queue.published().is_empty());
}
