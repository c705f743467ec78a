//! The start-registration use case on in-memory adapters: a fresh start, a taken username, the
//! route's limits in their order, retries of the caller's own registration, and failures that
//! leave nothing behind; and consent, judged before anything else.

use onboarding_core::crypto::{Credential, keyed_hash};
use onboarding_core::domain::consent::{ConsentAnswer, ConsentProblem, text_sha256};
use onboarding_core::domain::{
    Channel, DisplayName, Language, Registration, RegistrationStatus, Username,
};
use onboarding_core::memory::consent::accepted;
use onboarding_core::memory::{Backends, MAX_ATTEMPTS, TOKEN_TTL};
use onboarding_core::ports::{FieldSealer, RegistrationStore, VerifierError};
use onboarding_core::use_cases::Failure;
use onboarding_core::use_cases::start_registration::{
    AttemptKind, IssuedAttempt, RegistrationRequest, StartOutcome,
};
use onboarding_core::use_cases::token_route::RouteKeys;

const NOW: i64 = 1_000_000;

fn name_index(name: &str) -> String {
    keyed_hash(b"test pseudonym key", "username", name)
}

fn request(name: &str) -> RegistrationRequest {
    RegistrationRequest {
        username: Username::parse(name).unwrap(),
        display_name: DisplayName::parse("Alice Example").unwrap(),
        ip: Some("203.0.113.7".parse().unwrap()),
        continuing: None,
        consent: Some(accepted()),
        language: Language::English,
        channel: Channel::App,
    }
}

fn issued(outcome: StartOutcome) -> IssuedAttempt {
    match outcome {
        StartOutcome::Issued(issued) => *issued,
        other => panic!("expected an issued attempt, got {other:?}"),
    }
}

/// A registration started by `alice`, then brought to `status` (as the validator would).
async fn started_then(b: &Backends, status: RegistrationStatus) -> (Credential, Registration) {
    let first = issued(b.start_registration().run(request("alice")).await.unwrap());
    let mut registration = b.registrations.record(&first.registration.id).unwrap();
    registration.status = status;
    b.registrations.delete(&registration.id).await.unwrap();
    b.registrations.create(&registration).await.unwrap();
    (first.credential, registration)
}

#[tokio::test]
async fn a_free_username_gets_a_stored_registration_with_an_enrol_token() {
    // given nobody holds "alice"
    let b = Backends::at(NOW);
    // when alice starts a registration
    let issued = issued(b.start_registration().run(request("alice")).await.unwrap());
    // then attempt 1 awaits its scan, with the token kept server-side and the credential hashed
    assert_eq!(issued.kind, AttemptKind::Fresh);
    let stored = b.registrations.record(&issued.registration.id).unwrap();
    assert_eq!(stored.status, RegistrationStatus::AwaitingScan);
    assert_eq!(stored.attempt, 1);
    assert_eq!(stored.iproov_token, issued.token);
    assert_eq!(stored.token_expires_at, NOW + TOKEN_TTL);
    assert!(issued.credential.matches(&stored.secret_hash));
    assert_eq!(stored.name_index, name_index("alice"));
    // and the names are sealed for the new user, never stored in clear
    let username = b
        .sealer
        .open("username", &stored.user_id, &stored.username)
        .await
        .unwrap();
    assert_eq!(username, "alice");
    assert_ne!(stored.username.as_str(), "alice");
    // and the verifier saw a pseudonymous id, not our user id
    assert_ne!(stored.iproov_user_id, stored.user_id);
    assert_eq!(b.verifier.tokens_issued("enrol"), 1);
}

#[tokio::test]
async fn a_taken_username_is_refused_without_spending_a_token() {
    // given "alice" belongs to someone
    let b = Backends::at(NOW);
    b.users.claim(&name_index("alice"), "someone");
    // when another person starts a registration as alice
    let outcome = b.start_registration().run(request("alice")).await.unwrap();
    // then it is refused and nothing was asked of the verifier
    assert!(matches!(outcome, StartOutcome::UsernameTaken));
    assert_eq!(b.verifier.tokens_issued("enrol"), 0);
}

#[tokio::test]
async fn the_ip_limit_refuses_first_and_counts_nothing_else() {
    // given the caller's IP has used its budget
    let b = Backends::at(NOW);
    let keys = RouteKeys::new(
        b"test pseudonym key",
        "registration",
        Some("203.0.113.7".parse().unwrap()),
        &name_index("alice"),
    );
    b.limiter.preset(&keys.ip, 100);
    // when it starts a registration
    let outcome = b.start_registration().run(request("alice")).await;
    // then it is limited, signalled, and the username counters were not touched
    assert!(matches!(
        outcome,
        Err(Failure::Limited {
            limit: "registration",
            ..
        })
    ));
    assert_eq!(b.signals.refusals(), vec!["registration"]);
    assert_eq!(b.limiter.count(&keys.username_from_network), 0);
    assert_eq!(b.verifier.tokens_issued("enrol"), 0);
}

#[tokio::test]
async fn the_limit_answers_before_taken() {
    // given "alice" is taken and the username's budget from this network is used up
    let b = Backends::at(NOW);
    b.users.claim(&name_index("alice"), "someone");
    let keys = RouteKeys::new(
        b"test pseudonym key",
        "registration",
        Some("203.0.113.7".parse().unwrap()),
        &name_index("alice"),
    );
    b.limiter.preset(&keys.username_from_network, 100);
    // when alice is tried again
    let outcome = b.start_registration().run(request("alice")).await;
    // then the limit answers, so the route does not tell a limited caller who exists
    assert!(matches!(outcome, Err(Failure::Limited { .. })));
}

#[tokio::test]
async fn a_passed_username_ceiling_is_signalled_but_not_refused() {
    // given alice's name has been tried from many networks
    let b = Backends::at(NOW);
    let keys = RouteKeys::new(
        b"test pseudonym key",
        "registration",
        None,
        &name_index("alice"),
    );
    b.limiter.preset(&keys.username_overall, 100);
    // when it is tried once more
    let outcome = b.start_registration().run(request("alice")).await.unwrap();
    // then the request goes on, and the alarm hears of it
    assert!(matches!(outcome, StartOutcome::Issued(_)));
    assert_eq!(b.signals.ceilings_passed(), 1);
}

#[tokio::test]
async fn counters_out_of_reach_fail_closed() {
    // given the counter store is down
    let b = Backends::at(NOW);
    b.limiter.outages.fail_next("hit", 3);
    // when a registration starts, then it fails as unavailable and no token is spent
    let outcome = b.start_registration().run(request("alice")).await;
    assert!(matches!(outcome, Err(Failure::Store(_))));
    assert_eq!(b.verifier.tokens_issued("enrol"), 0);
}

#[tokio::test]
async fn no_registration_is_stored_when_the_verifier_or_the_sealer_fails() {
    // given the verifier refuses the next token, or the key service is down
    for broken in ["verifier", "sealer", "keys"] {
        let b = Backends::at(NOW);
        match broken {
            "verifier" => b.verifier.fail_next_tokens([VerifierError::NotProcessed {
                code: "rate_limited".into(),
            }]),
            "sealer" => b.sealer.set_down(true),
            _ => b.keys.set_down(true),
        }
        // when alice starts a registration
        let outcome = b.start_registration().run(request("alice")).await;
        // then it fails as unavailable, and nothing half-written is left
        assert!(outcome.is_err(), "{broken}");
        assert_eq!(b.registrations.count(), 0, "{broken}");
    }
}

#[tokio::test]
async fn a_repeated_request_while_awaiting_the_scan_gets_the_same_attempt() {
    // given alice's registration awaits its scan
    let b = Backends::at(NOW);
    let (credential, registration) = started_then(&b, RegistrationStatus::AwaitingScan).await;
    // when she asks again with her credential (a double click)
    let mut again = request("alice");
    again.continuing = Some((credential, registration.clone()));
    let issued = issued(b.start_registration().run(again).await.unwrap());
    // then the same attempt and token come back, and no new token is spent
    assert_eq!(issued.kind, AttemptKind::Repeat);
    assert_eq!(issued.registration.attempt, 1);
    assert_eq!(issued.token, registration.iproov_token);
    assert_eq!(b.verifier.tokens_issued("enrol"), 1);
}

#[tokio::test]
async fn a_failed_attempt_is_retried_on_the_same_registration_with_a_fresh_token() {
    // given alice's first attempt failed
    let b = Backends::at(NOW);
    let (credential, registration) = started_then(&b, RegistrationStatus::Failed).await;
    // when she starts again with her credential
    let mut again = request("alice");
    again.continuing = Some((credential, registration.clone()));
    let issued = issued(b.start_registration().run(again).await.unwrap());
    // then attempt 2 of the same registration awaits a scan with a new token
    assert_eq!(issued.kind, AttemptKind::Retry);
    let stored = b.registrations.record(&registration.id).unwrap();
    assert_eq!(stored.attempt, 2);
    assert_eq!(stored.status, RegistrationStatus::AwaitingScan);
    assert_eq!(stored.iproov_token, issued.token);
    assert_ne!(issued.token, registration.iproov_token);
}

#[tokio::test]
async fn a_registration_being_validated_cannot_restart() {
    // given alice's scan is being validated
    let b = Backends::at(NOW);
    let (credential, registration) = started_then(&b, RegistrationStatus::Validating).await;
    // when she starts again with her credential
    let mut again = request("alice");
    again.continuing = Some((credential, registration));
    let outcome = b.start_registration().run(again).await.unwrap();
    // then she is told it is in progress
    assert!(matches!(
        outcome,
        StartOutcome::InProgress(RegistrationStatus::Validating)
    ));
}

#[tokio::test]
async fn attempts_run_out() {
    // given alice's last allowed attempt failed
    let b = Backends::at(NOW);
    let (credential, mut registration) = started_then(&b, RegistrationStatus::Failed).await;
    registration.attempt = MAX_ATTEMPTS;
    // when she starts again, then she is told to start a new registration
    let mut again = request("alice");
    again.continuing = Some((credential, registration));
    let outcome = b.start_registration().run(again).await.unwrap();
    assert!(matches!(outcome, StartOutcome::AttemptsExhausted));
}

#[tokio::test]
async fn two_concurrent_retries_cannot_both_win() {
    // given alice's first attempt failed
    let b = Backends::at(NOW);
    let (credential, registration) = started_then(&b, RegistrationStatus::Failed).await;
    let use_case = b.start_registration();
    let retry = || {
        let mut again = request("alice");
        let presented = Credential::parse(&credential.expose()).unwrap();
        again.continuing = Some((presented, registration.clone()));
        use_case.run(again)
    };
    // when two retries race
    let (one, two) = tokio::join!(retry(), retry());
    // then one gets attempt 2 and the other is told the registration changed meanwhile
    let outcomes = [one.unwrap(), two.unwrap()];
    let retried = outcomes
        .iter()
        .filter(|o| matches!(o, StartOutcome::Issued(_)))
        .count();
    let changed = outcomes
        .iter()
        .filter(|o| matches!(o, StartOutcome::ChangedMeanwhile))
        .count();
    assert_eq!((retried, changed), (1, 1));
    assert_eq!(b.registrations.record(&registration.id).unwrap().attempt, 2);
}

#[tokio::test]
async fn a_credential_for_another_name_or_a_finished_registration_starts_afresh() {
    // given alice's registration completed
    let b = Backends::at(NOW);
    let (credential, registration) = started_then(&b, RegistrationStatus::Completed).await;
    // when the same credential comes with a new name
    let mut other = request("bob");
    other.continuing = Some((credential, registration.clone()));
    let issued = issued(b.start_registration().run(other).await.unwrap());
    // then a new registration starts; the completed one is untouched
    assert_eq!(issued.kind, AttemptKind::Fresh);
    assert_ne!(issued.registration.id, registration.id);
    assert_eq!(
        b.registrations.record(&registration.id).unwrap().status,
        RegistrationStatus::Completed
    );
}

#[tokio::test]
async fn the_enrol_token_is_issued_under_the_registration_policy() {
    // given registration scans judged for genuine presence under a risk profile
    let mut b = Backends::at(NOW);
    b.policies.registration.risk_profile = Some("onboarding".into());
    // when alice starts a registration, then the token was asked for under that policy
    let issued = issued(b.start_registration().run(request("alice")).await.unwrap());
    let policy = b.verifier.policy_of(&issued.token).unwrap();
    assert_eq!(policy.risk_profile.as_deref(), Some("onboarding"));
    assert_eq!(
        policy.assurance_type,
        onboarding_core::domain::AssuranceType::GenuinePresence
    );
}

#[tokio::test]
async fn the_accepted_consent_is_recorded_with_the_registration() {
    // given a German browser that showed the current text
    let b = Backends::at(NOW);
    let mut req = request("alice");
    req.language = Language::German;
    req.channel = Channel::Web;
    // when alice accepts it and starts a registration
    let issued = issued(b.start_registration().run(req).await.unwrap());
    // then the registration records the version, the German text's hash, the time and channel
    let consent = b
        .registrations
        .record(&issued.registration.id)
        .unwrap()
        .consent
        .expect("consent recorded");
    assert_eq!(consent.version, "v2");
    assert_eq!(consent.language, Language::German);
    assert_eq!(
        consent.text_sha256,
        text_sha256("Ich willige in die Verarbeitung meines Gesichts ein (v2).")
    );
    assert_eq!((consent.accepted_at, consent.channel), (NOW, Channel::Web));
}

#[tokio::test]
async fn without_consent_nothing_is_asked_counted_or_stored() {
    // given answers that are no consent to act on
    let cases = [
        (None, ConsentProblem::Missing),
        (
            Some(ConsentAnswer {
                accepted: false,
                ..accepted()
            }),
            ConsentProblem::Declined,
        ),
        (
            Some(ConsentAnswer {
                version: "v0".into(),
                ..accepted()
            }),
            ConsentProblem::UnknownVersion,
        ),
        (
            Some(ConsentAnswer {
                version: "v1".into(),
                ..accepted()
            }),
            ConsentProblem::Outdated,
        ),
    ];
    for (answer, problem) in cases {
        let b = Backends::at(NOW);
        let keys = RouteKeys::new(
            b"test pseudonym key",
            "registration",
            Some("203.0.113.7".parse().unwrap()),
            &name_index("alice"),
        );
        // when alice starts a registration with it
        let mut req = request("alice");
        req.consent = answer;
        let outcome = b.start_registration().run(req).await.unwrap();
        // then it is refused for that reason, before any token, counter or record
        assert!(
            matches!(outcome, StartOutcome::ConsentRefused(p) if p == problem),
            "{problem:?}: {outcome:?}"
        );
        assert_eq!(b.verifier.tokens_issued("enrol"), 0);
        assert_eq!(b.limiter.count(&keys.ip), 0);
        assert_eq!(b.registrations.count(), 0);
    }
}

#[tokio::test]
async fn a_retry_needs_consent_again_and_records_the_new_one() {
    // given alice's first attempt failed
    let b = Backends::at(NOW);
    let (credential, registration) = started_then(&b, RegistrationStatus::Failed).await;
    // when she retries without consent
    let mut bare = request("alice");
    bare.consent = None;
    bare.continuing = Some((
        Credential::parse(&credential.expose()).unwrap(),
        registration.clone(),
    ));
    let refused = b.start_registration().run(bare).await.unwrap();
    // then nothing is spent and the registration is untouched
    assert!(matches!(
        refused,
        StartOutcome::ConsentRefused(ConsentProblem::Missing)
    ));
    assert_eq!(b.verifier.tokens_issued("enrol"), 1);
    // and when she retries later from a browser, accepting again
    b.clock.advance(60);
    let mut again = request("alice");
    again.channel = Channel::Web;
    again.continuing = Some((credential, registration.clone()));
    issued(b.start_registration().run(again).await.unwrap());
    // then attempt 2 carries the consent given with it
    let consent = b
        .registrations
        .record(&registration.id)
        .unwrap()
        .consent
        .unwrap();
    assert_eq!(
        (consent.accepted_at, consent.channel),
        (NOW + 60, Channel::Web)
    );
}
