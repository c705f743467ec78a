//! The OpenID provider's authorization request and its completion on in-memory adapters:
//! which errors may go back to the client and which never, PKCE and scope rules, the pending
//! request the sign-in page reads, and completion only by a face login made after the
//! request, once.

mod oidc_support;

use oidc_support::*;
use onboarding_core::memory::oidc::{
    PUBLIC_CLIENT, PUBLIC_REDIRECT, SECRET_CLIENT, SECRET_REDIRECT,
};
use onboarding_core::oidc::authorize::AuthorizeOutcome;
use onboarding_core::oidc::completion::{CompletionError, Decision};
use onboarding_core::oidc::{ErrorCode, OAuthError};

/// The outcome of an authorization request with `pairs`.
async fn authorize(world: &World, pairs: &[(&str, &str)]) -> AuthorizeOutcome {
    world.authorize().start(&params(pairs)).await
}

/// The error a request with `pairs` is answered with directly; panics if it redirects.
async fn not_redirectable(world: &World, pairs: &[(&str, &str)]) -> OAuthError {
    match authorize(world, pairs).await {
        AuthorizeOutcome::NotRedirectable(err) => err,
        other => panic!("expected a direct answer: {other:?}"),
    }
}

/// The error code, state and issuer a request with `pairs` is redirected with.
async fn redirected_error(world: &World, pairs: &[(&str, &str)]) -> (String, Option<String>) {
    match authorize(world, pairs).await {
        AuthorizeOutcome::Redirect(url) => {
            assert!(url.starts_with(PUBLIC_REDIRECT) || url.starts_with(SECRET_REDIRECT));
            let query = query_of(&url);
            assert_eq!(
                query.get("iss", 100).expect("once"),
                Some("https://api.example.com")
            );
            assert!(query.get("code", 100).expect("once").is_none());
            (
                query
                    .get("error", 100)
                    .expect("once")
                    .expect("error")
                    .to_owned(),
                query.get("state", 600).expect("once").map(str::to_owned),
            )
        }
        other => panic!("expected a redirect: {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_request_is_stored_for_ten_minutes_and_the_sign_in_page_is_given_its_id() {
    // GIVEN the public client's well-formed request
    let world = World::new();
    // WHEN it reaches the authorization endpoint
    let request_id = world.start(&public_request()).await;
    // THEN it is stored, as validated, for ten minutes
    let pending = world.requests.request(&request_id).expect("stored");
    assert_eq!(pending.client_id, PUBLIC_CLIENT);
    assert_eq!(pending.redirect_uri, PUBLIC_REDIRECT);
    assert_eq!(pending.scope, "openid profile");
    assert_eq!(pending.state.as_deref(), Some("state-1"));
    assert_eq!(pending.nonce.as_deref(), Some("nonce-1"));
    assert_eq!(pending.code_challenge.as_deref(), Some(CHALLENGE));
    assert_eq!((pending.created_at, pending.expires_at), (NOW, NOW + 600));
    assert_eq!(request_id.len(), 32);
}

#[tokio::test]
async fn an_unknown_client_is_answered_directly_and_never_redirected() {
    let world = World::new();
    let err = not_redirectable(&world, &with(&public_request(), "client_id", "nobody")).await;
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    let err = not_redirectable(&world, &without(&public_request(), "client_id")).await;
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    assert_eq!(world.requests.count(), 0);
}

#[tokio::test]
async fn a_missing_unregistered_or_fragmented_redirect_uri_is_never_redirected_to() {
    // GIVEN redirect URIs the client did not register exactly
    let world = World::new();
    for uri in [
        "https://evil.example/callback",
        "https://app.example/cb/",
        "https://app.example/cb#frag",
        "http://localhost/callback",
    ] {
        // WHEN a request names one
        let err = not_redirectable(&world, &with(&public_request(), "redirect_uri", uri)).await;
        // THEN the browser is told directly, never sent there
        assert_eq!(err.code, ErrorCode::InvalidRequest, "{uri}");
    }
    let err = not_redirectable(&world, &without(&public_request(), "redirect_uri")).await;
    assert_eq!(err.code, ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn a_native_app_may_use_its_loopback_redirect_uri_on_any_port() {
    let world = World::new();
    let uri = "http://127.0.0.1:49152/callback";
    let request_id = world
        .start(&with(&public_request(), "redirect_uri", uri))
        .await;
    assert_eq!(
        world.requests.request(&request_id).unwrap().redirect_uri,
        uri
    );
}

#[tokio::test]
async fn a_repeated_client_id_or_redirect_uri_is_answered_directly_and_other_repeats_go_back() {
    // GIVEN requests repeating a parameter
    let world = World::new();
    let mut twice_client = public_request();
    twice_client.push(("client_id", PUBLIC_CLIENT));
    let mut twice_redirect = public_request();
    twice_redirect.push(("redirect_uri", PUBLIC_REDIRECT));
    let mut twice_scope = public_request();
    twice_scope.push(("scope", "openid"));
    // THEN a repeat before the redirect URI is known is answered directly…
    assert_eq!(
        not_redirectable(&world, &twice_client).await.code,
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        not_redirectable(&world, &twice_redirect).await.code,
        ErrorCode::InvalidRequest
    );
    // …and one after it goes back to the client (as invalid_scope, the scope being unusable)
    let (error, state) = redirected_error(&world, &twice_scope).await;
    assert_eq!(error, "invalid_scope");
    assert_eq!(state.as_deref(), Some("state-1"));
}

#[tokio::test]
async fn a_response_type_other_than_code_goes_back_as_unsupported_with_state_and_issuer() {
    let world = World::new();
    let (error, state) =
        redirected_error(&world, &with(&public_request(), "response_type", "token")).await;
    assert_eq!(error, "unsupported_response_type");
    assert_eq!(state.as_deref(), Some("state-1"));
    let (error, _) = redirected_error(&world, &without(&public_request(), "response_type")).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn a_scope_without_openid_or_beyond_the_clients_allowed_scopes_is_invalid_scope() {
    let world = World::new();
    for scope in ["profile", "openid email", "openid \"x\""] {
        let (error, _) = redirected_error(&world, &with(&public_request(), "scope", scope)).await;
        assert_eq!(error, "invalid_scope", "{scope}");
    }
    let (error, _) = redirected_error(&world, &without(&public_request(), "scope")).await;
    assert_eq!(error, "invalid_scope");
}

#[tokio::test]
async fn a_public_client_must_send_an_s256_challenge() {
    // GIVEN the public client's request without PKCE, with `plain`, with no method, or with a
    // malformed challenge
    let world = World::new();
    let no_pkce = without(
        &without(&public_request(), "code_challenge"),
        "code_challenge_method",
    );
    let plain = with(&public_request(), "code_challenge_method", "plain");
    let no_method = without(&public_request(), "code_challenge_method");
    let short = with(&public_request(), "code_challenge", "abc");
    // THEN each goes back as invalid_request
    for request in [no_pkce, plain, no_method, short] {
        let (error, _) = redirected_error(&world, &request).await;
        assert_eq!(error, "invalid_request", "{request:?}");
    }
}

#[tokio::test]
async fn a_confidential_client_may_leave_pkce_out() {
    let world = World::new();
    let request = request_of(SECRET_CLIENT, "openid");
    let pairs: Vec<(&str, &str)> = request.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let request_id = world.start(&pairs).await;
    assert_eq!(
        world.requests.request(&request_id).unwrap().code_challenge,
        None
    );
}

#[tokio::test]
async fn prompt_none_goes_back_as_login_required_since_every_authorization_needs_a_scan() {
    let world = World::new();
    let (error, state) = redirected_error(&world, &with(&public_request(), "prompt", "none")).await;
    assert_eq!(error, "login_required");
    assert_eq!(state.as_deref(), Some("state-1"));
    // prompt=login is what always happens anyway
    world
        .start(&with(&public_request(), "prompt", "login"))
        .await;
}

#[tokio::test]
async fn nonce_state_and_max_age_are_bounded_and_request_objects_refused() {
    let world = World::new();
    let long_nonce = "n".repeat(256);
    let (error, _) = redirected_error(&world, &with(&public_request(), "nonce", &long_nonce)).await;
    assert_eq!(error, "invalid_request");
    for max_age in ["-1", "abc", "999999999999"] {
        let (error, _) =
            redirected_error(&world, &with(&public_request(), "max_age", max_age)).await;
        assert_eq!(error, "invalid_request", "{max_age}");
    }
    let (error, _) = redirected_error(&world, &with(&public_request(), "request", "a.b.c")).await;
    assert_eq!(error, "invalid_request");
    // An over-long state is not echoed, but the client is still told.
    let long_state = "s".repeat(600);
    let (error, state) =
        redirected_error(&world, &with(&public_request(), "state", &long_state)).await;
    assert_eq!((error.as_str(), state), ("invalid_request", None));
}

#[tokio::test]
async fn an_outage_before_the_client_is_known_is_answered_directly_and_after_it_goes_back() {
    // GIVEN the client registry down
    let world = World::new();
    world.clients.outages.fail_next("get_client", 1);
    // THEN the request cannot be redirected: temporarily unavailable, to the browser
    let err = not_redirectable(&world, &public_request()).await;
    assert_eq!(err.code, ErrorCode::TemporarilyUnavailable);
    assert_eq!(err.code.http_status(), 503);
    // GIVEN the request store down instead
    world.requests.outages.fail_next("put_request", 1);
    // THEN the client is told on its redirect URI
    let (error, _) = redirected_error(&world, &public_request()).await;
    assert_eq!(error, "temporarily_unavailable");
}

#[tokio::test]
async fn the_sign_in_page_reads_who_is_asking_until_the_request_expires() {
    // GIVEN a pending request
    let world = World::new();
    let request_id = world.start(&public_request()).await;
    // WHEN the sign-in page reads it
    let view = world
        .authorize()
        .describe(&request_id)
        .await
        .expect("store up")
        .expect("pending");
    // THEN it names the client and the scopes
    assert_eq!(view.client_name, "Native App");
    assert_eq!(view.scopes, ["openid", "profile"]);
    assert_eq!(view.expires_at, NOW + 600);
    // AND after ten minutes, or for an unknown id, there is nothing to show
    world.clock.advance(600);
    assert_eq!(world.authorize().describe(&request_id).await.unwrap(), None);
    assert_eq!(world.authorize().describe("unknown").await.unwrap(), None);
    assert_eq!(world.authorize().describe("../etc").await.unwrap(), None);
}

#[tokio::test]
async fn completing_after_a_fresh_face_login_issues_a_one_minute_code_and_redirects_with_state_and_iss()
 {
    // GIVEN a pending request, and a login session opened by a scan 5 s later
    let world = World::new();
    let request_id = world.start(&public_request()).await;
    world.clock.advance(5);
    let session = session_at(NOW + 5);
    // WHEN the sign-in page completes it
    let url = world
        .complete()
        .run(&request_id, &session, Decision::Allow)
        .await
        .expect("completed");
    // THEN the browser goes back with a code, the state and the issuer
    assert!(url.starts_with("http://127.0.0.1/callback?code="));
    let query = query_of(&url);
    let code = query.get("code", 256).unwrap().expect("code");
    assert_eq!(query.get("state", 100).unwrap(), Some("state-1"));
    assert_eq!(
        query.get("iss", 100).unwrap(),
        Some("https://api.example.com")
    );
    // AND the code is stored hashed, bound to the request, the person and their scan
    let (id, secret) = code.split_once('.').expect("credential");
    let stored = world.codes.code(id).expect("stored");
    assert!(!stored.secret_hash.contains(secret));
    assert_eq!(stored.user_id, "user-1");
    assert_eq!(stored.auth_time, NOW + 5);
    assert_eq!(stored.acr.as_deref(), Some(GP_ACR));
    assert_eq!(stored.requested_at, NOW);
    assert_eq!(stored.expires_at, NOW + 5 + 60);
    assert_eq!(stored.code_challenge.as_deref(), Some(CHALLENGE));
    assert_eq!(stored.nonce.as_deref(), Some("nonce-1"));
    // AND the request is gone
    assert_eq!(world.requests.count(), 0);
}

#[tokio::test]
async fn a_session_opened_before_the_request_cannot_complete_it() {
    // GIVEN a session opened before the request, and one opened in the request's own second
    let world = World::new();
    let request_id = world.start(&public_request()).await;
    world.clock.advance(5);
    for created in [NOW - 60, NOW] {
        // WHEN either tries to complete it
        let err = world
            .complete()
            .run(&request_id, &session_at(created), Decision::Allow)
            .await;
        // THEN a fresh login is required, and nothing was issued or spent
        assert_eq!(err, Err(CompletionError::FreshLoginRequired));
    }
    assert_eq!(
        CompletionError::FreshLoginRequired.code(),
        "fresh_login_required"
    );
    assert_eq!(world.codes.count(), 0);
    assert!(world.requests.request(&request_id).is_some());
    // AND a fresh scan still can
    assert!(
        world
            .complete()
            .run(&request_id, &session_at(NOW + 5), Decision::Allow)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn max_age_bounds_how_old_the_scan_may_be() {
    // GIVEN a request with max_age=60, and a scan made right after it
    let world = World::new();
    let request_id = world.start(&with(&public_request(), "max_age", "60")).await;
    let session = session_at(NOW + 1);
    // WHEN it is completed two minutes after the scan
    world.clock.advance(121);
    let late = world
        .complete()
        .run(&request_id, &session, Decision::Allow)
        .await;
    // THEN the scan is too old
    assert_eq!(late, Err(CompletionError::FreshLoginRequired));
    // AND a new scan is young enough
    assert!(
        world
            .complete()
            .run(&request_id, &session_at(NOW + 120), Decision::Allow)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_denial_goes_back_as_access_denied_and_ends_the_request() {
    let world = World::new();
    let request_id = world.start(&public_request()).await;
    let url = world
        .complete()
        .run(&request_id, &session_at(NOW - 100), Decision::Deny)
        .await
        .expect("denied");
    let query = query_of(&url);
    assert_eq!(query.get("error", 100).unwrap(), Some("access_denied"));
    assert_eq!(query.get("state", 100).unwrap(), Some("state-1"));
    assert_eq!(
        query.get("iss", 100).unwrap(),
        Some("https://api.example.com")
    );
    assert_eq!(query.get("code", 100).unwrap(), None);
    assert_eq!(world.codes.count(), 0);
    assert_eq!(world.requests.count(), 0);
}

#[tokio::test]
async fn a_request_completes_once_even_when_two_completions_race() {
    // GIVEN a pending request and a fresh session
    let world = World::new();
    let request_id = world.start(&public_request()).await;
    world.clock.advance(5);
    let session = session_at(NOW + 5);
    // WHEN two completions run at once
    let complete = world.complete();
    let (a, b) = futures::join!(
        complete.run(&request_id, &session, Decision::Allow),
        complete.run(&request_id, &session, Decision::Allow),
    );
    // THEN exactly one sends the browser back with a code
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    assert!([&a, &b].contains(&&Err(CompletionError::UnknownRequest)));
    // AND a later completion finds nothing
    let again = complete.run(&request_id, &session, Decision::Allow).await;
    assert_eq!(again, Err(CompletionError::UnknownRequest));
}

#[tokio::test]
async fn an_expired_request_cannot_be_completed() {
    let world = World::new();
    let request_id = world.start(&public_request()).await;
    world.clock.advance(600);
    let result = world
        .complete()
        .run(&request_id, &session_at(NOW + 600), Decision::Allow)
        .await;
    assert_eq!(result, Err(CompletionError::UnknownRequest));
    assert_eq!(world.codes.count(), 0);
}

#[tokio::test]
async fn a_completion_that_hits_an_outage_can_be_retried() {
    // GIVEN a pending request, and the request store failing its delete once
    let world = World::new();
    let request_id = world.start(&public_request()).await;
    world.clock.advance(5);
    world.requests.outages.fail_next("delete_request", 1);
    // WHEN the page completes it, then tries again
    let first = world
        .complete()
        .run(&request_id, &session_at(NOW + 5), Decision::Allow)
        .await;
    let second = world
        .complete()
        .run(&request_id, &session_at(NOW + 5), Decision::Allow)
        .await;
    // THEN the first is unavailable (its code never handed out) and the retry completes
    assert_eq!(first, Err(CompletionError::Unavailable));
    assert!(second.is_ok());
    assert_eq!(world.requests.count(), 0);
}

#[tokio::test]
async fn a_redirect_uri_with_a_query_keeps_it_and_gets_the_answer_appended() {
    // GIVEN a client whose registered redirect URI has a query
    let world = World::new();
    let mut client = world.clients.client(SECRET_CLIENT).expect("registered");
    client.redirect_uris = vec!["https://web.example/cb?tenant=a b".replace(' ', "%20")];
    world.clients.register(client);
    let request = request_of(SECRET_CLIENT, "openid");
    let mut pairs: Vec<(&str, &str)> = request.iter().map(|(n, v)| (*n, v.as_str())).collect();
    pairs = with(
        &pairs,
        "redirect_uri",
        "https://web.example/cb?tenant=a%20b",
    );
    // WHEN the request is denied
    let request_id = world.start(&pairs).await;
    let url = world
        .complete()
        .run(&request_id, &session_at(NOW + 5), Decision::Deny)
        .await
        .expect("denied");
    // THEN the answer is joined with `&`
    assert!(
        url.starts_with(
            "https://web.example/cb?tenant=a%20b&error=access_denied&state=state-1&iss="
        )
    );
}
